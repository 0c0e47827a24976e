import Foundation
import Synchronization

/// The thread a replication loop runs on (libnats and SQLite block: they never run on an event
/// loop or the cooperative pool): started once, asked to stop and waited for; between rounds the
/// loop pauses until a timeout or a `wake` (a stop wakes it too).
final class WorkerThread: Sendable {
    /// What ps and /proc show (at most 15 characters).
    private let name: String
    private let stopping = Atomic<Bool>(false)
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchGroup()

    init(name: String) { self.name = name }

    /// Runs `body` on a new thread.
    func start(_ body: @escaping @Sendable () -> Void) {
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
    func stop() {
        stopping.store(true, ordering: .releasing)
        wakeup.signal()
        finished.wait()
    }

    var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Ends a `pause` now.
    func wake() { wakeup.signal() }

    /// Waits `milliseconds`, or less if woken.
    func pause(milliseconds: Int) { _ = wakeup.wait(timeout: .now() + .milliseconds(milliseconds)) }
}
