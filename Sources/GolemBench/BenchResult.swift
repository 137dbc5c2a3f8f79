import Golem
/// What a run measured, and its two renderings: one JSON object (`--json`) or a short
/// human-readable summary.
public struct BenchResult: Sendable {
    public var options: BenchOptions
    /// The measured requests (sent after the warm-up).
    public var tally = BenchTally()
    /// The prefill sets (`--prefill`), not part of the measurement.
    public var prefill = BenchTally()
    /// Latency of the measured requests, in µs, from send (closed loop) or from the
    /// scheduled send time (open loop) to the end of the reply.
    public var histogram = BenchHistogram()
    /// From the end of the warm-up to the last reply; with `--duration`, at least that
    /// long unless every connection was lost before.
    public var elapsedSeconds = 0.0
    /// Connections lost during the run, and the first reason.
    public var connectionFailures = 0
    public var firstConnectionFailure: String?
    /// CPU of the whole process over the whole run (connect, prefill, warm-up included).
    public var cpuUserSeconds = 0.0
    public var cpuSystemSeconds = 0.0
    /// CPU of the bench threads from the end of the warm-up to the end of the run.
    public var measuredCPUSeconds = 0.0

    public init(options: BenchOptions) {
        self.options = options
    }

    /// Measured requests per second.
    public var throughput: Double {
        elapsedSeconds > 0 ? Double(tally.requests) / elapsedSeconds : 0
    }

    /// The percentiles reported, with their JSON names and labels.
    static let percentiles: [(value: Double, key: String, label: String)] = [
        (50, "p50", "p50"), (90, "p90", "p90"), (99, "p99", "p99"), (99.9, "p99_9", "p99.9"),
    ]

    /// One JSON object, on one line.
    public func json() -> String {
        var json = JSONText()
        json.open()
        json.field("requests", tally.requests)
        json.field("throughput", Self.decimal(throughput, 1))  // requests per second
        json.field("duration_s", Self.decimal(elapsedSeconds, 6))
        json.field("gets", tally.gets)
        json.field("sets", tally.sets)
        json.field("hits", tally.hits)
        json.field("misses", tally.misses)
        json.field("errors", tally.errors)
        json.key("error_counts")
        json.open()
        json.field("server_error", tally.serverErrors)
        json.field("client_error", tally.clientErrors)
        json.field("error", tally.errorReplies)
        json.field("unexpected", tally.unexpected)
        json.field("lost", tally.lost)
        json.close()
        json.field("connection_failures", connectionFailures)
        if let firstConnectionFailure { json.field("first_connection_failure", string: firstConnectionFailure) }
        json.key("latency_us")
        json.open()
        json.field("mean", Self.decimal(histogram.mean, 1))
        json.field("min", histogram.min)
        for percentile in Self.percentiles { json.field(percentile.key, histogram.percentile(percentile.value)) }
        json.field("max", histogram.max)
        json.close()
        if options.prefill {
            json.key("prefill")
            json.open()
            json.field("sets", prefill.requests)
            json.field("errors", prefill.errors)
            json.close()
        }
        json.key("cpu")
        json.open()
        json.field("user_s", Self.decimal(cpuUserSeconds, 3))
        json.field("system_s", Self.decimal(cpuSystemSeconds, 3))
        json.field("measured_s", Self.decimal(measuredCPUSeconds, 3))
        json.field("measured_percent", Self.decimal(cpuPercent, 1))
        json.close()
        json.key("options")
        json.open()
        json.field("host", string: options.host)
        json.field("port", options.port)
        json.field("connections", options.connections)
        json.field("threads", options.threads)
        json.field("pipeline", options.pipeline)
        json.field("ratio", string: "\(options.getRatio):\(options.setRatio)")
        json.field("multiget", options.multiget)
        json.field("keys", options.keys)
        json.field("key_prefix", string: options.keyPrefix)
        json.field("distribution", string: options.distribution.rawValue)
        json.field("value_size", options.valueSize)
        json.field("rate", Self.decimal(options.rate, 3))
        switch options.stop {
        case .duration(let seconds):
            json.field("duration_s", Self.decimal(seconds, 3))
            json.field("requests", raw: "null")
        case .requests(let count):
            json.field("duration_s", raw: "null")
            json.field("requests", count)
        }
        json.field("warmup_s", Self.decimal(options.warmup, 3))
        json.field("prefill", raw: options.prefill ? "true" : "false")
        json.close()
        json.close()
        return json.text
    }

