-- Tills' unified schema: one table per kind of record, every store's rows in it, keyed by
-- store_id. Rules kept throughout (they are also Citus' rules for distributing by store_id):
--   * every store-scoped table has store_id NOT NULL, and store_id leads its primary key,
--     every unique constraint and every index;
--   * foreign keys between store tables include store_id, so no row can point at another
--     store's row; the only other foreign key target is `stores` (a reference table);
--   * no sequence or counter is shared between stores.
-- This is the SQLite form of the PostgreSQL schema (same tables, columns and keys): ids are
-- 16-byte BLOBs, timestamps RFC 3339 text in UTC, booleans 0/1. SQLite has no row-level
-- security: on the embedded default the storage layer's store_id conditions are the wall.

CREATE TABLE stores (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    currency           TEXT NOT NULL,
    currency_decimals  INTEGER NOT NULL CHECK (currency_decimals BETWEEN 0 AND 4),
    timezone           TEXT NOT NULL DEFAULT 'UTC',
    prices_include_tax INTEGER NOT NULL DEFAULT 0,
    invoice_prefix     TEXT NOT NULL DEFAULT 'INV-',
    address            TEXT,
    tax_id             TEXT,
    receipt_footer     TEXT,
    scale_barcodes     TEXT NOT NULL DEFAULT '[]',
    status             TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
) STRICT;

-- Platform admins belong to no store: their own table, outside row-level security.
CREATE TABLE platform_admins (
    id            BLOB PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    store_id      TEXT NOT NULL REFERENCES stores (id),
    id            BLOB NOT NULL,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'cashier')),
    password_hash TEXT NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    legacy_id     TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    deleted_at    TEXT,
    PRIMARY KEY (store_id, id)
) STRICT;
CREATE UNIQUE INDEX users_store_email ON users (store_id, email) WHERE deleted_at IS NULL;

CREATE TABLE categories (
    store_id   TEXT NOT NULL REFERENCES stores (id),
    id         BLOB NOT NULL,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    parent_id  BLOB,
    legacy_id  TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, parent_id) REFERENCES categories (store_id, id),
    CONSTRAINT categories_store_name UNIQUE (store_id, name_key)
) STRICT;

CREATE TABLE brands (
    store_id   TEXT NOT NULL REFERENCES stores (id),
    id         BLOB NOT NULL,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    legacy_id  TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (store_id, id),
    CONSTRAINT brands_store_name UNIQUE (store_id, name_key)
) STRICT;

CREATE TABLE units (
    store_id   TEXT NOT NULL REFERENCES stores (id),
    id         BLOB NOT NULL,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    legacy_id  TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (store_id, id),
    CONSTRAINT units_store_name UNIQUE (store_id, name_key)
) STRICT;

-- Money in minor units (INTEGER), quantities in thousandths (INTEGER), tax in basis points.
CREATE TABLE products (
    store_id               TEXT NOT NULL REFERENCES stores (id),
    id                     BLOB NOT NULL,
    name                   TEXT NOT NULL,
    name_key               TEXT NOT NULL,
    sku                    TEXT,
    price                  INTEGER NOT NULL CHECK (price >= 0),
    cost                   INTEGER CHECK (cost >= 0),
    tax_rate               INTEGER NOT NULL DEFAULT 0 CHECK (tax_rate BETWEEN 0 AND 10000),
    category_id            BLOB,
    brand_id               BLOB,
    unit_id                BLOB,
    stock_milli            INTEGER NOT NULL DEFAULT 0,
    status                 TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    show_in_quick_products INTEGER NOT NULL DEFAULT 0,
    -- Read model of the product's barcodes and packs, written in the same transaction as
    -- product_barcodes and product_units (which hold the rules): a product reads as one row.
    barcode                TEXT,
    alternate_barcodes     TEXT NOT NULL DEFAULT '[]',
    units                  TEXT NOT NULL DEFAULT '[]',
    legacy_id              TEXT,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    deleted_at             TEXT,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, category_id) REFERENCES categories (store_id, id),
    FOREIGN KEY (store_id, brand_id) REFERENCES brands (store_id, id),
    FOREIGN KEY (store_id, unit_id) REFERENCES units (store_id, id)
) STRICT;
CREATE INDEX products_store_status ON products (store_id, status);
CREATE INDEX products_store_category ON products (store_id, category_id);
CREATE INDEX products_store_brand ON products (store_id, brand_id);
CREATE INDEX products_store_quick ON products (store_id, show_in_quick_products);
CREATE INDEX products_store_name ON products (store_id, name_key, id);
CREATE INDEX products_store_created ON products (store_id, created_at DESC, id DESC);
CREATE INDEX products_store_sku ON products (store_id, lower(sku));

