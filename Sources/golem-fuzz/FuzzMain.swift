import GolemFuzz

#if canImport(Glibc)
    import Glibc
#endif

/// The target chosen by the environment variable GOLEM_FUZZ_TARGET (request, response,
/// config, redis-request or redis-reply; default request).
let selectedTarget: FuzzTarget = {
    guard let name = getenv("GOLEM_FUZZ_TARGET").map({ String(cString: $0) }) else { return .request }
    guard let target = FuzzTarget(rawValue: name) else {
        fatalError("GOLEM_FUZZ_TARGET must be one of \(FuzzTarget.allCases.map(\.rawValue))")
    }
    return target
}()

#if GOLEM_LIBFUZZER
    /// libFuzzer's driver, from the runtime that `-sanitize=fuzzer` links in.
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    /// The entry point libFuzzer's runtime expects to exist (its own `main`, unused
    /// here, refers to it).
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
        selectedTarget.run(bytes)
        return 0
    }

    /// Built with `-sanitize=fuzzer,address -D GOLEM_LIBFUZZER`: hands control to
    /// libFuzzer, which calls the target with each input. (SwiftPM names every
    /// executable's entry point itself, so libFuzzer's own `main` cannot be used.)
    @main
    struct FuzzDriver {
        static func main() {
            var argc = CommandLine.argc
            var argv = CommandLine.unsafeArgv
            let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOneInput(data, size) }
            exit(status)
        }
    }
#else
    /// Without libFuzzer: replays the files named on the command line through the target
    /// (for reproducing a crash a fuzz run found).
    @main
    struct FuzzReplay {
        static func main() {
            for path in CommandLine.arguments.dropFirst() {
                guard let file = fopen(path, "rb") else {
                    print("golem-fuzz: cannot open \(path)")
                    exit(1)
                }
                var bytes: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let count = fread(&buffer, 1, buffer.count, file)
                    if count <= 0 { break }
                    bytes += buffer[0..<count]
                }
                fclose(file)
                selectedTarget.run(bytes)
            }
        }
    }
#endif
