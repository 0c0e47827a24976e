-- mesgate genealogy store, version 9: replication to an enterprise hub over NATS JetStream. See
-- genealogy/MODEL.md ("Many plants").

-- Who this store is: a random id made once, and the plant it serves once a plant gateway has
-- replicated (`serve --plant`); a store serves one plant for good, and the hub refuses a second
-- store claiming the same plant.
CREATE TABLE store_identity (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    store_id TEXT    NOT NULL,
    plant    TEXT
);
INSERT INTO store_identity (id, store_id) VALUES (1, lower(hex(randomblob(16))));

-- How far the store's commit log (audit_log, whose ids follow commit order without gaps) has been
-- published to a JetStream stream and acknowledged by it. It moves only on the stream's ack, so a
-- restart, a crash or a cut link resumes after the last acknowledged entry: nothing is skipped, and
-- what is sent twice carries the same Nats-Msg-Id.
CREATE TABLE replication_cursor (
    stream         TEXT    PRIMARY KEY,
    audit_id       INTEGER NOT NULL,
    event_sequence INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL
) WITHOUT ROWID;

-- At the hub: the plant event each stored event is, by the plant and the plant store's sequence. A
-- plant event is applied once: a second delivery finds its row and is a duplicate. The hub stores it
-- under the event id `<plant>/<event_id>` (plants may use the same ids); its raw bytes are the plant's.
CREATE TABLE plant_events (
    plant          TEXT    NOT NULL,
    plant_sequence INTEGER NOT NULL,
    sequence       INTEGER NOT NULL UNIQUE REFERENCES events (sequence),
    recorded_at_ms INTEGER NOT NULL,
    PRIMARY KEY (plant, plant_sequence)
) WITHOUT ROWID;

-- At the hub: each plant, the store that replicates it (the first one seen; another store claiming
-- the same plant is refused), and how far its events have been applied.
CREATE TABLE hub_plants (
    plant          TEXT    PRIMARY KEY,
    store_id       TEXT    NOT NULL,
    last_sequence  INTEGER NOT NULL DEFAULT 0,
    applied        INTEGER NOT NULL DEFAULT 0,
    applied_at_ms  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- At the hub: the holds placed and released at each plant, as the plant replicated them.
CREATE TABLE plant_holds (
    plant          TEXT    NOT NULL,
    hold_id        INTEGER NOT NULL,
    product        TEXT    NOT NULL DEFAULT '',
    lot            TEXT    NOT NULL DEFAULT '',
    serial         TEXT    NOT NULL DEFAULT '',
    container      TEXT    NOT NULL DEFAULT '',
    reason         TEXT    NOT NULL DEFAULT '',
    placed_by      TEXT    NOT NULL DEFAULT '',
    propagate      INTEGER NOT NULL,
    placed_at_ms   INTEGER NOT NULL,
    released_at_ms INTEGER,
    released_by    TEXT    NOT NULL DEFAULT '',
    release_reason TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (plant, hold_id)
) WITHOUT ROWID;

-- At the hub: messages it could not apply (undecodable, from a second store claiming a plant), with
-- why; they never block the rest of that plant's stream.
CREATE TABLE hub_dead_letters (
    id              INTEGER PRIMARY KEY,
    plant           TEXT    NOT NULL DEFAULT '',
    stream          TEXT    NOT NULL,
    stream_sequence INTEGER NOT NULL,
    reason          TEXT    NOT NULL,
    headers         TEXT    NOT NULL DEFAULT '',
    body            BLOB    NOT NULL,
    at_ms           INTEGER NOT NULL
);
