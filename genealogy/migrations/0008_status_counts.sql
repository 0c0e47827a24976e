-- mesgate genealogy store, version 8: counts for /metrics kept as rows change, and the writer's probe.
--
-- /metrics used to count the outbox by state, the exceptions by kind, the held items and the
-- administrators' outbox commands with GROUP BY over whole tables at every scrape: its cost grew
-- with the store. status_counts holds those counts; the triggers below keep them in the same
-- transaction as the row they count, whichever connection writes it (the ingest writer, the Odoo
-- poster, `mesgate outbox`). A future migration that rebuilds one of these tables must create its
-- triggers again.

CREATE TABLE status_counts (
    name TEXT    NOT NULL CHECK (name IN ('outbox', 'exceptions', 'held', 'outbox_commands')),
    key  TEXT    NOT NULL,
    n    INTEGER NOT NULL,
    PRIMARY KEY (name, key)
) WITHOUT ROWID;

INSERT INTO status_counts (name, key, n) SELECT 'outbox', state, count(*) FROM outbox GROUP BY state;
INSERT INTO status_counts (name, key, n) SELECT 'exceptions', kind, count(*) FROM exceptions GROUP BY kind;
INSERT INTO status_counts (name, key, n) SELECT 'held', '', count(*) FROM nodes WHERE status = 'held';
INSERT INTO status_counts (name, key, n)
    SELECT 'outbox_commands', action, count(*) FROM outbox_audit GROUP BY action;

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

CREATE TRIGGER exceptions_counted AFTER INSERT ON exceptions BEGIN
    INSERT INTO status_counts (name, key, n) VALUES ('exceptions', NEW.kind, 1)
        ON CONFLICT (name, key) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER exceptions_uncounted AFTER DELETE ON exceptions BEGIN
    UPDATE status_counts SET n = n - 1 WHERE name = 'exceptions' AND key = OLD.kind;
END;

CREATE TRIGGER held_counted AFTER INSERT ON nodes WHEN NEW.status = 'held' BEGIN
    INSERT INTO status_counts (name, key, n) VALUES ('held', '', 1)
        ON CONFLICT (name, key) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER held_recounted AFTER UPDATE OF status ON nodes
    WHEN (OLD.status = 'held') <> (NEW.status = 'held') BEGIN
    INSERT INTO status_counts (name, key, n) VALUES ('held', '', CASE NEW.status WHEN 'held' THEN 1 ELSE -1 END)
        ON CONFLICT (name, key) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER held_uncounted AFTER DELETE ON nodes WHEN OLD.status = 'held' BEGIN
    UPDATE status_counts SET n = n - 1 WHERE name = 'held' AND key = '';
END;

CREATE TRIGGER outbox_commands_counted AFTER INSERT ON outbox_audit BEGIN
    INSERT INTO status_counts (name, key, n) VALUES ('outbox_commands', NEW.action, 1)
        ON CONFLICT (name, key) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER outbox_commands_uncounted AFTER DELETE ON outbox_audit BEGIN
    UPDATE status_counts SET n = n - 1 WHERE name = 'outbox_commands' AND key = OLD.action;
END;

-- The oldest outbox row still waiting for Odoo, found in one step (the gauge
-- mesgate_outbox_oldest_waiting_age_seconds) instead of a walk over every waiting row.
CREATE INDEX outbox_waiting_since ON outbox (created_at_ms) WHERE state IN ('pending', 'failed');

-- One row the ingest writer rewrites while its transactions fail (disk full, I/O error), to find
-- out when it can commit again without waiting for an event (see IngestWriter+Condition).
CREATE TABLE writer_probe (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    at_ms INTEGER NOT NULL
);
