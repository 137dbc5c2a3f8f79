/// golem-bench's settings: what load to generate, against what, for how long.
///
/// Every option is a long flag, written `--name value` or `--name=value`; boolean flags
/// take no value. `parse` checks each value and names the flag in its message.
public struct BenchOptions: Sendable, Equatable {
    /// How keys are drawn from the key space `0..<keys`.
    public enum KeyDistribution: String, Sendable, Equatable, CaseIterable {
        /// Every key equally likely.
        case uniform
        /// A hot set: normal around the middle of the key space (`keys / 2`) with a
        /// standard deviation of `keys / 10`; draws outside the key space are redrawn.
        /// About 68% of requests then touch the middle 20% of the keys.
        case gaussian
    }

    /// When the measured part of the run ends.
    public enum StopCondition: Sendable, Equatable {
        /// After this many seconds (following the warm-up).
        case duration(Double)
        /// After exactly this many requests (sent after the warm-up) have been answered.
        case requests(Int)
    }

    public var host = "127.0.0.1"
    /// The server's TCP port; required (0 until given).
    public var port = 0
    /// Connections in total, spread over the threads as evenly as possible.
    public var connections = 50
    /// Bench threads, each with its own event loop and its share of the connections.
    public var threads = 1
    /// Requests each connection keeps outstanding at most.
    public var pipeline = 1
    /// Relative weight of gets in the request mix (`--ratio G:S`).
    public var getRatio = 1
    /// Relative weight of sets in the request mix.
    public var setRatio = 0
    /// Keys per `get` request.
    public var multiget = 1
    /// Size of the key space: keys are `keyPrefix` followed by 0..<keys in decimal.
    public var keys = 10000
    public var keyPrefix = "key:"
    public var distribution = KeyDistribution.uniform
    /// Bytes of each value a `set` stores.
    public var valueSize = 100
    /// Requests per second over all connections (open loop); 0 saturates (closed loop).
    public var rate = 0.0
    public var stop = StopCondition.duration(10)
    /// Seconds of load before measuring; requests sent during it are not counted.
    public var warmup = 1.0
    /// Set every key once before the run, so that gets hit.
    public var prefill = false
    /// Print one JSON object on stdout instead of the human-readable summary.
    public var json = false
    /// No progress line on stderr.
    public var quiet = false
    public var showHelp = false

    public init() {}

    /// The longest key memcached accepts.
    public static let maxKeyLength = 250

