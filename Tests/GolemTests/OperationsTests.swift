import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import Golem

/// Ejection, stats, the daemon's command line and signals, against real processes.
@Suite("Operations", .serialized)
struct OperationsTests {
    /// What a reply to `get` was, for comparing sequences.
    static func kind(_ socket: TestSocket) throws -> String {
        let line = try socket.readLineString()
        if line.hasPrefix("VALUE") {
            _ = try socket.readLine()
            _ = try socket.readLine()
            return "VALUE"
        }
        return line
    }

    /// One run of the ejection scenario through `kind`: three named servers, the first
    /// killed; returns the replies seen and where keys set afterwards went.
    static func ejectionRun(_ kind: ProxyUnderTest.Kind, keys: [String]) throws -> (replies: [String], placement: [String: Int]) {
        let backends = try (0..<3).map { _ in try ServerProcess.memcached() }
        let servers = backends.indices.map { "127.0.0.1:\(backends[$0].port):1 server\($0)" }
        let proxy = try ProxyUnderTest(
            kind, servers: servers,
            extra: ["hash: md5", "auto_eject_hosts: true", "server_failure_limit: 2", "server_retry_timeout: 1500"],
            threads: 1)
        let client = try proxy.connect()
        // Touch every server so each has an open connection, as a busy proxy would.
        for key in keys { #expect(try client.exchange("set \(key) 0 0 1\r\nx\r\n", lines: 1) == "STORED") }
        let direct = try TestSocket(port: backends[0].port)
        let onDead = try direct.heldKeys(keys.map { Array($0.utf8) }).map { String(decoding: $0, as: UTF8.self) }.sorted()
        #expect(onDead.count >= 3, "some keys must live on the server that dies")
        backends[0].stop()
        usleep(100_000)
        var replies: [String] = []
        for _ in 0..<4 {
            try client.send("get \(onDead[0])\r\n")
            replies.append(try Self.kind(client))
        }
        usleep(1_700_000)
        for _ in 0..<4 {
            try client.send("get \(onDead[1])\r\n")
            replies.append(try Self.kind(client))
        }
        // Where keys go while the server is out.
        var placement: [String: Int] = [:]
        let moved = keys.map { "moved-\($0)" }
        for key in moved { _ = try client.exchange("set \(key) 0 0 1\r\ny\r\n", lines: 1) }
        for index in 1..<3 {
            let socket = try TestSocket(port: backends[index].port)
            for key in try socket.heldKeys(moved.map { Array($0.utf8) }) {
                placement[String(decoding: key, as: UTF8.self)] = index
            }
        }
        return (replies, placement)
    }

    @Test("auto_eject_hosts: the same replies as nutcracker, the same rerouting, and the server's return")
    func ejectionSideBySide() throws {
        let keys = (0..<40).map { "key\($0)" }
        let nutcracker = try Self.ejectionRun(.nutcracker, keys: keys)
        let golem = try Self.ejectionRun(.golem, keys: keys)
        #expect(nutcracker.replies.contains { $0.hasPrefix("SERVER_ERROR") })
        #expect(nutcracker.replies.contains("END"))
        #expect(golem.replies == nutcracker.replies)
        #expect(golem.placement.count == keys.count)
        #expect(golem.placement == nutcracker.placement)
    }

    @Test("after an ejection, every worker routes by the new ring")
    func everyWorkerSwitches() throws {
        let backends = try (0..<2).map { _ in try ServerProcess.memcached() }
        let servers = backends.indices.map { "127.0.0.1:\(backends[$0].port):1 server\($0)" }
        let proxy = try ProxyUnderTest(
            .golem, servers: servers,
            extra: ["hash: md5", "auto_eject_hosts: true", "server_failure_limit: 1", "server_retry_timeout: 60000"],
            threads: 4)
        let keyRouter = try router(hash: "md5", servers: servers)
        let key = (0..<100).map { "k\($0)" }.first { keyRouter.server(forKey: Array($0.utf8)) == 0 }!
        backends[0].stop()
        let first = try proxy.connect()
        #expect(try first.exchange("get \(key)\r\n", lines: 1) == "SERVER_ERROR Connection refused")
        // Twelve new clients land on all four workers; none may use the old ring.
        for _ in 0..<12 {
            let client = try proxy.connect()
            #expect(try client.exchange("get \(key)\r\n", lines: 1) == "END")
        }
    }

    @Test("a graceful stop that begins while a client is paused by backpressure still closes it once answered")
    func stopWhilePaused() throws {
        let backend = try ServerProcess.memcached()
        let proxy = try ProxyUnderTest(.golem, servers: ["127.0.0.1:\(backend.port):1 server0"], threads: 1, statsInterval: 50)
        let pid = backend.process.processIdentifier
        let client = try proxy.connect(timeout: 10)
        // More requests than a client may have unanswered (1024), in one segment: the
        // proxy reads them all at once and pauses the client with the socket empty.
        let count = ClientConnection.maxQueued + 76
        kill(pid, SIGSTOP)
        defer { kill(pid, SIGCONT) }
        try client.send(String(repeating: "get k\r\n", count: count))
        func outQueue(_ pool: [String: Any]) -> Int {
            ((pool["server0"] as? [String: Any])?["out_queue"] as? NSNumber)?.intValue ?? -1
        }
        #expect(waitForStats(port: proxy.statsPort) { outQueue($0) == ClientConnection.maxQueued }, "client paused")
        kill(proxy.process.process.processIdentifier, SIGTERM)
        kill(pid, SIGCONT)
        for _ in 0..<count { #expect(try client.readLineString() == "END") }
        // The client stays connected: the proxy must end the drain itself (shut its side
        // down, linger at most 2 s) and exit, long before its 10 s grace deadline.
        var exited = false
        for _ in 0..<600 where !exited {
            exited = !proxy.process.process.isRunning
            if !exited { usleep(10_000) }
        }
        #expect(exited, "the proxy exits once the paused client is answered")
    }

    @Test("a backend restart that resets every worker's connection at once is not an ejection, as in nutcracker")
    func restartIsNotEjection() throws {
        for kind in [ProxyUnderTest.Kind.nutcracker, .golem] {
            var backends = try (0..<2).map { _ in try ServerProcess.memcached() }
            let servers = backends.indices.map { "127.0.0.1:\(backends[$0].port):1 server\($0)" }
            let proxy = try ProxyUnderTest(
                kind, servers: servers,
                extra: [
                    "hash: md5", "preconnect: true", "auto_eject_hosts: true", "server_failure_limit: 2",
                    "server_retry_timeout: 60000",
                ],
                threads: 4, statsInterval: 50)
            let keyRouter = try router(hash: "md5", servers: servers)
            let keys = (0..<100).map { "r\($0)" }.filter { keyRouter.server(forKey: Array($0.utf8)) == 0 }.prefix(8)
            func server0Connections(_ pool: [String: Any]) -> Int {
                ((pool["server0"] as? [String: Any])?["server_connections"] as? NSNumber)?.intValue ?? -1
            }
            // Every worker (nutcracker: its one process) holds a connection to server0.
            let connected = kind == .golem ? 4 : 1
            #expect(waitForStats(port: proxy.statsPort) { server0Connections($0) == connected }, "\(kind): preconnect")
            let port = backends[0].port
            backends[0].stop()
            // Each connection sees the end of stream (one failure each) before the restart.
            #expect(waitForStats(port: proxy.statsPort) { server0Connections($0) == 0 }, "\(kind): connections closed")
            backends[0] = try ServerProcess.memcached(port: port)
            for key in keys {
                let client = try proxy.connect()
                #expect(try client.exchange("set \(key) 0 0 1\r\nx\r\n", lines: 1) == "STORED", "\(kind)")
            }
            // Still on the restarted server: it was not ejected.
            let direct = try TestSocket(port: port)
            let held = try direct.heldKeys(keys.map { Array($0.utf8) })
            #expect(held.count == keys.count, "\(kind): \(held.count) of \(keys.count) keys on the restarted server")
        }
    }

    /// The JSON keys of a stats document, in order.
    static func keyOrder(_ document: String) -> [String] {
        var keys: [String] = []
        var rest = Substring(document)
        while let open = rest.firstIndex(of: "\"") {
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: "\"") else { break }
            let next = rest.index(after: close)
            if next < rest.endIndex && rest[next] == ":" { keys.append(String(rest[afterOpen..<close])) }
            rest = rest[next...]
        }
        return keys
    }

    /// Reads one stats document from `port`.
    static func statsDocument(_ port: Int) throws -> String {
        let socket = try TestSocket(port: port, timeout: 2)
        return String(decoding: try socket.readToClose(), as: UTF8.self)
    }

    @Test("stats JSON: nutcracker's keys in nutcracker's order, and every counter counts what was sent")
    func statsDocument() throws {
        let backends = try (0..<2).map { _ in try ServerProcess.memcached() }
        let servers = ["127.0.0.1:\(backends[0].port):1 alpha", "127.0.0.1:\(backends[1].port):1 bb"]
        func run(_ kind: ProxyUnderTest.Kind) throws -> String {
            let statsPort = try freePort()
            let configPath = NSTemporaryDirectory() + "golem-stats-\(UUID().uuidString).yml"
            let proxy = try ServerProcess(kind == .golem ? golemproxyPath : "/usr/sbin/nutcracker") { port in
                let yaml = "zeta:\n  listen: 127.0.0.1:\(port)\n  hash: md5\n  servers:\n   - \(servers[0])\n   - \(servers[1])\n"
                try? yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
                return ["-c", configPath, "-s", "\(statsPort)", "-a", "127.0.0.1", "-i", "100"]
                    + (kind == .golem ? ["--threads", "2"] : ["-o", "/dev/null"])
            }
            let client = try TestSocket(port: proxy.port)
            for i in 0..<10 { _ = try client.exchange("set s\(i) 0 0 2\r\nhi\r\n", lines: 1) }
            try client.send("get s0 s1 s2 s3 s4 s5 s6 s7 s8 s9\r\n")
            for _ in 0..<10 { _ = try client.readLine(); _ = try client.readLine() }
            #expect(try client.readLineString() == "END")
            // Wait until the stats count every reply (nutcracker aggregates every -i ms):
            // the 10 sets and at least one get.
            let counted = waitForStats(port: statsPort, pool: "zeta") { pool in
                let responses = ["alpha", "bb"].map { ((pool[$0] as? [String: Any])?["responses"] as? NSNumber)?.intValue ?? 0 }
                return responses.reduce(0, +) >= 11
            }
            #expect(counted, "\(kind): the stats never counted the replies")
            let document = try Self.statsDocument(statsPort)
            proxy.stop()
            return document
        }
        let nutcracker = try run(.nutcracker)
        let golem = try run(.golem)
        #expect(Self.keyOrder(golem) == Self.keyOrder(nutcracker))
        // Servers in nutcracker's order (bb before alpha: shorter names first).
        #expect(golem.hasSuffix("}}}\n") && golem.contains("},\"alpha\": {"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(golem.utf8)) as? [String: Any])
        let pool = try #require(object["zeta"] as? [String: Any])
        let alpha = try #require(pool["alpha"] as? [String: Any])
        let bb = try #require(pool["bb"] as? [String: Any])
        func number(_ object: [String: Any], _ key: String) -> Int { (object[key] as? NSNumber)?.intValue ?? -1 }
        // 10 sets plus one multiget split into (at most) one fragment per server.
        let requests = number(alpha, "requests") + number(bb, "requests")
        let fragments = number(pool, "fragments")
        #expect(requests == 10 + fragments)
        #expect(fragments == 2)
        #expect(number(alpha, "responses") + number(bb, "responses") == requests)
        #expect(number(pool, "client_connections") >= 1)
        #expect(number(alpha, "server_connections") + number(bb, "server_connections") >= 2)
        // request_bytes, exactly: the 10 sets, plus the two fragments "get" + " sN" per
        // key + "\r\n" (10 keys of 2 bytes over 2 fragments: 2 x 5 + 10 x 3 bytes).
        let setBytes = (0..<10).map { "set s\($0) 0 0 2\r\nhi\r\n".utf8.count }.reduce(0, +)
        #expect(number(alpha, "request_bytes") + number(bb, "request_bytes") == setBytes + 2 * 5 + 10 * 3)
        #expect((object["service"] as? String) == "nutcracker")
    }

    @Test("Prometheus exposition parses with prometheus_client and carries latency histograms")
    func prometheus() throws {
        let backend = try ServerProcess.memcached()
        let metricsPort = try freePort()
        let configPath = NSTemporaryDirectory() + "golem-metrics-\(UUID().uuidString).yml"
        let proxy = try ServerProcess(golemproxyPath) { port in
            try? "m:\n  listen: 127.0.0.1:\(port)\n  servers:\n   - 127.0.0.1:\(backend.port):1\n"
                .write(toFile: configPath, atomically: true, encoding: .utf8)
            return ["-c", configPath, "-s", "\((try? freePort()) ?? 0)", "-a", "127.0.0.1", "-i", "0", "--metrics-port", "\(metricsPort)"]
        }
        let client = try TestSocket(port: proxy.port)
        for i in 0..<25 { _ = try client.exchange("set p\(i) 0 0 1\r\nx\r\n", lines: 1) }
        let http = try TestSocket(port: metricsPort)
        try http.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        let response = String(decoding: try http.readToClose(), as: UTF8.self)
        #expect(response.hasPrefix("HTTP/1.0 200 OK"))
        let body = String(response.split(separator: "\r\n\r\n", maxSplits: 1).last ?? "")
        let bodyPath = NSTemporaryDirectory() + "golem-metrics-\(UUID().uuidString).txt"
        try body.write(toFile: bodyPath, atomically: true, encoding: .utf8)
        let script = """
            import sys
            from prometheus_client.parser import text_string_to_metric_families
            families = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
            h = families['golemproxy_server_request_latency_seconds']
            assert families['golemproxy_pool_request_latency_seconds'].type == 'histogram'
            assert [s.value for s in families['golemproxy_pool_request_latency_seconds'].samples if s.name.endswith('_count')] == [25]
            count = [s.value for s in h.samples if s.name.endswith('_count')][0]
            requests = [s.value for s in families['golemproxy_server_requests'].samples][0]
            print(int(count), int(requests), h.type)
            """
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", script, bodyPath]
        let pipe = Pipe()
        python.standardOutput = pipe
        python.standardError = pipe
        try python.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        python.waitUntilExit()
        #expect(python.terminationStatus == 0, "\(output)")
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "25 25 histogram", "\(output)")
    }
}
