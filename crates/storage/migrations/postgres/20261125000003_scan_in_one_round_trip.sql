-- The scan in one round trip.
--
-- A scan is the most frequent read, and a transaction around it (`BEGIN; SET LOCAL`, the query,
-- `COMMIT`) costs three round trips. This function sets the store for row-level security with
-- `set_config(..., true)`, which lasts until the end of the calling statement's own transaction,
-- then reads with the same `store_id` condition as every other query: one statement, one round
-- trip, and row-level security still the second wall. It runs as its caller (`tills_app`).
CREATE FUNCTION tills_scan(p_store text, p_barcode text)
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
    PERFORM set_config('tills.store_id', p_store, true);
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

GRANT EXECUTE ON FUNCTION tills_scan(text, text) TO tills_app;
