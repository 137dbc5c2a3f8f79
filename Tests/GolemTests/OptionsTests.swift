import Testing

@testable import Golem

/// The command line: nutcracker's flags, forms and messages.
@Suite("Options")
struct OptionsTests {
    @Test("short, bundled, attached, long, = and prefix forms")
    func forms() throws {
        var options = try Options.parse(["-t", "-c", "a.yml"])
        #expect(options.testConfig && options.configFile == "a.yml")
        options = try Options.parse(["-tca.yml"])
        #expect(options.testConfig && options.configFile == "a.yml")
        options = try Options.parse(["--test-conf", "--conf-file=b.yml", "--stats-port", "3000"])
        #expect(options.testConfig && options.configFile == "b.yml" && options.statsPort == 3000)
        options = try Options.parse(["--conf", "c.yml", "--threads=3", "-v", "7", "-dD"])
        #expect(options.configFile == "c.yml" && options.threads == 3 && options.verbosity == 7)
        #expect(options.daemonize && options.describeStats && options.showVersion)
        options = try Options.parse(["-o", "/tmp/l", "-a", "127.0.0.1", "-i", "1000", "-p", "/run/p", "-m", "512"])
        #expect(options.logFile == "/tmp/l" && options.statsAddress == "127.0.0.1")
        #expect(options.statsInterval == 1000 && options.pidFile == "/run/p" && options.mbufSize == 512)
        #expect(try Options.parse(["-h"]).showHelp)
        #expect(try Options.parse(["--version"]).showVersion)
    }

    @Test("defaults are nutcracker's")
    func defaults() throws {
        let options = try Options.parse([])
        #expect(options.verbosity == 5 && options.statsPort == 22222 && options.statsAddress == "0.0.0.0")
        #expect(options.statsInterval == 30000 && options.mbufSize == 16384 && options.pidFile == nil)
        #expect(options.threads == nil && !options.daemonize && !options.testConfig)
    }

    @Test(
        "bad options get nutcracker's message",
        arguments: [
            (["-x"], "golemproxy: invalid option -- 'x'"),
            (["-s", "abc"], "golemproxy: option -s requires a number"),
            (["-s", "70000"], "golemproxy: option -s value 70000 is not a valid port"),
            (["-c"], "golemproxy: option -c requires a file name"),
            (["-a"], "golemproxy: option -a requires a string"),
            (["--verbose"], "golemproxy: option -v requires a number"),
            (["-v", "-1"], "golemproxy: option -v requires a number"),
            (["-m", "10"], "golemproxy: mbuf chunk size must be between 512 and 16777216 bytes"),
            (["-m", "0"], "golemproxy: option -m requires a non-zero number"),
            (["--threads", "0"], "golemproxy: option --threads value 0 must be between 1 and 1024"),
            (["--bogus"], "golemproxy: invalid option -- '--bogus'"),
            (["--help=x"], "golemproxy: option '--help' doesn't allow an argument"),
            (["conf.yml"], "golemproxy: unexpected argument 'conf.yml'"),
        ])
    func failures(arguments: [String], message: String) {
        #expect(throws: Options.Failure(message: message)) { try Options.parse(arguments) }
    }

    @Test("--describe-stats lists nutcracker's stats in its layout")
    func describe() {
        let text = StatsCatalog.describeText
        #expect(text.hasPrefix("pool stats:\n  client_eof          \"# eof on client connections\"\n"))
        #expect(text.contains("\nserver stats:\n  server_eof          \"# eof on server connections\"\n"))
        #expect(text.contains("  server_ejected_at   \"timestamp when server was ejected in usec since epoch\"\n"))
        #expect(StatsCatalog.pool.count == 6 && StatsCatalog.server.count == 13)
    }
}

/// The stats document's layout, without a running proxy.
@Suite("Stats document")
struct StatsDocumentTests {
    @Test("separators follow nutcracker's: \", \" after values, \",\" after braces; names are kept as they are")
    func layout() {
        func server(_ name: String) -> StatsSnapshot.Server {
            StatsSnapshot.Server(
                name: name, values: Array(repeating: 0, count: StatsCatalog.server.count),
                latencyBuckets: Array(repeating: 0, count: LatencyHistogram.bounds.count + 1), latencyCount: 0,
                latencySumMicroseconds: 0)
        }
        let snapshot = StatsSnapshot(
            uptime: 1, timestamp: 2, totalConnections: 3, currentConnections: 4,
            pools: [
                .init(name: "p}, q", values: Array(repeating: 0, count: StatsCatalog.pool.count), servers: [server("a"), server("b")]),
                .init(name: "r", values: Array(repeating: 0, count: StatsCatalog.pool.count), servers: [server("c")]),
            ])
        let json = snapshot.nutcrackerJSON(source: "host")
        #expect(json.hasPrefix("{\"service\":\"nutcracker\", \"source\":\"host\", \"version\":\"0.5.0\", \"uptime\":1, "))
        #expect(json.contains("\"curr_connections\":4, \"p}, q\": {\"client_eof\":0, "))
        #expect(json.contains("\"fragments\":0, \"a\": {\"server_eof\":0, "))
        #expect(json.contains("\"out_queue_bytes\":0},\"b\": {"))
        #expect(json.contains("\"out_queue_bytes\":0}},\"r\": {"))
        #expect(json.hasSuffix("\"out_queue_bytes\":0}}}\n"))
    }
}