-- A product's pack units: a 6-pack or a 24-box of the product, each with its factor and price.
CREATE TABLE product_units (
    store_id   TEXT NOT NULL,
    id         BLOB NOT NULL,
    product_id BLOB NOT NULL,
    unit_id    BLOB NOT NULL,
    factor     INTEGER NOT NULL CHECK (factor >= 1),
    price      INTEGER CHECK (price >= 0),
    position   INTEGER NOT NULL,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id),
    FOREIGN KEY (store_id, unit_id) REFERENCES units (store_id, id),
    CONSTRAINT product_units_one_per_unit UNIQUE (store_id, product_id, unit_id)
) STRICT;

-- Every barcode of a store in one namespace: a product's own, its alternates and its units'.
-- The primary key makes a barcode name exactly one product in a store (the legacy
-- `(storeId, barcode)` and `(storeId, units.barcode)` unique indexes, made one).
CREATE TABLE product_barcodes (
    store_id        TEXT NOT NULL,
    barcode         TEXT NOT NULL,
    product_id      BLOB NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('primary', 'alternate', 'unit')),
    product_unit_id BLOB,
    position        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, barcode),
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id),
    FOREIGN KEY (store_id, product_unit_id) REFERENCES product_units (store_id, id) ON DELETE CASCADE,
    CHECK ((kind = 'unit') = (product_unit_id IS NOT NULL))
) STRICT;
CREATE INDEX product_barcodes_store_product ON product_barcodes (store_id, product_id);
CREATE INDEX product_barcodes_store_prefix ON product_barcodes (store_id, barcode);

CREATE TABLE customers (
    store_id   TEXT NOT NULL REFERENCES stores (id),
    id         BLOB NOT NULL,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    phone      TEXT NOT NULL,
    email      TEXT,
    note       TEXT,
    legacy_id  TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    PRIMARY KEY (store_id, id)
) STRICT;
CREATE UNIQUE INDEX customers_store_phone ON customers (store_id, phone) WHERE deleted_at IS NULL;
CREATE INDEX customers_store_name ON customers (store_id, name_key, id);

-- The next invoice number of each store: one row per store, so stores never share a counter.
CREATE TABLE invoice_counters (
    store_id    TEXT PRIMARY KEY REFERENCES stores (id),
    last_number INTEGER NOT NULL DEFAULT 0 CHECK (last_number >= 0)
) STRICT;

CREATE TABLE sales (
    store_id       TEXT NOT NULL REFERENCES stores (id),
    id             BLOB NOT NULL,
    invoice_number TEXT NOT NULL,
    invoice_seq    INTEGER,
    status         TEXT NOT NULL CHECK (status IN ('completed', 'voided', 'partially_refunded', 'refunded')),
    client_ref     TEXT,
    customer_id    BLOB,
    cashier_id     BLOB,
    note           TEXT,
    subtotal       INTEGER NOT NULL,
    discount_total INTEGER NOT NULL,
    tax_total      INTEGER NOT NULL,
    total          INTEGER NOT NULL,
    paid           INTEGER NOT NULL,
    change         INTEGER NOT NULL,
    offline        INTEGER NOT NULL DEFAULT 0,
    sold_at        TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    voided_at      TEXT,
    voided_by      BLOB,
    legacy_id      TEXT,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, customer_id) REFERENCES customers (store_id, id),
    CONSTRAINT sales_store_invoice UNIQUE (store_id, invoice_number)
) STRICT;
CREATE INDEX sales_store_sold_at ON sales (store_id, sold_at, id);
CREATE INDEX sales_store_customer ON sales (store_id, customer_id);
CREATE INDEX sales_store_status ON sales (store_id, status);

