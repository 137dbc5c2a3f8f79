import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import Golem

/// golemproxy in front of real memcached servers, spoken to over real sockets.
@Suite("Memcache proxy", .serialized)
struct MemcacheProxyTests {
    /// Three memcached servers and a golemproxy with two workers in front of them.
    final class Rig {
        let backends: [ServerProcess]
        let proxy: ProxyUnderTest
        init(servers: Int = 3, extra: [String] = [], threads: Int = 2) throws {
            backends = try (0..<servers).map { _ in try ServerProcess.memcached() }
            proxy = try ProxyUnderTest(.golem, servers: backends.map { "127.0.0.1:\($0.port):1" }, extra: extra, threads: threads)
        }
        /// The backend that holds `key` (asked directly).
        func holder(of key: String) throws -> Int? {
            for (index, backend) in backends.enumerated() {
                let direct = try TestSocket(port: backend.port)
                if try direct.heldKeys([Array(key.utf8)]).isEmpty == false { return index }
            }
            return nil
        }
    }

    @Test("storage, retrieval, arithmetic, touch and delete commands")
    func commands() throws {
        let rig = try Rig()
        let c = try rig.proxy.connect()
        #expect(try c.exchange("set a 5 0 3\r\nabc\r\n", lines: 1) == "STORED")
        #expect(try c.exchange("get a\r\n", lines: 3) == "VALUE a 5 3\r\nabc\r\nEND")
        #expect(try c.exchange("add a 0 0 1\r\nx\r\n", lines: 1) == "NOT_STORED")
        #expect(try c.exchange("add b 0 0 1\r\nx\r\n", lines: 1) == "STORED")
        #expect(try c.exchange("replace b 0 0 1\r\ny\r\n", lines: 1) == "STORED")
        #expect(try c.exchange("replace zz 0 0 1\r\ny\r\n", lines: 1) == "NOT_STORED")
        #expect(try c.exchange("append a 0 0 2\r\nde\r\n", lines: 1) == "STORED")
        #expect(try c.exchange("prepend a 0 0 2\r\nxy\r\n", lines: 1) == "STORED")
        #expect(try c.exchange("get a\r\n", lines: 3) == "VALUE a 5 7\r\nxyabcde\r\nEND")
        let gets = try c.exchange("gets a\r\n", lines: 3)
        let cas = gets.split(separator: "\r\n")[0].split(separator: " ")[4]
        #expect(try c.exchange("cas a 0 0 1 \(cas)\r\nq\r\n", lines: 1) == "STORED")
        #expect(try c.exchange("cas a 0 0 1 \(cas)\r\nq\r\n", lines: 1) == "EXISTS")
        #expect(try c.exchange("cas nope 0 0 1 1\r\nq\r\n", lines: 1) == "NOT_FOUND")
        #expect(try c.exchange("set n 0 0 2\r\n10\r\n", lines: 1) == "STORED")
        #expect(try c.exchange("incr n 5\r\n", lines: 1) == "15")
        #expect(try c.exchange("decr n 20\r\n", lines: 1) == "0")
        #expect(try c.exchange("incr a 1\r\n", lines: 1) == "CLIENT_ERROR cannot increment or decrement non-numeric value")
        #expect(try c.exchange("incr missing 1\r\n", lines: 1) == "NOT_FOUND")
        #expect(try c.exchange("touch n 100\r\n", lines: 1) == "TOUCHED")
        #expect(try c.exchange("touch missing 100\r\n", lines: 1) == "NOT_FOUND")
        // memcached keeps the length of a decremented value and pads it with spaces.
        #expect(try c.exchange("gat 100 n\r\n", lines: 3) == "VALUE n 0 2\r\n0 \r\nEND")
        #expect(try c.exchange("gats 100 missing\r\n", lines: 1) == "END")
        #expect(try c.exchange("delete n\r\n", lines: 1) == "DELETED")
        #expect(try c.exchange("delete n\r\n", lines: 1) == "NOT_FOUND")
        #expect(try c.exchange("version\r\n", lines: 1).hasPrefix("VERSION "))
        #expect(try c.exchange("version foo bar\r\n", lines: 1).hasPrefix("VERSION "))
    }

    @Test("noreply requests mixed into a pipeline keep replies in step")
    func noreplyPipeline() throws {
        let rig = try Rig()
        let c = try rig.proxy.connect()
        let script =
            "set a 0 0 1 noreply\r\nA\r\nget a\r\nset b 0 0 1 noreply\r\nB\r\nadd b 0 0 1 noreply\r\nX\r\n"
            + "incr a 1 noreply\r\ndelete a noreply\r\ntouch b 10 noreply\r\nget a b\r\nappend b 0 0 1 noreply\r\nC\r\n"
            + "get b\r\n"
        let expected = ["VALUE a 0 1", "A", "END", "VALUE b 0 1", "B", "END", "VALUE b 0 2", "BC", "END"]
        #expect(try c.exchange(script, lines: expected.count) == expected.joined(separator: "\r\n"))
    }

