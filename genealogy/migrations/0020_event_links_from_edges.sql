-- mesgate genealogy store, version 20: a consumption into a tracked output links its component and
-- its output to the event through the edge it makes, not through two event_nodes rows.
--
-- Such a consumption makes a `direct` edge component → output with its sequence (a plain INSERT:
-- each consumption makes its own). The two event_nodes rows (component, 'component') and
-- (output, 'into') said the same thing again, each at its node's place in event_nodes' key: a
-- random page of its own in every commit, with two foreign-key probes. The writer no longer
-- inserts them (A/B against version 19, 3 rounds each: mesgate-load's consumptions 1.11 × events/s,
-- ack p50 at 12,700 events/s 3.2–3.9 ms against 4.5–5.0; the plant mix, fewer of whose events are
-- such consumptions, 1.01 ×).
--
-- event_links is what event_nodes was: every link of a node to an event, with its role. History,
-- export, the lot list and the hub's holds read it; a query naming a node reaches each part through
-- its index (event_nodes' key, edges_forward, edges_by_to). Links stored before this version stay
-- in event_nodes, so an event of an older store may be listed by two parts: readers take each
-- event once (DISTINCT, or a set of sequences), as they did for a node named under two roles. A
-- correction that takes a direct edge back first writes its two links into event_nodes, so the
-- history keeps listing the corrected event, as before.

CREATE VIEW event_links (node_id, sequence, role) AS
    SELECT node_id, sequence, role FROM event_nodes
    UNION ALL
    SELECT from_node, sequence, 'component' FROM edges WHERE kind = 'direct'
    UNION ALL
    SELECT to_node, sequence, 'into' FROM edges WHERE kind = 'direct';
