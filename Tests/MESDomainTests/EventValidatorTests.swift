import Testing
@testable import MESDomain

@Test func placeholder() { #expect(EventValidator.isOffset("+02:00")) }