    @Test("a 1 MB value arrives in many small segments and comes back whole")
    func largeValue() throws {
        let rig = try Rig()
        let c = try rig.proxy.connect(timeout: 10)
        var random = SeededRandom(seed: 7)
        let value = (0..<1_000_000).map { _ in UInt8.random(in: 0x21...0x7e, using: &random) }
        let request = Array("set big 0 0 \(value.count)\r\n".utf8) + value + [13, 10]
        var offset = 0
        while offset < request.count {
            let end = min(offset + 1400, request.count)
            try c.send(Array(request[offset..<end]))
            offset = end
        }
        #expect(try c.readLineString() == "STORED")
        try c.send("get big\r\n")
        #expect(try c.readLineString() == "VALUE big 0 \(value.count)")
        #expect(try c.read(count: value.count) == value)
        #expect(try c.read(count: 2) == [13, 10])
        #expect(try c.readLineString() == "END")
    }

    @Test("a multiget over three servers answers in key order, misses and duplicates included")
    func multiget() throws {
        // md5 spreads k0...k29 over all three servers (fnv1a_64 clusters such keys).
        let rig = try Rig(extra: ["hash: md5"])
        let c = try rig.proxy.connect()
        let keys = (0..<30).map { "k\($0)" }
        for key in keys where key != "k3" && key != "k17" {
            #expect(try c.exchange("set \(key) 0 0 \(key.utf8.count)\r\n\(key)\r\n", lines: 1) == "STORED")
        }
        let holders = Set(try keys.compactMap { try rig.holder(of: $0) })
        #expect(holders.count == 3, "the keys should span all three servers")
        let asked = keys + ["k5", "k3", "k5", "k29"]
        try c.send("get \(asked.joined(separator: " "))\r\n")
        var seen: [String] = []
        while true {
            let line = try c.readLineString()
            if line == "END" { break }
            let fields = line.split(separator: " ")
            #expect(fields.count == 4 && fields[0] == "VALUE")
            let data = try c.readLineString()
            #expect(data == String(fields[1]))
            seen.append(String(fields[1]))
        }
        #expect(seen == asked.filter { $0 != "k3" && $0 != "k17" })
        // gets carries cas ids; gat touches and returns.
        try c.send("gets k1 k2 k4\r\n")
        for key in ["k1", "k2", "k4"] {
            let header = try c.readLineString().split(separator: " ")
            #expect(header.count == 5 && header[1] == Substring(key))
            _ = try c.readLine()
        }
        #expect(try c.readLineString() == "END")
        #expect(try c.exchange("gat 0 k1 k3 k2\r\n", lines: 5) == "VALUE k1 0 2\r\nk1\r\nVALUE k2 0 2\r\nk2\r\nEND")
    }

    @Test("flush_all and verbosity reach every server; stats is answered by the proxy")
    func broadcastAndStats() throws {
        let rig = try Rig()
        let c = try rig.proxy.connect()
        for i in 0..<20 { _ = try c.exchange("set f\(i) 0 0 1\r\nx\r\n", lines: 1) }
        #expect(try c.exchange("flush_all\r\n", lines: 1) == "OK")
        #expect(try c.exchange("get f0 f1 f2 f3 f4 f5 f6 f7\r\n", lines: 1) == "END")
        #expect(try c.exchange("verbosity 1\r\n", lines: 1) == "OK")
        try c.send("flush_all noreply\r\nverbosity 0 noreply\r\n")
        try c.send("stats\r\n")
        var lines: [String] = []
        while let line = try? c.readLineString(), line != "END" { lines.append(line) }
        #expect(lines.contains { $0.hasPrefix("STAT pid ") })
        #expect(lines.allSatisfy { $0.hasPrefix("STAT ") })
    }

    /// Bad input, each followed by good requests that show whether the stream is back
    /// in step. memcached's own answer to the same bytes is the expected one.
    static let badInputs: [String] = [
        "bogus\r\n", "GET a\r\n", "get\r\n", "gets\r\n", "gat 10\r\n", "delete\r\n", "delete a b c d e\r\n",
        "delete a 0\r\n", "delete a 5\r\n", "verbosity foo bar my\r\n", "verbosity\r\n",
        "get \(String(repeating: "k", count: 251))\r\n", "set \(String(repeating: "k", count: 251)) 0 0 1\r\nx\r\n",
        "set a 0 0 notanumber\r\n", "set a 0 0 -1\r\n", "set a x 0 1\r\nx\r\n", "set a 0 0 3\r\nabcXY",
        "set a 0 0 3 noreply\r\nabcXY", "set a 0 0\r\n", "cas a 0 0 1\r\nx\r\n", "incr a notanumber\r\n",
        "incr\r\n", "incr a -1\r\n", "touch a\r\n", "touch a x\r\n", "flush_all x\r\n", "flush_all noreply\r\n",
        "set a 0 0 1 noreply\r\nxy\r\n", "version foo bar\r\nversion noreply\r\n", "\r\n", "   get a\r\n",
        "get a  b\r\n", "get k\n", "quit now\r\n", "\u{80}\u{01}\r\n",
        // Not compared: meta commands (mg, ms, ...), which memcached 1.6 serves and
        // golemproxy answers with ERROR (it proxies the text protocol only).
    ]

