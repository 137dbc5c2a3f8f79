import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The golemproxy binary as ops run it: flags, -t, -d with a pid file, signals.
@Suite("Daemon", .serialized)
struct DaemonTests {
    /// Runs golemproxy with `arguments` to completion; returns exit status and stderr.
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try runTool(golemproxyPath, arguments)
    }

    /// Runs golemproxy to completion with its output discarded; returns the exit status.
    static func launch(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: golemproxyPath)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    static func writeConfig(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "golem-daemon-\(UUID().uuidString).yml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("-V, -h and -D print and exit 0; bad options print nutcracker's message, usage, and exit 1")
    func informationalFlags() throws {
        let version = try Self.run(["-V"])
        #expect(version.status == 0 && version.output.hasPrefix("This is golemproxy-"))
        let help = try Self.run(["--help"])
        #expect(help.status == 0 && help.output.contains("-c, --conf-file=S") && help.output.contains("--threads"))
        let describe = try Self.run(["-D"])
        #expect(describe.status == 0 && describe.output.contains("server_ejected_at   \"timestamp when server was ejected"))
        for (arguments, message) in [
            (["-s", "x"], "golemproxy: option -s requires a number"),
            (["-s", "99999"], "golemproxy: option -s value 99999 is not a valid port"),
            (["-m", "1"], "golemproxy: mbuf chunk size must be between 512 and 16777216 bytes"),
            (["-q"], "golemproxy: invalid option -- 'q'"),
            (["-c"], "golemproxy: option -c requires a file name"),
        ] {
            let result = try Self.run(arguments)
            #expect(result.status == 1, "\(arguments)")
            #expect(result.output.hasPrefix(message + "\nUsage: golemproxy"), "\(arguments): \(result.output)")
        }
    }

    @Test("-t reports ok, or the reason with file:line:column, with nutcracker's exit codes")
    func testConfig() throws {
        let good = try Self.writeConfig("p:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:11211:1\n")
        let ok = try Self.run(["-t", "-c", good])
        #expect(ok.status == 0 && ok.output == "golemproxy: configuration file '\(good)' syntax is ok\n")
        let bad = try Self.writeConfig("p:\n  listen: 127.0.0.1:22121\n  hash: fnv1a_65\n  servers:\n   - 127.0.0.1:11211:1\n")
        let invalid = try Self.run(["--test-conf", "--conf-file=\(bad)"])
        #expect(invalid.status == 1)
        #expect(
            invalid.output
                == "golemproxy: \(bad):3:9: directive \"hash\" is not a valid hash (\"fnv1a_65\")\n"
                + "golemproxy: configuration file '\(bad)' syntax is invalid\n")
        let missing = try Self.run(["-t", "-c", "/nonexistent/golem.yml"])
        #expect(missing.status == 1 && missing.output.contains("No such file or directory"))
    }

    @Test("a listen address in use fails at start with exit 1 and a clear message")
    func bindFailure() throws {
        let silent = try SilentServer()
        let config = try Self.writeConfig("p:\n  listen: 127.0.0.1:\(silent.port)\n  servers:\n   - 127.0.0.1:11211:1\n")
        let result = try Self.run(["-c", config, "-s", "\(try freePort())", "-a", "127.0.0.1"])
        #expect(result.status == 1)
        #expect(result.output.contains("bind on p 'p' to addr '127.0.0.1:\(silent.port)' failed: Address already in use"))
    }

    /// Waits (bounded) for `path` to hold a pid; returns it.
    static func waitForPid(_ path: String) -> pid_t? {
        for _ in 0..<300 {
            if let text = try? String(contentsOfFile: path, encoding: .utf8),
                let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                return pid
            }
            usleep(10_000)
        }
        return nil
    }

    @Test("-d -p: daemonizes, writes the pid file; SIGTERM answers every request in flight, removes the pid file")
    func daemonizeAndGracefulStop() throws {
        let backend = try ServerProcess.memcached()
        let port = try freePort()
        let directory = NSTemporaryDirectory() + "golem-d-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try Self.writeConfig("p:\n  listen: 127.0.0.1:\(port)\n  servers:\n   - 127.0.0.1:\(backend.port):1\n")
        let pidFile = directory + "/golem.pid"
        let logFile = directory + "/golem.log"
        // The launcher's output is not captured: a pipe would be inherited by the daemon.
        let launched = try Self.launch([
            "-d", "-p", pidFile, "-o", logFile, "-c", config, "-s", "\(try freePort())", "-a", "127.0.0.1",
            "--threads", "2",
        ])
        #expect(launched == 0)  // the parent returns once the daemon is detached
        let pid = try #require(Self.waitForPid(pidFile))
        defer { kill(pid, SIGKILL) }
        #expect(kill(pid, 0) == 0)
        for _ in 0..<200 where !isListening(port: port) { usleep(10_000) }
        let client = try TestSocket(port: port, timeout: 10)
        let count = 3000
        var script = ""
        for i in 0..<count { script += "set g\(i) 0 0 4\r\nabcd\r\n" }
        try client.send(script)
        // Stop while most of those requests are still on their way.
        kill(pid, SIGTERM)
        var stored = 0
        while stored < count, let line = try? client.readLineString() {
            #expect(line == "STORED")
            stored += 1
        }
        #expect(stored == count, "every request read before the stop is answered")
        var gone = false
        for _ in 0..<500 where !gone {
            gone = kill(pid, 0) != 0
            if !gone { usleep(10_000) }
        }
        #expect(gone, "the daemon exits")
        #expect(!FileManager.default.fileExists(atPath: pidFile), "the pid file is removed")
        let log = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
        #expect(log.contains("(SIGTERM) received"), "\(log)")
    }

    @Test("SIGHUP reopens the log file; SIGTTIN and SIGTTOU move the log level")
    func logSignals() throws {
        let backend = try ServerProcess.memcached()
        let directory = NSTemporaryDirectory() + "golem-l-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logFile = directory + "/golem.log"
        let config = directory + "/golem.yml"
        let proxy = try ServerProcess(golemproxyPath) { port in
            try? "p:\n  listen: 127.0.0.1:\(port)\n  servers:\n   - 127.0.0.1:\(backend.port):1\n"
                .write(toFile: config, atomically: true, encoding: .utf8)
            return ["-c", config, "-o", logFile, "-s", "\((try? freePort()) ?? 0)", "-a", "127.0.0.1"]
        }
        let pid = proxy.process.processIdentifier
        // logrotate: move the file away, then HUP.
        try FileManager.default.moveItem(atPath: logFile, toPath: logFile + ".1")
        kill(pid, SIGHUP)
        kill(pid, SIGTTIN)
        kill(pid, SIGTTOU)
        var text = ""
        for _ in 0..<200 where !text.contains("down logging level to 5") {
            usleep(10_000)
            text = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
        }
        #expect(text.contains("up logging level to 6"), "\(text)")
        #expect(text.contains("down logging level to 5"), "\(text)")
        let old = (try? String(contentsOfFile: logFile + ".1", encoding: .utf8)) ?? ""
        #expect(old.contains("started on pid"))
        #expect(old.contains("(SIGHUP) received, reopening log file"))
        // Lines carry nutcracker's timestamp format.
        #expect(text.first == "[" && text.dropFirst(24).first == "]", "\(text)")
    }
}
