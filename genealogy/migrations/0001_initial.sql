-- mesgate genealogy store, version 1. See genealogy/MODEL.md for what every table means.
-- Applied by the store's migrator in one transaction, which then records the version in
-- schema_migrations and PRAGMA user_version. Times are Unix milliseconds UTC.

PRAGMA application_id = 1296388935; -- 0x4D455347 'MESG': marks the file as a mesgate store

CREATE TABLE schema_migrations (
    version       INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    applied_at_ms INTEGER NOT NULL
);

-- Every accepted event, in commit order. sequence is the ack's sequence and is never reused
-- (AUTOINCREMENT), even if old events are one day archived away.
CREATE TABLE events (
    sequence       INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id       TEXT    NOT NULL UNIQUE,
    kind           TEXT    NOT NULL,
    occurred_at_ms INTEGER NOT NULL,
    tz_offset      TEXT    NOT NULL DEFAULT '',
    plant          TEXT    NOT NULL DEFAULT '',
    work_center    TEXT    NOT NULL DEFAULT '',
    operator_id    TEXT    NOT NULL DEFAULT '',
    work_order     TEXT    NOT NULL DEFAULT '',
    client         TEXT    NOT NULL DEFAULT '',
    recorded_at_ms INTEGER NOT NULL,
    raw            BLOB    NOT NULL
);

-- Genealogy nodes: lots (product, lot), serial units (product, serial; lot an attribute), containers
-- (container) and production orders (name). origin says which event kind created the node;
-- 'unknown' means it was first named as an input before anything created it.
CREATE TABLE nodes (
    id             INTEGER PRIMARY KEY,
    kind           TEXT    NOT NULL CHECK (kind IN ('lot', 'serial', 'container', 'order')),
    product        TEXT    NOT NULL DEFAULT '',
    lot            TEXT    NOT NULL DEFAULT '',
    serial         TEXT    NOT NULL DEFAULT '',
    container      TEXT    NOT NULL DEFAULT '',
    name           TEXT    NOT NULL DEFAULT '',
    origin         TEXT    NOT NULL
        CHECK (origin IN ('received', 'produced', 'split', 'packed', 'order', 'unknown')),
    status         TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'shipped', 'scrapped', 'held')),
    quality        TEXT    NOT NULL DEFAULT '' CHECK (quality IN ('', 'pass', 'fail', 'warn')),
    location       TEXT    NOT NULL DEFAULT '',
    first_sequence INTEGER NOT NULL REFERENCES events (sequence)
);
CREATE UNIQUE INDEX nodes_lot ON nodes (product, lot) WHERE kind = 'lot';
CREATE UNIQUE INDEX nodes_serial ON nodes (product, serial) WHERE kind = 'serial';
CREATE UNIQUE INDEX nodes_container ON nodes (container) WHERE kind = 'container';
CREATE UNIQUE INDEX nodes_order ON nodes (name) WHERE kind = 'order';

-- "went into" edges, from → to:
--   direct       component → output        (consumption with `into`)
--   order_input  component → order         (consumption without `into`)
--   order_output order → output            (production report, or the `into` of a consumption; one per pair)
--   containment  item → container          (Packed ADD; a Packed DELETE sets ended_sequence)
--   split        lot → new lot             (Moved with new_lot)
-- sequence is the event that made the edge.
CREATE TABLE edges (
    id             INTEGER PRIMARY KEY,
    kind           TEXT    NOT NULL
        CHECK (kind IN ('direct', 'order_input', 'order_output', 'containment', 'split')),
    from_node      INTEGER NOT NULL REFERENCES nodes (id),
    to_node        INTEGER NOT NULL REFERENCES nodes (id),
    qty            REAL,
    uom            TEXT    NOT NULL DEFAULT '',
    work_order     TEXT    NOT NULL DEFAULT '',
    sequence       INTEGER NOT NULL REFERENCES events (sequence),
    ended_sequence INTEGER REFERENCES events (sequence)
);
CREATE INDEX edges_by_from ON edges (from_node, to_node);
CREATE INDEX edges_by_to ON edges (to_node, from_node);
CREATE UNIQUE INDEX edges_order_output ON edges (from_node, to_node) WHERE kind = 'order_output';
CREATE UNIQUE INDEX edges_open_containment ON edges (from_node, to_node)
    WHERE kind = 'containment' AND ended_sequence IS NULL;

-- Every node an event touches, with its role in the event: the index of a lot's history.
CREATE TABLE event_nodes (
    node_id  INTEGER NOT NULL REFERENCES nodes (id),
    sequence INTEGER NOT NULL REFERENCES events (sequence),
    role     TEXT    NOT NULL,
    PRIMARY KEY (node_id, sequence, role)
) WITHOUT ROWID;

CREATE TABLE receipts (
    id             INTEGER PRIMARY KEY,
    node_id        INTEGER NOT NULL REFERENCES nodes (id),
    supplier       TEXT    NOT NULL DEFAULT '',
    supplier_lot   TEXT    NOT NULL DEFAULT '',
    purchase_order TEXT    NOT NULL DEFAULT '',
    qty            REAL,
    uom            TEXT    NOT NULL DEFAULT '',
    location       TEXT    NOT NULL DEFAULT '',
    sequence       INTEGER NOT NULL REFERENCES events (sequence)
);
CREATE INDEX receipts_by_node ON receipts (node_id);
CREATE INDEX receipts_by_supplier_lot ON receipts (supplier, supplier_lot);

CREATE TABLE shipments (
    id          INTEGER PRIMARY KEY,
    node_id     INTEGER NOT NULL REFERENCES nodes (id),
    customer    TEXT    NOT NULL,
    delivery    TEXT    NOT NULL DEFAULT '',
    destination TEXT    NOT NULL DEFAULT '',
    qty         REAL,
    uom         TEXT    NOT NULL DEFAULT '',
    sequence    INTEGER NOT NULL REFERENCES events (sequence)
);
CREATE INDEX shipments_by_node ON shipments (node_id);

-- Stored but doubtful events, for people to look at: unknown_lot, unlinked_consumption, not_in_container.
CREATE TABLE exceptions (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL,
    sequence      INTEGER NOT NULL REFERENCES events (sequence),
    node_id       INTEGER REFERENCES nodes (id),
    detail        TEXT    NOT NULL DEFAULT '',
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX exceptions_by_kind ON exceptions (kind, id);

-- What Odoo must be told, written in the event's transaction; drained by the poster.
CREATE TABLE outbox (
    id                 INTEGER PRIMARY KEY,
    sequence           INTEGER NOT NULL UNIQUE REFERENCES events (sequence),
    kind               TEXT    NOT NULL,
    document_key       TEXT    NOT NULL,
    latency_class      TEXT    NOT NULL CHECK (latency_class IN ('immediate', 'normal', 'batch')),
    state              TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'posted', 'failed', 'dead')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms INTEGER NOT NULL,
    last_error         TEXT    NOT NULL DEFAULT '',
    created_at_ms      INTEGER NOT NULL,
    updated_at_ms      INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at_ms) WHERE state IN ('pending', 'failed');
CREATE INDEX outbox_by_document ON outbox (document_key, id);
