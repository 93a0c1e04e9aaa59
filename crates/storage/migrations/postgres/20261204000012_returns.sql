-- Returns without a receipt: goods brought back with no sale to refund against (a manager's, or
-- with a manager's approval). Each line is priced at the catalog's price then unless a price is
-- given; the payouts come to the total. A return counts under refunds in every report, in its
-- day and in the shift it was made in. A `client_ref` makes a retry answer the same return.

CREATE TABLE returns (
    store_id    text NOT NULL REFERENCES stores (id),
    id          uuid NOT NULL,
    client_ref  text,
    request_hash text,
    shift_id    uuid,
    reason      text NOT NULL,
    restock     boolean NOT NULL,
    subtotal    bigint NOT NULL,
    tax_total   bigint NOT NULL,
    total       bigint NOT NULL CHECK (total >= 0),
    created_by  uuid,
    approved_by uuid,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, shift_id) REFERENCES shifts (store_id, id),
    CONSTRAINT returns_store_client_ref UNIQUE (store_id, client_ref)
);
CREATE INDEX returns_store_created ON returns (store_id, created_at);
CREATE INDEX returns_store_shift ON returns (store_id, shift_id) WHERE shift_id IS NOT NULL;

CREATE TABLE return_lines (
    store_id       text NOT NULL,
    id             uuid NOT NULL,
    return_id      uuid NOT NULL,
    position       integer NOT NULL,
    product_id     uuid NOT NULL,
    name           text NOT NULL,
    barcode        text,
    quantity_milli bigint NOT NULL CHECK (quantity_milli > 0),
    price          bigint NOT NULL,
    tax_rate       integer NOT NULL,
    tax            bigint NOT NULL,
    total          bigint NOT NULL,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, return_id) REFERENCES returns (store_id, id),
    FOREIGN KEY (store_id, product_id) REFERENCES products (store_id, id)
);
CREATE INDEX return_lines_store_return ON return_lines (store_id, return_id);

CREATE TABLE return_payouts (
    store_id  text NOT NULL,
    id        uuid NOT NULL,
    return_id uuid NOT NULL,
    method    text NOT NULL CHECK (method IN ('cash', 'card', 'mobile', 'voucher')),
    amount    bigint NOT NULL CHECK (amount >= 0),
    reference text,
    PRIMARY KEY (store_id, id),
    FOREIGN KEY (store_id, return_id) REFERENCES returns (store_id, id)
);
CREATE INDEX return_payouts_store_return ON return_payouts (store_id, return_id);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['returns', 'return_lines', 'return_payouts']
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

-- Written once, never changed or deleted by the server.
GRANT SELECT, INSERT ON returns, return_lines, return_payouts TO tills_app;
