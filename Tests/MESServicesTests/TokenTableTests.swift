import Testing

@testable import MESServices

@Suite struct TokenHashTests {
    /// hashLine is SHA-256 in hex (FIPS 180-4 test vectors), as the token file expects.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
    ])
    func knownVectors(input: String, hex: String) {
        #expect(TokenTable.hashLine(token: input) == "sha256:" + hex)
    }
}

@Suite struct TokenTableTests {
    static let file = """
        # plant tokens
        line-3-mes mes \(TokenTable.hashLine(token: "secret-one"))
        line-3-mes mes \(TokenTable.hashLine(token: "secret-two"))

        qa-team quality \(TokenTable.hashLine(token: "qa-token"))
        """

    @Test func severalTokensPerClient() throws {
        let table = try TokenTable.parse(Self.file)
        #expect(table.entries.count == 3)
        #expect(table.authenticate(token: "secret-one")?.client == "line-3-mes")
        #expect(table.authenticate(token: "secret-two")?.client == "line-3-mes")
        #expect(table.authenticate(token: "qa-token")?.role == .quality)
        #expect(table.authenticate(token: "secret-three") == nil)
        #expect(table.authenticate(token: "") == nil)
    }

    @Test(arguments: [
        "client mes",
        "client boss sha256:" + String(repeating: "ab", count: 32),
        "client mes md5:" + String(repeating: "ab", count: 16),
        "client mes sha256:" + String(repeating: "zz", count: 32),
        "client mes sha256:" + String(repeating: "ab", count: 31),
    ])
    func malformedLinesAreRefusedWithoutEchoingThem(line: String) {
        #expect(throws: TokenTable.ParseError.self) { try TokenTable.parse("# ok\n" + line) }
        do {
            _ = try TokenTable.parse(line)
        } catch {
            #expect(error.description.hasPrefix("line 1:"))
            #expect(!error.description.contains("abab"))
        }
    }
}
