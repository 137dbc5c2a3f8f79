import Foundation
import Golem
import Testing

@testable import GolemBench

/// golem-bench: its command line, its histogram, its reply counting, and one real run.
@Suite("Bench")
struct BenchTests {
    // MARK: - Options

    @Test("defaults")
    func defaults() throws {
        let options = try BenchOptions.parse(["--port", "11211"])
        #expect(options.host == "127.0.0.1" && options.port == 11211)
        #expect(options.connections == 50 && options.threads == 1 && options.pipeline == 1)
        #expect(options.getRatio == 1 && options.setRatio == 0 && options.multiget == 1)
        #expect(options.keys == 10000 && options.keyPrefix == "key:" && options.distribution == .uniform)
        #expect(options.valueSize == 100 && options.rate == 0 && options.stop == .duration(10))
        #expect(options.warmup == 1 && !options.prefill && !options.json && !options.quiet)
    }

    @Test("every flag, as --name value and --name=value")
    func flags() throws {
        let options = try BenchOptions.parse([
            "--host", "localhost", "--port=1234", "--connections", "8", "--threads=2", "--pipeline", "16",
            "--ratio=3:1", "--multiget", "4", "--keys=500", "--key-prefix", "bench-", "--distribution=gaussian",
            "--value-size", "0", "--rate=2500.5", "--requests", "1000", "--warmup=0.25", "--prefill", "--json",
            "--quiet",
        ])
        #expect(options.host == "localhost" && options.port == 1234)
        #expect(options.connections == 8 && options.threads == 2 && options.pipeline == 16)
        #expect(options.getRatio == 3 && options.setRatio == 1 && options.multiget == 4)
        #expect(options.keys == 500 && options.keyPrefix == "bench-" && options.distribution == .gaussian)
        #expect(options.valueSize == 0 && options.rate == 2500.5 && options.stop == .requests(1000))
        #expect(options.warmup == 0.25 && options.prefill && options.json && options.quiet)
        #expect(try BenchOptions.parse(["--port", "1", "--duration", "2.5"]).stop == .duration(2.5))
        #expect(try BenchOptions.parse(["--port", "1", "--ratio", "0:1"]).setRatio == 1)
        #expect(try BenchOptions.parse(["--help"]).showHelp)
    }

    @Test(
        "bad arguments name the flag",
        arguments: [
            ([], "--port is required"),
            (["--port"], "--port needs a value"),
            (["--port", "0"], "--port expects a whole number from 1 to 65535, got \"0\""),
            (["--port", "x1"], "--port expects a whole number from 1 to 65535, got \"x1\""),
            (
                ["--port", "1", "--connections", "0"],
                "--connections expects a whole number from 1 to 100000, got \"0\""
            ),
            (["--port", "1", "--threads", "-2"], "--threads expects a whole number from 1 to 1024, got \"-2\""),
            (
                ["--port", "1", "--connections", "2", "--threads", "3"],
                "--threads (3) must not exceed --connections (2)"
            ),
            (
                ["--port", "1", "--ratio", "1"],
                "--ratio expects GETS:SETS, two whole numbers not both 0 (e.g. 1:0, 9:1), got \"1\""
            ),
            (
                ["--port", "1", "--ratio", "0:0"],
                "--ratio expects GETS:SETS, two whole numbers not both 0 (e.g. 1:0, 9:1), got \"0:0\""
            ),
            (["--port", "1", "--distribution", "zipf"], "--distribution must be uniform or gaussian, got \"zipf\""),
            (["--port", "1", "--rate", "-5"], "--rate expects a non-negative number, got \"-5\""),
            (["--port", "1", "--duration", "0"], "--duration expects a positive number, got \"0\""),
            (["--port", "1", "--duration", "nan"], "--duration expects a positive number, got \"nan\""),
            (
                ["--port", "1", "--duration", "1", "--requests", "5"],
                "--duration and --requests exclude each other: give one"
            ),
            (["--port", "1", "--key-prefix", "a b"], "--key-prefix must not contain spaces or control characters"),
            (
                ["--port", "1", "--key-prefix", String(repeating: "k", count: 247)],
                "--key-prefix is too long: keys would be 251 bytes, memcached takes at most 250"
            ),
            (["--port", "1", "--json=yes"], "--json takes no value"),
            (["--port", "1", "--bogus", "3"], "unknown option --bogus"),
            (["--port", "1", "extra"], "unexpected argument \"extra\""),
            (["-p", "1"], "unexpected argument \"-p\""),
        ])
    func badArguments(arguments: [String], message: String) {
        #expect(throws: BenchOptions.Failure(message: message)) { try BenchOptions.parse(arguments) }
    }

