import CProtobufC
import MESDomain
import MESProtoC

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Owns the C memory of one protobuf-c message being built for packing: strings and sub-messages
/// are allocated here and freed together when the arena goes away. Used within one function, never shared.
final class CArena {
    private var strings: [UnsafeMutablePointer<CChar>] = []
    private var blocks: [UnsafeMutableRawPointer] = []

    /// A C copy of `string`, alive as long as the arena.
    func string(_ string: String) -> UnsafeMutablePointer<CChar>? {
        guard let copy = strdup(string) else { return nil }
        strings.append(copy)
        return copy
    }

    /// Room for `count` values of `T`, initialized to `value`, alive as long as the arena.
    func array<T>(_ count: Int, _ value: T) -> UnsafeMutablePointer<T> {
        let pointer = UnsafeMutablePointer<T>.allocate(capacity: max(1, count))
        pointer.initialize(repeating: value, count: max(1, count))
        blocks.append(UnsafeMutableRawPointer(pointer))
        return pointer
    }

    /// One `mes.v1.LotRef`.
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
        for s in strings { free(s) }
        for b in blocks { b.deallocate() }
    }
}
