-- Citus-ready store naming in the one-statement functions.
--
-- `tills_scan`, `tills_search_page` and `tills_sell` named their store with
-- `set_config('tills.store_id', p_store, true)`. On plain PostgreSQL that is `SET LOCAL`; on a
-- Citus coordinator it is not: Citus forwards `SET LOCAL` statements to the workers a transaction
-- uses (with `citus.propagate_set_commands = 'local'`), never a `set_config()` call, so a call
-- that ran on the coordinator read the workers' shards with no store and row-level security hid
-- every row (scans answered 404, an idempotent sale failed the policy). They now run
-- `SET LOCAL tills.store_id` as a statement of its own: the same on PostgreSQL, forwarded on a
-- coordinator, and local on the worker a call is delegated to (`tills citus distribute`
-- distributes these functions by `p_store`). The bodies are otherwise those of migrations 3, 7
-- and 10.
--
-- Citus forwards a `SET LOCAL` only when it runs inside a query's execution (it counts executor
-- levels): a `SET LOCAL` run by the function itself, or through a plain `PERFORM f()` (which
-- PL/pgSQL evaluates without the executor), is not forwarded. So the functions call
-- `tills_name_store` through a query: `PERFORM 1 FROM tills_name_store(p_store)`.
CREATE OR REPLACE FUNCTION tills_name_store(store text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
BEGIN
    EXECUTE format('SET LOCAL tills.store_id = %L', store);
END
$$;
GRANT EXECUTE ON FUNCTION tills_name_store(text) TO tills_app;
DROP FUNCTION IF EXISTS tills_sell(text, uuid, text, text, uuid, uuid, text, bigint, bigint, bigint, bigint, bigint,
                                   bigint, boolean, timestamptz, timestamptz, json, json, json, json);

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
    PERFORM 1 FROM tills_name_store(p_store);
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
    PERFORM 1 FROM tills_name_store(p_store);
    RETURN QUERY
    SELECT v.version, p.id, p.store_id, p.name, p.sku, p.price, p.cost, p.tax_rate, p.category_id,
           p.brand_id, p.unit_id, p.barcode, p.alternate_barcodes, p.units, p.stock_milli, p.status,
           p.show_in_quick_products, p.created_at, p.updated_at
    FROM (SELECT coalesce((SELECT c.version FROM catalog_versions c WHERE c.store_id = p_store), 0) AS version) v
    LEFT JOIN products p ON p.store_id = p_store AND p.id = ANY (p_ids) AND p.deleted_at IS NULL;
END
$$;

GRANT EXECUTE ON FUNCTION tills_search_page(text, uuid[]) TO tills_app;

CREATE OR REPLACE FUNCTION tills_sell(
    p_store text, p_id uuid, p_client_ref text, p_request_hash text, p_customer_id uuid, p_cashier_id uuid,
    p_note text, p_subtotal bigint, p_discount_total bigint, p_tax_total bigint, p_total bigint, p_paid bigint,
    p_change bigint, p_offline boolean, p_sold_at timestamptz, p_now timestamptz,
    p_lines json, p_payments json, p_stock json, p_audit json, p_shift_id uuid, p_require_shift boolean
)
RETURNS TABLE (outcome text, invoice_number text, kind text, request_hash text, resource_id uuid, shift_id uuid)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
#variable_conflict use_column
DECLARE
    v_seq bigint;
    v_prefix text;
    v_invoice text;
    v_shift uuid := p_shift_id;
    v_line record;
    v_pay record;
    v_entry record;
BEGIN
    PERFORM 1 FROM tills_name_store(p_store);
    IF p_client_ref IS NOT NULL THEN
        INSERT INTO idempotency_keys (store_id, client_ref, kind, request_hash, resource_id, created_at)
        VALUES (p_store, p_client_ref, 'sale', p_request_hash, p_id, p_now)
        ON CONFLICT (store_id, client_ref) DO NOTHING;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'replayed'::text, NULL::text, k.kind, k.request_hash, k.resource_id, NULL::uuid
                FROM idempotency_keys k WHERE k.store_id = p_store AND k.client_ref = p_client_ref;
            RETURN;
        END IF;
    END IF;

    -- An online sale belongs to its cashier's open shift, which stays open until the sale commits.
    -- The exception takes back the clientRef claimed above.
    IF NOT p_offline THEN
        SELECT s.id INTO v_shift FROM shifts s
            WHERE s.store_id = p_store AND s.cashier_id = p_cashier_id AND s.status = 'open' FOR SHARE;
        IF v_shift IS NULL AND p_require_shift THEN
            RAISE EXCEPTION 'a sale needs an open shift' USING ERRCODE = 'TL002';
        END IF;
    END IF;

    UPDATE invoice_counters c SET last_number = c.last_number + 1
        FROM stores s WHERE c.store_id = p_store AND s.id = c.store_id
        RETURNING c.last_number, s.invoice_prefix INTO v_seq, v_prefix;
    IF v_seq IS NULL THEN
        RETURN QUERY SELECT 'no_store'::text, NULL::text, NULL::text, NULL::text, NULL::uuid, NULL::uuid;
        RETURN;
    END IF;
    -- `INV-000042`: at least six digits, never cut.
    v_invoice := v_prefix || CASE WHEN v_seq < 1000000 THEN lpad(v_seq::text, 6, '0') ELSE v_seq::text END;

    -- Stock rows are locked in product order, so two sales never wait on each other in a cycle.
    PERFORM 1 FROM products p WHERE p.store_id = p_store
        AND p.id IN (SELECT r.product_id FROM json_to_recordset(p_stock) AS r(product_id uuid))
        ORDER BY p.id FOR NO KEY UPDATE;

    INSERT INTO sales (store_id, id, invoice_number, invoice_seq, status, client_ref, customer_id, cashier_id,
                       note, subtotal, discount_total, tax_total, total, paid, change, offline, sold_at, created_at,
                       shift_id)
    VALUES (p_store, p_id, v_invoice, v_seq, 'completed', p_client_ref, p_customer_id, p_cashier_id, p_note,
            p_subtotal, p_discount_total, p_tax_total, p_total, p_paid, p_change, p_offline, p_sold_at, p_now,
            v_shift);

    -- On Citus, a function delegated to a worker that no longer holds the store's shard (a call
    -- in flight while the store moves) writes to the shard over a connection, and Citus turns an
    -- INSERT … SELECT into a COPY, which row-level security refuses: there the rows go one
    -- INSERT … VALUES each. Plain PostgreSQL keeps the one statement.
    IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        FOR v_line IN SELECT * FROM json_to_recordset(p_lines) AS r(id uuid, position integer, product_id uuid,
             name text, barcode text, unit_id uuid, factor bigint, quantity_milli bigint, price bigint,
             catalog_price bigint, discount bigint, tax_rate integer, tax bigint, total bigint) LOOP
            INSERT INTO sale_lines (store_id, id, sale_id, position, product_id, name, barcode, unit_id, factor,
                                    quantity_milli, price, catalog_price, discount, tax_rate, tax, total, moved_at)
            VALUES (p_store, v_line.id, p_id, v_line.position, v_line.product_id, v_line.name, v_line.barcode,
                    v_line.unit_id, v_line.factor, v_line.quantity_milli, v_line.price, v_line.catalog_price,
                    v_line.discount, v_line.tax_rate, v_line.tax, v_line.total,
                    CASE WHEN v_line.product_id IS NULL THEN NULL ELSE p_now END);
        END LOOP;
        FOR v_pay IN SELECT * FROM json_to_recordset(p_payments) AS r(id uuid, method text, amount bigint,
             reference text) LOOP
            INSERT INTO payments (store_id, id, sale_id, refund_id, method, amount, reference, created_at)
            VALUES (p_store, v_pay.id, p_id, NULL, v_pay.method, v_pay.amount, v_pay.reference, p_now);
        END LOOP;
    ELSE
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
    END IF;

    -- After the lines: the new row versions it writes would each take a lock of their own from
    -- the lines' checks.
    UPDATE products p SET stock_milli = p.stock_milli + r.delta_milli
    FROM json_to_recordset(p_stock) AS r(product_id uuid, delta_milli bigint)
    WHERE p.store_id = p_store AND p.id = r.product_id;

    IF json_array_length(p_audit) > 0 THEN
        FOR v_entry IN SELECT * FROM json_to_recordset(p_audit) AS r(id uuid, actor_id uuid, actor_email text,
             action text, target text, detail text) LOOP
            INSERT INTO audit_log (store_id, id, actor_id, actor_email, action, target, detail, created_at)
            VALUES (p_store, v_entry.id, v_entry.actor_id, v_entry.actor_email, v_entry.action, v_entry.target,
                    v_entry.detail, p_now);
        END LOOP;
    END IF;

    RETURN QUERY SELECT 'created'::text, v_invoice, NULL::text, NULL::text, NULL::uuid, v_shift;
