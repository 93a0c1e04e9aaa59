-- Returns without a receipt (see the PostgreSQL migration of the same name).

CREATE TABLE returns (
    store_id     TEXT NOT NULL REFERENCES stores (id),
    id           BLOB NOT NULL,
    client_ref   TEXT,
    request_hash TEXT,
    shift_id     BLOB,
    reason       TEXT NOT NULL,
    restock      INTEGER NOT NULL,
    subtotal     INTEGER NOT NULL,
    tax_total    INTEGER NOT NULL,
    total        INTEGER NOT NULL CHECK (total >= 0),
    created_by   BLOB,
    approved_by  BLOB,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, shift_id) REFERENCES shifts (store_id, id),
    CONSTRAINT returns_store_client_ref UNIQUE (store_id, client_ref)
) STRICT;
CREATE INDEX returns_store_created ON returns (store_id, created_at);
CREATE INDEX returns_store_shift ON returns (store_id, shift_id) WHERE shift_id IS NOT NULL;

CREATE TABLE return_lines (
    store_id       TEXT NOT NULL,
    id             BLOB NOT NULL,
    return_id      BLOB NOT NULL,
    position       INTEGER NOT NULL,
    product_id     BLOB NOT NULL,
    name           TEXT NOT NULL,
    barcode        TEXT,
    quantity_milli INTEGER NOT NULL CHECK (quantity_milli > 0),
    price          INTEGER NOT NULL,
    tax_rate       INTEGER NOT NULL,
    tax            INTEGER NOT NULL,
    total          INTEGER NOT NULL,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, return_id) REFERENCES returns (store_id, id),
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id)
) STRICT;
CREATE INDEX return_lines_store_return ON return_lines (store_id, return_id);

CREATE TABLE return_payouts (
    store_id  TEXT NOT NULL,
    id        BLOB NOT NULL,
    return_id BLOB NOT NULL,
    method    TEXT NOT NULL CHECK (method IN ('cash', 'card', 'mobile', 'voucher')),
    amount    INTEGER NOT NULL CHECK (amount >= 0),
    reference TEXT,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, return_id) REFERENCES returns (store_id, id)
) STRICT;
CREATE INDEX return_payouts_store_return ON return_payouts (store_id, return_id);