    @Test("bad requests are answered byte for byte as memcached answers them", arguments: badInputs)
    func badRequest(input: String) throws {
        let direct = try ServerProcess.memcached()
        let behind = try ServerProcess.memcached()
        let proxy = try ProxyUnderTest(.golem, servers: ["127.0.0.1:\(behind.port):1"])
        let followUp = "set ok 0 0 2\r\nhi\r\nget ok\r\n"
        func answer(_ port: Int) throws -> String {
            let socket = try TestSocket(port: port, timeout: 0.5)
            try socket.send(Array(input.utf8) + Array(followUp.utf8))
            return String(decoding: socket.readUntilIdle(), as: UTF8.self).replacingOccurrences(of: "VERSION 1.6.18", with: "VERSION x")
        }
        let expected = try answer(direct.port)
        let got = try answer(proxy.port)
        #expect(got == expected, "input \(input.debugDescription)")
    }

    @Test("an endless line is cut off after the replies already due")
    func lineTooLong() throws {
        let rig = try Rig()
        let c = try rig.proxy.connect()
        try c.send("set a 0 0 1\r\nx\r\n")
        try c.send(String(repeating: "x", count: 2 << 20))
        let rest = String(decoding: try c.readToClose(), as: UTF8.self)
        #expect(rest.hasPrefix("STORED\r\n"))
    }

    @Test("quit closes after the pending replies; half-closed clients still get answers")
    func quitAndHalfClose() throws {
        let rig = try Rig()
        let c = try rig.proxy.connect()
        try c.send("set q 0 0 1\r\nq\r\nget q\r\nquit\r\nget q\r\n")
        #expect(String(decoding: try c.readToClose(), as: UTF8.self) == "STORED\r\nVALUE q 0 1\r\nq\r\nEND\r\n")
    }

    @Test("many clients pipelining at once on several workers each get their own replies")
    func concurrentClients() throws {
        let rig = try Rig(threads: 3)
        let port = rig.proxy.port
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 12) { client in
            do {
                let c = try TestSocket(port: port, timeout: 10)
                for round in 0..<20 {
                    var script = ""
                    var expected: [String] = []
                    for i in 0..<10 {
                        let key = "c\(client)-\(round)-\(i)"
                        script += "set \(key) 0 0 \(key.utf8.count)\r\n\(key)\r\n"
                        expected.append("STORED")
                    }
                    let keys = (0..<10).map { "c\(client)-\(round)-\($0)" }
                    script += "get \(keys.joined(separator: " "))\r\n"
                    for key in keys { expected += ["VALUE \(key) 0 \(key.utf8.count)", key] }
                    expected.append("END")
                    if try c.exchange(script, lines: expected.count) != expected.joined(separator: "\r\n") {
                        failures.withLock { $0 += 1 }
                    }
                }
            } catch {
                failures.withLock { $0 += 1 }
            }
        }
        #expect(failures.withLock { $0 } == 0)
    }

    @Test("one client reads its own writes even with several connections per server")
    func readYourWrites() throws {
        let rig = try Rig(servers: 1, extra: ["server_connections: 4"], threads: 2)
        let c = try rig.proxy.connect()
        var script = ""
        var expected: [String] = []
        for i in 0..<300 {
            script += "set k 0 0 \(String(i).count)\r\n\(i)\r\nget k\r\n"
            expected += ["STORED", "VALUE k 0 \(String(i).count)", "\(i)", "END"]
        }
        #expect(try c.exchange(script, lines: expected.count) == expected.joined(separator: "\r\n"))
    }

    @Test("a dead server answers SERVER_ERROR for its keys only, and the client goes on")
    func deadServer() throws {
        let rig = try Rig(extra: ["hash: md5"])
        let c = try rig.proxy.connect()
        let keys = (0..<30).map { "d\($0)" }
        for key in keys { _ = try c.exchange("set \(key) 0 0 1\r\nx\r\n", lines: 1) }
        let holders = try keys.map { try rig.holder(of: $0) }
        #expect(holders.contains(0) && holders.contains { $0 != 0 }, "keys must be on the dead and on live servers")
        rig.backends[0].stop()
        for (key, holder) in zip(keys, holders) {
            let reply = try c.exchange("get \(key)\r\n", lines: holder == 0 ? 1 : 3)
            if holder == 0 {
                #expect(reply.hasPrefix("SERVER_ERROR "), "\(key): \(reply)")
            } else {
                #expect(reply == "VALUE \(key) 0 1\r\nx\r\nEND")
            }
        }
        // A multiget with a fragment on the dead server fails as a whole, and the
        // connection stays usable.
        #expect(try c.exchange("get \(keys.joined(separator: " "))\r\n", lines: 1).hasPrefix("SERVER_ERROR "))
        let alive = zip(keys, holders).first { $0.1 != 0 }!.0
        #expect(try c.exchange("get \(alive)\r\n", lines: 3) == "VALUE \(alive) 0 1\r\nx\r\nEND")
    }

    @Test("a server that never answers times out every request queued on it")
    func timeout() throws {
        // A listening socket nobody accepts from: the kernel completes the handshake
        // and the bytes go nowhere.
        let silent = try SilentServer()
        let proxy = try ProxyUnderTest(.golem, servers: ["127.0.0.1:\(silent.port):1"], extra: ["timeout: 300"])
        let c = try proxy.connect()
        let started = Date()
        let replies = try c.exchange("get a\r\nget b\r\nset c 0 0 1\r\nx\r\n", lines: 3)
        #expect(replies == Array(repeating: "SERVER_ERROR Connection timed out", count: 3).joined(separator: "\r\n"))
        #expect(Date().timeIntervalSince(started) < 3)
    }
}