    // MARK: - Histogram

    @Test("1..1000 µs uniform: each percentile is the top of the exact value's bucket")
    func uniformPercentiles() {
        var histogram = BenchHistogram()
        for value in 1...1000 { histogram.record(microseconds: value) }
        #expect(histogram.count == 1000 && histogram.min == 1 && histogram.max == 1000)
        #expect(histogram.mean == 500.5)
        for (percentile, exact) in [(50.0, 500), (90.0, 900), (99.0, 990), (99.9, 999), (100.0, 1000)] {
            let reported = histogram.percentile(percentile)
            #expect(reported == min(BenchHistogram.highestEquivalentValue(exact), 1000), "p\(percentile)")
            #expect(BenchHistogram.lowestEquivalentValue(reported) <= exact && exact <= reported, "p\(percentile)")
        }
        #expect(histogram.percentile(50) == 501)  // 500 shares a 2-wide bucket with 501
        #expect(histogram.percentile(90) == 903)  // 4-wide buckets from 512
        #expect(histogram.percentile(0) == 1)
    }

    @Test("buckets: exact below 256 µs, never wider than 1/128 of their values, up to 60 s")
    func bucketBounds() {
        for value in 0..<256 {
            #expect(BenchHistogram.lowestEquivalentValue(value) == value)
            #expect(BenchHistogram.highestEquivalentValue(value) == value)
        }
        var value = 256
        while value <= BenchHistogram.highestTrackable {
            let low = BenchHistogram.lowestEquivalentValue(value)
            let high = BenchHistogram.highestEquivalentValue(value)
            #expect(low <= value && value <= high)
            #expect((high - low + 1) * 128 <= low, "bucket of \(value)")
            // The next bucket starts right after this one.
            #expect(BenchHistogram.lowestEquivalentValue(high + 1) == high + 1)
            value = value * 5 / 4 + 1
        }
    }

