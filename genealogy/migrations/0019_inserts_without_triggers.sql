-- mesgate genealogy store, version 19: the rows every stored event inserts run no trigger, and
-- held items have an index of their own.
--
-- outbox_counted (version 15: AFTER INSERT ON outbox WHEN NEW.sequence IS NULL) and held_counted
-- (version 8: AFTER INSERT ON nodes WHEN NEW.status = 'held') never fire for what the ingest
-- writer inserts: an event's outbox row has a sequence, and a node is always inserted active. SQLite
-- still runs each one's sub-program for every row to evaluate the WHEN, about 7 % and 4 % of the
-- instructions of an ingested event (callgrind of bench/ingest/sqlite_ceiling). The writers count
-- instead, in the same transaction: an outbox row of an event once per commit (OutboxTally,
-- version 15), a hold's or an exception's outbox row where it is inserted. A node becomes held only
-- by an UPDATE, which held_recounted counts as before.
--
-- nodes_held lists the held items (a handful, usually none): a shipment is checked against them
-- instead of walking what its container holds (HoldGuard), and `heldNodeCount` reads it instead of
-- every node.

DROP TRIGGER outbox_counted;
DROP TRIGGER held_counted;
CREATE INDEX nodes_held ON nodes (id) WHERE status = 'held';
