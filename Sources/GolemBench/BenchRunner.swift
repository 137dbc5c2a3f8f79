import Golem

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a benchmark: spreads the connections over the threads, starts them, prints the
/// progress line once a second while they run, and merges what they measured.
public enum BenchRunner {
    /// Why a run could not take place (the server could not be resolved or reached, or
    /// the prefill failed).
    public struct Failure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Runs `options` to the end. With `progress`, a line on stderr once a second.
    public static func run(_ options: BenchOptions, progress: Bool = false) throws(Failure) -> BenchResult {
        let address: Socket.Address
        switch Socket.resolve(host: options.host, port: options.port) {
        case .success(let resolved): address = resolved
        case .failure(let failure): throw Failure(message: failure.description)
        }
        // Why: a server that closes while requests are being written would otherwise
        // kill the whole process with SIGPIPE instead of failing one connection.
        signal(SIGPIPE, SIG_IGN)
        let cpuBefore = BenchClock.processCPU()
        let shared = BenchShared(threadCount: options.threads)
        let threads = makeThreads(options, address: address, shared: shared)
        let launched = BenchClock.now()
        threads.forEach { $0.start() }

        let reporter = progress ? ProgressLine(options: options, launched: launched) : nil
        var nextReport = launched + 1_000_000_000
        while !threads.allSatisfy({ $0.done.load(ordering: .acquiring) }) {
            BenchClock.sleep(nanoseconds: 20_000_000)
            let now = BenchClock.now()
            if now >= nextReport {
                reporter?.report(threads: threads, shared: shared, now: now)
                nextReport += 1_000_000_000
            }
        }
        threads.forEach { $0.join() }
        reporter?.finish()
        let cpuAfter = BenchClock.processCPU()

        if let failure = threads.lazy.compactMap(\.failure).first { throw Failure(message: failure) }
        var result = BenchResult(options: options)
        var lastCompletion = 0
        var finishedAt = 0
        for thread in threads {
            result.tally.merge(thread.tally)
            result.prefill.merge(thread.prefillTally)
            result.histogram.merge(thread.histogram)
            result.connectionFailures += thread.connectionFailures
            if result.firstConnectionFailure == nil { result.firstConnectionFailure = thread.firstConnectionFailure }
            result.measuredCPUSeconds += Double(thread.measuredCPU) / 1e9
            lastCompletion = max(lastCompletion, thread.lastCompletion)
            finishedAt = max(finishedAt, thread.finishedAt)
        }
        let measureStart = threads[0].measureStart
        var end = lastCompletion
        if case .duration(let seconds) = options.stop {
            // The whole duration, even if the last reply came early (a slow open loop);
            // less if every connection was lost before its end.
            end = max(end, min(measureStart + Int(seconds * 1e9), finishedAt))
        }
        result.elapsedSeconds = Double(max(0, end - measureStart)) / 1e9
        result.cpuUserSeconds = cpuAfter.user - cpuBefore.user
        result.cpuSystemSeconds = cpuAfter.system - cpuBefore.system
        return result
    }

    /// The threads, each with its share of the connections (`deal`).
    static func makeThreads(_ options: BenchOptions, address: Socket.Address, shared: BenchShared) -> [BenchThread] {
        deal(options).enumerated().map { index, slots in
            BenchThread(index: index, options: options, address: address, slots: slots, shared: shared)
        }
    }

    /// Deals the connections out: thread t gets C/T of them (+1 for the first C mod T
    /// threads). Connection g (counted over all threads) gets N/C of `--requests N` (+1
    /// for the first N mod C) and, with `--prefill`, the keys g×K/C ..< (g+1)×K/C.
    static func deal(_ options: BenchOptions) -> [[BenchThread.Slot]] {
        let total = options.connections
        var requests: Int? = nil
        if case .requests(let count) = options.stop { requests = count }
        var global = 0
        return (0..<options.threads).map { index in
            let count = total / options.threads + (index < total % options.threads ? 1 : 0)
            return (0..<count).map { _ -> BenchThread.Slot in
                defer { global += 1 }
                let quota = requests.map { $0 / total + (global < $0 % total ? 1 : 0) } ?? Int.max
                let keys =
                    options.prefill ? (global * options.keys / total)..<((global + 1) * options.keys / total) : 0..<0
                return BenchThread.Slot(globalIndex: global, quota: quota, prefillKeys: keys)
            }
        }
    }
}

/// The progress line: once a second on stderr, rewritten in place on a terminal.
final class ProgressLine {
    private let options: BenchOptions
    private let launched: Int
    private let terminal = isatty(2) != 0
    private var lastAnswered = 0
    private var lastTime: Int
    private var printed = false

    init(options: BenchOptions, launched: Int) {
        self.options = options
        self.launched = launched
        lastTime = launched
    }

    func report(threads: [BenchThread], shared: BenchShared, now: Int) {
        var answered = 0
        var requests = 0
        var errors = 0
        for thread in threads {
            answered += thread.answered.load(ordering: .relaxed)
            requests += thread.countedRequests.load(ordering: .relaxed)
            errors += thread.countedErrors.load(ordering: .relaxed)
        }
        let start = shared.startTime.load(ordering: .acquiring)
        let phase: String
        if start == 0 {
            phase = options.prefill ? "prefill" : "connect"
        } else if now < start + Int(options.warmup * 1e9) {
            phase = "warm-up"
        } else {
            phase = "run"
        }
        let rate = Double(answered - lastAnswered) * 1e9 / Double(max(1, now - lastTime))
        lastAnswered = answered
        lastTime = now
        let seconds = (now - launched + 500_000_000) / 1_000_000_000
        let line = "[\(seconds)s] \(phase): \(Int(rate.rounded())) req/s, \(requests) requests, \(errors) errors"
        write(terminal ? "\r\u{1B}[K" + line : line + "\n")
        printed = true
    }

    /// Ends the line on a terminal.
    func finish() {
        if terminal && printed { write("\n") }
    }

    private func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = Glibc.write(2, bytes.baseAddress, bytes.count) }
    }
}
