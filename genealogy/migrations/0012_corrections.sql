-- mesgate genealogy store, version 12: corrections of stored events (EventIngest/Correct,
-- `mesgate event void|correct`, an EPCIS errorDeclaration). See genealogy/MODEL.md ("Corrections").
-- (Version 11 belongs to another feature; the migrator applies whatever is above the file's version.)

-- One row per corrected event: it was voided (no replacement) or replaced by the event at
-- `replacement_sequence`. The event itself stays in `events`, unchanged (the audit chain covers its
-- bytes); what it made in the genealogy (edges, receipts, shipments) is taken back, and Odoo
-- totals are computed without it.
CREATE TABLE corrections (
    id                   INTEGER PRIMARY KEY,
    sequence             INTEGER NOT NULL UNIQUE REFERENCES events (sequence),
    replacement_sequence INTEGER UNIQUE REFERENCES events (sequence),
    reason               TEXT    NOT NULL CHECK (reason <> ''),
    corrected_by         TEXT    NOT NULL,
    corrected_at_ms      INTEGER NOT NULL
);