    /// Why parsing stopped; `message` names the flag at fault.
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var message: String
        public init(message: String) { self.message = message }
        public var description: String { message }
    }

    /// The flags that take a value; every other known flag is boolean.
    private static let valued: Set<String> = [
        "host", "port", "connections", "threads", "pipeline", "ratio", "multiget", "keys", "key-prefix",
        "distribution", "value-size", "rate", "duration", "requests", "warmup",
    ]
    private static let booleans: Set<String> = ["prefill", "json", "quiet", "help"]

    /// Parses `arguments` (without the program name).
    public static func parse(_ arguments: [String]) throws(Failure) -> BenchOptions {
        var options = BenchOptions()
        var duration: Double? = nil
        var requests: Int? = nil
        var portGiven = false
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            index += 1
            guard word.hasPrefix("--"), word.count > 2 else {
                throw Failure(message: "unexpected argument \"\(word)\"")
            }
            let body = word.dropFirst(2)
            let parts = body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            if booleans.contains(name) {
                guard parts.count == 1 else { throw Failure(message: "--\(name) takes no value") }
                switch name {
                case "prefill": options.prefill = true
                case "json": options.json = true
                case "quiet": options.quiet = true
                default: options.showHelp = true
                }
                continue
            }
            guard valued.contains(name) else { throw Failure(message: "unknown option --\(name)") }
            let value: String
            if parts.count == 2 {
                value = String(parts[1])
            } else {
                guard index < arguments.count else { throw Failure(message: "--\(name) needs a value") }
                value = arguments[index]
                index += 1
            }
            switch name {
            case "host":
                guard !value.isEmpty else { throw Failure(message: "--host needs a host name or address") }
                options.host = value
            case "port":
                options.port = try integer(value, flag: name, in: 1...65535)
                portGiven = true
            case "connections": options.connections = try integer(value, flag: name, in: 1...100_000)
            case "threads": options.threads = try integer(value, flag: name, in: 1...1024)
            case "pipeline": options.pipeline = try integer(value, flag: name, in: 1...65536)
            case "ratio": (options.getRatio, options.setRatio) = try ratio(value)
            case "multiget": options.multiget = try integer(value, flag: name, in: 1...10000)
            case "keys": options.keys = try integer(value, flag: name, in: 1...1_000_000_000_000)
            case "key-prefix":
                guard value.utf8.allSatisfy({ $0 > 32 && $0 != 127 }) else {
                    throw Failure(message: "--key-prefix must not contain spaces or control characters")
                }
                options.keyPrefix = value
            case "distribution":
                guard let chosen = KeyDistribution(rawValue: value) else {
                    throw Failure(message: "--distribution must be uniform or gaussian, got \"\(value)\"")
                }
                options.distribution = chosen
            case "value-size": options.valueSize = try integer(value, flag: name, in: 0...(1 << 30))
            case "rate": options.rate = try seconds(value, flag: name, allowZero: true)
            case "duration": duration = try seconds(value, flag: name, allowZero: false)
            case "requests": requests = try integer(value, flag: name, in: 1...Int(Int64.max >> 8))
            default: options.warmup = try seconds(value, flag: name, allowZero: true)
            }
        }
        if options.showHelp { return options }
        guard portGiven else { throw Failure(message: "--port is required") }
        guard options.threads <= options.connections else {
            throw Failure(
                message: "--threads (\(options.threads)) must not exceed --connections (\(options.connections))")
        }
        let longestKey = options.keyPrefix.utf8.count + String(options.keys - 1).utf8.count
        guard longestKey <= maxKeyLength else {
            throw Failure(
                message:
                    "--key-prefix is too long: keys would be \(longestKey) bytes, memcached takes at most \(maxKeyLength)"
            )
        }
        switch (duration, requests) {
        case (.some, .some): throw Failure(message: "--duration and --requests exclude each other: give one")
        case (.some(let seconds), nil): options.stop = .duration(seconds)
        case (nil, .some(let count)): options.stop = .requests(count)
        case (nil, nil): break
        }
        return options
    }

    /// A whole number in `range`, digits only.
    private static func integer(_ text: String, flag: String, in range: ClosedRange<Int>) throws(Failure) -> Int {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = Int(text),
            range.contains(value)
        else {
            throw Failure(
                message:
                    "--\(flag) expects a whole number from \(range.lowerBound) to \(range.upperBound), got \"\(text)\"")
        }
        return value
    }

    /// A finite, non-negative decimal number (positive unless `allowZero`).
    private static func seconds(_ text: String, flag: String, allowZero: Bool) throws(Failure) -> Double {
        let plain = !text.isEmpty && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || $0 == 46 }
        guard plain, let value = Double(text), value.isFinite, value > 0 || (allowZero && value == 0) else {
            throw Failure(
                message: "--\(flag) expects a \(allowZero ? "non-negative" : "positive") number, got \"\(text)\"")
        }
        return value
    }

    /// `G:S`: two whole numbers, not both zero.
    private static func ratio(_ text: String) throws(Failure) -> (Int, Int) {
        let fields = text.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 2, let gets = Int(fields[0]), let sets = Int(fields[1]), gets >= 0, sets >= 0,
            gets + sets > 0, gets <= 1_000_000, sets <= 1_000_000
        else {
            throw Failure(
                message: "--ratio expects GETS:SETS, two whole numbers not both 0 (e.g. 1:0, 9:1), got \"\(text)\"")
        }
        return (gets, sets)
    }

    /// The help text, printed by `--help` and after a bad argument.
    public static let usage = """
        usage: golem-bench --port PORT [options]

        A memcached text-protocol load generator: N connections over T threads, each
        connection keeping up to P requests outstanding.

          --host HOST             server address (default 127.0.0.1)
          --port PORT             server port (required)
          --connections N         connections in total (default 50)
          --threads T             threads, each with its own event loop (default 1)
          --pipeline P            requests outstanding per connection (default 1)
          --ratio G:S             gets to sets, e.g. 0:1 for sets only (default 1:0)
          --multiget K            keys per get (default 1)
          --keys N                key space: keys are PREFIX0 .. PREFIX(N-1) (default 10000)
          --key-prefix PREFIX     (default "key:")
          --distribution D        uniform, or gaussian: normal around keys/2 with standard
                                  deviation keys/10, a hot set (default uniform)
          --value-size BYTES      value size of sets (default 100)
          --rate R                requests/s over all connections on a fixed timetable
                                  (open loop; latency counts from the scheduled time);
                                  0 = as fast as answered (closed loop) (default 0)
          --duration SECONDS      measure for this long (default 10)
          --requests N            or: measure exactly N requests
          --warmup SECONDS        load before measuring; requests sent during it are not
                                  counted (default 1)
          --prefill               set every key once before the run, so gets hit
          --json                  print one JSON object on stdout at the end
          --quiet                 no progress line on stderr
          --help                  this text
        """
}
