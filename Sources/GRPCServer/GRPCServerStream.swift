internal import NIOCore

/// One call's state inside a connection: its handler, writer, message reassembly and manual
/// flow-control accounting. Owned by `GRPCConnectionHandler.streams`; confined to its loop.
final class GRPCServerStream {
    let streamID: Int32
    let writer: GRPCResponseWriter
    let flowControl: GRPCMethod.FlowControl
    /// The method's name and how many request messages it takes.
    let methodName: Substring
    let requests: GRPCMethod.Requests
    /// `.one`: the request message, kept until the client half-closes.
    var request: ByteBuffer?
    let gzip: Bool
    var handler: (any GRPCCallHandler)?
    var deframer: GRPCMessageDeframer
    /// The client half-closed the stream.
    var inputClosed = false
    /// Fires DEADLINE_EXCEEDED; cancelled when the stream closes.
    var deadlineTask: Scheduled<Void>?

    /// Manual flow control: wire sizes of delivered, unreleased messages (FIFO from `heldHead`).
    private var heldSizes: [Int] = []
    private var heldHead = 0
    private(set) var heldBytes = 0
    /// Received bytes not yet given back to the client's window.
    var deferredBytes = 0
    /// Response bytes queued in the session and counted in the output budget, as of the last flush.
    var queuedOutput = 0
    /// Bytes reserved in the output budget for an answer being produced (`GRPCResponseWriter.reserveOutput`).
    var reservedOutput = 0
    /// Called once when fewer than `below` response bytes wait for the client's window
    /// (`GRPCResponseWriter.whenPendingBelow`).
    var drainWaiter: (below: Int, body: () -> Void)?

    init(
        streamID: Int32, writer: GRPCResponseWriter, method: GRPCMethod, gzip: Bool, maxMessageBytes: Int
    ) {
        self.streamID = streamID
        self.writer = writer
        self.flowControl = method.flowControl
        self.methodName = method.name
        self.requests = method.requests
        self.gzip = gzip
        self.deframer = GRPCMessageDeframer(maxMessageBytes: maxMessageBytes)
    }

    /// Records a delivered message's wire size (manual flow control).
    func hold(_ wireBytes: Int) {
        heldSizes.append(wireBytes)
        heldBytes += wireBytes
    }

    /// Forgets the oldest held message; false when none is held.
    func releaseOldest() -> Bool {
        guard heldHead < heldSizes.count else { return false }
        heldBytes -= heldSizes[heldHead]
        heldHead += 1
        if heldHead == heldSizes.count {
            heldSizes.removeAll(keepingCapacity: true)
            heldHead = 0
        } else if heldHead >= 64 && heldHead * 2 >= heldSizes.count {
            heldSizes.removeFirst(heldHead)
            heldHead = 0
        }
        return true
    }

    /// Whether the handler still wants input (it has not finished or been cancelled).
    var isLive: Bool { !writer.finished && handler != nil }
}
