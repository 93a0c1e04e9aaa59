-- The tamper-evident journal (see the PostgreSQL migration of the same name and docs/journal.md).
-- Hashes are computed by the server (storage/src/journal.rs) inside the event's write transaction;
-- SQLite's one writer orders a store's appends.

CREATE TABLE journal_entries (
    store_id    TEXT NOT NULL REFERENCES stores (id),
    seq         INTEGER NOT NULL CHECK (seq > 0),
    kind        TEXT NOT NULL,
    ref_id      BLOB,
    content     TEXT NOT NULL,
    prev_hash   BLOB NOT NULL,
    hash        BLOB NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (store_id, seq)
) STRICT;
CREATE INDEX journal_entries_store_recorded ON journal_entries (store_id, recorded_at);
CREATE INDEX journal_entries_store_ref ON journal_entries (store_id, ref_id);

CREATE TABLE journal_heads (
    store_id TEXT NOT NULL REFERENCES stores (id),
    seq      INTEGER NOT NULL,
    hash     BLOB NOT NULL,
    PRIMARY KEY (store_id)
) STRICT;

CREATE TABLE journal_closures (
    store_id  TEXT NOT NULL REFERENCES stores (id),
    seq       INTEGER NOT NULL CHECK (seq > 0),
    kind      TEXT NOT NULL CHECK (kind IN ('z', 'day')),
    shift_id  BLOB,
    z_number  INTEGER,
    head_seq  INTEGER NOT NULL,
    head_hash BLOB NOT NULL,
    closed_at TEXT NOT NULL,
    key_id    TEXT NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (store_id, seq)
) STRICT;
CREATE INDEX journal_closures_store_closed ON journal_closures (store_id, closed_at);

CREATE TRIGGER journal_entries_no_update BEFORE UPDATE ON journal_entries
BEGIN
    SELECT RAISE(ABORT, 'the journal is append-only');
END;
CREATE TRIGGER journal_entries_no_delete BEFORE DELETE ON journal_entries
BEGIN
    SELECT RAISE(ABORT, 'the journal is append-only');
END;
CREATE TRIGGER journal_closures_no_update BEFORE UPDATE ON journal_closures
BEGIN
    SELECT RAISE(ABORT, 'the journal is append-only');
END;
CREATE TRIGGER journal_closures_no_delete BEFORE DELETE ON journal_closures
BEGIN
    SELECT RAISE(ABORT, 'the journal is append-only');
END;
