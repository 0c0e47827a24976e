internal import Synchronization

/// How many response bytes the whole process may hold for clients that have not taken them yet
/// (queued behind their HTTP/2 windows, or reserved for an answer being streamed), across every
/// connection. While it is spent, no connection gives input window back to a streaming call (a
/// client that does not read stops being read), and a call whose answer would not fit is refused
/// with RESOURCE_EXHAUSTED. Shared by the event loops; counts with atomics.
public final class GRPCOutputBudget: Sendable {
    /// The most bytes held at once.
    public let limitBytes: Int
    private let used = Atomic<Int>(0)

    public init(limitBytes: Int) {
        self.limitBytes = max(1, limitBytes)
    }

    /// Bytes held now.
    public var usedBytes: Int { used.load(ordering: .relaxed) }

    /// True while nothing more should be taken in.
    var isSpent: Bool { usedBytes >= limitBytes }

    /// Whether an answer of `bytes` fits. One that is larger than the whole budget fits only
    /// when nothing else is held, so every answer can be given on a quiet server.
    func admits(_ bytes: Int) -> Bool {
        let now = usedBytes
        return now == 0 || now + bytes <= limitBytes
    }

    func add(_ bytes: Int) {
        guard bytes > 0 else { return }
        used.add(bytes, ordering: .relaxed)
    }

    func remove(_ bytes: Int) {
        guard bytes > 0 else { return }
        used.subtract(bytes, ordering: .relaxed)
    }
}
