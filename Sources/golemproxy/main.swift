import Golem

#if canImport(Glibc)
    import Glibc
#endif

/// Writes text to standard error (fd 2) as is.
func writeError(_ text: String) {
    _ = text.withCString { write(2, $0, strlen($0)) }
}

/// Writes one line to standard error, where nutcracker prints everything before its
/// logger is set up.
func printError(_ line: String) {
    writeError(line + "\n")
}

// Before anything touches libevent: freed buffer chains are kept per thread.
EventSystem.installBlockCache()

let options: Options
do {
    options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    printError(error.message)
    writeError(Options.usage)
    exit(1)
}

if options.showVersion {
    writeError(Options.banner + "\n")
    if options.showHelp { writeError(Options.usage) }
    if options.describeStats { writeError(StatsCatalog.describeText) }
    exit(0)
}

if options.testConfig {
    let report = ConfigCheck.run(path: options.configFile)
    report.lines.forEach(printError)
    exit(report.exitStatus)
}

let pools: [PoolConfig]
do {
    pools = try ConfigLoader.load(path: options.configFile)
} catch {
    printError("golemproxy: \(error)")
    printError("golemproxy: configuration file '\(options.configFile)' syntax is invalid")
    if options.logFile != nil {
        let log = Logger(path: options.logFile, level: options.verbosity)
        log.write("\(error)", level: 0)
        log.write("configuration file '\(options.configFile)' syntax is invalid", level: 0)
    }
    exit(1)
}

if options.daemonize, let failure = Daemon.daemonize() {
    printError("golemproxy: \(failure)")
    exit(1)
}

let log = Logger(path: options.logFile, level: options.verbosity)

// Signals are taken synchronously by the main thread (sigwait); every thread started
// from here on inherits this mask and never sees them.
var handled = sigset_t()
sigemptyset(&handled)
for signal in [SIGINT, SIGTERM, SIGHUP, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2] { sigaddset(&handled, signal) }
pthread_sigmask(SIG_BLOCK, &handled, nil)

let threads = options.threads ?? Proxy.onlineCPUs
let proxy = Proxy(pools: pools, threads: threads, log: log)
let stats = StatsServer(proxy: proxy, intervalMilliseconds: options.statsInterval)
do {
    try stats.listenJSON(address: options.statsAddress, port: options.statsPort)
    if let port = options.metricsPort { try stats.listenPrometheus(address: options.statsAddress, port: port) }
    try proxy.start()
} catch {
    log.write("golemproxy: \(error)", level: 0)
    if !options.daemonize { printError("golemproxy: \(error)") }
    exit(1)
}
if let pidFile = options.pidFile, let failure = Daemon.writePidFile(pidFile) {
    log.write(failure, level: 0)
    exit(1)
}
log.write(
    "golemproxy-\(Options.version) started on pid \(getpid()) with \(threads) worker threads, "
        + "stats on \(options.statsAddress):\(options.statsPort)")
log.startWriter()

while true {
    var received: Int32 = 0
    guard sigwait(&handled, &received) == 0 else { continue }
    switch received {
    case SIGHUP:
        log.write("signal \(received) (SIGHUP) received, reopening log file")
        log.reopen()
    case SIGTTIN:
        log.level += 1
        log.write("signal \(received) (SIGTTIN) received, up logging level to \(log.level)", level: 0)
    case SIGTTOU:
        log.level -= 1
        log.write("signal \(received) (SIGTTOU) received, down logging level to \(log.level)", level: 0)
    case SIGINT, SIGTERM:
        let name = received == SIGINT ? "SIGINT" : "SIGTERM"
        log.write("signal \(received) (\(name)) received, stopping: answering requests in flight")
        proxy.stop(graceMilliseconds: proxy.gracePeriodMilliseconds)
        if let pidFile = options.pidFile { unlink(pidFile) }
        log.write("golemproxy stopped")
        log.flush()
        exit(0)
    default:
        log.write("signal \(received) received")
    }
}
