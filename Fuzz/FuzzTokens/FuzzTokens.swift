import MESServices

/// libFuzzer entry: the input as a token file's text (`TokenTable.load` decodes the file the same
/// way), then one authentication against the table when it parsed.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let table = try? TokenTable.parse(text) else { return 0 }
    if let entry = table.authenticate(token: "line-1-token") {
        precondition(table.entries.contains(entry), "authenticated an entry not in the table")
    }
    return 0
}