CREATE TABLE sale_lines (
    store_id        TEXT NOT NULL,
    id              BLOB NOT NULL,
    sale_id         BLOB NOT NULL,
    position        INTEGER NOT NULL,
    product_id      BLOB,
    name            TEXT NOT NULL,
    barcode         TEXT,
    unit_id         BLOB,
    factor          INTEGER NOT NULL DEFAULT 1,
    quantity_milli  INTEGER NOT NULL,
    price           INTEGER NOT NULL,
    catalog_price   INTEGER,
    discount        INTEGER NOT NULL,
    tax_rate        INTEGER NOT NULL,
    tax             INTEGER NOT NULL,
    total           INTEGER NOT NULL,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, sale_id) REFERENCES sales (store_id, id),
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id)
) STRICT;
CREATE INDEX sale_lines_store_sale ON sale_lines (store_id, sale_id, position);
CREATE INDEX sale_lines_store_product ON sale_lines (store_id, product_id);

CREATE TABLE refunds (
    store_id   TEXT NOT NULL,
    id         BLOB NOT NULL,
    sale_id    BLOB NOT NULL,
    client_ref TEXT,
    restock    INTEGER NOT NULL,
    total      INTEGER NOT NULL,
    created_by BLOB,
    created_at TEXT NOT NULL,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, sale_id) REFERENCES sales (store_id, id)
) STRICT;
CREATE INDEX refunds_store_sale ON refunds (store_id, sale_id);
CREATE INDEX refunds_store_created ON refunds (store_id, created_at);

CREATE TABLE refund_lines (
    store_id       TEXT NOT NULL,
    id             BLOB NOT NULL,
    refund_id      BLOB NOT NULL,
    sale_line_id   BLOB NOT NULL,
    quantity_milli INTEGER NOT NULL CHECK (quantity_milli > 0),
    amount         INTEGER NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, refund_id) REFERENCES refunds (store_id, id),
    FOREIGN KEY (store_id, sale_line_id) REFERENCES sale_lines (store_id, id)
) STRICT;
CREATE INDEX refund_lines_store_refund ON refund_lines (store_id, refund_id);
CREATE INDEX refund_lines_store_line ON refund_lines (store_id, sale_line_id);

-- Money taken for a sale (refund_id NULL) or paid out for a refund.
CREATE TABLE payments (
    store_id   TEXT NOT NULL,
    id         BLOB NOT NULL,
    sale_id    BLOB NOT NULL,
    refund_id  BLOB,
    method     TEXT NOT NULL CHECK (method IN ('cash', 'card', 'mobile', 'voucher')),
    amount     INTEGER NOT NULL CHECK (amount >= 0),
    reference  TEXT,
    legacy_id  TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, sale_id) REFERENCES sales (store_id, id),
    FOREIGN KEY (store_id, refund_id) REFERENCES refunds (store_id, id)
) STRICT;
CREATE INDEX payments_store_sale ON payments (store_id, sale_id);
CREATE INDEX payments_store_created ON payments (store_id, created_at, id);

CREATE TABLE stock_movements (
    store_id    TEXT NOT NULL,
    id          BLOB NOT NULL,
    product_id  BLOB NOT NULL,
    delta_milli INTEGER NOT NULL,
    reason      TEXT NOT NULL CHECK (reason IN ('sale', 'void', 'refund', 'damaged', 'received',
                                                'stocktake', 'correction', 'other', 'import')),
    note        TEXT,
    sale_id     BLOB,
    refund_id   BLOB,
    user_id     BLOB,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id),
    FOREIGN KEY (store_id, sale_id) REFERENCES sales (store_id, id),
    FOREIGN KEY (store_id, refund_id) REFERENCES refunds (store_id, id)
) STRICT;
CREATE INDEX stock_movements_store_product ON stock_movements (store_id, product_id, created_at, id);

-- A clientRef, once used in a store, names one sale or refund forever.
CREATE TABLE idempotency_keys (
    store_id     TEXT NOT NULL REFERENCES stores (id),
    client_ref   TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('sale', 'refund')),
    request_hash TEXT NOT NULL,
    resource_id  BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (store_id, client_ref)
) STRICT;

-- Append-only: who did what and when.
CREATE TABLE audit_log (
    store_id    TEXT NOT NULL REFERENCES stores (id),
    id          BLOB NOT NULL,
    actor_id    BLOB,
    actor_email TEXT,
    action      TEXT NOT NULL,
    target      TEXT,
    detail      TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    PRIMARY KEY (store_id, id)
) STRICT;
CREATE INDEX audit_log_store_created ON audit_log (store_id, created_at, id);
CREATE INDEX audit_log_store_action ON audit_log (store_id, action, created_at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