/// A TCP listener that never accepts: connections complete in the backlog and hang.
final class SilentServer {
    let fd: Int32
    let port: Int
    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopback(port: 0)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        listen(fd, 16)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }
    deinit { close(fd) }
}

/// libmemcached's protocol conformance checker, run through golemproxy.
@Suite("memccapable through golemproxy")
struct MemccapableTests {
    @Test("all 27 ascii checks of memccapable -a pass over a 3-server pool")
    func ascii() throws {
        let rig = try MemcacheProxyTests.Rig()
        let tool = "/usr/bin/memccapable"
        #expect(FileManager.default.isExecutableFile(atPath: tool), "libmemcached-tools is not installed")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["-h", "127.0.0.1", "-p", "\(rig.proxy.port)", "-a", "-t", "5"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let passed = output.split(separator: "\n").filter { $0.hasSuffix("[pass]") }.count
        #expect(passed == 27, "\(output)")
        #expect(output.contains("All tests passed"), "\(output)")
        #expect(process.terminationStatus == 0)
    }
}

/// The same bytes through nutcracker and through golemproxy, each in front of its own
/// fresh memcached servers with the same config, give the same bytes back.
@Suite("Side by side with nutcracker")
struct SideBySideTests {
    static let script: String = {
        var text = ""
        for i in 0..<12 { text += "set key\(i) \(i) 0 \(2 + i)\r\n\(String(repeating: "v", count: 2 + i))\r\n" }
        text += "get key0\r\nget key1 key2 key3 key4 key5 key6 key7 key8 key9 key10 key11\r\n"
        text += "gets key3 key7\r\nadd key1 0 0 1\r\nx\r\nadd fresh 0 0 1\r\nx\r\nreplace key2 0 0 2\r\nzz\r\n"
        text += "replace nothing 0 0 1\r\nx\r\nappend key2 0 0 2\r\naa\r\nprepend key2 0 0 2\r\nbb\r\nget key2\r\n"
        text += "set num 0 0 3\r\n100\r\nincr num 23\r\ndecr num 200\r\nincr key0 1\r\nincr missing 1\r\n"
        text += "delete key4\r\ndelete key4\r\ntouch key5 100\r\ntouch nothing 1\r\n"
        text += "set quiet 0 0 1 noreply\r\nq\r\nget quiet\r\ndelete quiet noreply\r\nget quiet\r\n"
        text += "set ключ 0 0 4\r\nüü\r\nget ключ key1\r\nversion\r\n"
        text += "set big 0 0 300000\r\n\(String(repeating: "b", count: 300_000))\r\nget big key1 big\r\n"
        text += "cas key1 0 0 1 999999\r\nx\r\nget key0 key0 key1 key0\r\n"
        return text
    }()

    @Test("byte-identical replies for requests nutcracker serves")
    func sameBytes() throws {
        func run(_ kind: ProxyUnderTest.Kind) throws -> [UInt8] {
            let backends = try (0..<3).map { _ in try ServerProcess.memcached() }
            // Named servers: placement must not depend on the ports the OS handed out.
            let servers = backends.indices.map { "127.0.0.1:\(backends[$0].port):1 server\($0)" }
            let proxy = try ProxyUnderTest(kind, servers: servers, extra: ["hash: md5"])
            let client = try proxy.connect(timeout: 1)
            try client.send(Self.script)
            let reply = client.readUntilIdle()
            _ = backends
            return reply
        }
        let nutcracker = try run(.nutcracker)
        let golem = try run(.golem)
        #expect(nutcracker.count > 300_000)
        let differ = (0..<min(golem.count, nutcracker.count)).first { golem[$0] != nutcracker[$0] } ?? min(golem.count, nutcracker.count)
        let around = { (bytes: [UInt8]) in
            String(decoding: bytes[max(0, differ - 120)..<min(bytes.count, differ + 120)], as: UTF8.self).debugDescription
        }
        #expect(
            golem == nutcracker,
            "first difference at byte \(differ) of \(golem.count)/\(nutcracker.count):\ngolem: \(around(golem))\nnutcracker: \(around(nutcracker))")
    }
}

/// Memory stays bounded when clients or servers do not keep up.
@Suite("Backpressure", .serialized)
struct BackpressureTests {
    /// Resident memory of `pid` in bytes, from /proc.
    static func residentBytes(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }

