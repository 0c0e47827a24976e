import CLibFuzzer

/// The process entry. SwiftPM links a debug executable with main = FuzzConfig_main (so that tests could
/// link the module); this hands the command line to libFuzzer's driver, as libFuzzer's own main would.
@_cdecl("FuzzConfig_main")
public func fuzzerEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzOneInput(data, size)
    }
}
