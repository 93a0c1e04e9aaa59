-- The journal's append writes the store's head row once per entry instead of twice.
--
-- Migration 20261206000010 bumped the head with an upsert (`INSERT … ON CONFLICT DO UPDATE`: an
-- index probe, a speculative insertion that conflicts, then a new version of the row) and set
-- its hash with a second UPDATE (another version): two dead versions of one hot row per sale,
-- under the row lock every sale of the store waits for. Now the head is locked and read, the
-- entry's hash computed, and the head written once. The chain is the same (docs/journal.md):
-- H_n = SHA-256(H_{n-1} || seq as 8 bytes big-endian || content as UTF-8), H_0 = 32 zero bytes.
--
-- A store's first entry creates its head at seq 0 (as a closure's hold does) and takes it with
-- the same lock: concurrent first appends wait on the key, then read the committed head.
CREATE OR REPLACE FUNCTION tills_journal_append(p_store text, p_kind text, p_ref uuid, p_content text, p_now timestamptz)
RETURNS TABLE (seq bigint, hash bytea)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
#variable_conflict use_column
DECLARE
    v_seq bigint;
    v_prev bytea;
    v_hash bytea;
BEGIN
    SELECT h.seq + 1, h.hash INTO v_seq, v_prev FROM journal_heads h WHERE h.store_id = p_store FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO journal_heads (store_id, seq, hash) VALUES (p_store, 0, decode(repeat('00', 32), 'hex'))
            ON CONFLICT (store_id) DO NOTHING;
        SELECT h.seq + 1, h.hash INTO v_seq, v_prev FROM journal_heads h WHERE h.store_id = p_store FOR UPDATE;
    END IF;
    v_hash := sha256(v_prev || int8send(v_seq) || convert_to(p_content, 'UTF8'));
    UPDATE journal_heads h SET seq = v_seq, hash = v_hash WHERE h.store_id = p_store;
    INSERT INTO journal_entries (store_id, seq, kind, ref_id, content, prev_hash, hash, recorded_at)
        VALUES (p_store, v_seq, p_kind, p_ref, p_content, v_prev, v_hash, p_now);
    RETURN QUERY SELECT v_seq, v_hash;
END;
$$;

-- Room on the head's page for its next versions: an update that finds it stays on the page
-- (HOT) and touches no index.
ALTER TABLE journal_heads SET (fillfactor = 50);

-- Entries are found by store and sequence (the primary key) and by store and time (exports);
-- only verification looks for the entry of a given row, over a whole store at once, where a hash
-- join over the store's entries serves as well. An index fewer for every money event to write.
DROP INDEX journal_entries_store_ref;
