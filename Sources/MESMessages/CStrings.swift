/// Reads a NUL-terminated UTF-8 string owned by a protobuf-c message (freed with the message).
/// protobuf-c does not check UTF-8; proto3 requires it, so invalid text is refused here.
@inline(__always)
func decodeString(_ pointer: UnsafeMutablePointer<CChar>?, field: @autoclosure () -> String)
    throws(MessageDecodingError) -> String
{
    guard let pointer, pointer.pointee != 0 else { return "" }
    guard let string = String(validatingCString: pointer) else {
        throw MessageDecodingError(field: field(), reason: "is not valid UTF-8")
    }
    return string
}

/// Calls `body` with C strings for every element of `strings`, alive for the duration of the call.
func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) throws -> R) rethrows -> R {
    let pointers = strings.map { strdup($0) }
    defer { pointers.forEach { free($0) } }
    return try body(pointers)
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
