import GolemBench

#if canImport(Glibc)
    import Glibc
#endif

/// golem-bench: parse the command line, run, print the result. The work is in GolemBench.

func writeError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}

let options: BenchOptions
do {
    options = try BenchOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    writeError("golem-bench: \(error.message)\n\n\(BenchOptions.usage)\n")
    exit(2)
}
if options.showHelp {
    print(BenchOptions.usage)
    exit(0)
}
do {
    let result = try BenchRunner.run(options, progress: !options.quiet)
    print(options.json ? result.json() : result.summary(), terminator: options.json ? "\n" : "")
} catch {
    writeError("golem-bench: \(error.message)\n")
    exit(1)
}
