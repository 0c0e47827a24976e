import Testing

@testable import HTTP2

/// `StreamIDMap` must answer exactly as a `Dictionary` would, whatever the ids: sequential client
/// ids, ids a hostile client picks to land on one slot, and removals in the middle of a probe run.
@Suite struct StreamIDMapTests {
    @Test func sequentialClientIDsInsertFindAndRemove() {
        var map = StreamIDMap<String>()
        for id in stride(from: Int32(1), through: 199, by: 2) { map[id] = "s\(id)" }
        #expect(map.count == 100)
        #expect(map[51] == "s51")
        #expect(map[52] == nil)
        let removed = map.removeValue(forKey: 51)
        let again = map.removeValue(forKey: 51)
        #expect(removed == "s51")
        #expect(again == nil)
        #expect(map[51] == nil)
        #expect(map.count == 99)
        map[53] = "again"
        #expect(map[53] == "again")
        #expect(map.count == 99)
        #expect(Set(map.keys) == Set(stride(from: Int32(1), through: 199, by: 2)).subtracting([51]))
        map.removeAll()
        #expect(map.isEmpty)
        #expect(map[1] == nil)
    }

    /// Ids that share a home slot make one long probe run. Removing from its middle must leave
    /// every later entry findable (the backward shift).
    @Test func collidingIDsStayFindableAfterRemovalsInTheirRun() {
        var map = StreamIDMap<Int32>()
        // Seven odd ids with the home of id 1 in a table of 16 (8 entries fit without growing),
        // and one whose home is the slot after.
        var colliding: [Int32] = []
        var next: Int32 = 0
        for id in stride(from: Int32(1), to: 100_000, by: 2) {
            if map.home(id) == map.home(1) && colliding.count < 7 { colliding.append(id) }
            if map.home(id) == (map.home(1) + 1) & 15 && next == 0 { next = id }
        }
        #expect(colliding.count == 7 && next != 0)
        for id in colliding { map[id] = id * 10 }
        map[next] = 30  // inside the run
        for removed in [colliding[2], colliding[0], next] {
            let value = map.removeValue(forKey: removed)
            #expect(value != nil)
            #expect(map[removed] == nil)
        }
        for id in colliding where ![colliding[2], colliding[0]].contains(id) { #expect(map[id] == id * 10) }
        #expect(map.count == 5)
    }

    /// Stream 0 marks an empty slot inside the map: naming it must neither find an empty slot
    /// nor change the count (which would let the table fill up, and a probe never end).
    @Test func streamZeroIsNeverAKey() {
        var map = StreamIDMap<Int>()
        map[1] = 1
        map[3] = 3
        map[0] = 0
        let removed = map.removeValue(forKey: 0)
        let again = map.removeValue(forKey: 0)
        #expect(removed == nil && again == nil)
        #expect(!map.contains(0) && map[0] == nil)
        #expect(map.count == 2 && map[1] == 1 && map[3] == 3)
        var set = StreamIDSet()
        set.insert(0)
        set.insert(5)
        let removedZero = set.remove(0)
        #expect(!removedZero && !set.contains(0) && set.count == 1)
    }

    /// Random inserts, updates and removals over a small id range (so runs wrap and collide),
    /// checked against a Dictionary after every step. Seeded, so a failure repeats.
    @Test func agreesWithADictionaryUnderRandomOperations() {
        var generator = SplitMix64(seed: 20_261_204)
        var map = StreamIDMap<Int>()
        var reference: [Int32: Int] = [:]
        for step in 0..<20_000 {
            let id = Int32.random(in: 1...300, using: &generator)
            if Bool.random(using: &generator) {
                map[id] = step
                reference[id] = step
            } else {
                let removed = map.removeValue(forKey: id)
                #expect(removed == reference.removeValue(forKey: id))
            }
            #expect(map.count == reference.count)
            if step % 97 == 0 {
                for probe in Int32(1)...300 where map[probe] != reference[probe] {
                    Issue.record("step \(step): id \(probe) gives \(String(describing: map[probe]))")
                }
            }
        }
        #expect(Set(map.keys) == Set(reference.keys))
        #expect(map.values.sorted() == reference.values.sorted())
    }

    @Test func setInsertsRemovesAndWalksAWhileChanging() {
        var set = StreamIDSet()
        for id in [Int32(1), 3, 5, 7] { set.insert(id) }
        let removed = set.remove(3)
        let again = set.remove(3)
        #expect(removed && !again)
        #expect(set.contains(5) && !set.contains(3))
        var walked: [Int32] = []
        for id in set {
            walked.append(id)
            set.remove(id)  // the walk goes over the ids as they were when it began
        }
        #expect(walked.sorted() == [1, 5, 7])
        #expect(set.isEmpty)
    }
}

/// A small seeded generator (SplitMix64), so the random test is the same every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
