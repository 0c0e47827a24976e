-- mesgate genealogy store, version 3: what the Odoo poster and `mesgate outbox` keep.
-- (Version 2 belongs to traces and holds; the migrator applies whatever is above the file's version.)

-- Odoo's last answer for the row (the records it made or found, or its error), the reason a person
-- gave for skipping it (a skipped row is 'posted' with a reason: Odoo was never told), and when it
-- reached Odoo.
ALTER TABLE outbox ADD COLUMN odoo_answer TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN skipped_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN posted_at_ms INTEGER;

-- Every outbox command a person ran (retry, replay, skip): who, what, when, why.
CREATE TABLE outbox_audit (
    id             INTEGER PRIMARY KEY,
    action         TEXT    NOT NULL CHECK (action IN ('retry', 'replay', 'skip')),
    outbox_id      INTEGER REFERENCES outbox (id),
    first_sequence INTEGER,
    last_sequence  INTEGER,
    rows           INTEGER NOT NULL,
    reason         TEXT    NOT NULL DEFAULT '',
    actor          TEXT    NOT NULL DEFAULT '',
    at_ms          INTEGER NOT NULL
);

-- Production orders Odoo released to the plant, as last read (WorkOrders.List/Subscribe serve
-- them; a restart starts from here). `body` is the order as JSON (MESDomain.WorkOrder).
CREATE TABLE work_orders (
    name          TEXT    PRIMARY KEY,
    odoo_id       INTEGER NOT NULL,
    state         TEXT    NOT NULL,
    revision      INTEGER NOT NULL,
    body          TEXT    NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
