-- Tills' unified schema: one table per kind of record, every store's rows in it, keyed by
-- store_id. Rules kept throughout (they are also Citus' rules for distributing by store_id):
--   * every store-scoped table has store_id NOT NULL, and store_id leads its primary key,
--     every unique constraint and every index;
--   * foreign keys between store tables include store_id, so no row can point at another
--     store's row; the only other foreign key target is `stores` (a reference table);
--   * no sequence or counter is shared between stores.
-- Row-level security (the second wall) is set up in the next migration.

CREATE TABLE stores (
    id                 text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    name               text NOT NULL,
    currency           text NOT NULL,
    currency_decimals  smallint NOT NULL CHECK (currency_decimals BETWEEN 0 AND 4),
    timezone           text NOT NULL DEFAULT 'UTC',
    prices_include_tax boolean NOT NULL DEFAULT false,
    invoice_prefix     text NOT NULL DEFAULT 'INV-',
    address            text,
    tax_id             text,
    receipt_footer     text,
    scale_barcodes     text NOT NULL DEFAULT '[]',
    status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);

-- Platform admins belong to no store: their own table, outside row-level security.
CREATE TABLE platform_admins (
    id            uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    name          text NOT NULL,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE users (
    store_id      text NOT NULL REFERENCES stores (id),
    id            uuid NOT NULL,
    email         text NOT NULL,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'manager', 'cashier')),
    password_hash text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    legacy_id     text,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    deleted_at    timestamptz,
    PRIMARY KEY (store_id, id)
);
CREATE UNIQUE INDEX users_store_email ON users (store_id, email) WHERE deleted_at IS NULL;

CREATE TABLE categories (
    store_id   text NOT NULL REFERENCES stores (id),
    id         uuid NOT NULL,
    name       text NOT NULL,
    name_key   text NOT NULL,
    parent_id  uuid,
    legacy_id  text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, parent_id) REFERENCES categories (store_id, id),
    CONSTRAINT categories_store_name UNIQUE (store_id, name_key)
);

CREATE TABLE brands (
    store_id   text NOT NULL REFERENCES stores (id),
    id         uuid NOT NULL,
    name       text NOT NULL,
    name_key   text NOT NULL,
    legacy_id  text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (store_id, id),
    CONSTRAINT brands_store_name UNIQUE (store_id, name_key)
);

CREATE TABLE units (
    store_id   text NOT NULL REFERENCES stores (id),
    id         uuid NOT NULL,
    name       text NOT NULL,
    name_key   text NOT NULL,
    legacy_id  text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (store_id, id),
    CONSTRAINT units_store_name UNIQUE (store_id, name_key)
);

-- Money in minor units (bigint), quantities in thousandths (bigint), tax in basis points.
CREATE TABLE products (
    store_id               text NOT NULL REFERENCES stores (id),
    id                     uuid NOT NULL,
    name                   text NOT NULL,
    name_key               text NOT NULL,
    sku                    text,
    price                  bigint NOT NULL CHECK (price >= 0),
    cost                   bigint CHECK (cost >= 0),
    tax_rate               integer NOT NULL DEFAULT 0 CHECK (tax_rate BETWEEN 0 AND 10000),
    category_id            uuid,
    brand_id               uuid,
    unit_id                uuid,
    stock_milli            bigint NOT NULL DEFAULT 0,
    status                 text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    show_in_quick_products boolean NOT NULL DEFAULT false,
    -- Read model of the product's barcodes and packs, written in the same transaction as
    -- product_barcodes and product_units (which hold the rules): a product reads as one row.
    barcode                text,
    alternate_barcodes     text NOT NULL DEFAULT '[]',
    units                  text NOT NULL DEFAULT '[]',
    legacy_id              text,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    deleted_at             timestamptz,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, category_id) REFERENCES categories (store_id, id),
    FOREIGN KEY (store_id, brand_id) REFERENCES brands (store_id, id),
    FOREIGN KEY (store_id, unit_id) REFERENCES units (store_id, id)
);
CREATE INDEX products_store_status ON products (store_id, status);
CREATE INDEX products_store_category ON products (store_id, category_id);
CREATE INDEX products_store_brand ON products (store_id, brand_id);
CREATE INDEX products_store_quick ON products (store_id, show_in_quick_products);
CREATE INDEX products_store_name ON products (store_id, name_key, id);
CREATE INDEX products_store_created ON products (store_id, created_at DESC, id DESC);
CREATE INDEX products_store_sku ON products (store_id, lower(sku) text_pattern_ops);

