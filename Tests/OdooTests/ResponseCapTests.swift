import Foundation
import Odoo
import Testing

/// libcurl answers are read up to `OdooConfiguration.maxResponseBytes`: a longer one fails the
/// call with a clear error instead of growing the poster's memory. Against a real HTTP server
/// (python3's http.server in a child process) whose /web/version answer is 2 MiB.
@Suite struct ResponseCapTests {
    /// A local HTTP server answering every GET with a JSON body of about `bytes` bytes.
    final class HugeAnswerServer {
        let process = Process()
        let port: Int

        init(bytes: Int) throws {
            let script = """
                import http.server, sys
                body = b'{"version_info": [19, 0, 0, "final", 0], "version": "19.0", "pad": "' + b'x' * \(bytes) + b'"}'
                class H(http.server.BaseHTTPRequestHandler):
                    def do_GET(self):
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                    def log_message(self, *a):
                        pass
                s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
                print(s.server_address[1], flush=True)
                s.serve_forever()
                """
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", script]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            var line = Data()
            let deadline = Date().addingTimeInterval(20)
            while !line.contains(UInt8(ascii: "\n")) && Date() < deadline {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                line.append(chunk)
            }
            guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            else {
                kill(process.processIdentifier, SIGKILL)
                throw OdooError(.permanent, name: "test", message: "the HTTP server did not start")
            }
            self.port = port
        }

        /// SIGKILL: the test runner's blocked signals (SIGTERM among them) are inherited by the child.
        deinit {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    @Test func anAnswerOverTheCapFailsTheCallUnderItIsRead() throws {
        let server = try HugeAnswerServer(bytes: 2 * 1024 * 1024)
        var configuration = OdooConfiguration(
            url: "http://127.0.0.1:\(server.port)", database: "db", login: "mes", apiKey: "k")
        #expect(configuration.maxResponseBytes == 64 * 1024 * 1024)
        configuration.maxResponseBytes = 1024 * 1024
        let capped = try OdooClient(configuration: configuration)
        #expect(
            throws: OdooError(
                .retryable, name: "transport",
                message: "Odoo's answer is longer than 1048576 bytes (maxResponseBytes); not read")
        ) { try capped.connect() }
        configuration.maxResponseBytes = 4 * 1024 * 1024
        let roomy = try OdooClient(configuration: configuration)
        try roomy.connect()
        #expect(roomy.majorVersion == 19)
    }
}
