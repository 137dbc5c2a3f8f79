/// The daemon's command line: nutcracker 0.5.0's flags, long and short, with its
/// defaults and its validation messages, plus golemproxy's own `--threads`.
///
/// Parsing follows `getopt_long` as nutcracker calls it: short flags may be bundled
/// (`-dt`), a short option's value may be attached (`-c/etc/x.yml`) or the next word,
/// a long option's value may follow `=` or be the next word, and a long name may be
/// shortened to any unambiguous prefix (`--conf`).
public struct Options: Sendable, Equatable {
    public var showHelp = false
    public var showVersion = false
    public var testConfig = false
    public var daemonize = false
    public var describeStats = false
    /// Log level, 0 (emergencies only) to 11 (most verbose); nutcracker's default 5 (notice).
    public var verbosity = 5
    /// Log file; nil logs to standard error (the systemd journal under the unit).
    public var logFile: String? = nil
    public var configFile = Options.defaultConfigFile
    public var statsPort = 22222
    public var statsAddress = "0.0.0.0"
    /// Stats aggregation interval in milliseconds.
    public var statsInterval = 30000
    public var pidFile: String? = nil
    /// nutcracker's mbuf chunk size: accepted and range-checked for compatibility; it
    /// caps nothing here, since golemproxy's buffers are libevent's.
    public var mbufSize = 16384
    /// Worker threads, each with its own event loop; nil means one per online CPU.
    public var threads: Int? = nil
    /// Port of the Prometheus `/metrics` HTTP listener (on `statsAddress`); off when nil.
    public var metricsPort: Int? = nil

    public static let defaultConfigFile = "/etc/golemproxy/golemproxy.yml"
    public static let version = "0.1.0"
    public static let mbufRange = 512...16_777_216

    public init() {}

    /// Why parsing stopped: the message nutcracker prints (after which it shows usage and
    /// exits 1).
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// One option: its short letter, long name and what its value means.
    private enum Argument { case none, fileName, number, string }
    private struct Spec {
        let short: Character
        let long: String
        let argument: Argument
    }
    private static let specs: [Spec] = [
        Spec(short: "h", long: "help", argument: .none),
        Spec(short: "V", long: "version", argument: .none),
        Spec(short: "t", long: "test-conf", argument: .none),
        Spec(short: "d", long: "daemonize", argument: .none),
        Spec(short: "D", long: "describe-stats", argument: .none),
        Spec(short: "v", long: "verbose", argument: .number),
        Spec(short: "o", long: "output", argument: .fileName),
        Spec(short: "c", long: "conf-file", argument: .fileName),
        Spec(short: "s", long: "stats-port", argument: .number),
        Spec(short: "a", long: "stats-addr", argument: .string),
        Spec(short: "i", long: "stats-interval", argument: .number),
        Spec(short: "p", long: "pid-file", argument: .fileName),
        Spec(short: "m", long: "mbuf-size", argument: .number),
        // golemproxy's own; no short form, so it cannot clash with a future nutcracker flag.
        Spec(short: "\0", long: "threads", argument: .number),
        Spec(short: "\0", long: "metrics-port", argument: .number),
    ]

