import Odoo
import Testing

@Suite struct OdooDateTimeTests {
    @Test func datetimesAreUTCTextInOdoosServerFormat() {
        // 2026-11-27 06:00:00.750 UTC: Odoo keeps whole seconds.
        #expect(OdooDateTime.text(1_795_759_200_750) == "2026-11-27 06:00:00")
        #expect(OdooDateTime.ms("2026-11-27 06:00:00") == 1_795_759_200_000)
        #expect(OdooDateTime.ms(OdooDateTime.text(0)) == 0)
    }

    @Test(arguments: [nil, "", "false", "2026-11-27T06:00:00Z", "27/11/2026 06:00"])
    func whatIsNotSuchADatetimeIsZero(text: String?) {
        #expect(OdooDateTime.ms(text) == 0)
    }
}
