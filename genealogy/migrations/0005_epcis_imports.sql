-- mesgate genealogy store, version 5: EPCIS 2.0 capture documents imported with `mesgate import-epcis` or EventIngest.ImportEPCIS.
-- One row per document that was stored, written in the same transaction as its events, so a
-- refused document leaves neither. `raw` is the document as received (JSON bytes).
CREATE TABLE epcis_imports (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    document_sha256 TEXT NOT NULL,          -- hex SHA-256 of raw
    client         TEXT NOT NULL,           -- who sent it (the token's client, or "cli")
    received_at_ms INTEGER NOT NULL,
    events         INTEGER NOT NULL,        -- EPCIS events in the document
    stored_events  INTEGER NOT NULL,        -- MES events stored from it (not counting duplicates)
    raw            BLOB NOT NULL
);

CREATE INDEX epcis_imports_by_sha256 ON epcis_imports (document_sha256);
