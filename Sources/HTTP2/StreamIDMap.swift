/// A map from HTTP/2 stream id to `Value`, for the few streams a connection has open.
///
/// `Dictionary<Int32, _>` hashes every key with SipHash; a connection looks its streams up about
/// fifteen times per call, and that hashing was 2–3 % of a Health/Check's CPU. Stream ids need
/// no keyed hash: one multiplication spreads them (see `home`). Open addressing with linear
/// probing in one array, at most half full; removal shifts the entries after it back, so no
/// tombstones pile up.
///
/// A client chooses its ids, so it can pick ids that collide. A probe then walks at most the
/// streams that are open, which the connection's SETTINGS_MAX_CONCURRENT_STREAMS bounds: a slow
/// lookup, never an unbounded one.
///
/// Inlinable, so the modules that use it get code specialized to their `Value`: unspecialized
/// generic code, called across the module boundary, tripled a Health/Check's CPU.
public struct StreamIDMap<Value> {
    @usableFromInline
    struct Slot {
        /// 0 for an empty slot: stream 0 is the connection itself, never a key.
        @usableFromInline var id: Int32
        @usableFromInline var value: Value?

        @inlinable init(id: Int32, value: Value?) {
            self.id = id
            self.value = value
        }
    }

    @usableFromInline var slots: [Slot]
    @usableFromInline var storedCount = 0

    @inlinable
    public init() {
        slots = Array(repeating: Slot(id: 0, value: nil), count: 16)
    }

    @inlinable public var count: Int { storedCount }

    @inlinable public var isEmpty: Bool { storedCount == 0 }

    @inlinable var mask: Int { slots.count - 1 }

    /// Fibonacci hashing: the id times 2^32 ÷ φ, its top bits. Consecutive ids land far apart, so
    /// probe runs stay short (with the id itself as the slot, the open streams would form one run,
    /// which every removal walks to its end).
    @inlinable func home(_ id: Int32) -> Int {
        Int(truncatingIfNeeded: (UInt64(UInt32(bitPattern: id) &* 2_654_435_769) << 32) >> (64 - shift))
    }

    /// log2 of the slot count.
    @inlinable var shift: Int { slots.count.trailingZeroBitCount }

    /// The slot holding `id`, or nil.
    @inlinable func find(_ id: Int32) -> Int? {
        // Id 0 marks an empty slot: it is never a key (stream 0 is the connection).
        guard id != 0, storedCount > 0 else { return nil }
        var i = home(id)
        while true {
            let found = slots[i].id
            if found == id { return i }
            if found == 0 { return nil }
            i = (i + 1) & mask
        }
    }

    /// Stream 0 is the connection, never a stream: it is never found, and setting it does nothing
    /// (a caller that names it, such as `HTTP2Session.sendResponseHeaders(streamID: 0, ...)`,
    /// then gets nghttp2's own error, as with a Dictionary).
    @inlinable
    public subscript(id: Int32) -> Value? {
        get { find(id).flatMap { slots[$0].value } }
        set {
            guard id != 0 else { return }
            if let newValue {
                insert(id, newValue)
            } else {
                removeValue(forKey: id)
            }
        }
    }

    @inlinable public func contains(_ id: Int32) -> Bool { find(id) != nil }

    @inlinable mutating func insert(_ id: Int32, _ value: Value) {
        if let i = find(id) {
            slots[i].value = value
            return
        }
        if (storedCount + 1) * 2 > slots.count { grow() }
        slots[emptySlot(for: id)] = Slot(id: id, value: value)
        storedCount += 1
    }

    /// The first empty slot of `id`'s probe run (the table is at most half full, so there is one).
    @inlinable func emptySlot(for id: Int32) -> Int {
        var i = home(id)
        while slots[i].id != 0 { i = (i + 1) & mask }
        return i
    }

    @inlinable @discardableResult
    public mutating func removeValue(forKey id: Int32) -> Value? {
        guard let found = find(id) else { return nil }
        // Moved out (swapped with an empty slot), not copied: no retain and release of the value.
        var taken = Slot(id: 0, value: nil)
        swap(&taken, &slots[found])
        // Backward shift: later entries of the run move into the hole when their home allows it.
        var hole = found
        var i = (found + 1) & mask
        while slots[i].id != 0 {
            // The entry at i may move to the hole unless its home lies after the hole (up to i).
            if (i - home(slots[i].id)) & mask >= (i - hole) & mask {
                slots.swapAt(hole, i)
                hole = i
            }
            i = (i + 1) & mask
        }
        storedCount -= 1
        return taken.value
    }

    @inlinable
    public mutating func removeAll() {
        guard storedCount > 0 else { return }
        for i in slots.indices { slots[i] = Slot(id: 0, value: nil) }
        storedCount = 0
    }

    @inlinable mutating func grow() {
        let old = slots
        slots = Array(repeating: Slot(id: 0, value: nil), count: old.count * 2)
        for slot in old where slot.id != 0 { slots[emptySlot(for: slot.id)] = slot }
    }

    /// The ids, in no particular order; a copy, so the map may change while they are walked.
    @inlinable public var keys: LazyMapSequence<Entries, Int32> { Entries(slots: slots).lazy.map(\.id) }

    /// The values, in no particular order; a copy, like `keys`.
    @inlinable public var values: LazyMapSequence<Entries, Value> { Entries(slots: slots).lazy.map(\.value) }

    /// The entries of a copy of the slots.
    public struct Entries: Sequence, IteratorProtocol {
        @usableFromInline let slots: [Slot]
        @usableFromInline var position = 0

        @inlinable init(slots: [Slot]) { self.slots = slots }

        @inlinable
        public mutating func next() -> (id: Int32, value: Value)? {
            while position < slots.count {
                let slot = slots[position]
                position += 1
                if slot.id != 0, let value = slot.value { return (slot.id, value) }
            }
            return nil
        }
    }
}

/// A set of HTTP/2 stream ids (see `StreamIDMap`).
public struct StreamIDSet: Sequence {
    @usableFromInline var map = StreamIDMap<Void>()

    @inlinable public init() {}

    @inlinable public var isEmpty: Bool { map.isEmpty }
    @inlinable public var count: Int { map.count }

    @inlinable public func contains(_ id: Int32) -> Bool { map.contains(id) }

    @inlinable public mutating func insert(_ id: Int32) { map[id] = () }

    /// Removes `id`; whether it was there. Cheap when the set is empty, as it nearly always is.
    @inlinable @discardableResult
    public mutating func remove(_ id: Int32) -> Bool { map.removeValue(forKey: id) != nil }

    @inlinable public func makeIterator() -> LazyMapSequence<StreamIDMap<Void>.Entries, Int32>.Iterator {
        map.keys.makeIterator()
    }
}
