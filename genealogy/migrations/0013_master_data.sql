-- mesgate genealogy store, version 13: master data read from Odoo (products, bills of materials with
-- their operations, work centers, units of measure), VERSIONED. See genealogy/MODEL.md ("Master data").
-- (Version 14 belongs to another feature; the migrator applies whatever is above the file's version.)

-- One row per item Odoo has (kind, Odoo id): its key as of its newest revision and the number of
-- that revision. The content lives in master_revisions; this row only points at the newest.
-- key: a product's default_code, a BoM's Odoo id, a work center's code (its name when it has no
-- code), a unit's name. name: a work center's name, a BoM's product code (lookups by either).
CREATE TABLE master_items (
    id       INTEGER PRIMARY KEY,
    kind     TEXT    NOT NULL CHECK (kind IN ('product', 'bom', 'work_center', 'uom')),
    odoo_id  INTEGER NOT NULL,
    key      TEXT    NOT NULL,
    name     TEXT    NOT NULL,
    revision INTEGER NOT NULL CHECK (revision >= 1),
    UNIQUE (kind, odoo_id)
);
CREATE INDEX master_items_by_key ON master_items (kind, key);
CREATE INDEX master_items_by_name ON master_items (kind, name);

-- Every content an item has had, one row per change, never updated nor deleted: content is the
-- item's whole JSON (MESDomain's MasterProduct, MasterBOM, MasterWorkCenter, MasterUoM), changed
-- the JSON list of its fields that differ from the revision before ([] for the first).
-- id grows with every revision of any item: a follower (the gRPC board) reads what is past its last.
CREATE TABLE master_revisions (
    id               INTEGER PRIMARY KEY,
    item_id          INTEGER NOT NULL REFERENCES master_items (id),
    revision         INTEGER NOT NULL CHECK (revision >= 1),
    key              TEXT    NOT NULL,
    content          TEXT    NOT NULL,
    changed          TEXT    NOT NULL,
    odoo_write_date  TEXT    NOT NULL,
    recorded_at_ms   INTEGER NOT NULL,
    UNIQUE (item_id, revision)
);

CREATE TRIGGER master_revisions_never_updated BEFORE UPDATE ON master_revisions
BEGIN
    SELECT RAISE(ABORT, 'master data revisions are never changed');
END;
CREATE TRIGGER master_revisions_never_deleted BEFORE DELETE ON master_revisions
BEGIN
    SELECT RAISE(ABORT, 'master data revisions are never deleted');
END;
