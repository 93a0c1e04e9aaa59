-- Shifts: a cashier's cash-drawer session on one terminal, from the opening float to the Z close.
--
-- 1. The store's settings: `require_shift` (a sale needs an open shift), `cash_tolerance` (the
--    over/short a cashier may close with; beyond it a manager), `parked_cart_hours`.
-- 2. `shifts`: at most one open shift per terminal and per cashier (partial unique indexes). A
--    close takes the store's next Z number (`z_counters`, gapless like invoices) and freezes the
--    Z report in the row. A closed shift never changes again, and its cash movements never
--    change at all: triggers refuse it to every role, the owner included.
-- 3. Sales, refunds and voids record the shift they were made in. A sale made online belongs to
--    its cashier's open shift: `tills_sell` finds it and holds its row (FOR SHARE) while it
--    writes, so a sale racing its shift's close either commits before the close reads the
--    figures, or finds the shift closed and belongs to none (or, where the store requires a
--    shift, is refused: SQLSTATE TL002). A Z never misses a sale that claims its shift. An
--    offline sale names the shift it was made in.

ALTER TABLE stores
    ADD COLUMN require_shift boolean NOT NULL DEFAULT false,
    ADD COLUMN cash_tolerance bigint NOT NULL DEFAULT 0 CHECK (cash_tolerance >= 0),
    ADD COLUMN parked_cart_hours integer NOT NULL DEFAULT 24 CHECK (parked_cart_hours BETWEEN 1 AND 720);

CREATE TABLE shifts (
    store_id      text NOT NULL REFERENCES stores (id),
    id            uuid NOT NULL,
    terminal      text NOT NULL,
    cashier_id    uuid NOT NULL,
    opening_float bigint NOT NULL CHECK (opening_float >= 0),
    opened_at     timestamptz NOT NULL,
    status        text NOT NULL CHECK (status IN ('open', 'closed')),
    closed_at     timestamptz,
    closed_by     uuid,
    z_number      bigint,
    expected_cash bigint,
    counted_cash  bigint,
    difference    bigint,
    denominations text,
    note          text,
    approved_by   uuid,
    report        text,
    PRIMARY KEY (store_id, id),
    CONSTRAINT shifts_store_z UNIQUE (store_id, z_number)
);
CREATE UNIQUE INDEX shifts_open_terminal ON shifts (store_id, terminal) WHERE status = 'open';
CREATE UNIQUE INDEX shifts_open_cashier ON shifts (store_id, cashier_id) WHERE status = 'open';
CREATE INDEX shifts_store_opened ON shifts (store_id, opened_at, id);

CREATE TABLE z_counters (
    store_id    text PRIMARY KEY REFERENCES stores (id),
    last_number bigint NOT NULL
);

CREATE TABLE cash_movements (
    store_id    text NOT NULL,
    id          uuid NOT NULL,
    shift_id    uuid NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('pay_in', 'pay_out', 'no_sale')),
    amount      bigint NOT NULL CHECK (amount >= 0),
    reason      text NOT NULL,
    created_by  uuid,
    approved_by uuid,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, shift_id) REFERENCES shifts (store_id, id)
);
CREATE INDEX cash_movements_store_shift ON cash_movements (store_id, shift_id, created_at);

ALTER TABLE sales ADD COLUMN shift_id uuid, ADD COLUMN void_shift_id uuid;
ALTER TABLE sales ADD CONSTRAINT sales_shift FOREIGN KEY (store_id, shift_id) REFERENCES shifts (store_id, id);
CREATE INDEX sales_store_shift ON sales (store_id, shift_id) WHERE shift_id IS NOT NULL;
CREATE INDEX sales_store_void_shift ON sales (store_id, void_shift_id) WHERE void_shift_id IS NOT NULL;
ALTER TABLE refunds ADD COLUMN shift_id uuid;
CREATE INDEX refunds_store_shift ON refunds (store_id, shift_id) WHERE shift_id IS NOT NULL;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['shifts', 'z_counters', 'cash_movements']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY store_isolation ON %I
                 USING (store_id = current_setting(''tills.store_id'', true))
                 WITH CHECK (store_id = current_setting(''tills.store_id'', true))', t);
    END LOOP;
END
$$;

GRANT SELECT, INSERT ON shifts, cash_movements TO tills_app;
GRANT SELECT, INSERT, UPDATE ON z_counters TO tills_app;
-- Closing is the only change a shift takes.
GRANT UPDATE (status, closed_at, closed_by, z_number, expected_cash, counted_cash, difference, denominations,
              note, approved_by, report) ON shifts TO tills_app;
GRANT UPDATE (void_shift_id) ON sales TO tills_app;

CREATE FUNCTION tills_closed_shift_stays() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.status = 'closed' THEN
        RAISE EXCEPTION 'a closed shift never changes';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER shifts_closed_stay BEFORE UPDATE OR DELETE ON shifts
    FOR EACH ROW EXECUTE FUNCTION tills_closed_shift_stays();

CREATE FUNCTION tills_cash_movements_stay() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'cash movements never change';
END;
$$;
CREATE TRIGGER cash_movements_stay BEFORE UPDATE OR DELETE ON cash_movements
    FOR EACH ROW EXECUTE FUNCTION tills_cash_movements_stay();

DROP FUNCTION tills_sell(text, uuid, text, text, uuid, uuid, text, bigint, bigint, bigint, bigint, bigint,
                         bigint, boolean, timestamptz, timestamptz, json, json, json, json);

CREATE FUNCTION tills_sell(
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
BEGIN
    PERFORM set_config('tills.store_id', p_store, true);
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

    RETURN QUERY SELECT 'created'::text, v_invoice, NULL::text, NULL::text, NULL::uuid, v_shift;
END
$$;
GRANT EXECUTE ON FUNCTION tills_sell(text, uuid, text, text, uuid, uuid, text, bigint, bigint, bigint, bigint, bigint,
                                     bigint, boolean, timestamptz, timestamptz, json, json, json, json, uuid, boolean)
    TO tills_app;
