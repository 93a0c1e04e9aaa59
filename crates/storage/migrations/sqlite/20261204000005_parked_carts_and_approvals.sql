-- Parked carts, and a manager's approval given at a cashier's terminal (see the PostgreSQL
-- migration of the same name).

CREATE TABLE parked_carts (
    store_id    TEXT NOT NULL REFERENCES stores (id),
    id          BLOB NOT NULL,
    label       TEXT NOT NULL,
    customer_id BLOB,
    note        TEXT,
    lines       TEXT NOT NULL,
    created_by  BLOB,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    resumed_at  TEXT,
    resumed_by  BLOB,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, customer_id) REFERENCES customers (store_id, id)
) STRICT;
CREATE INDEX parked_carts_store_waiting ON parked_carts (store_id, created_at) WHERE resumed_at IS NULL;

ALTER TABLE users ADD COLUMN pin_hash TEXT;

CREATE TABLE approvals (
    store_id     TEXT NOT NULL REFERENCES stores (id),
    id           BLOB NOT NULL,
    action       TEXT NOT NULL,
    requested_by BLOB NOT NULL,
    approved_by  BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT,
    PRIMARY KEY (store_id, id)
) STRICT;
