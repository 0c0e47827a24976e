-- mesgate genealogy store, version 10: holds placed at the enterprise hub reach the plants. See
-- genealogy/MODEL.md ("Many plants").

-- At the hub: each hold placed at the hub (Quality.PlaceHold there) and when it was sent to the
-- plants it concerns, and its release.
CREATE TABLE hub_hold_fanout (
    hold_id             INTEGER PRIMARY KEY REFERENCES holds (id),
    placed_sent_at_ms   INTEGER NOT NULL,
    released_sent_at_ms INTEGER
);

-- At the hub: which plant each hub hold went to, the lots it holds there (what that plant's events
-- touch of the hold's items, its in-plant roots), where the message sits in the plant's holds
-- stream, and when the plant applied it (its consumer acknowledged the message after committing).
CREATE TABLE hub_hold_deliveries (
    hold_id               INTEGER NOT NULL REFERENCES holds (id),
    plant                 TEXT    NOT NULL,
    lots                  INTEGER NOT NULL,
    placed_sequence       INTEGER NOT NULL,
    placed_applied_at_ms  INTEGER,
    released_sequence     INTEGER,
    released_applied_at_ms INTEGER,
    PRIMARY KEY (hold_id, plant)
) WITHOUT ROWID;

-- At a plant: the local holds an enterprise hold (the hub's hold id) placed here, so that a
-- message delivered twice places nothing twice and the hub's release frees exactly these.
CREATE TABLE enterprise_holds (
    hub_hold_id INTEGER NOT NULL,
    hold_id     INTEGER NOT NULL REFERENCES holds (id),
    PRIMARY KEY (hub_hold_id, hold_id)
) WITHOUT ROWID;
