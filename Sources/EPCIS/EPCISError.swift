/// Why an EPCIS document was refused or could not be hashed: one sentence naming the problem and,
/// where there is one, the event index and field (`eventList[1].bizStep: ...`).
public struct EPCISError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