    @Test("a constant, a bimodal distribution, values beyond 60 s, merge, empty")
    func distributions() {
        var constant = BenchHistogram()
        for _ in 0..<1000 { constant.record(microseconds: 12345) }
        for percentile in [50.0, 90, 99, 99.9] { #expect(constant.percentile(percentile) == 12345) }

        var bimodal = BenchHistogram()
        for _ in 0..<990 { bimodal.record(microseconds: 100) }
        for _ in 0..<10 { bimodal.record(microseconds: 10000) }
        #expect(bimodal.percentile(50) == 100 && bimodal.percentile(99) == 100)
        #expect(bimodal.percentile(99.9) == 10000 && bimodal.max == 10000)
        #expect(bimodal.mean == 199.0)  // (990 × 100 + 10 × 10000) / 1000

        var huge = BenchHistogram()
        huge.record(microseconds: 120_000_000)
        #expect(huge.max == 120_000_000 && huge.count == 1)
        #expect(huge.percentile(50) >= BenchHistogram.lowestEquivalentValue(BenchHistogram.highestTrackable))

        var low = BenchHistogram()
        var high = BenchHistogram()
        var whole = BenchHistogram()
        for value in 1...2000 {
            whole.record(microseconds: value)
            if value <= 1000 { low.record(microseconds: value) } else { high.record(microseconds: value) }
        }
        var merged = BenchHistogram()
        merged.merge(high)
        merged.merge(BenchHistogram())
        merged.merge(low)
        #expect(merged == whole)
        #expect(BenchHistogram().percentile(99) == 0 && BenchHistogram().mean == 0)
    }

    // MARK: - Reply counting

    /// A reply stream and the requests it answers: get hit, get miss, multiget with two
    /// hits of three, set, a value whose data looks like reply lines, a VALUE with cas,
    /// then each kind of error.
    static let stream = Array(
        ("VALUE key:1 0 5\r\nhello\r\nEND\r\n" + "END\r\n"
            + "VALUE key:1 0 3\r\nabc\r\nVALUE key:7 5 0\r\n\r\nEND\r\n" + "STORED\r\n"
            + "VALUE key:2 0 13\r\nEND\r\nSTORED\r\n\r\nEND\r\n" + "VALUE key:3 0 2 991\r\nab\r\nEND\r\n"
            + "SERVER_ERROR out of memory storing object\r\n" + "CLIENT_ERROR bad data chunk\r\n" + "ERROR\r\n"
            + "NOT_STORED\r\n" + "STORED\r\n").utf8)
    static let requests: [BenchRequest] = [
        .get(keys: 1), .get(keys: 1), .get(keys: 3), .set, .get(keys: 1), .get(keys: 1), .get(keys: 2), .set,
        .get(keys: 1),
        .set, .get(keys: 1),
    ]
    static let replies: [BenchReply] = [
        .end(hits: 1), .end(hits: 0), .end(hits: 2), .stored, .end(hits: 1), .end(hits: 1), .serverError, .clientError,
        .error, .notStored, .stored,
    ]

    /// Feeds `bytes` in the given chunks; returns every reply framed.
    static func parse(_ bytes: [UInt8], cuts: [Int]) -> [BenchReply] {
        var parser = ReplyParser()
        var replies: [BenchReply] = []
        let bounds = [0] + cuts + [bytes.count]
        for (start, end) in zip(bounds, bounds.dropFirst()) {
            Array(bytes[start..<end]).withUnsafeBytes { chunk in
                var offset = 0
                while let reply = parser.next(in: chunk, at: &offset) { replies.append(reply) }
                #expect(offset == chunk.count)
            }
        }
        #expect(parser.isIdle)
        return replies
    }

    @Test("each reply is framed once, wherever the stream is cut (once, twice, byte by byte)")
    func repliesAtEveryCut() {
        let bytes = Self.stream
        #expect(Self.parse(bytes, cuts: []) == Self.replies)
        for cut in 0...bytes.count {
            #expect(Self.parse(bytes, cuts: [cut]) == Self.replies, "cut at \(cut)")
        }
        for first in stride(from: 0, through: bytes.count, by: 3) {
            for second in first...bytes.count {
                #expect(Self.parse(bytes, cuts: [first, second]) == Self.replies, "cuts at \(first), \(second)")
            }
        }
        #expect(Self.parse(bytes, cuts: Array(1..<bytes.count)) == Self.replies)
    }

    @Test("the tally counts each request once: hits, misses, each kind of error")
    func tally() {
        var tally = BenchTally()
        for (reply, request) in zip(Self.parse(Self.stream, cuts: [7, 40]), Self.requests) {
            tally.count(reply, for: request)
        }
        #expect(tally.requests == 11 && tally.gets == 8 && tally.sets == 3)
        #expect(tally.hits == 5 && tally.misses == 2)  // the failed gets count neither
        #expect(tally.serverErrors == 1 && tally.clientErrors == 1 && tally.errorReplies == 1)
        // NOT_STORED to a set and STORED to a get.
        #expect(tally.unexpected == 2 && tally.lost == 0 && tally.errors == 5)

        // A reply that does not fit its request, and a request lost with its connection.
        var odd = BenchTally()
        odd.count(.stored, for: .get(keys: 2))
        odd.count(.end(hits: 0), for: .set)
        odd.countLost(.get(keys: 1))
        #expect(odd.requests == 3 && odd.unexpected == 2 && odd.lost == 1 && odd.errors == 3)
        var merged = tally
        merged.merge(odd)
        #expect(merged.requests == 14 && merged.errors == 8 && merged.gets == 10)
    }

    @Test("a line that is no reply, and a VALUE line without a length, are unexpected")
    func garbage() {
        #expect(Self.parse(Array("HELLO\r\nEND\r\n".utf8), cuts: [3]) == [.unexpected, .end(hits: 0)])
        #expect(Self.parse(Array("VALUE k 0 x\r\n".utf8), cuts: []) == [.unexpected])
        #expect(Self.parse(Array("VALUE k 0\r\n".utf8), cuts: [9]) == [.unexpected])
        #expect(Self.parse(Array("\r\n".utf8), cuts: [1]) == [.unexpected])
    }

    // MARK: - Requests and keys

    @Test("requests on the wire: get, multiget, set with small and large values")
    func requestBytes() throws {
        var options = try BenchOptions.parse(["--port", "1", "--keys", "1", "--multiget", "3", "--value-size", "5"])
        var chooser = KeyChooser(keys: 1, distribution: .uniform, seed: 1)
        let buffer = Buffer()
        RequestWriter(options: options).appendGet(count: 3, chooser: &chooser, to: buffer)
        RequestWriter(options: options).appendSet(key: 1_234_567_890, to: buffer)
        #expect(
            String(decoding: buffer.copyBytes(), as: UTF8.self)
                == "get key:0 key:0 key:0\r\nset key:1234567890 0 0 5\r\nabcde\r\n")
        options.valueSize = 10000
        options.keyPrefix = ""
        let large = Buffer()
        RequestWriter(options: options).appendSet(key: 0, to: large)
        let bytes = large.copyBytes()
        #expect(bytes.count == "set 0 0 0 10000\r\n".utf8.count + 10002)
        #expect(bytes.starts(with: Array("set 0 0 0 10000\r\nabc".utf8)))
        #expect(bytes.suffix(2) == [13, 10])
    }

