-- mesgate genealogy store, version 16: CHECK constraints without IN lists.
--
-- SQLite evaluates `column IN ('a', 'b', ...)` in a CHECK constraint by building a temporary
-- B-tree of the list, each time a row is inserted or the column updated: on the ingest path (a
-- node, an edge, an outbox row per event) that was about a third of what SQLite spent per event
-- (bench/ingest's (b): 32,800 -> 49,200 events/s with the same rows, `perf` showing
-- sqlite3BtreeOpen/CreateTable/Close under every INSERT). The same constraints written as
-- `(column = 'a' OR column = 'b' ...)` are compared in place. They accept and refuse exactly the
-- same values, so no stored row changes and no table is rebuilt: the constraint's text is replaced
-- in sqlite_master (SQLite's documented procedure for changing a constraint, "Making Other Kinds
-- Of Table Schema Changes" in lang_altertable.html), the schema cookie is moved on by a CREATE
-- and DROP (so every connection reads the schema again), and `PRAGMA writable_schema = RESET`
-- makes this connection read it again too. Each replace names the exact text migrations 1-15
-- wrote; MigrationTests checks that no IN list is left in a table's constraints.

PRAGMA writable_schema = ON;

UPDATE sqlite_master SET sql = replace(sql,
    'kind IN (''direct'', ''order_input'', ''order_output'', ''containment'', ''split'')',
    '(kind = ''direct'' OR kind = ''order_input'' OR kind = ''order_output'' OR kind = ''containment'' OR kind = ''split'')')
WHERE type = 'table' AND name = 'edges';

UPDATE sqlite_master SET sql = replace(replace(sql,
    'latency_class IN (''immediate'', ''normal'', ''batch'')',
    '(latency_class = ''immediate'' OR latency_class = ''normal'' OR latency_class = ''batch'')'),
    'state IN (''open'', ''acknowledged'', ''closed'')',
    '(state = ''open'' OR state = ''acknowledged'' OR state = ''closed'')')
WHERE type = 'table' AND name = 'exceptions';

UPDATE sqlite_master SET sql = replace(sql,
    'kind IN (''product'', ''bom'', ''work_center'', ''uom'')',
    '(kind = ''product'' OR kind = ''bom'' OR kind = ''work_center'' OR kind = ''uom'')')
WHERE type = 'table' AND name = 'master_items';

UPDATE sqlite_master SET sql = replace(replace(replace(replace(sql,
    'kind IN (''lot'', ''serial'', ''container'', ''order'')',
    '(kind = ''lot'' OR kind = ''serial'' OR kind = ''container'' OR kind = ''order'')'),
    'origin IN (''received'', ''produced'', ''split'', ''packed'', ''order'', ''unknown'')',
    '(origin = ''received'' OR origin = ''produced'' OR origin = ''split'' OR origin = ''packed'' OR origin = ''order'' OR origin = ''unknown'')'),
    'status IN (''active'', ''shipped'', ''scrapped'', ''held'')',
    '(status = ''active'' OR status = ''shipped'' OR status = ''scrapped'' OR status = ''held'')'),
    'quality IN ('''', ''pass'', ''fail'', ''warn'')',
    '(quality = '''' OR quality = ''pass'' OR quality = ''fail'' OR quality = ''warn'')')
WHERE type = 'table' AND name = 'nodes';

UPDATE sqlite_master SET sql = replace(replace(replace(replace(sql,
    'latency_class IN (''immediate'', ''normal'', ''batch'')',
    '(latency_class = ''immediate'' OR latency_class = ''normal'' OR latency_class = ''batch'')'),
    'state IN (''pending'', ''posted'', ''failed'', ''dead'', ''resolved'', ''skipped'')',
    '(state = ''pending'' OR state = ''posted'' OR state = ''failed'' OR state = ''dead'' OR state = ''resolved'' OR state = ''skipped'')'),
    'kind IN (''hold'', ''release'')',
    '(kind = ''hold'' OR kind = ''release'')'),
    'kind IN (''exception'', ''exception_closed'')',
    '(kind = ''exception'' OR kind = ''exception_closed'')')
WHERE type = 'table' AND name = 'outbox';

UPDATE sqlite_master SET sql = replace(sql,
    'action IN (''retry'', ''replay'', ''skip'')',
    '(action = ''retry'' OR action = ''replay'' OR action = ''skip'')')
WHERE type = 'table' AND name = 'outbox_audit';

UPDATE sqlite_master SET sql = replace(sql,
    'name IN (''outbox'', ''exceptions'', ''held'', ''outbox_commands'')',
    '(name = ''outbox'' OR name = ''exceptions'' OR name = ''held'' OR name = ''outbox_commands'')')
WHERE type = 'table' AND name = 'status_counts';

PRAGMA writable_schema = RESET;
CREATE TABLE schema_cookie_moved (x);
DROP TABLE schema_cookie_moved;
