-- mesgate genealogy store, version 4: the tamper-evident audit trail. See genealogy/MODEL.md
-- ("The audit trail") for the hash formula and what `mesgate audit verify` proves.

-- Append-only, hash-chained: who (actor), what (action, subject), when (at_ms), why (reason).
--   id            1, 2, 3, ... without gaps: the writer assigns head + 1 (no AUTOINCREMENT)
--   record_digest SHA-256 of the record the entry describes (the stored event row, the hold, the
--                 outbox command row), X'' when it describes no stored record (an auth failure)
--   prev_hash     the previous entry's hash; 32 zero bytes for entry 1
--   hash          SHA-256(prev_hash || canonical bytes of id, at_ms, actor, action, subject, reason,
--                 detail, record_digest)
-- Every change it records is written in the same transaction as its entry. No index but the
-- primary key: one more B-tree per stored event would cost ingest.
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    at_ms         INTEGER NOT NULL,
    actor         TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    subject       TEXT    NOT NULL DEFAULT '',
    reason        TEXT    NOT NULL DEFAULT '',
    detail        TEXT    NOT NULL DEFAULT '',
    record_digest BLOB    NOT NULL,
    prev_hash     BLOB    NOT NULL,
    hash          BLOB    NOT NULL
);

-- A mistake (or a careless tool) cannot change or delete an entry. Someone with the file can drop
-- these triggers, so `mesgate audit verify` does not rely on them: it recomputes the chain.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
