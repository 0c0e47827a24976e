import Foundation
import Synchronization

/// The thread a blocking loop runs on (libnats, libcurl and SQLite block: they never run on an
/// event loop or the cooperative pool): started once, asked to stop and waited for; between rounds the
/// loop pauses until a timeout or a `wake` (a stop wakes it too).
public final class WorkerThread: Sendable {
    /// What ps and /proc show (at most 15 characters).
    private let name: String
    private let stopping = Atomic<Bool>(false)
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchGroup()

    public init(name: String) { self.name = name }

    /// Runs `body` on a new thread.
    public func start(_ body: @escaping @Sendable () -> Void) {
        finished.enter()
        let thread = Thread { [name, finished] in
            // Set from the thread itself: set before start, Foundation on Linux does not apply it.
            Thread.current.name = name
            body()
            finished.leave()
        }
        thread.start()
    }

    /// Asks the loop to stop, wakes it and waits for its thread to end. Blocks.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        wakeup.signal()
        finished.wait()
    }

    public var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Ends a `pause` now.
    public func wake() { wakeup.signal() }

    /// Waits `milliseconds`, or less if woken.
    public func pause(milliseconds: Int) { _ = wakeup.wait(timeout: .now() + .milliseconds(milliseconds)) }
}