    /// Parses `arguments` (without the program name).
    public static func parse(_ arguments: [String]) throws(Failure) -> Options {
        var options = Options()
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            index += 1
            if word == "--" { break }
            if word.hasPrefix("--") {
                let body = word.dropFirst(2)
                let name = body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
                let matches = specs.filter { $0.long.hasPrefix(name) }
                let exact = matches.first { $0.long == name }
                guard let spec = exact ?? (matches.count == 1 ? matches[0] : nil), !name.isEmpty else {
                    throw Failure(message: "golemproxy: invalid option -- '\(word)'")
                }
                var value: String? = nil
                if let equals = body.firstIndex(of: "=") {
                    guard spec.argument != .none else {
                        throw Failure(message: "golemproxy: option '--\(spec.long)' doesn't allow an argument")
                    }
                    value = String(body[body.index(after: equals)...])
                } else if spec.argument != .none {
                    guard index < arguments.count else { throw missing(spec) }
                    value = arguments[index]
                    index += 1
                }
                try options.apply(spec, value)
                continue
            }
            guard word.hasPrefix("-"), word.count > 1 else {
                // nutcracker takes no operands; getopt would permute and ignore them, but a
                // stray word is almost always a mistake (`golemproxy nutcracker.yml`).
                throw Failure(message: "golemproxy: unexpected argument '\(word)'")
            }
            var letters = word.dropFirst()
            while let letter = letters.first {
                letters = letters.dropFirst()
                guard let spec = specs.first(where: { $0.short == letter && letter != "\0" }) else {
                    throw Failure(message: "golemproxy: invalid option -- '\(letter)'")
                }
                if spec.argument == .none {
                    try options.apply(spec, nil)
                    continue
                }
                var value = String(letters)
                letters = ""
                if value.isEmpty {
                    guard index < arguments.count else { throw missing(spec) }
                    value = arguments[index]
                    index += 1
                }
                try options.apply(spec, value)
            }
        }
        return options
    }

    /// nutcracker's message for an option given without its value.
    private static func missing(_ spec: Spec) -> Failure {
        let flag = spec.short == "\0" ? "--\(spec.long)" : "-\(spec.short)"
        switch spec.argument {
        case .fileName: return Failure(message: "golemproxy: option \(flag) requires a file name")
        case .number: return Failure(message: "golemproxy: option \(flag) requires a number")
        case .string, .none: return Failure(message: "golemproxy: option \(flag) requires a string")
        }
    }

    /// Digits only, as nutcracker's `nc_atoi`: no sign, no spaces; nil otherwise.
    private static func number(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 9, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            return nil
        }
        return Int(text)
    }

    private mutating func apply(_ spec: Spec, _ value: String?) throws(Failure) {
        let flag = spec.short == "\0" ? "--\(spec.long)" : "-\(spec.short)"
        var numeric = 0
        if spec.argument == .number {
            guard let parsed = Options.number(value ?? "") else {
                throw Failure(message: "golemproxy: option \(flag) requires a number")
            }
            numeric = parsed
        }
        switch spec.short {
        case "h":
            showHelp = true
            showVersion = true
        case "V": showVersion = true
        case "t": testConfig = true
        case "d": daemonize = true
        case "D":
            describeStats = true
            showVersion = true
        case "v": verbosity = min(numeric, 11)
        case "o": logFile = value
        case "c": configFile = value ?? configFile
        case "s":
            guard (1...65535).contains(numeric) else {
                throw Failure(message: "golemproxy: option -s value \(numeric) is not a valid port")
            }
            statsPort = numeric
        case "a": statsAddress = value ?? statsAddress
        case "i": statsInterval = numeric
        case "p": pidFile = value
        case "m":
            guard numeric > 0 else { throw Failure(message: "golemproxy: option -m requires a non-zero number") }
            guard Options.mbufRange.contains(numeric) else {
                throw Failure(
                    message: "golemproxy: mbuf chunk size must be between \(Options.mbufRange.lowerBound)"
                        + " and \(Options.mbufRange.upperBound) bytes")
            }
            mbufSize = numeric
        case _ where spec.long == "metrics-port":
            guard (1...65535).contains(numeric) else {
                throw Failure(message: "golemproxy: option --metrics-port value \(numeric) is not a valid port")
            }
            metricsPort = numeric
        default:  // --threads
            guard numeric >= 1 && numeric <= 1024 else {
                throw Failure(message: "golemproxy: option --threads value \(numeric) must be between 1 and 1024")
            }
            threads = numeric
        }
    }

    /// The version banner `-V`, `-h` and `-D` print first.
    public static var banner: String {
        "This is golemproxy-\(version) (nutcracker-0.5.0 compatible)\nasync event backend: libevent epoll\n"
    }

    /// The usage text, in nutcracker's layout.
    public static var usage: String {
        """
        Usage: golemproxy [-?hVdDt] [-v verbosity level] [-o output file]
                          [-c conf file] [-s stats port] [-a stats addr]
                          [-i stats interval] [-p pid file] [-m mbuf size]
                          [--threads N] [--metrics-port N]

        Options:
          -h, --help             : this help
          -V, --version          : show version and exit
          -t, --test-conf        : test configuration for syntax errors and exit
          -d, --daemonize        : run as a daemon
          -D, --describe-stats   : print stats description and exit
          -v, --verbose=N        : set logging level (default: 5, min: 0, max: 11)
          -o, --output=S         : set logging file (default: stderr)
          -c, --conf-file=S      : set configuration file (default: \(defaultConfigFile))
          -s, --stats-port=N     : set stats monitoring port (default: 22222)
          -a, --stats-addr=S     : set stats monitoring ip (default: 0.0.0.0)
          -i, --stats-interval=N : set stats aggregation interval in msec (default: 30000 msec)
          -p, --pid-file=S       : set pid file (default: off)
          -m, --mbuf-size=N      : set size of mbuf chunk in bytes (default: 16384 bytes)
              --threads=N        : worker threads, each with its own event loop (default: online CPUs)
              --metrics-port=N   : serve Prometheus metrics at http://stats-addr:N/metrics (default: off)

        """
    }
}