-- A product's pack units: a 6-pack or a 24-box of the product, each with its factor and price.
CREATE TABLE product_units (
    store_id   text NOT NULL,
    id         uuid NOT NULL,
    product_id uuid NOT NULL,
    unit_id    uuid NOT NULL,
    factor     bigint NOT NULL CHECK (factor >= 1),
    price      bigint CHECK (price >= 0),
    position   integer NOT NULL,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id),
    FOREIGN KEY (store_id, unit_id) REFERENCES units (store_id, id),
    CONSTRAINT product_units_one_per_unit UNIQUE (store_id, product_id, unit_id)
);

-- Every barcode of a store in one namespace: a product's own, its alternates and its units'.
-- The primary key makes a barcode name exactly one product in a store (the legacy
-- `(storeId, barcode)` and `(storeId, units.barcode)` unique indexes, made one).
CREATE TABLE product_barcodes (
    store_id        text NOT NULL,
    barcode         text NOT NULL,
    product_id      uuid NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('primary', 'alternate', 'unit')),
    product_unit_id uuid,
    position        integer NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, barcode),
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id),
    FOREIGN KEY (store_id, product_unit_id) REFERENCES product_units (store_id, id) ON DELETE CASCADE,
    CHECK ((kind = 'unit') = (product_unit_id IS NOT NULL))
);
CREATE INDEX product_barcodes_store_product ON product_barcodes (store_id, product_id);
CREATE INDEX product_barcodes_store_prefix ON product_barcodes (store_id, barcode text_pattern_ops);

CREATE TABLE customers (
    store_id   text NOT NULL REFERENCES stores (id),
    id         uuid NOT NULL,
    name       text NOT NULL,
    name_key   text NOT NULL,
    phone      text NOT NULL,
    email      text,
    note       text,
    legacy_id  text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz,
    PRIMARY KEY (store_id, id)
);
CREATE UNIQUE INDEX customers_store_phone ON customers (store_id, phone) WHERE deleted_at IS NULL;
CREATE INDEX customers_store_name ON customers (store_id, name_key, id);

-- The next invoice number of each store: one row per store, so stores never share a counter.
CREATE TABLE invoice_counters (
    store_id    text PRIMARY KEY REFERENCES stores (id),
    last_number bigint NOT NULL DEFAULT 0 CHECK (last_number >= 0)
);

CREATE TABLE sales (
    store_id       text NOT NULL REFERENCES stores (id),
    id             uuid NOT NULL,
    invoice_number text NOT NULL,
    invoice_seq    bigint,
    status         text NOT NULL CHECK (status IN ('completed', 'voided', 'partially_refunded', 'refunded')),
    client_ref     text,
    customer_id    uuid,
    cashier_id     uuid,
    note           text,
    subtotal       bigint NOT NULL,
    discount_total bigint NOT NULL,
    tax_total      bigint NOT NULL,
    total          bigint NOT NULL,
    paid           bigint NOT NULL,
    change         bigint NOT NULL,
    offline        boolean NOT NULL DEFAULT false,
    sold_at        timestamptz NOT NULL,
    created_at     timestamptz NOT NULL,
    voided_at      timestamptz,
    voided_by      uuid,
    legacy_id      text,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, customer_id) REFERENCES customers (store_id, id),
    CONSTRAINT sales_store_invoice UNIQUE (store_id, invoice_number)
);
CREATE INDEX sales_store_sold_at ON sales (store_id, sold_at, id);
CREATE INDEX sales_store_customer ON sales (store_id, customer_id);
CREATE INDEX sales_store_status ON sales (store_id, status);

