import Testing

@testable import MESMessages

/// The Check answers are encoded once per status (`HealthCodec.response`): each must still be the
/// proto3 encoding of its status (field 1, varint; UNKNOWN, the default, is no field at all).
@Test(arguments: [
    (HealthCodec.ServingStatus.unknown, [UInt8]()), (.serving, [0x08, 0x01]), (.notServing, [0x08, 0x02]),
    (.serviceUnknown, [0x08, 0x03]),
])
func healthResponseIsTheStatusEncoded(status: HealthCodec.ServingStatus, bytes: [UInt8]) {
    #expect(HealthCodec.response(status) == bytes)
}
