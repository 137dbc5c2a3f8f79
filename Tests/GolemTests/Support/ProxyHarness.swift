import Foundation

@testable import Golem

#if canImport(Glibc)
    import Glibc
#endif

/// The golemproxy binary that `swift build` put next to the test bundle.
var golemproxyPath: String {
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    // The test runner may be the .xctest bundle itself or a helper inside it.
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent("golemproxy").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    for configuration in ["debug", "release"] {
        let candidate = FileManager.default.currentDirectoryPath + "/.build/\(configuration)/golemproxy"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return "golemproxy-not-built"
}

/// A proxy (golemproxy or Debian's nutcracker) started on one pool over `backends`,
/// with the YAML the test asks for; stopped by pid when released.
final class ProxyUnderTest {
    enum Kind { case golem, nutcracker }
    let process: ServerProcess
    let configPath: String
    /// The stats listener's port (127.0.0.1).
    let statsPort: Int
    var port: Int { process.port }

    /// Starts `kind` with a pool `extra` (YAML lines, two-space indented) over `servers`
    /// (`servers:` lines such as `127.0.0.1:1234:1`); `statsInterval` is `-i` in ms.
    init(_ kind: Kind, servers: [String], extra: [String] = [], threads: Int = 2, statsInterval: Int? = nil) throws {
        configPath = NSTemporaryDirectory() + "golem-proxy-\(UUID().uuidString).yml"
        let path = configPath
        let interval = statsInterval.map { ["-i", "\($0)"] } ?? []
        // A new stats port with every start attempt, like the listen port: a port the
        // OS called free can be taken before the proxy binds it.
        var statsPort = 0
        process = try ServerProcess(kind == .golem ? golemproxyPath : "/usr/sbin/nutcracker") { port in
            statsPort = (try? freePort()) ?? 0
            var yaml = "pool:\n  listen: 127.0.0.1:\(port)\n"
            for line in extra { yaml += "  \(line)\n" }
            yaml += "  servers:\n"
            for server in servers { yaml += "   - \(server)\n" }
            try? yaml.write(toFile: path, atomically: true, encoding: .utf8)
            switch kind {
            case .golem:
                return ["-c", path, "--threads", "\(threads)", "-s", "\(statsPort)", "-a", "127.0.0.1"] + interval
            case .nutcracker:
                return ["-c", path, "-s", "\(statsPort)", "-a", "127.0.0.1", "-o", "/dev/null"] + interval
            }
        }
        self.statsPort = statsPort
    }

    deinit {
        process.stop()
        try? FileManager.default.removeItem(atPath: configPath)
    }

    func connect(timeout: Double = 5) throws -> TestSocket { try TestSocket(port: port, timeout: timeout) }
}

extension TestSocket {
    /// Sends `request` and reads replies until `lines` lines have arrived; returns them
    /// joined with `\r\n` (value payloads are lines too).
    func exchange(_ request: String, lines: Int) throws -> String {
        try send(request)
        return try (0..<lines).map { _ in try readLineString() }.joined(separator: "\r\n")
    }

    /// Everything that arrives until the peer closes or stays quiet for the socket's
    /// timeout.
    func readUntilIdle() -> [UInt8] {
        var all: [UInt8] = []
        while let bytes = try? readSome() { all += bytes }
        return all
    }

    /// Reads until the peer closes; returns what came (used where a close is expected).
    func readToClose() throws -> [UInt8] {
        var all: [UInt8] = []
        while true {
            do {
                all += try readSome()
            } catch let error as HarnessError where error.description == "connection closed by peer" {
                return all
            }
        }
    }
}

/// The router golemproxy builds for a pool with `hash` over `servers` (`servers:`
/// lines), to pick keys that live on a given server.
func router(hash: String, servers: [String]) throws -> KeyRouter {
    let yaml = "p:\n  listen: 127.0.0.1:1\n  hash: \(hash)\n  servers:\n" + servers.map { "   - \($0)\n" }.joined()
    return KeyRouter(pool: try ConfigLoader.parse(Array(yaml.utf8), file: "router.yml")[0])
}

/// Reads the stats JSON on `port` until `condition` holds for the pool named `pool`
/// (bounded: 250 tries, 20 ms apart); returns whether it did.
func waitForStats(port: Int, pool: String = "pool", until condition: ([String: Any]) -> Bool) -> Bool {
    for _ in 0..<250 {
        if let socket = try? TestSocket(port: port, timeout: 2), let bytes = try? socket.readToClose(),
            let json = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let stats = json[pool] as? [String: Any], condition(stats)
        {
            return true
        }
        usleep(20_000)
    }
    return false
}