END
$$;
GRANT EXECUTE ON FUNCTION tills_sell(text, uuid, text, text, uuid, uuid, text, bigint, bigint, bigint, bigint, bigint,
                                     bigint, boolean, timestamptz, timestamptz, json, json, json, json, uuid, boolean)
    TO tills_app;

-- On Citus this trigger fires on a worker, on the shard a statement wrote, and a statement that
-- reads the transition table `changed` while writing a distributed table is planned as a
-- distributed INSERT … SELECT that runs where `changed` does not exist ("executor could not find
-- named tuplestore"). There the changes are written one product at a time, each a single-row
-- insert into the store's own shard; plain PostgreSQL keeps the one statement of migration
-- 20261205000010.
CREATE OR REPLACE FUNCTION tills_catalog_products_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
    v_store text;
    v_version bigint;
    v_product uuid;
    v_citus boolean := to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL;
BEGIN
    FOR v_store IN SELECT DISTINCT store_id FROM changed LOOP
        INSERT INTO catalog_versions (store_id, version) VALUES (v_store, 1)
        ON CONFLICT (store_id) DO UPDATE SET version = catalog_versions.version + 1
        RETURNING version INTO v_version;
        IF v_citus THEN
            FOR v_product IN SELECT c.id FROM changed c WHERE c.store_id = v_store LOOP
                INSERT INTO catalog_changes (store_id, product_id, version) VALUES (v_store, v_product, v_version)
                ON CONFLICT (store_id, product_id) DO UPDATE SET version = excluded.version;
            END LOOP;
        ELSE
            INSERT INTO catalog_changes (store_id, product_id, version)
            SELECT c.store_id, c.id, v_version FROM changed c WHERE c.store_id = v_store
            ON CONFLICT (store_id, product_id) DO UPDATE SET version = excluded.version;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
