-- Parked carts, and a manager's approval given at a cashier's terminal.
--
-- 1. `parked_carts`: a cart put aside (its lines as the terminal sent them, a label, a
--    customer). Any terminal of the store lists and resumes it; resuming sets `resumed_at` where
--    it is still empty, so of two terminals resuming at once exactly one gets it. A parked cart
--    takes no stock and no invoice number, and expires after the store's `parked_cart_hours`.
-- 2. `users.pin_hash`: the numeric PIN a manager sets to approve at a till (argon2, like
--    passwords).
-- 3. `approvals`: a single-use approval of one action, given by a manager for a cashier; the
--    request that uses it consumes it (`used_at`), and gives it back if it fails.

CREATE TABLE parked_carts (
    store_id    text NOT NULL REFERENCES stores (id),
    id          uuid NOT NULL,
    label       text NOT NULL,
    customer_id uuid,
    note        text,
    lines       text NOT NULL,
    created_by  uuid,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    resumed_at  timestamptz,
    resumed_by  uuid,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, customer_id) REFERENCES customers (store_id, id)
);
CREATE INDEX parked_carts_store_waiting ON parked_carts (store_id, created_at) WHERE resumed_at IS NULL;

ALTER TABLE users ADD COLUMN pin_hash text;

CREATE TABLE approvals (
    store_id     text NOT NULL REFERENCES stores (id),
    id           uuid NOT NULL,
    action       text NOT NULL,
    requested_by uuid NOT NULL,
    approved_by  uuid NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    PRIMARY KEY (store_id, id)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['parked_carts', 'approvals']
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

GRANT SELECT, INSERT, UPDATE, DELETE ON parked_carts TO tills_app;
GRANT SELECT, INSERT ON approvals TO tills_app;
GRANT UPDATE (used_at) ON approvals TO tills_app;
