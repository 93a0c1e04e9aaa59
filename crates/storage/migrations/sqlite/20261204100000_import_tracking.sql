-- What the legacy importer wrote, one row per imported row (see the PostgreSQL migration of the
-- same name): the fingerprint of the row it made of the legacy document (`source_hash`: a later
-- run over a newer dump rewrites only what changed), the fingerprint of what Tills can change of
-- it as written (`row_hash`) and the `updated_at` it was written with (`written_at`: a row Tills
-- changed since keeps Tills' version), and the legacy stock, sale total or payment amount.
CREATE TABLE import_rows (
    store_id    TEXT NOT NULL REFERENCES stores (id),
    kind        TEXT NOT NULL CHECK (kind IN ('categories', 'brands', 'units', 'products', 'customers', 'users',
                                              'sales', 'payments')),
    row_id      BLOB NOT NULL,
    legacy_id   TEXT NOT NULL,
    source_hash INTEGER NOT NULL,
    row_hash    INTEGER NOT NULL,
    written_at  TEXT,
    amount      INTEGER,
    imported_at TEXT NOT NULL,
    PRIMARY KEY (store_id, kind, row_id)
) STRICT;