    /// Sends `chunk` until the socket stops taking bytes (the proxy stopped reading) or
    /// `limit` bytes went out; returns the bytes sent.
    static func flood(_ socket: TestSocket, _ chunk: [UInt8], limit: Int) -> Int {
        var sent = 0
        while sent < limit, (try? socket.send(chunk)) != nil { sent += chunk.count }
        return sent
    }

    @Test("a client that sends without reading is paused, not buffered without bound")
    func clientThatDoesNotRead() throws {
        let backend = try ServerProcess.memcached()
        let proxy = try ProxyUnderTest(.golem, servers: ["127.0.0.1:\(backend.port):1"], threads: 1)
        let setup = try proxy.connect()
        let value = String(repeating: "v", count: 10_000)
        #expect(try setup.exchange("set big 0 0 \(value.count)\r\n\(value)\r\n", lines: 1) == "STORED")
        let flooder = try proxy.connect(timeout: 2)
        let request = Array(String(repeating: "get big\r\n", count: 1000).utf8)
        // 64 MB of requests: 70 GB of replies would be due if the proxy kept reading.
        let limit = 64 << 20
        let sent = Self.flood(flooder, request, limit: limit)
        #expect(sent < limit, "the proxy never stopped reading")
        let resident = Self.residentBytes(proxy.process.process.processIdentifier)
        #expect(resident < 200 << 20, "resident \(resident >> 20) MiB")
        // The proxy is still serving others.
        #expect(try setup.exchange("get nothing\r\n", lines: 1) == "END")
    }

    @Test("a server that does not read makes its clients wait, with bounded memory")
    func serverThatDoesNotRead() throws {
        let silent = try SilentServer()
        let proxy = try ProxyUnderTest(.golem, servers: ["127.0.0.1:\(silent.port):1"], threads: 1)
        let client = try proxy.connect(timeout: 2)
        let value = String(repeating: "x", count: 1_000_000)
        let request = Array("set k 0 0 \(value.count) noreply\r\n\(value)\r\n".utf8)
        let sent = Self.flood(client, request, limit: 400 * request.count)
        #expect(sent < 400 * request.count, "the proxy never stopped reading")
        let resident = Self.residentBytes(proxy.process.process.processIdentifier)
        #expect(resident < 200 << 20, "resident \(resident >> 20) MiB")
    }

    @Test("client_connections is enforced across workers")
    func clientLimit() throws {
        let backend = try ServerProcess.memcached()
        let proxy = try ProxyUnderTest(
            .golem, servers: ["127.0.0.1:\(backend.port):1"], extra: ["client_connections: 2"], threads: 2)
        // The harness's readiness probe may not be counted out yet: retry (bounded)
        // until a client is admitted and answered.
        func admitted() -> TestSocket? {
            for _ in 0..<50 {
                if let socket = try? proxy.connect(timeout: 1), (try? socket.exchange("get a\r\n", lines: 1)) == "END" {
                    return socket
                }
                usleep(20_000)
            }
            return nil
        }
        let first = try #require(admitted())
        let second = try #require(admitted())
        let third = try proxy.connect(timeout: 2)
        try? third.send("get a\r\n")
        #expect(throws: (any Error).self) { try third.readLine() }
        // A slot frees up when a client leaves.
        _ = consume first
        #expect(admitted() != nil)
        _ = second
    }
}

/// Pool options that shape connections: preconnect, server_connections, tcpkeepalive.
@Suite("Connection options")
struct ConnectionOptionTests {
    /// memcached's `curr_connections`, asked directly.
    static func currentConnections(_ port: Int) throws -> Int {
        let socket = try TestSocket(port: port)
        try socket.send("stats\r\n")
        var count = -1
        while true {
            let line = try socket.readLineString()
            if line == "END" { return count }
            if line.hasPrefix("STAT curr_connections ") { count = Int(line.split(separator: " ")[2]) ?? -1 }
        }
    }

    @Test("preconnect opens server_connections per server on every worker at start")
    func preconnect() throws {
        let backend = try ServerProcess.memcached()
        let before = try Self.currentConnections(backend.port)
        let proxy = try ProxyUnderTest(
            .golem, servers: ["127.0.0.1:\(backend.port):1"], extra: ["preconnect: true", "server_connections: 2"],
            threads: 2)
        var now = before
        for _ in 0..<100 where now != before + 4 {
            usleep(20_000)
            now = try Self.currentConnections(backend.port)
        }
        #expect(now == before + 4, "2 workers x 2 server_connections")
        _ = proxy
    }

    @Test("tcpkeepalive turns on SO_KEEPALIVE for client connections")
    func keepalive() throws {
        let backend = try ServerProcess.memcached()
        for enabled in [true, false] {
            let proxy = try ProxyUnderTest(
                .golem, servers: ["127.0.0.1:\(backend.port):1"], extra: ["tcpkeepalive: \(enabled)"])
            let client = try proxy.connect()
            #expect(try client.exchange("get a\r\n", lines: 1) == "END")
            let ss = Process()
            ss.executableURL = URL(fileURLWithPath: "/usr/bin/ss")
            ss.arguments = ["-tnoH", "state", "established", "( sport = :\(proxy.port) )"]
            let pipe = Pipe()
            ss.standardOutput = pipe
            try ss.run()
            let sockets = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            ss.waitUntilExit()
            #expect(sockets.contains("127.0.0.1:\(proxy.port)"), "\(sockets)")
            #expect(sockets.contains("keepalive") == enabled, "\(sockets)")
        }
    }
}