CREATE TABLE sale_lines (
    store_id        text NOT NULL,
    id              uuid NOT NULL,
    sale_id         uuid NOT NULL,
    position        integer NOT NULL,
    product_id      uuid,
    name            text NOT NULL,
    barcode         text,
    unit_id         uuid,
    factor          bigint NOT NULL DEFAULT 1,
    quantity_milli  bigint NOT NULL,
    price           bigint NOT NULL,
    catalog_price   bigint,
    discount        bigint NOT NULL,
    tax_rate        integer NOT NULL,
    tax             bigint NOT NULL,
    total           bigint NOT NULL,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, sale_id) REFERENCES sales (store_id, id),
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id)
);
CREATE INDEX sale_lines_store_sale ON sale_lines (store_id, sale_id, position);
CREATE INDEX sale_lines_store_product ON sale_lines (store_id, product_id);

CREATE TABLE refunds (
    store_id   text NOT NULL,
    id         uuid NOT NULL,
    sale_id    uuid NOT NULL,
    client_ref text,
    restock    boolean NOT NULL,
    total      bigint NOT NULL,
    created_by uuid,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, sale_id) REFERENCES sales (store_id, id)
);
CREATE INDEX refunds_store_sale ON refunds (store_id, sale_id);
CREATE INDEX refunds_store_created ON refunds (store_id, created_at);

CREATE TABLE refund_lines (
    store_id       text NOT NULL,
    id             uuid NOT NULL,
    refund_id      uuid NOT NULL,
    sale_line_id   uuid NOT NULL,
    quantity_milli bigint NOT NULL CHECK (quantity_milli > 0),
    amount         bigint NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, refund_id) REFERENCES refunds (store_id, id),
    FOREIGN KEY (store_id, sale_line_id) REFERENCES sale_lines (store_id, id)
);
CREATE INDEX refund_lines_store_refund ON refund_lines (store_id, refund_id);
CREATE INDEX refund_lines_store_line ON refund_lines (store_id, sale_line_id);

-- Money taken for a sale (refund_id NULL) or paid out for a refund.
CREATE TABLE payments (
    store_id   text NOT NULL,
    id         uuid NOT NULL,
    sale_id    uuid NOT NULL,
    refund_id  uuid,
    method     text NOT NULL CHECK (method IN ('cash', 'card', 'mobile', 'voucher')),
    amount     bigint NOT NULL CHECK (amount >= 0),
    reference  text,
    legacy_id  text,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, sale_id) REFERENCES sales (store_id, id),
    FOREIGN KEY (store_id, refund_id) REFERENCES refunds (store_id, id)
);
CREATE INDEX payments_store_sale ON payments (store_id, sale_id);
CREATE INDEX payments_store_created ON payments (store_id, created_at, id);

CREATE TABLE stock_movements (
    store_id    text NOT NULL,
    id          uuid NOT NULL,
    product_id  uuid NOT NULL,
    delta_milli bigint NOT NULL,
    reason      text NOT NULL CHECK (reason IN ('sale', 'void', 'refund', 'damaged', 'received',
                                                'stocktake', 'correction', 'other', 'import')),
    note        text,
    sale_id     uuid,
    refund_id   uuid,
    user_id     uuid,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id),
    FOREIGN KEY (store_id, sale_id) REFERENCES sales (store_id, id),
    FOREIGN KEY (store_id, refund_id) REFERENCES refunds (store_id, id)
);
CREATE INDEX stock_movements_store_product ON stock_movements (store_id, product_id, created_at, id);

-- A clientRef, once used in a store, names one sale or refund forever.
CREATE TABLE idempotency_keys (
    store_id     text NOT NULL REFERENCES stores (id),
    client_ref   text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('sale', 'refund')),
    request_hash text NOT NULL,
    resource_id  uuid NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (store_id, client_ref)
);

-- Append-only: who did what and when.
CREATE TABLE audit_log (
    store_id    text NOT NULL REFERENCES stores (id),
    id          uuid NOT NULL,
    actor_id    uuid,
    actor_email text,
    action      text NOT NULL,
    target      text,
    detail      text NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (store_id, id)
);
CREATE INDEX audit_log_store_created ON audit_log (store_id, created_at, id);
CREATE INDEX audit_log_store_action ON audit_log (store_id, action, created_at);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
