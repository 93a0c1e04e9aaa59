-- The tamper-evident journal (docs/journal.md): every money event of a store appends one entry,
-- in the transaction of the event, chained by SHA-256 to the entry before it; closures (a Z, or a
-- day) record the chain's head signed with the deployment's Ed25519 key (the key is never here).
--
-- Every table is a store table: store_id leads every key, row-level security like the others, no
-- statement names two stores (distributable on Citus by store_id, colocated with the rest).

CREATE TABLE journal_entries (
    store_id    text NOT NULL REFERENCES stores (id),
    seq         bigint NOT NULL CHECK (seq > 0),
    kind        text NOT NULL,
    ref_id      uuid,
    content     text NOT NULL,
    prev_hash   bytea NOT NULL,
    hash        bytea NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (store_id, seq)
);
CREATE INDEX journal_entries_store_recorded ON journal_entries (store_id, recorded_at);
CREATE INDEX journal_entries_store_ref ON journal_entries (store_id, ref_id);

-- The chain's head per store: its row lock orders a store's appends (gapless, no repeats).
CREATE TABLE journal_heads (
    store_id text NOT NULL REFERENCES stores (id),
    seq      bigint NOT NULL,
    hash     bytea NOT NULL,
    PRIMARY KEY (store_id)
);

CREATE TABLE journal_closures (
    store_id  text NOT NULL REFERENCES stores (id),
    seq       bigint NOT NULL CHECK (seq > 0),
    kind      text NOT NULL CHECK (kind IN ('z', 'day')),
    shift_id  uuid,
    z_number  bigint,
    head_seq  bigint NOT NULL,
    head_hash bytea NOT NULL,
    closed_at timestamptz NOT NULL,
    key_id    text NOT NULL,
    signature bytea NOT NULL,
    PRIMARY KEY (store_id, seq)
);
CREATE INDEX journal_closures_store_closed ON journal_closures (store_id, closed_at);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['journal_entries', 'journal_heads', 'journal_closures']
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

-- Appended only: the server may not change or delete an entry or a closure, and a trigger stops
-- every role (the owner included) from doing it through SQL.
REVOKE ALL ON journal_entries, journal_closures, journal_heads FROM tills_app;
GRANT SELECT, INSERT ON journal_entries, journal_closures TO tills_app;
GRANT SELECT, INSERT, UPDATE ON journal_heads TO tills_app;

CREATE FUNCTION journal_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the journal is append-only';
END;
$$;
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION journal_is_append_only();
CREATE TRIGGER journal_closures_append_only BEFORE UPDATE OR DELETE ON journal_closures
    FOR EACH ROW EXECUTE FUNCTION journal_is_append_only();

-- Appends one entry to the store's chain: H_n = SHA-256(H_{n-1} || seq as 8 bytes big-endian ||
-- content as UTF-8), H_0 = 32 zero bytes. The head's row stays locked until the transaction ends.
-- The same computation as `storage/src/journal.rs` (SQLite) and the verifier.
CREATE FUNCTION tills_journal_append(p_store text, p_kind text, p_ref uuid, p_content text, p_now timestamptz)
RETURNS TABLE (seq bigint, hash bytea)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
#variable_conflict use_column
DECLARE
    v_seq bigint;
    v_prev bytea;
    v_hash bytea;
BEGIN
    INSERT INTO journal_heads AS h (store_id, seq, hash) VALUES (p_store, 1, decode(repeat('00', 32), 'hex'))
        ON CONFLICT (store_id) DO UPDATE SET seq = h.seq + 1
        RETURNING h.seq, h.hash INTO v_seq, v_prev;
    v_hash := sha256(v_prev || int8send(v_seq) || convert_to(p_content, 'UTF8'));
    INSERT INTO journal_entries (store_id, seq, kind, ref_id, content, prev_hash, hash, recorded_at)
        VALUES (p_store, v_seq, p_kind, p_ref, p_content, v_prev, v_hash, p_now);
    UPDATE journal_heads SET hash = v_hash WHERE store_id = p_store;
    RETURN QUERY SELECT v_seq, v_hash;
END;
$$;

-- A sale and its journal entry in one statement (one round trip, like tills_sell alone): the
-- entry's content comes from the server in three parts, around the invoice number and the shift
-- that only tills_sell knows (JSON text: a string, and a string of 32 hex digits or null).
-- tills_sell itself is unchanged.
CREATE FUNCTION tills_sell_journaled(
    p_store text, p_id uuid, p_client_ref text, p_request_hash text, p_customer_id uuid, p_cashier_id uuid,
    p_note text, p_subtotal bigint, p_discount_total bigint, p_tax_total bigint, p_total bigint, p_paid bigint,
    p_change bigint, p_offline boolean, p_sold_at timestamptz, p_now timestamptz,
    p_lines json, p_payments json, p_stock json, p_audit json, p_shift_id uuid, p_require_shift boolean,
    p_journal_kind text, p_journal text[]
)
RETURNS TABLE (outcome text, invoice_number text, kind text, request_hash text, resource_id uuid, shift_id uuid)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM tills_sell(p_store, p_id, p_client_ref, p_request_hash, p_customer_id, p_cashier_id,
        p_note, p_subtotal, p_discount_total, p_tax_total, p_total, p_paid, p_change, p_offline, p_sold_at, p_now,
        p_lines, p_payments, p_stock, p_audit, p_shift_id, p_require_shift) AS s;
    IF r.outcome = 'created' THEN
        PERFORM tills_journal_append(p_store, p_journal_kind, p_id,
            p_journal[1] || to_json(r.invoice_number)::text || p_journal[2]
                || COALESCE('"' || replace(r.shift_id::text, '-', '') || '"', 'null') || p_journal[3],
            p_now);
    END IF;
    RETURN QUERY SELECT r.outcome, r.invoice_number, r.kind, r.request_hash, r.resource_id, r.shift_id;
END;
$$;

GRANT EXECUTE ON FUNCTION tills_journal_append(text, text, uuid, text, timestamptz) TO tills_app;
GRANT EXECUTE ON FUNCTION tills_sell_journaled(text, uuid, text, text, uuid, uuid, text, bigint, bigint, bigint,
    bigint, bigint, bigint, boolean, timestamptz, timestamptz, json, json, json, json, uuid, boolean, text, text[])
    TO tills_app;
