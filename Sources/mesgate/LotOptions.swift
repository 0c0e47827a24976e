import ArgumentParser
import MESDomain

/// The lot, serial or container a command starts from (`mesgate trace`, `mesgate export`):
/// `--product` and `--lot`, `--product` and `--serial`, or `--container`.
struct LotOptions: ParsableArguments {
    @Option(help: "The product of the lot or serial.")
    var product = ""

    @Option(help: "The lot.")
    var lot = ""

    @Option(help: "The serial number.")
    var serial = ""

    @Option(help: "The container (pallet, SSCC).")
    var container = ""

    var ref: LotRef { LotRef(product: product, lot: lot, serial: serial, container: container) }

    func validate() throws {
        if !ref.isTracked {
            throw ValidationError("name the lot: --product and --lot, --product and --serial, or --container")
        }
    }
}
