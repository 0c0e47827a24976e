import CProtobufC
import MESDomain
import MESProtoC

/// Owns the C memory of one protobuf-c message being built for packing: strings and sub-messages
/// are allocated here and freed together when the arena goes away. Used within one function, never shared.
///
/// A bump allocator: memory comes from a few growing blocks (one `malloc` per block, not per
/// string or struct), which matters for a trace of thousands of nodes. Only trivial C values
/// (protobuf-c structs, pointers, bytes) are put here; nothing is deinitialized, blocks are freed.
final class CArena {
    private var blocks: [UnsafeMutableRawPointer] = []
    private var next: UnsafeMutableRawPointer?
    private var remaining = 0
    /// The shared "" of this arena (empty strings are common: serial, container, work order).
    private var empty: UnsafeMutablePointer<CChar>?

    /// `size` bytes aligned to `alignment`, alive as long as the arena.
    private func allocate(_ size: Int, alignment: Int) -> UnsafeMutableRawPointer {
        if let next {
            let padding = (alignment - Int(bitPattern: next) % alignment) % alignment
            if padding + size <= remaining {
                let pointer = next + padding
                self.next = pointer + size
                remaining -= padding + size
                return pointer
            }
        }
        // A new block, twice the last (4 KiB up to 64 KiB: below malloc's mmap threshold, so a block
        // is not a fresh mapping to fault in and unmap per message), and big enough for `size`.
        let blockSize = max(size + alignment, 4_096 << min(blocks.count, 4))
        let block = UnsafeMutableRawPointer.allocate(byteCount: blockSize, alignment: 16)
        blocks.append(block)
        next = block + size
        remaining = blockSize - size
        return block
    }

    /// A C copy of `string` (cut at an embedded NUL, as C reads it), alive as long as the arena.
    func string(_ string: String) -> UnsafeMutablePointer<CChar>? {
        var string = string
        return string.withUTF8 { utf8 -> UnsafeMutablePointer<CChar> in
            if utf8.isEmpty, let empty { return empty }
            let copy = allocate(utf8.count + 1, alignment: 1)
            if let base = utf8.baseAddress { copy.copyMemory(from: base, byteCount: utf8.count) }
            copy.storeBytes(of: 0, toByteOffset: utf8.count, as: UInt8.self)
            let pointer = copy.bindMemory(to: CChar.self, capacity: utf8.count + 1)
            if utf8.isEmpty { empty = pointer }
            return pointer
        }
    }

    /// A repeated string field: C copies of `strings` and the array of pointers to them.
    func strings(_ strings: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
        let pointers = array(strings.count, UnsafeMutablePointer<CChar>?.none)
        for (i, value) in strings.enumerated() { pointers[i] = string(value) }
        return pointers
    }

    /// A repeated message field: one message per element, each starting as `initialized` (the
    /// message's `__init` value) and set by `fill`, laid out together, and the array of pointers to
    /// them that the field holds.
    func messages<Element, Message>(
        _ elements: some Collection<Element>, _ initialized: Message, fill: (inout Message, Element) -> Void
    ) -> UnsafeMutablePointer<UnsafeMutablePointer<Message>?> {
        let messages = array(elements.count, initialized)
        let pointers = array(elements.count, Optional(messages))
        for (i, element) in elements.enumerated() {
            fill(&messages[i], element)
            pointers[i] = messages + i
        }
        return pointers
    }

    /// Room for `count` values of `T` (a C struct or pointer), initialized to `value`, alive as long as the arena.
    func array<T>(_ count: Int, _ value: T) -> UnsafeMutablePointer<T> {
        let n = max(1, count)
        let raw = allocate(MemoryLayout<T>.stride * n, alignment: MemoryLayout<T>.alignment)
        let pointer = raw.bindMemory(to: T.self, capacity: n)
        pointer.initialize(repeating: value, count: n)
        return pointer
    }

    /// One `mes.v1.LotRef`.
    /// A repeated `mes.v1.TraceShipment` field.
    func traceShipments(_ shipments: [TraceShipment]) -> UnsafeMutablePointer<
        UnsafeMutablePointer<Mes__V1__TraceShipment>?
    > {
        var initial = Mes__V1__TraceShipment()
        mes__v1__trace_shipment__init(&initial)
        return messages(shipments, initial) { out, s in
            out.lot = lotRef(s.lot)
            out.customer = string(s.customer)
            out.delivery = string(s.delivery)
            out.qty = quantity(s.qty)
            out.plant = string(s.plant)
        }
    }

    /// A C array of `refs`, for a repeated `LotRef` field.
    func lotRefs(_ refs: [LotRef]) -> UnsafeMutablePointer<UnsafeMutablePointer<Mes__V1__LotRef>?> {
        let pointers = array(refs.count, UnsafeMutablePointer<Mes__V1__LotRef>?.none)
        for (i, ref) in refs.enumerated() { pointers[i] = lotRef(ref) }
        return pointers
    }

    func lotRef(_ ref: LotRef) -> UnsafeMutablePointer<Mes__V1__LotRef> {
        var message = Mes__V1__LotRef()
        mes__v1__lot_ref__init(&message)
        message.product = string(ref.product)
        message.lot = string(ref.lot)
        message.serial = string(ref.serial)
        message.container = string(ref.container)
        return array(1, message)
    }

    /// One `mes.v1.Quantity`, or nil.
    func quantity(_ qty: Quantity?) -> UnsafeMutablePointer<Mes__V1__Quantity>? {
        guard let qty else { return nil }
        var message = Mes__V1__Quantity()
        mes__v1__quantity__init(&message)
        message.value = qty.value
        message.uom = string(qty.uom)
        return array(1, message)
    }

    deinit {
        for block in blocks { block.deallocate() }
    }
}
