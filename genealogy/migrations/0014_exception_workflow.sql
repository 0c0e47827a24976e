-- mesgate genealogy store, version 14: exceptions get a life (issue 14, "Exception workflows").
-- See genealogy/MODEL.md ("Exceptions"). (Version 13 belongs to another feature; the migrator
-- applies whatever is above the file's version.)
--
-- An exception is raised `open`, may be `acknowledged` by a person (who, when, why) and is
-- `closed` by a person, by the event that ends what it is about (a downtime's end closes its
-- `machine_stopped`), or by a correction of the event that raised it (it used to be deleted).
-- It names what a supervisor reads: the work order, the work center and the lot it concerns,
-- and its latency class (`ExceptionKind` in Sources/MESDomain says which kind has which).
-- `sequence` may be empty now: an exception need not come from one event.
--
-- The table is rebuilt (SQLite cannot loosen NOT NULL or add a CHECK in place), row ids kept;
-- nothing points at it yet. Existing rows become open exceptions, their latency class from their
-- kind. Dropping it drops its counting triggers of version 8: they are made again below.

CREATE TABLE exceptions_v14 (
    id                 INTEGER PRIMARY KEY,
    kind               TEXT    NOT NULL,
    sequence           INTEGER REFERENCES events (sequence),
    node_id            INTEGER REFERENCES nodes (id),
    detail             TEXT    NOT NULL DEFAULT '',
    created_at_ms      INTEGER NOT NULL,
    work_order         TEXT    NOT NULL DEFAULT '',
    work_center        TEXT    NOT NULL DEFAULT '',
    -- The lot, serial or container concerned, as people read it (`FLOUR lot F1`, `container C7`).
    lot                TEXT    NOT NULL DEFAULT '',
    latency_class      TEXT    NOT NULL CHECK (latency_class IN ('immediate', 'normal', 'batch')),
    state              TEXT    NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'closed')),
    -- What an automatic close looks for (machine_stopped: `<work center>@<started_at_ms>`).
    match_key          TEXT    NOT NULL DEFAULT '',
    acknowledged_at_ms INTEGER,
    acknowledged_by    TEXT    NOT NULL DEFAULT '',
    acknowledge_reason TEXT    NOT NULL DEFAULT '',
    closed_at_ms       INTEGER,
    closed_by          TEXT    NOT NULL DEFAULT '',
    close_reason       TEXT    NOT NULL DEFAULT '',
    CHECK ((state = 'closed') = (closed_at_ms IS NOT NULL)),
    CHECK (state != 'acknowledged' OR acknowledged_at_ms IS NOT NULL)
);

INSERT INTO exceptions_v14 (id, kind, sequence, node_id, detail, created_at_ms, work_order, work_center, lot,
    latency_class)
SELECT x.id, x.kind, x.sequence, x.node_id, x.detail, x.created_at_ms, coalesce(e.work_order, ''),
    coalesce(e.work_center, ''),
    coalesce(CASE n.kind WHEN 'lot' THEN n.product || ' lot ' || n.lot
        WHEN 'serial' THEN n.product || ' serial ' || n.serial WHEN 'container' THEN 'container ' || n.container END, ''),
    CASE x.kind WHEN 'unlinked_consumption' THEN 'batch' ELSE 'normal' END
FROM exceptions x LEFT JOIN events e ON e.sequence = x.sequence LEFT JOIN nodes n ON n.id = x.node_id;

DROP TABLE exceptions;
ALTER TABLE exceptions_v14 RENAME TO exceptions;

