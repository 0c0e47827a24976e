-- mesgate genealogy store, version 11: a row an administrator gave up on (`mesgate outbox skip`)
-- has a state of its own, 'skipped', instead of 'posted' with a `skipped_reason`: nothing of it
-- reached Odoo, and counts, metrics, the status page and the order totals the poster sends must
-- not take it for posted. Rows skipped before this version ('posted' with a non-empty
-- `skipped_reason`) become 'skipped'.
--
-- SQLite cannot change a CHECK in place: the outbox is rebuilt as SQLite's "Making Other Kinds Of
-- Table Schema Changes" (ALTER TABLE, section 7) says: a new table, the rows copied, the old one
-- dropped, the new one renamed, then its indexes and triggers made again. The migrator runs this in
-- its transaction with foreign keys on, where they cannot be turned off (step 1 of that procedure):
-- outbox_audit, which points at outbox rows, steps aside while the outbox is replaced (dropping a
-- referenced table would break its foreign key) and comes back unchanged, as in version 6. Row ids
-- are kept, so outbox_audit and the audit trail still point right.

CREATE TEMP TABLE outbox_audit_v11 AS SELECT * FROM outbox_audit;
DELETE FROM outbox_audit;

CREATE TABLE outbox_v11 (
    id                 INTEGER PRIMARY KEY,
    sequence           INTEGER UNIQUE REFERENCES events (sequence),
    hold_id            INTEGER REFERENCES holds (id),
    kind               TEXT    NOT NULL,
    document_key       TEXT    NOT NULL,
    latency_class      TEXT    NOT NULL CHECK (latency_class IN ('immediate', 'normal', 'batch')),
    state              TEXT    NOT NULL DEFAULT 'pending'
                               CHECK (state IN ('pending', 'posted', 'failed', 'dead', 'resolved', 'skipped')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms INTEGER NOT NULL,
    last_error         TEXT    NOT NULL DEFAULT '',
    created_at_ms      INTEGER NOT NULL,
    updated_at_ms      INTEGER NOT NULL,
    odoo_answer        TEXT    NOT NULL DEFAULT '',
    skipped_reason     TEXT    NOT NULL DEFAULT '',
    posted_at_ms       INTEGER,
    resolved_note      TEXT    NOT NULL DEFAULT '',
    CHECK ((sequence IS NULL) <> (hold_id IS NULL)),
    CHECK (hold_id IS NULL OR kind IN ('hold', 'release'))
);

-- A skipped row was never posted: it keeps no posting time.
INSERT INTO outbox_v11 (id, sequence, hold_id, kind, document_key, latency_class, state, attempts,
    next_attempt_at_ms, last_error, created_at_ms, updated_at_ms, odoo_answer, skipped_reason, posted_at_ms,
    resolved_note)
SELECT id, sequence, hold_id, kind, document_key, latency_class,
    CASE WHEN state = 'posted' AND skipped_reason != '' THEN 'skipped' ELSE state END,
    attempts, next_attempt_at_ms, last_error, created_at_ms, updated_at_ms, odoo_answer, skipped_reason,
    CASE WHEN state = 'posted' AND skipped_reason != '' THEN NULL ELSE posted_at_ms END,
    resolved_note
FROM outbox;

-- Dropping the table drops its indexes and triggers too (and, with foreign keys on, deletes its
-- rows first without firing triggers: status_counts is set again below).
DROP TABLE outbox;
ALTER TABLE outbox_v11 RENAME TO outbox;
INSERT INTO outbox_audit SELECT * FROM outbox_audit_v11;
DROP TABLE outbox_audit_v11;

-- The indexes of versions 6 and 8, as they were.
CREATE INDEX outbox_due ON outbox (state, next_attempt_at_ms) WHERE state IN ('pending', 'failed');
CREATE INDEX outbox_by_document ON outbox (document_key, id);
CREATE INDEX outbox_dead_by_document ON outbox (document_key) WHERE state = 'dead';
CREATE UNIQUE INDEX outbox_by_hold ON outbox (hold_id, kind) WHERE hold_id IS NOT NULL;
CREATE INDEX outbox_waiting_since ON outbox (created_at_ms) WHERE state IN ('pending', 'failed');

-- The counting triggers of version 8, as they were, and the outbox counts from the rows.
CREATE TRIGGER outbox_counted AFTER INSERT ON outbox BEGIN
    INSERT INTO status_counts (name, key, n) VALUES ('outbox', NEW.state, 1)
        ON CONFLICT (name, key) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER outbox_recounted AFTER UPDATE OF state ON outbox WHEN OLD.state IS NOT NEW.state BEGIN
    UPDATE status_counts SET n = n - 1 WHERE name = 'outbox' AND key = OLD.state;
    INSERT INTO status_counts (name, key, n) VALUES ('outbox', NEW.state, 1)
        ON CONFLICT (name, key) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER outbox_uncounted AFTER DELETE ON outbox BEGIN
    UPDATE status_counts SET n = n - 1 WHERE name = 'outbox' AND key = OLD.state;
END;
DELETE FROM status_counts WHERE name = 'outbox';
INSERT INTO status_counts (name, key, n) SELECT 'outbox', state, count(*) FROM outbox GROUP BY state;
