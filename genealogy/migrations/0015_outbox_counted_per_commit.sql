-- mesgate genealogy store, version 15: the outbox rows of stored events are counted once per
-- transaction, not by a trigger per row.
--
-- Every stored event that Odoo is told of inserts an outbox row, and the trigger of version 8
-- added one to status_counts for each: a second B-tree write per event, on the writer's critical
-- path. The ingest writer now keeps the number of such rows it inserted in the transaction and
-- adds it to status_counts just before COMMIT (GenealogyStore's OutboxTally), so the count still
-- changes in the same transaction as the rows. Rows without an event (holds, exceptions) are
-- still counted by the trigger; changes of state and deletions too, as before.

DROP TRIGGER outbox_counted;
CREATE TRIGGER outbox_counted AFTER INSERT ON outbox WHEN NEW.sequence IS NULL BEGIN
    INSERT INTO status_counts (name, key, n) VALUES ('outbox', NEW.state, 1)
        ON CONFLICT (name, key) DO UPDATE SET n = n + 1;
END;