CREATE INDEX exceptions_by_kind ON exceptions (kind, id);
-- What is not closed, newest first (the status page, Subscribe's first answer), and what an
-- automatic close or a correction looks for.
CREATE INDEX exceptions_unclosed ON exceptions (id) WHERE state != 'closed';
CREATE INDEX exceptions_unclosed_by_key ON exceptions (kind, match_key) WHERE state != 'closed';
CREATE INDEX exceptions_by_sequence ON exceptions (sequence) WHERE sequence IS NOT NULL;

-- The counting triggers of version 8, as they were (every exception ever raised, by kind).
CREATE TRIGGER exceptions_counted AFTER INSERT ON exceptions BEGIN
    INSERT INTO status_counts (name, key, n) VALUES ('exceptions', NEW.kind, 1)
        ON CONFLICT (name, key) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER exceptions_uncounted AFTER DELETE ON exceptions BEGIN
    UPDATE status_counts SET n = n - 1 WHERE name = 'exceptions' AND key = OLD.kind;
END;

-- Exceptions by kind and state, for /metrics (mesgate_exceptions_open / _acknowledged{kind}),
-- kept by triggers in the transaction of the change like status_counts.
CREATE TABLE exception_counts (
    kind  TEXT    NOT NULL,
    state TEXT    NOT NULL,
    n     INTEGER NOT NULL,
    PRIMARY KEY (kind, state)
) WITHOUT ROWID;
INSERT INTO exception_counts (kind, state, n) SELECT kind, state, count(*) FROM exceptions GROUP BY kind, state;

CREATE TRIGGER exception_states_counted AFTER INSERT ON exceptions BEGIN
    INSERT INTO exception_counts (kind, state, n) VALUES (NEW.kind, NEW.state, 1)
        ON CONFLICT (kind, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER exception_states_recounted AFTER UPDATE OF state ON exceptions WHEN OLD.state IS NOT NEW.state BEGIN
    UPDATE exception_counts SET n = n - 1 WHERE kind = OLD.kind AND state = OLD.state;
    INSERT INTO exception_counts (kind, state, n) VALUES (NEW.kind, NEW.state, 1)
        ON CONFLICT (kind, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER exception_states_uncounted AFTER DELETE ON exceptions BEGIN
    UPDATE exception_counts SET n = n - 1 WHERE kind = OLD.kind AND state = OLD.state;
END;

-- The outbox is rebuilt once more (as in versions 6 and 11: ids, every state including 'skipped',
-- indexes and counting triggers kept; outbox_audit steps aside meanwhile) so that a row may carry
-- an exception (`exception_id`; kind 'exception' for its raising, 'exception_closed' for its
-- close; document_key `exception:<id>`, latency immediate): a `mail.activity` on the production
-- order in Odoo, marked done when the exception is closed.
CREATE TEMP TABLE outbox_audit_v14 AS SELECT * FROM outbox_audit;
DELETE FROM outbox_audit;

CREATE TABLE outbox_v14 (
    id                 INTEGER PRIMARY KEY,
    sequence           INTEGER UNIQUE REFERENCES events (sequence),
    hold_id            INTEGER REFERENCES holds (id),
    exception_id       INTEGER REFERENCES exceptions (id),
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
    CHECK ((sequence IS NOT NULL) + (hold_id IS NOT NULL) + (exception_id IS NOT NULL) = 1),
    CHECK (hold_id IS NULL OR kind IN ('hold', 'release')),
    CHECK (exception_id IS NULL OR kind IN ('exception', 'exception_closed'))
);

INSERT INTO outbox_v14 (id, sequence, hold_id, kind, document_key, latency_class, state, attempts,
    next_attempt_at_ms, last_error, created_at_ms, updated_at_ms, odoo_answer, skipped_reason, posted_at_ms,
    resolved_note)
SELECT id, sequence, hold_id, kind, document_key, latency_class, state, attempts, next_attempt_at_ms, last_error,
    created_at_ms, updated_at_ms, odoo_answer, skipped_reason, posted_at_ms, resolved_note
FROM outbox;

DROP TABLE outbox;
ALTER TABLE outbox_v14 RENAME TO outbox;
INSERT INTO outbox_audit SELECT * FROM outbox_audit_v14;
DROP TABLE outbox_audit_v14;

CREATE INDEX outbox_due ON outbox (state, next_attempt_at_ms) WHERE state IN ('pending', 'failed');
CREATE INDEX outbox_by_document ON outbox (document_key, id);
CREATE INDEX outbox_dead_by_document ON outbox (document_key) WHERE state = 'dead';
CREATE UNIQUE INDEX outbox_by_hold ON outbox (hold_id, kind) WHERE hold_id IS NOT NULL;
CREATE UNIQUE INDEX outbox_by_exception ON outbox (exception_id, kind) WHERE exception_id IS NOT NULL;
CREATE INDEX outbox_waiting_since ON outbox (created_at_ms) WHERE state IN ('pending', 'failed');

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
