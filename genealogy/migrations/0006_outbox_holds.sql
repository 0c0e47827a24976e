-- mesgate genealogy store, version 6: quality holds go to Odoo through the outbox, and dead rows a
-- later posting made good are marked resolved. (Versions 4 and 5 belong to other features; the
-- migrator applies whatever is above the file's version.)
--
-- The outbox is rebuilt (SQLite cannot loosen a column or a CHECK in place): a row carries either
-- an event (`sequence`) or a hold's placement or release (`hold_id`, kind 'hold' or 'release'),
-- and may be 'resolved': dead once, then covered by a later successful posting of the same order,
-- stop or hold (`resolved_note` says which). Row ids are kept, so outbox_audit still points right.

-- outbox_audit points at outbox rows: its rows step aside while the outbox is replaced (dropping a
-- referenced table inside a transaction would break the foreign key), then come back unchanged.
CREATE TEMP TABLE outbox_audit_v6 AS SELECT * FROM outbox_audit;
DELETE FROM outbox_audit;

CREATE TABLE outbox_v6 (
    id                 INTEGER PRIMARY KEY,
    sequence           INTEGER UNIQUE REFERENCES events (sequence),
    hold_id            INTEGER REFERENCES holds (id),
    kind               TEXT    NOT NULL,
    document_key       TEXT    NOT NULL,
    latency_class      TEXT    NOT NULL CHECK (latency_class IN ('immediate', 'normal', 'batch')),
    state              TEXT    NOT NULL DEFAULT 'pending'
                               CHECK (state IN ('pending', 'posted', 'failed', 'dead', 'resolved')),
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

INSERT INTO outbox_v6 (id, sequence, kind, document_key, latency_class, state, attempts, next_attempt_at_ms,
    last_error, created_at_ms, updated_at_ms, odoo_answer, skipped_reason, posted_at_ms)
SELECT id, sequence, kind, document_key, latency_class, state, attempts, next_attempt_at_ms, last_error,
    created_at_ms, updated_at_ms, odoo_answer, skipped_reason, posted_at_ms
FROM outbox;

DROP TABLE outbox;
ALTER TABLE outbox_v6 RENAME TO outbox;
INSERT INTO outbox_audit SELECT * FROM outbox_audit_v6;
DROP TABLE outbox_audit_v6;

CREATE INDEX outbox_due ON outbox (state, next_attempt_at_ms) WHERE state IN ('pending', 'failed');
CREATE INDEX outbox_by_document ON outbox (document_key, id);
-- The dead rows of a document: what a successful posting looks at to mark rows resolved (small:
-- dead rows are few, so a posting of a busy order does not scan its thousands of posted rows).
CREATE INDEX outbox_dead_by_document ON outbox (document_key) WHERE state = 'dead';
-- One placement row and one release row per hold.
CREATE UNIQUE INDEX outbox_by_hold ON outbox (hold_id, kind) WHERE hold_id IS NOT NULL;