/// Several pools in one file, on TCP and unix sockets, over TCP and unix-socket servers.
@Suite("Pools and sockets")
struct PoolSocketTests {
    @Test("a TCP pool and a unix-socket pool (mode 0600) serve side by side; a unix-socket server works")
    func twoPools() throws {
        let directory = NSTemporaryDirectory() + "golem-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let serverSocket = directory + "/mc.sock"
        // memcached on a unix socket (as root it must be told whom to run as).
        let unixBackend = Process()
        unixBackend.executableURL = URL(fileURLWithPath: "/usr/bin/memcached")
        unixBackend.arguments = (getuid() == 0 ? ["-u", "root"] : []) + ["-s", serverSocket, "-m", "16", "-t", "1"]
        try unixBackend.run()
        defer {
            kill(unixBackend.processIdentifier, SIGKILL)
            unixBackend.waitUntilExit()
        }
        for _ in 0..<200 where (try? TestSocket(unixPath: serverSocket)) == nil { usleep(10_000) }
        let tcpBackend = try ServerProcess.memcached()
        let proxySocket = directory + "/proxy.sock"
        let config = directory + "/two.yml"
        let proxy = try ServerProcess(golemproxyPath) { port in
            let yaml = """
                zeta:
                  listen: 127.0.0.1:\(port)
                  servers:
                   - 127.0.0.1:\(tcpBackend.port):1
                alpha:
                  listen: \(proxySocket) 0600
                  servers:
                   - \(serverSocket):1
                """
            try? yaml.write(toFile: config, atomically: true, encoding: .utf8)
            return ["-c", config, "--threads", "2", "-s", "\((try? freePort()) ?? 0)", "-a", "127.0.0.1"]
        }
        let tcp = try TestSocket(port: proxy.port)
        #expect(try tcp.exchange("set t 0 0 1\r\nT\r\nget t\r\n", lines: 4) == "STORED\r\nVALUE t 0 1\r\nT\r\nEND")
        let attributes = try FileManager.default.attributesOfItem(atPath: proxySocket)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let local = try TestSocket(unixPath: proxySocket)
        #expect(try local.exchange("set u 0 0 1\r\nU\r\nget u t\r\n", lines: 4) == "STORED\r\nVALUE u 0 1\r\nU\r\nEND")
        // The unix pool's key is on the unix-socket memcached only.
        let direct = try TestSocket(unixPath: serverSocket)
        #expect(try direct.heldKeys([Array("u".utf8)]).count == 1)
    }
}

/// A one-connection TCP server on loopback that misbehaves on purpose: after the first
/// bytes arrive it closes, resets, or answers garbage.
final class MisbehavingServer: @unchecked Sendable {
    enum Behaviour { case close, reset, garbage, resetMidValue, closeMidValue, unsolicited }
    let port: Int

    /// Starts listening; the listener is closed by the serving thread after its one
    /// accept.
    init(_ behaviour: Behaviour) throws {
        let silent = try SilentServer()
        port = silent.port
        let listener = dup(silent.fd)
        Thread.detachNewThread {
            let connection = accept(listener, nil, nil)
            // One connection only: from now on connects are refused.
            close(listener)
            guard connection >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 4096)
            _ = recv(connection, &buffer, buffer.count, 0)
            switch behaviour {
            case .close:
                close(connection)
            case .reset:
                var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                setsockopt(connection, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                close(connection)
            case .garbage:
                let junk = Array("HELLO THERE\r\n".utf8)
                _ = send(connection, junk, junk.count, 0)
                usleep(500_000)
                close(connection)
            case .resetMidValue, .closeMidValue:
                // A whole first value, then half of the second.
                let partial = Array("VALUE a 0 3\r\nabc\r\nVALUE b 0 10\r\nabc".utf8)
                _ = send(connection, partial, partial.count, 0)
                usleep(100_000)
                if behaviour == .resetMidValue {
                    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                    setsockopt(connection, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                }
                close(connection)
            case .unsolicited:
                // One reply for the one request, then one nobody asked for.
                let replies = Array("END\r\nSTORED\r\n".utf8)
                _ = send(connection, replies, replies.count, 0)
                usleep(500_000)
                close(connection)
            }
        }
    }
}

/// The exact error each kind of server failure produces, and a kill in mid-stream.
@Suite("Server failures")
struct ServerFailureTests {
    @Test("a reply held for its pipelined burst is not held for a server that does not answer")
    func heldReplyIsBounded() throws {
        let memcached = try ServerProcess.memcached()
        let silent = try SilentServer()
        let servers = ["127.0.0.1:\(memcached.port):1 s0", "127.0.0.1:\(silent.port):1 s1"]
        let proxy = try ProxyUnderTest(.golem, servers: servers, extra: ["hash: md5", "timeout: 3000"], threads: 1)
        let keyRouter = try router(hash: "md5", servers: servers)
        let live = (0..<100).map { "h\($0)" }.first { keyRouter.server(forKey: Array($0.utf8)) == 0 }!
        let dead = (0..<100).map { "h\($0)" }.first { keyRouter.server(forKey: Array($0.utf8)) == 1 }!
        // One write: the first reply is ready at once, the second waits for the pool
        // timeout. The first must not wait with it (the socket gives up after 1.5 s).
        let client = try TestSocket(port: proxy.port, timeout: 1.5)
        try client.send("get \(live)\r\nget \(dead)\r\n")
        #expect(try client.readLineString() == "END")
    }