    /// The bench threads' CPU while measuring, as a percentage of one core over the
    /// measured time.
    var cpuPercent: Double {
        elapsedSeconds > 0 ? measuredCPUSeconds / elapsedSeconds * 100 : 0
    }

    /// A few lines for people.
    public func summary() -> String {
        let o = options
        let load = o.rate > 0 ? "open loop at \(Self.decimal(o.rate, 1)) req/s" : "closed loop"
        var lines: [String] = []
        lines.append(
            "\(o.host):\(o.port), \(o.connections) connections on \(o.threads) thread\(o.threads == 1 ? "" : "s"), "
                + "pipeline \(o.pipeline), get:set \(o.getRatio):\(o.setRatio), multiget \(o.multiget), "
                + "\(o.keys) keys (\(o.distribution.rawValue)), \(o.valueSize)-byte values, \(load)")
        if o.prefill {
            lines.append("prefill       \(prefill.requests) sets, \(prefill.errors) errors")
        }
        lines.append(
            "requests      \(tally.requests) in \(Self.decimal(elapsedSeconds, 3)) s: \(Self.decimal(throughput, 1)) req/s "
                + "(gets \(tally.gets), sets \(tally.sets))")
        if tally.gets > 0 {
            lines.append("keys          \(tally.hits) hits, \(tally.misses) misses")
        }
        lines.append(
            "errors        \(tally.errors) (SERVER_ERROR \(tally.serverErrors), CLIENT_ERROR \(tally.clientErrors), "
                + "ERROR \(tally.errorReplies), unexpected \(tally.unexpected), lost \(tally.lost))")
        if connectionFailures > 0 {
            lines.append("connections   \(connectionFailures) lost; first: \(firstConnectionFailure ?? "")")
        }
        let percentiles = Self.percentiles.map { "\($0.label) \(histogram.percentile($0.value))" }.joined(
            separator: ", ")
        lines.append("latency (µs)  mean \(Self.decimal(histogram.mean, 1)), \(percentiles), max \(histogram.max)")
        lines.append(
            "cpu           bench threads \(Self.decimal(measuredCPUSeconds, 3)) s while measuring "
                + "(\(Self.decimal(cpuPercent, 1))% of one core); process user \(Self.decimal(cpuUserSeconds, 3)) s, "
                + "system \(Self.decimal(cpuSystemSeconds, 3)) s")
        return lines.joined(separator: "\n") + "\n"
    }

    /// `value` with `places` decimals, plain digits (no exponent), valid JSON.
    static func decimal(_ value: Double, _ places: Int) -> String {
        guard value.isFinite else { return "0" }
        var scale = 1
        for _ in 0..<places { scale *= 10 }
        let scaled = (value * Double(scale)).rounded()
        guard abs(scaled) < 9e18 else { return String(Int(value.rounded())) }
        let units = Int(scaled)
        let whole = abs(units) / scale
        let sign = units < 0 ? "-" : ""
        guard places > 0 else { return sign + String(whole) }
        var fraction = String(abs(units) % scale)
        while fraction.utf8.count < places { fraction = "0" + fraction }
        return sign + String(whole) + "." + fraction
    }
}

/// A minimal JSON writer: objects, keys in the order written, numbers and strings.
struct JSONText {
    private(set) var text = ""
    private var needsComma = false

    mutating func open() {
        text += "{"
        needsComma = false
    }

    mutating func close() {
        text += "}"
        needsComma = true
    }

    mutating func key(_ name: String) {
        if needsComma { text += "," }
        text += Self.quoted(name) + ":"
        needsComma = false
    }

    mutating func field(_ name: String, _ value: Int) {
        field(name, raw: String(value))
    }

    /// A number already formatted as JSON.
    mutating func field(_ name: String, _ number: String) {
        field(name, raw: number)
    }

    mutating func field(_ name: String, string: String) {
        field(name, raw: Self.quoted(string))
    }

    mutating func field(_ name: String, raw: String) {
        key(name)
        text += raw
        needsComma = true
    }

    /// `value` as a JSON string (the proxy's stats use the same escaping).
    static func quoted(_ value: String) -> String {
        "\"" + JSONString.escape(value) + "\""
    }
}