    @Test("keys stay in the key space; gaussian keys crowd the middle")
    func keyDistributions() {
        var uniform = KeyChooser(keys: 1000, distribution: .uniform, seed: 42)
        var gaussian = KeyChooser(keys: 1000, distribution: .gaussian, seed: 42)
        var middle = (uniform: 0, gaussian: 0)
        for _ in 0..<10000 {
            let u = uniform.next()
            let g = gaussian.next()
            #expect((0..<1000).contains(u) && (0..<1000).contains(g))
            if (400..<600).contains(u) { middle.uniform += 1 }
            if (400..<600).contains(g) { middle.gaussian += 1 }
        }
        // ±1 standard deviation holds about 68% of a normal distribution, 20% of a uniform one.
        #expect(middle.gaussian > 6000 && middle.gaussian < 7500)
        #expect(middle.uniform > 1500 && middle.uniform < 2500)
        var single = KeyChooser(keys: 1, distribution: .gaussian, seed: 7)
        #expect((0..<100).allSatisfy { _ in single.next() == 0 })
    }

    @Test("connections, --requests and prefill keys are dealt out whole")
    func dealing() throws {
        let options = try BenchOptions.parse([
            "--port", "1", "--connections", "7", "--threads", "3", "--requests", "1000", "--keys", "100", "--prefill",
        ])
        let slots = BenchRunner.deal(options)
        #expect(slots.map(\.count) == [3, 2, 2])
        let all = slots.flatMap { $0 }
        #expect(all.map(\.globalIndex) == Array(0..<7))
        #expect(all.map(\.quota).reduce(0, +) == 1000)
        #expect(all.map(\.quota).max()! - all.map(\.quota).min()! <= 1)
        #expect(all.flatMap { Array($0.prefillKeys) } == Array(0..<100))
        let timed = BenchRunner.deal(try BenchOptions.parse(["--port", "1", "--connections", "2"]))
        #expect(timed.flatMap { $0 }.allSatisfy { $0.quota == Int.max && $0.prefillKeys.isEmpty })
    }

    @Test("numbers in the JSON are plain decimals; strings are escaped")
    func jsonText() {
        #expect(BenchResult.decimal(1234.56, 1) == "1234.6")
        #expect(BenchResult.decimal(0.0004, 3) == "0.000")
        #expect(BenchResult.decimal(-2.5, 2) == "-2.50")
        #expect(BenchResult.decimal(.infinity, 1) == "0")
        #expect(JSONText.quoted("a\"b\\c\n\u{1}") == "\"a\\\"b\\\\c\\n\\u0001\"")
    }

    // MARK: - Against memcached

