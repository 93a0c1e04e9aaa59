-- A sale runs two statements fewer, and the server's role may not delete what a sale wrote.
--
-- 1. `tills_sell` reads the invoice prefix in the statement that takes the number, and writes
--    audit entries only when the sale has some (most have none).
-- 2. The server's role may not delete stores, sales, their lines, payments, refunds, invoice
--    counters or clientRefs, nor update a line, a payment, a refund line or a clientRef; of a
--    sale it may update only what voiding and refunding change. It never did any of this: now
--    the database refuses it, so a sale once written stays as it was written (its status aside)
--    even through a bug of the server's.
--
-- Measured and not done: dropping foreign keys a sale checks. With pg_stat_statements
-- (track = all) a sale ran 13 foreign-key checks, each a query with its own executor (perf: about
-- a sixth of PostgreSQL's CPU per sale). Dropping the lines' five checks of their sale changed
-- nothing measurable (three alternating pairs); dropping the checks of the store as well gave
-- -15 % to +5 % in pairs on a machine whose speed drifts by as much. Not worth a weaker schema.
REVOKE DELETE ON sales, sale_lines, payments, refunds, refund_lines, idempotency_keys, invoice_counters, stores
    FROM tills_app;
REVOKE UPDATE ON sale_lines, payments, refund_lines, idempotency_keys FROM tills_app;
REVOKE UPDATE ON sales FROM tills_app;
GRANT UPDATE (status, voided_at, voided_by) ON sales TO tills_app;

CREATE OR REPLACE FUNCTION tills_sell(
    p_store text, p_id uuid, p_client_ref text, p_request_hash text, p_customer_id uuid, p_cashier_id uuid,
    p_note text, p_subtotal bigint, p_discount_total bigint, p_tax_total bigint, p_total bigint, p_paid bigint,
    p_change bigint, p_offline boolean, p_sold_at timestamptz, p_now timestamptz,
    p_lines json, p_payments json, p_stock json, p_audit json
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

    UPDATE invoice_counters c SET last_number = c.last_number + 1
        FROM stores s WHERE c.store_id = p_store AND s.id = c.store_id
        RETURNING c.last_number, s.invoice_prefix INTO v_seq, v_prefix;
    IF v_seq IS NULL THEN
        RETURN QUERY SELECT 'no_store'::text, NULL::text, NULL::text, NULL::text, NULL::uuid;
        RETURN;
    END IF;
    -- `INV-000042`: at least six digits, never cut.
    v_invoice := v_prefix || CASE WHEN v_seq < 1000000 THEN lpad(v_seq::text, 6, '0') ELSE v_seq::text END;

    -- Stock rows are locked in product order, so two sales never wait on each other in a cycle.
    PERFORM 1 FROM products p WHERE p.store_id = p_store
        AND p.id IN (SELECT r.product_id FROM json_to_recordset(p_stock) AS r(product_id uuid))
        ORDER BY p.id FOR NO KEY UPDATE;

    INSERT INTO sales (store_id, id, invoice_number, invoice_seq, status, client_ref, customer_id, cashier_id,
                       note, subtotal, discount_total, tax_total, total, paid, change, offline, sold_at, created_at)
    VALUES (p_store, p_id, v_invoice, v_seq, 'completed', p_client_ref, p_customer_id, p_cashier_id, p_note,
            p_subtotal, p_discount_total, p_tax_total, p_total, p_paid, p_change, p_offline, p_sold_at, p_now);

    INSERT INTO sale_lines (store_id, id, sale_id, position, product_id, name, barcode, unit_id, factor,
                            quantity_milli, price, catalog_price, discount, tax_rate, tax, total, moved_at)
    SELECT p_store, r.id, p_id, r.position, r.product_id, r.name, r.barcode, r.unit_id, r.factor, r.quantity_milli,
           r.price, r.catalog_price, r.discount, r.tax_rate, r.tax, r.total,
           CASE WHEN r.product_id IS NULL THEN NULL ELSE p_now END
    FROM json_to_recordset(p_lines) AS r(id uuid, position integer, product_id uuid, name text, barcode text,
         unit_id uuid, factor bigint, quantity_milli bigint, price bigint, catalog_price bigint, discount bigint,
         tax_rate integer, tax bigint, total bigint);

    INSERT INTO payments (store_id, id, sale_id, refund_id, method, amount, reference, created_at)
    SELECT p_store, r.id, p_id, NULL, r.method, r.amount, r.reference, p_now
    FROM json_to_recordset(p_payments) AS r(id uuid, method text, amount bigint, reference text);

    -- After the lines: the new row versions it writes would each take a lock of their own from
    -- the lines' checks.
    UPDATE products p SET stock_milli = p.stock_milli + r.delta_milli
    FROM json_to_recordset(p_stock) AS r(product_id uuid, delta_milli bigint)
    WHERE p.store_id = p_store AND p.id = r.product_id;

    IF json_array_length(p_audit) > 0 THEN
        INSERT INTO audit_log (store_id, id, actor_id, actor_email, action, target, detail, created_at)
        SELECT p_store, r.id, r.actor_id, r.actor_email, r.action, r.target, r.detail, p_now
        FROM json_to_recordset(p_audit) AS r(id uuid, actor_id uuid, actor_email text, action text, target text,
             detail text);
    END IF;

    RETURN QUERY SELECT 'created'::text, v_invoice, NULL::text, NULL::text, NULL::uuid;
END
$$;
