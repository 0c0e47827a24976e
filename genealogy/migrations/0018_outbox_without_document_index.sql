-- mesgate genealogy store, version 18: the outbox loses outbox_by_document, an index no query uses.
--
-- outbox_by_document (document_key, id) was made with the outbox (version 1) for grouping the
-- work by Odoo document. The poster groups the rows it takes due (outbox_due) by document in
-- memory, and the look-up of a document's dead rows uses the partial outbox_dead_by_document
-- (version 6). The index was still written for every outbox row, at its document's position: a
-- page of its own for each order in every commit (about 15 % of the pages a commit writes at
-- 8,400 events/s).

DROP INDEX outbox_by_document;
