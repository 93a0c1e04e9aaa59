-- What the legacy importer wrote, one row per imported row: how a later run over a newer dump
-- (a delta import at a store's cutover) tells
--   * a legacy document changed since the last run (`source_hash`, the fingerprint of the row
--     the importer made of it, differs) from one unchanged (nothing is rewritten), and
--   * a row changed in Tills since the importer wrote it (its columns that Tills can change no
--     longer give `row_hash`; `written_at`, the `updated_at` it was written with, rules out the
--     untouched rows in SQL) from one still as imported: such a row keeps Tills' version and the
--     run reports the conflict.
-- `amount` is what the next run needs of the legacy values: a product's stock as imported (a
-- changed stock is brought across as a movement of the difference), a sale's total and a
-- payment's amount (for --verify). A store table like the others: store_id leads the key,
-- row-level security by the transaction's store.
CREATE TABLE import_rows (
    store_id    text NOT NULL REFERENCES stores (id),
    kind        text NOT NULL CHECK (kind IN ('categories', 'brands', 'units', 'products', 'customers', 'users',
                                              'sales', 'payments')),
    row_id      uuid NOT NULL,
    legacy_id   text NOT NULL,
    source_hash bigint NOT NULL,
    row_hash    bigint NOT NULL,
    written_at  timestamptz,
    amount      bigint,
    imported_at timestamptz NOT NULL,
    PRIMARY KEY (store_id, kind, row_id)
);

ALTER TABLE import_rows ENABLE ROW LEVEL SECURITY;
ALTER TABLE import_rows FORCE ROW LEVEL SECURITY;
CREATE POLICY store_isolation ON import_rows
    USING (store_id = current_setting('tills.store_id', true))
    WITH CHECK (store_id = current_setting('tills.store_id', true));
GRANT SELECT, INSERT, UPDATE ON import_rows TO tills_app;
