-- A version per store's catalog, for product search.
--
-- Product search (`q`: a name containing the text, a sku or barcode starting with it) cannot use
-- an index under row-level security: PostgreSQL lets an index serve only leakproof conditions
-- ahead of a policy (equality and comparison, not LIKE or lower()), so each search read the
-- store's products one by one in name order (about 1,600 rows and 8 ms of CPU for a word at
-- 2,000 products). The server now keeps what a search filters on in memory, once per store, and
-- checks this version in the same transaction that reads the products a search picked: a write
-- that committed before the search began is always seen.
--
-- Every statement that changes what a search matches or how it sorts bumps the version of the
-- store it writes (the transaction's `tills.store_id`, which row-level security makes the rows'
-- store); a statement run without a store (an operator's maintenance) bumps every store's.
-- Stock changes (sales, refunds, stock adjustments) set none of these columns and bump nothing.
CREATE TABLE catalog_versions (
    store_id text PRIMARY KEY REFERENCES stores (id),
    version  bigint NOT NULL
);
ALTER TABLE catalog_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE catalog_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY store_isolation ON catalog_versions
    USING (store_id = current_setting('tills.store_id', true))
    WITH CHECK (store_id = current_setting('tills.store_id', true));
GRANT SELECT, INSERT, UPDATE ON catalog_versions TO tills_app;

-- Bumps the version of the store the statement wrote (or of every store, without one).
CREATE FUNCTION tills_bump_catalog_version() RETURNS void
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
    v_store text := nullif(current_setting('tills.store_id', true), '');
BEGIN
    IF v_store IS NULL THEN
        INSERT INTO catalog_versions (store_id, version) SELECT s.id, 1 FROM stores s
        ON CONFLICT (store_id) DO UPDATE SET version = catalog_versions.version + 1;
    ELSE
        INSERT INTO catalog_versions (store_id, version) VALUES (v_store, 1)
        ON CONFLICT (store_id) DO UPDATE SET version = catalog_versions.version + 1;
    END IF;
END
$$;

CREATE FUNCTION tills_catalog_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER
AS $$
BEGIN
    PERFORM tills_bump_catalog_version();
    RETURN NULL;
END
$$;

-- The same, only when the statement inserted or deleted rows (its transition table `changed`):
-- an import run again, whose inserts all meet a conflict and do nothing, changes no version.
CREATE FUNCTION tills_catalog_rows_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed) THEN
        PERFORM tills_bump_catalog_version();
    END IF;
    RETURN NULL;
END
$$;

-- A trigger with a transition table takes one event: one trigger per event.
CREATE TRIGGER products_catalog_inserted AFTER INSERT ON products
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION tills_catalog_rows_changed();
CREATE TRIGGER products_catalog_deleted AFTER DELETE ON products
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION tills_catalog_rows_changed();
-- Only the columns a search reads: a sale's stock update sets none of them.
CREATE TRIGGER products_catalog_updated
    AFTER UPDATE OF name_key, sku, status, category_id, brand_id, show_in_quick_products, created_at, deleted_at
    ON products FOR EACH STATEMENT EXECUTE FUNCTION tills_catalog_changed();
CREATE TRIGGER products_catalog_truncated AFTER TRUNCATE ON products
    FOR EACH STATEMENT EXECUTE FUNCTION tills_catalog_changed();
CREATE TRIGGER product_barcodes_catalog_inserted AFTER INSERT ON product_barcodes
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION tills_catalog_rows_changed();
CREATE TRIGGER product_barcodes_catalog_deleted AFTER DELETE ON product_barcodes
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION tills_catalog_rows_changed();
CREATE TRIGGER product_barcodes_catalog_updated AFTER UPDATE ON product_barcodes
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION tills_catalog_rows_changed();
CREATE TRIGGER product_barcodes_catalog_truncated AFTER TRUNCATE ON product_barcodes
    FOR EACH STATEMENT EXECUTE FUNCTION tills_catalog_changed();

-- A search's page in one round trip (as `tills_scan`): the store for row-level security, then
-- the catalog version and the products the server picked, read in one statement and so from one
-- snapshot. At least one row: the version with no product when none of the ids is live.
CREATE FUNCTION tills_search_page(p_store text, p_ids uuid[])
RETURNS TABLE (
    catalog_version bigint, id uuid, store_id text, name text, sku text, price bigint, cost bigint,
    tax_rate integer, category_id uuid, brand_id uuid, unit_id uuid, barcode text,
    alternate_barcodes text, units text, stock_milli bigint, status text,
    show_in_quick_products boolean, created_at timestamptz, updated_at timestamptz
)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('tills.store_id', p_store, true);
    RETURN QUERY
    SELECT v.version, p.id, p.store_id, p.name, p.sku, p.price, p.cost, p.tax_rate, p.category_id,
           p.brand_id, p.unit_id, p.barcode, p.alternate_barcodes, p.units, p.stock_milli, p.status,
           p.show_in_quick_products, p.created_at, p.updated_at
    FROM (SELECT coalesce((SELECT c.version FROM catalog_versions c WHERE c.store_id = p_store), 0) AS version) v
    LEFT JOIN products p ON p.store_id = p_store AND p.id = ANY (p_ids) AND p.deleted_at IS NULL;
END
$$;

GRANT EXECUTE ON FUNCTION tills_search_page(text, uuid[]) TO tills_app;