    /// Parses a result's JSON the way a script would.
    static func decode(_ result: BenchResult) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(result.json().utf8))
        return try #require(object as? [String: Any])
    }

    @Test("a closed-loop run of exactly 2000 prefilled gets: 2000 requests, all hits, no errors")
    func closedLoopRun() throws {
        let memcached = try ServerProcess.memcached()
        defer { memcached.stop() }
        let options = try BenchOptions.parse([
            "--port", "\(memcached.port)", "--requests", "2000", "--prefill", "--json", "--quiet", "--warmup", "0.3",
        ])
        let result = try BenchRunner.run(options)
        let json = try Self.decode(result)
        #expect(json["requests"] as? Int == 2000)
        #expect(json["errors"] as? Int == 0)
        #expect(json["gets"] as? Int == 2000 && json["hits"] as? Int == 2000 && json["misses"] as? Int == 0)
        #expect((json["throughput"] as? Double ?? 0) > 0 && (json["duration_s"] as? Double ?? 0) > 0)
        let prefill = try #require(json["prefill"] as? [String: Any])
        #expect(prefill["sets"] as? Int == 10000 && prefill["errors"] as? Int == 0)
        let latency = try #require(json["latency_us"] as? [String: Any])
        #expect(Set(latency.keys) == ["mean", "min", "p50", "p90", "p99", "p99_9", "max"])
        #expect(result.histogram.count == 2000)
        let echoed = try #require(json["options"] as? [String: Any])
        #expect(echoed["requests"] as? Int == 2000 && echoed["port"] as? Int == memcached.port)
    }

    @Test("an open-loop run over two threads with sets and multigets counts each request once")
    func openLoopRun() throws {
        let memcached = try ServerProcess.memcached()
        defer { memcached.stop() }
        let options = try BenchOptions.parse([
            "--port", "\(memcached.port)", "--requests", "600", "--rate", "3000", "--ratio", "1:1", "--multiget", "2",
            "--pipeline", "4", "--connections", "8", "--threads", "2", "--keys", "1000", "--prefill", "--warmup", "0.2",
            "--distribution", "gaussian", "--quiet",
        ])
        let result = try BenchRunner.run(options)
        #expect(result.tally.requests == 600 && result.tally.errors == 0)
        // Each connection alternates set, get; where the warm-up left it varies.
        #expect(result.tally.gets + result.tally.sets == 600 && abs(result.tally.gets - 300) <= 8)
        #expect(result.tally.hits == 2 * result.tally.gets && result.tally.misses == 0)
        #expect(result.histogram.count == 600)
        #expect(result.summary().contains("requests      600 in "))
    }

    @Test("a timed run: every measured request counted once, the duration at least the one asked for")
    func timedRun() throws {
        let memcached = try ServerProcess.memcached()
        defer { memcached.stop() }
        let options = try BenchOptions.parse([
            "--port", "\(memcached.port)", "--duration", "0.3", "--warmup", "0.1", "--connections", "4", "--pipeline",
            "2",
            "--ratio", "1:1", "--quiet",
        ])
        let result = try BenchRunner.run(options)
        #expect(result.tally.errors == 0 && result.tally.requests > 0)
        #expect(result.tally.gets + result.tally.sets == result.tally.requests)
        #expect(result.tally.hits + result.tally.misses == result.tally.gets)
        #expect(UInt64(result.tally.requests) == result.histogram.count)
        #expect(result.elapsedSeconds >= 0.3)
    }

    @Test("a server that dies mid-run: each connection's lost requests are counted, the run ends")
    func serverDies() throws {
        let memcached = try ServerProcess.memcached()
        let options = try BenchOptions.parse([
            "--port", "\(memcached.port)", "--duration", "30", "--warmup", "0", "--connections", "4", "--quiet",
        ])
        defer { memcached.stop() }
        let pid = memcached.process.processIdentifier
        let killer = Thread {
            usleep(300_000)
            kill(pid, SIGKILL)
        }
        killer.start()
        // If the kill beats the connects, the run fails to start instead; both are fine.
        guard let result = try? BenchRunner.run(options) else { return }
        #expect(result.connectionFailures == 4)
        #expect(result.firstConnectionFailure?.hasPrefix("connection to 127.0.0.1:\(memcached.port): ") == true)
        #expect(result.tally.lost <= 4 && result.tally.errors == result.tally.lost)
        #expect(UInt64(result.tally.requests - result.tally.lost) == result.histogram.count)
    }

    @Test("a server that is not there: a clear failure")
    func refused() throws {
        let options = try BenchOptions.parse(["--port", "\(try freePort())", "--requests", "10", "--quiet"])
        #expect(throws: BenchRunner.Failure.self) { try BenchRunner.run(options) }
        do {
            _ = try BenchRunner.run(options)
        } catch {
            #expect(error.message.hasPrefix("cannot connect to 127.0.0.1:"))
            #expect(error.message.hasSuffix("Connection refused"))
        }
    }
}
