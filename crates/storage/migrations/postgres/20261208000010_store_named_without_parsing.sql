-- The one-statement functions name their store without parsing a statement on plain PostgreSQL.
--
-- Since migration 20261206100000_citus_ready, `tills_scan`, `tills_search_page` (and through
-- `tills_name_store`, `tills_sell`, `tills_user_access`) named the store by calling
-- `tills_name_store`, a second PL/pgSQL function, through a query, which parsed and ran
-- `SET LOCAL tills.store_id = '…'` as dynamic SQL on every call. Citus needs that form (it
-- forwards a `SET LOCAL` statement run inside a query's execution to the workers, never a
-- `set_config()` call); plain PostgreSQL does not. There `set_config('tills.store_id', …, true)`
-- is the same setting for the same transaction, without the nested call or the parse:
-- `pgbench`, 1000 stores, a scan's function alone, five alternating pairs: about 8 µs of
-- PostgreSQL's time less per scan (docs/benchmarks.md).
--
-- Which one runs is decided per call by whether the Citus library is loaded in the server
-- (`citus.version` exists only then; Citus must be in shared_preload_libraries): every node of
-- a Citus cluster keeps the `SET LOCAL` form, with its forwarding; a plain PostgreSQL takes the
-- shorter one. Both set the same transaction-local setting that row-level security reads.
CREATE OR REPLACE FUNCTION tills_name_store(store text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
BEGIN
    IF current_setting('citus.version', true) IS NULL THEN
        PERFORM set_config('tills.store_id', store, true);
    ELSE
        EXECUTE format('SET LOCAL tills.store_id = %L', store);
    END IF;
END
$$;

-- The scan and the search page, the two calls of a POS day made most often, also skip the nested
-- call on plain PostgreSQL. Their bodies are otherwise those of migration 20261206100000.
CREATE OR REPLACE FUNCTION tills_scan(p_store text, p_barcode text)
RETURNS TABLE (
    id uuid, store_id text, name text, sku text, price bigint, cost bigint, tax_rate integer,
    category_id uuid, brand_id uuid, unit_id uuid, barcode text, alternate_barcodes text, units text,
    stock_milli bigint, status text, show_in_quick_products boolean, created_at timestamptz,
    updated_at timestamptz, pack_unit_id uuid
)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
#variable_conflict use_column
BEGIN
    IF current_setting('citus.version', true) IS NULL THEN
        PERFORM set_config('tills.store_id', p_store, true);
    ELSE
        PERFORM 1 FROM tills_name_store(p_store);
    END IF;
    RETURN QUERY
    SELECT p.id, p.store_id, p.name, p.sku, p.price, p.cost, p.tax_rate, p.category_id, p.brand_id,
           p.unit_id, p.barcode, p.alternate_barcodes, p.units, p.stock_milli, p.status,
           p.show_in_quick_products, p.created_at, p.updated_at, u.unit_id
    FROM product_barcodes b
    JOIN products p ON p.store_id = b.store_id AND p.id = b.product_id
    LEFT JOIN product_units u ON u.store_id = b.store_id AND u.id = b.product_unit_id
    WHERE b.store_id = p_store AND b.barcode = p_barcode AND p.deleted_at IS NULL;
END
$$;

CREATE OR REPLACE FUNCTION tills_search_page(p_store text, p_ids uuid[])
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
    IF current_setting('citus.version', true) IS NULL THEN
        PERFORM set_config('tills.store_id', p_store, true);
    ELSE
        PERFORM 1 FROM tills_name_store(p_store);
    END IF;
    RETURN QUERY
    SELECT v.version, p.id, p.store_id, p.name, p.sku, p.price, p.cost, p.tax_rate, p.category_id,
           p.brand_id, p.unit_id, p.barcode, p.alternate_barcodes, p.units, p.stock_milli, p.status,
           p.show_in_quick_products, p.created_at, p.updated_at
    FROM (SELECT coalesce((SELECT c.version FROM catalog_versions c WHERE c.store_id = p_store), 0) AS version) v
    LEFT JOIN products p ON p.store_id = p_store AND p.id = ANY (p_ids) AND p.deleted_at IS NULL;
END
$$;
