import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real server process (memcached, nutcracker, redis-server) started by a test on
/// loopback and stopped by pid when the test lets go of it.
final class ServerProcess {
    let process: Process
    let port: Int
    let name: String
    let logPath: String

    /// Starts `executable` with `arguments(port)` on a free port (or on `fixedPort`, to
    /// restart a server where it was), and waits (bounded) until it accepts
    /// connections. A missing binary is an error, never a skip: `.ci/run` installs
    /// every server the tests need.
    init(_ executable: String, logPath: String? = nil, fixedPort: Int? = nil, arguments: (Int) -> [String]) throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw HarnessError("\(executable) is not installed (.ci/run installs it with apt)")
        }
        name = (executable as NSString).lastPathComponent
        self.logPath = logPath ?? NSTemporaryDirectory() + "golem-\(name)-\(UUID().uuidString).log"
        var lastError = HarnessError("\(executable) never started")
        for _ in 0..<5 {
            let port = try fixedPort ?? freePort()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments(port)
            _ = FileManager.default.createFile(atPath: self.logPath, contents: nil)
            let log = FileHandle(forWritingAtPath: self.logPath)
            process.standardOutput = log
            process.standardError = log
            process.standardInput = FileHandle.nullDevice
            try process.run()
            // Bounded wait: 200 × 10 ms.
            for _ in 0..<200 {
                if !process.isRunning { break }
                if isListening(port: port) {
                    // Something listens on the port; make sure it is this process and not
                    // another test's server that took the port first (this one would then
                    // have exited on its failed bind).
                    usleep(30_000)
                    guard process.isRunning else { break }
                    self.process = process
                    self.port = port
                    return
                }
                usleep(10_000)
            }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
            let output = (try? String(contentsOfFile: self.logPath, encoding: .utf8)) ?? ""
            lastError = HarnessError("\(executable) \(arguments(port).joined(separator: " ")) did not listen: \(output)")
        }
        throw lastError
    }

    /// Stops the process (SIGKILL, by pid) and reaps it.
    private var stoppedRunning = false

    func stop() {
        if process.isRunning {
            stoppedRunning = true
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }

    deinit {
        stop()
        // A process that was still running when stopped had nothing to report; a log
        // of one that died by itself is kept for the post-mortem.
        if stoppedRunning { try? FileManager.default.removeItem(atPath: logPath) }
    }

    /// A memcached on 127.0.0.1 with a little memory (on `port`, or a free one).
    static func memcached(port: Int? = nil) throws -> ServerProcess {
        try ServerProcess("/usr/bin/memcached", fixedPort: port) { port in
            // memcached refuses to run as root unless told which user to become.
            (getuid() == 0 ? ["-u", "nobody"] : []) + ["-l", "127.0.0.1", "-p", "\(port)", "-U", "0", "-m", "16", "-t", "1"]
        }
    }
}

/// Runs `executable` with `arguments` to the end; returns its exit status and its
/// stdout and stderr together.
func runTool(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    guard FileManager.default.isExecutableFile(atPath: executable) else {
        throw HarnessError("\(executable) is not installed (.ci/run installs it with apt)")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output)
}
