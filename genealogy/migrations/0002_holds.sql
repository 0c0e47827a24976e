-- mesgate genealogy store, version 2: quality holds and refused events. See genealogy/MODEL.md.

-- One quality hold placed on a lot, serial or container (the root); released_at_ms is set by its release.
CREATE TABLE holds (
    id             INTEGER PRIMARY KEY,
    node_id        INTEGER NOT NULL REFERENCES nodes (id),
    reason         TEXT    NOT NULL DEFAULT '',
    placed_by      TEXT    NOT NULL DEFAULT '',
    propagate      INTEGER NOT NULL,
    placed_at_ms   INTEGER NOT NULL,
    released_at_ms INTEGER,
    released_by    TEXT    NOT NULL DEFAULT '',
    release_reason TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX holds_open_by_node ON holds (node_id) WHERE released_at_ms IS NULL;

-- Every node a hold covers (the root and, when propagating, everything made from it), with the
-- status it had before; a release restores the status of the items no other open hold covers.
CREATE TABLE hold_items (
    hold_id      INTEGER NOT NULL REFERENCES holds (id),
    node_id      INTEGER NOT NULL REFERENCES nodes (id),
    prior_status TEXT    NOT NULL,
    PRIMARY KEY (hold_id, node_id)
) WITHOUT ROWID;
CREATE INDEX hold_items_by_node ON hold_items (node_id, hold_id);

-- Events the store refused to store (a Shipped of a held item): kept for people to look at; not in
-- events, so the same event_id can be sent again once the hold is released.
CREATE TABLE refused_events (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL,
    event_id      TEXT    NOT NULL,
    node_id       INTEGER REFERENCES nodes (id),
    detail        TEXT    NOT NULL DEFAULT '',
    client        TEXT    NOT NULL DEFAULT '',
    raw           BLOB    NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX refused_events_by_kind ON refused_events (kind, id);
