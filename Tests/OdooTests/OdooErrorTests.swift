import Odoo
import Testing

@Suite struct OdooErrorTests {
    @Test(arguments: [
        ("odoo.exceptions.ValidationError", 200, OdooError.Kind.permanent),
        ("odoo.exceptions.UserError", 422, .permanent),
        ("odoo.exceptions.MissingError", 404, .permanent),
        ("odoo.exceptions.AccessError", 403, .permanent),
        ("builtins.ValueError", 422, .permanent),
        ("psycopg2.errors.SerializationFailure", 200, .retryable),
        ("psycopg2.errors.SerializationFailure", 500, .retryable),
        ("psycopg2.errors.LockNotAvailable", 200, .retryable),
        ("odoo.exceptions.AccessDenied", 200, .auth),
        ("werkzeug.exceptions.Unauthorized", 401, .auth),
        ("http", 401, .auth),
        ("http", 500, .retryable),
        ("http", 502, .retryable),
        ("http", 400, .permanent),
        ("transport", 0, .retryable),
    ])
    func classifies(name: String, status: Int, kind: OdooError.Kind) {
        #expect(OdooError.classify(name: name, httpStatus: status) == kind)
    }

    @Test func jsonRoundTrip() {
        let value: JSONValue = ["ids": [1, 2], "vals": ["qty": 2.5, "picked": true, "lot_id": false], "s": "é"]
        #expect(JSONValue.decode(value.encoded()) == value)
        #expect(JSONValue.decode(Array("[7, \"x\"]".utf8))?.many2oneID == 7)
        #expect(JSONValue.decode(Array("true".utf8)) == .bool(true))
    }
}