    @Test(
        "each failure gets nutcracker's SERVER_ERROR text",
        arguments: [
            (MisbehavingServer.Behaviour.close, "SERVER_ERROR unknown"),
            (.reset, "SERVER_ERROR Connection reset by peer"),
            (.garbage, "SERVER_ERROR Invalid argument"),
        ])
    func failureText(behaviour: MisbehavingServer.Behaviour, expected: String) throws {
        let server = try MisbehavingServer(behaviour)
        let proxy = try ProxyUnderTest(.golem, servers: ["127.0.0.1:\(server.port):1"], threads: 1)
        let client = try proxy.connect()
        #expect(try client.exchange("get a\r\nget b\r\n", lines: 2) == "\(expected)\r\n\(expected)")
        // The server is gone for good now: later requests are refused, and answered.
        #expect(try client.exchange("get c\r\n", lines: 1) == "SERVER_ERROR Connection refused")
    }

    @Test(
        "a server that fails in the middle of a reply: the whole request fails, no partial value leaks",
        arguments: [
            (MisbehavingServer.Behaviour.resetMidValue, "SERVER_ERROR Connection reset by peer"),
            (.closeMidValue, "SERVER_ERROR unknown"),
        ])
    func failureMidValue(behaviour: MisbehavingServer.Behaviour, expected: String) throws {
        let server = try MisbehavingServer(behaviour)
        let proxy = try ProxyUnderTest(.golem, servers: ["127.0.0.1:\(server.port):1"], threads: 1)
        let client = try proxy.connect()
        // One server: the two-key get goes as it came, and its reply is cut off.
        #expect(try client.exchange("get a b\r\n", lines: 1) == expected)
        #expect(try client.exchange("get c\r\n", lines: 1) == "SERVER_ERROR Connection refused")
    }

    @Test("a reply nobody asked for: the request before it is answered, the connection is dropped")
    func unsolicitedReply() throws {
        let server = try MisbehavingServer(.unsolicited)
        let proxy = try ProxyUnderTest(.golem, servers: ["127.0.0.1:\(server.port):1"], threads: 1)
        let client = try proxy.connect()
        #expect(try client.exchange("get a\r\n", lines: 1) == "END")
        // The garbled connection is gone; the server (one connection only) refuses now.
        #expect(try client.exchange("get b\r\n", lines: 1) == "SERVER_ERROR Connection refused")
    }

    @Test("a server that comes back is used again")
    func serverComesBack() throws {
        let backend = try ServerProcess.memcached()
        let port = backend.port
        let proxy = try ProxyUnderTest(.golem, servers: ["127.0.0.1:\(port):1"], threads: 1)
        let client = try proxy.connect()
        #expect(try client.exchange("set k 0 0 1\r\nx\r\n", lines: 1) == "STORED")
        backend.stop()
        #expect(try client.exchange("get k\r\n", lines: 1).hasPrefix("SERVER_ERROR "))
        #expect(try client.exchange("get k\r\n", lines: 1) == "SERVER_ERROR Connection refused")
        let revived = Process()
        revived.executableURL = URL(fileURLWithPath: "/usr/bin/memcached")
        revived.arguments = (getuid() == 0 ? ["-u", "nobody"] : []) + ["-l", "127.0.0.1", "-p", "\(port)", "-U", "0", "-t", "1"]
        try revived.run()
        defer {
            kill(revived.processIdentifier, SIGKILL)
            revived.waitUntilExit()
        }
        for _ in 0..<200 where !isListening(port: port) { usleep(10_000) }
        #expect(try client.exchange("set k 0 0 1\r\ny\r\nget k\r\n", lines: 4) == "STORED\r\nVALUE k 0 1\r\ny\r\nEND")
    }

    @Test("clients that leave mid-request, mid-reply or with replies pending harm nobody else")
    func clientsLeaving() throws {
        let backend = try ServerProcess.memcached()
        let proxy = try ProxyUnderTest(.golem, servers: ["127.0.0.1:\(backend.port):1"], threads: 2)
        let steady = try proxy.connect()
        let value = String(repeating: "v", count: 200_000)
        #expect(try steady.exchange("set big 0 0 \(value.count)\r\n\(value)\r\n", lines: 1) == "STORED")
        for round in 0..<30 {
            let leaver = try proxy.connect()
            switch round % 3 {
            case 0: try leaver.send("set half 0 0 100\r\nonly part of the value")  // mid-request
            case 1: try leaver.send("get big\r\n")  // leaves while a 200 KB reply is on its way
            default: try leaver.send(String(repeating: "get big\r\n", count: 50))  // replies pending
            }
            _ = consume leaver
            #expect(try steady.exchange("get missing\r\n", lines: 1) == "END")
        }
        try steady.send("get big\r\n")
        #expect(try steady.readLineString() == "VALUE big 0 \(value.count)")
        #expect(try steady.read(count: value.count + 2).count == value.count + 2)
        #expect(try steady.readLineString() == "END")
        #expect(try steady.exchange("get half\r\n", lines: 1) == "END")
    }

