-- mesgate genealogy store, version 7: a covering index for forward traces (recalls).
-- A forward walk reads every edge leaving a node with its kind, quantity, work order and packing
-- window; with every column in the index, each step is one index range scan and no lookup of the
-- edge row. It replaces edges_by_from, whose columns are its prefix, so ingest still maintains one
-- index per direction.
CREATE INDEX edges_forward ON edges (from_node, to_node, kind, sequence, ended_sequence, qty, uom, work_order);
DROP INDEX edges_by_from;
