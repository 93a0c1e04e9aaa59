-- A sale in one round trip.
--
-- A sale wrote in ten statements (BEGIN and the store, the clientRef claim, the invoice number,
-- the sale, its lines, payments, stock locks, stock, movements, COMMIT), each a round trip
-- between the server and PostgreSQL that both sides pay for in CPU and wake-ups. This function
-- runs the same statements inside PostgreSQL, called as one statement whose own transaction
-- commits them all or none. Like `tills_scan`, it names the store with `set_config(..., true)`
-- for row-level security and runs as its caller (`tills_app`), so row-level security stays the
-- second wall, and every statement still names `store_id` itself.
--
-- The rows arrive as JSON arrays, as the importer sends them. It answers one row:
--   ('created', invoice_number, NULL, NULL, NULL)
--   ('replayed', NULL, kind, request_hash, resource_id): this clientRef is already taken
--   ('no_store', NULL, NULL, NULL, NULL): the store has no invoice counter
CREATE FUNCTION tills_sell(
    p_store text, p_id uuid, p_client_ref text, p_request_hash text, p_customer_id uuid, p_cashier_id uuid,
    p_note text, p_subtotal bigint, p_discount_total bigint, p_tax_total bigint, p_total bigint, p_paid bigint,
    p_change bigint, p_offline boolean, p_sold_at timestamptz, p_now timestamptz,
    p_lines json, p_payments json, p_stock json, p_movements json, p_audit json
)
RETURNS TABLE (outcome text, invoice_number text, kind text, request_hash text, resource_id uuid)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
#variable_conflict use_column
DECLARE
    v_seq bigint;
    v_prefix text;
    v_invoice text;
BEGIN
    PERFORM set_config('tills.store_id', p_store, true);
    IF p_client_ref IS NOT NULL THEN
        INSERT INTO idempotency_keys (store_id, client_ref, kind, request_hash, resource_id, created_at)
        VALUES (p_store, p_client_ref, 'sale', p_request_hash, p_id, p_now)
        ON CONFLICT (store_id, client_ref) DO NOTHING;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'replayed'::text, NULL::text, k.kind, k.request_hash, k.resource_id
                FROM idempotency_keys k WHERE k.store_id = p_store AND k.client_ref = p_client_ref;
            RETURN;
        END IF;
    END IF;

    UPDATE invoice_counters c SET last_number = c.last_number + 1 WHERE c.store_id = p_store
        RETURNING c.last_number INTO v_seq;
    IF v_seq IS NULL THEN
        RETURN QUERY SELECT 'no_store'::text, NULL::text, NULL::text, NULL::text, NULL::uuid;
        RETURN;
    END IF;
    SELECT s.invoice_prefix INTO v_prefix FROM stores s WHERE s.id = p_store;
    -- `INV-000042`: at least six digits, never cut.
    v_invoice := v_prefix || CASE WHEN v_seq < 1000000 THEN lpad(v_seq::text, 6, '0') ELSE v_seq::text END;

    INSERT INTO sales (store_id, id, invoice_number, invoice_seq, status, client_ref, customer_id, cashier_id,
                       note, subtotal, discount_total, tax_total, total, paid, change, offline, sold_at, created_at)
    VALUES (p_store, p_id, v_invoice, v_seq, 'completed', p_client_ref, p_customer_id, p_cashier_id, p_note,
            p_subtotal, p_discount_total, p_tax_total, p_total, p_paid, p_change, p_offline, p_sold_at, p_now);

    INSERT INTO sale_lines (store_id, id, sale_id, position, product_id, name, barcode, unit_id, factor,
                            quantity_milli, price, catalog_price, discount, tax_rate, tax, total)
    SELECT p_store, r.id, p_id, r.position, r.product_id, r.name, r.barcode, r.unit_id, r.factor, r.quantity_milli,
           r.price, r.catalog_price, r.discount, r.tax_rate, r.tax, r.total
    FROM json_to_recordset(p_lines) AS r(id uuid, position integer, product_id uuid, name text, barcode text,
         unit_id uuid, factor bigint, quantity_milli bigint, price bigint, catalog_price bigint, discount bigint,
         tax_rate integer, tax bigint, total bigint);

    INSERT INTO payments (store_id, id, sale_id, refund_id, method, amount, reference, created_at)
    SELECT p_store, r.id, p_id, NULL, r.method, r.amount, r.reference, p_now
    FROM json_to_recordset(p_payments) AS r(id uuid, method text, amount bigint, reference text);

    -- Stock rows are locked in product order, so two sales never wait on each other in a cycle.
    PERFORM 1 FROM products p WHERE p.store_id = p_store
        AND p.id IN (SELECT r.product_id FROM json_to_recordset(p_stock) AS r(product_id uuid))
        ORDER BY p.id FOR UPDATE;
    UPDATE products p SET stock_milli = p.stock_milli + r.delta_milli
    FROM json_to_recordset(p_stock) AS r(product_id uuid, delta_milli bigint)
    WHERE p.store_id = p_store AND p.id = r.product_id;

    INSERT INTO stock_movements (store_id, id, product_id, delta_milli, reason, note, sale_id, refund_id, user_id,
                                 created_at)
    SELECT p_store, r.id, r.product_id, r.delta_milli, 'sale', NULL, p_id, NULL, p_cashier_id, p_now
    FROM json_to_recordset(p_movements) AS r(id uuid, product_id uuid, delta_milli bigint);

    INSERT INTO audit_log (store_id, id, actor_id, actor_email, action, target, detail, created_at)
    SELECT p_store, r.id, r.actor_id, r.actor_email, r.action, r.target, r.detail, p_now
    FROM json_to_recordset(p_audit) AS r(id uuid, actor_id uuid, actor_email text, action text, target text,
         detail text);

    RETURN QUERY SELECT 'created'::text, v_invoice, NULL::text, NULL::text, NULL::uuid;
END
$$;

GRANT EXECUTE ON FUNCTION tills_sell(text, uuid, text, text, uuid, uuid, text, bigint, bigint, bigint, bigint, bigint,
    bigint, boolean, timestamptz, timestamptz, json, json, json, json, json) TO tills_app;