    @Test("10,000 client connections at once: accepted, and the proxy keeps serving")
    func tenThousandClients() throws {
        // This test process needs 10,000 descriptors too.
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let original = limit
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        // Restored afterwards: Foundation's Process reads /proc/self/fd into a buffer
        // sized from this limit (see scripts/sanitizers.sh).
        defer {
            var restore = original
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &restore)
        }
        #expect(limit.rlim_cur >= 10_500, "the hard open-file limit is too low for this test")
        let backend = try ServerProcess.memcached()
        let proxy = try ProxyUnderTest(.golem, servers: ["127.0.0.1:\(backend.port):1"], threads: 2)
        var clients: [TestSocket] = []
        clients.reserveCapacity(10_000)
        for _ in 0..<10_000 { clients.append(try proxy.connect()) }
        // Every one of them is served (a sample of 200 across the range).
        for index in stride(from: 0, to: 10_000, by: 50) {
            #expect(try clients[index].exchange("get k\(index)\r\n", lines: 1) == "END")
        }
        let resident = BackpressureTests.residentBytes(proxy.process.process.processIdentifier)
        #expect(resident < 400 << 20, "resident \(resident >> 20) MiB for 10,000 clients")
        clients.removeAll()
        let fresh = try proxy.connect()
        #expect(try fresh.exchange("set after 0 0 1\r\nz\r\nget after\r\n", lines: 4) == "STORED\r\nVALUE after 0 1\r\nz\r\nEND")
    }

    @Test("out of descriptors: accepting pauses instead of spinning, and resumes when clients leave")
    func outOfDescriptors() throws {
        let backend = try ServerProcess.memcached()
        let configPath = NSTemporaryDirectory() + "golem-emfile-\(UUID().uuidString).yml"
        // 64 descriptors in all, hard limit included, so the proxy cannot raise it.
        let proxy = try ServerProcess("/usr/bin/prlimit") { port in
            try? "p:\n  listen: 127.0.0.1:\(port)\n  servers:\n   - 127.0.0.1:\(backend.port):1\n"
                .write(toFile: configPath, atomically: true, encoding: .utf8)
            return ["--nofile=64:64", golemproxyPath, "-c", configPath, "--threads", "1", "-s", "\((try? freePort()) ?? 0)", "-a", "127.0.0.1"]
        }
        let pid = proxy.process.processIdentifier
        let first = try TestSocket(port: proxy.port)
        #expect(try first.exchange("get a\r\n", lines: 1) == "END")
        // 100 more connections than the proxy can hold: the kernel queues them.
        var extra: [TestSocket] = []
        for _ in 0..<100 { if let socket = try? TestSocket(port: proxy.port, timeout: 1) { extra.append(socket) } }
        usleep(300_000)
        func cpuTicks() -> Int {
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
            return fields.count > 12 ? (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0) : 0
        }
        let before = cpuTicks()
        usleep(1_000_000)
        let spent = cpuTicks() - before
        #expect(spent < 30, "the proxy used \(spent) ticks of CPU in 1 s while out of descriptors")
        // Clients already in are still served.
        #expect(try first.exchange("get b\r\n", lines: 1) == "END")
        // When clients leave, the waiting ones get in.
        extra.removeAll()
        let late = try TestSocket(port: proxy.port, timeout: 3)
        #expect(try late.exchange("get c\r\n", lines: 1) == "END")
    }

    @Test("a server killed while thousands of requests are in flight: every request is answered")
    func killedMidStream() throws {
        let backend = try ServerProcess.memcached()
        let proxy = try ProxyUnderTest(.golem, servers: ["127.0.0.1:\(backend.port):1"], threads: 1)
        let client = try proxy.connect(timeout: 10)
        let value = String(repeating: "z", count: 2000)
        #expect(try client.exchange("set z 0 0 \(value.count)\r\n\(value)\r\n", lines: 1) == "STORED")
        let count = 5000
        try client.send(String(repeating: "get z\r\n", count: count))
        backend.stop()
        var values = 0
        var errors = 0
        for _ in 0..<count {
            let line = try client.readLineString()
            if line.hasPrefix("VALUE") {
                #expect(try client.readLineString() == value)
                #expect(try client.readLineString() == "END")
                values += 1
            } else {
                #expect(line.hasPrefix("SERVER_ERROR "), "\(line)")
                errors += 1
            }
        }
        #expect(values + errors == count)
        #expect(try client.exchange("get z\r\n", lines: 1) == "SERVER_ERROR Connection refused")
    }
}
