/// The links of stored events to the nodes they name (genealogy/MODEL.md, migration 20): the rows
/// of `event_nodes`, and both ends of every `direct` edge, which a consumption into a tracked
/// output makes with its sequence instead of two `event_nodes` rows (its component, role
/// `component`, and its output, role `into`).
///
/// Readers select the links through these arms, each reached by its own index (`event_nodes`' key,
/// `edges_forward`, `edges_by_to`); an event may come more than once (a node named under two roles,
/// a store written before version 20 that has both), so they take each sequence once. Written as
/// three arms in the query itself, not a view: SQLite pushes a constraint into a compound view
/// only when it compares the view's column with a value, so a view joined to a list of nodes, or
/// named from a correlated subquery, was read whole (`EventLinksTests` checks every reader's plan).
enum EventLinks {
    /// The sequences of the events linked to the node `node`: an SQL expression of one node id,
    /// such as `?1` or `n.id` (a correlated subquery).
    static func sequences(of node: String) -> String { sequences(whereNode: "= \(node)") }

    /// The sequences of the events linked to any node `nodes` selects (an SQL `SELECT` of node ids).
    static func sequences(ofAnyIn nodes: String) -> String { sequences(whereNode: "IN (\(nodes))") }

    /// The sequences of the events linked to the node `node` with `range` (such as
    /// `> ?2 AND sequence <= ?3`, written after `sequence`), each once, in order: a merge of the
    /// arms, so the rows of `event_nodes` stream in their key's order and only the node's direct
    /// edges are sorted. A history reads its events by these, one at a time, instead of sorting
    /// the events themselves (`EventLinksTests`).
    static func orderedSequences(of node: String, range: String) -> String {
        sequences(whereNode: "= \(node) AND sequence \(range)", union: "UNION") + " ORDER BY 1"
    }

    /// The three arms, each comparing its node column with `match` (`= ?1`, `IN (SELECT …)`).
    private static func sequences(whereNode match: String, union: String = "UNION ALL") -> String {
        """
        SELECT sequence FROM event_nodes WHERE node_id \(match)
        \(union) SELECT sequence FROM edges WHERE from_node \(match) AND kind = 'direct'
        \(union) SELECT sequence FROM edges WHERE to_node \(match) AND kind = 'direct'
        """
    }
}
