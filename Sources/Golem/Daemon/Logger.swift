#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's log: nutcracker's levels (0-11, default 5 = notice) and line format,
/// `[YYYY-MM-DD HH:MM:SS.mmm] message`, to standard error or to the `-o` file
/// (appended; reopened on SIGHUP for logrotate).
///
/// Worker threads must never wait on a slow disk: `write` only formats the line and
/// queues it under a short lock; a logging thread does the writing. When more than
/// `maxQueued` lines wait, further lines are dropped and counted, and the count is
/// logged once the queue drains.
public final class Logger: @unchecked Sendable {
    // Why @unchecked: every mutable field is guarded by `lock`.
    private var fd: Int32 = 2
    private let path: String?
    private var lock = pthread_mutex_t()
    private var ready = pthread_cond_t()
    /// Set while the logging thread writes lines it took from the queue (to `fd` as it
    /// was then); `reopen` waits on `written` for it, so it never closes the file
    /// under a write and no line is lost.
    private var writing = false
    private var written = pthread_cond_t()
    private var queued: [String] = []
    private var dropped = 0
    private var writerStarted = false
    private var _level: Int
    static let maxQueued = 10_000

    /// Lines above this level are not logged.
    public var level: Int {
        get {
            pthread_mutex_lock(&lock)
            defer { pthread_mutex_unlock(&lock) }
            return _level
        }
        set {
            pthread_mutex_lock(&lock)
            _level = max(0, min(11, newValue))
            pthread_mutex_unlock(&lock)
        }
    }

    public init(path: String?, level: Int) {
        self.path = path
        self._level = level
        pthread_mutex_init(&lock, nil)
        pthread_cond_init(&ready, nil)
        pthread_cond_init(&written, nil)
        reopen()
    }

    /// Opens (again) the log file; standard error when there is none or it cannot be
    /// opened. Returns false when the file could not be opened.
    @discardableResult
    public func reopen() -> Bool {
        guard let path else { return true }
        let opened = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        pthread_mutex_lock(&lock)
        while writing { pthread_cond_wait(&written, &lock) }
        // Lines logged before the reopen belong in the old file (logrotate's view).
        for line in queued { _ = line.withCString { Glibc.write(fd, $0, strlen($0)) } }
        queued.removeAll(keepingCapacity: true)
        if fd > 2 { close(fd) }
        fd = opened >= 0 ? opened : 2
        pthread_mutex_unlock(&lock)
        if opened < 0 { write("opening log file '\(path)' failed: \(Socket.describe(errno))", level: 1) }
        return opened >= 0
    }

    /// Logs `message` at `level` (default: notice).
    /// The message is built only when the level is enabled: the data path logs info
    /// lines (server connects) that are off by default.
    public func write(_ message: @autoclosure () -> String, level: Int = 5) {
        guard level <= self.level else { return }
        let line = Logger.timestamp() + message() + "\n"
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        if !writerStarted {
            // Before the logging thread runs (start-up, -t), write directly.
            _ = line.withCString { Glibc.write(fd, $0, strlen($0)) }
            return
        }
        if queued.count >= Logger.maxQueued {
            dropped += 1
            return
        }
        queued.append(line)
        pthread_cond_signal(&ready)
    }

    /// Starts the logging thread; from then on `write` never touches the file.
    public func startWriter() {
        pthread_mutex_lock(&lock)
        guard !writerStarted else {
            pthread_mutex_unlock(&lock)
            return
        }
        writerStarted = true
        pthread_mutex_unlock(&lock)
        var thread = pthread_t()
        // Why passRetained: the thread keeps the logger alive for as long as it runs.
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { context in
            Unmanaged<Logger>.fromOpaque(context!).takeRetainedValue().drainForever()
            return nil
        }, context)
        pthread_detach(thread)
    }

    /// Writes what is queued now (at shutdown, from the main thread).
    public func flush() {
        pthread_mutex_lock(&lock)
        let lines = queued
        queued.removeAll()
        let target = fd
        pthread_mutex_unlock(&lock)
        for line in lines { _ = line.withCString { Glibc.write(target, $0, strlen($0)) } }
    }

    private func drainForever() {
        while true {
            pthread_mutex_lock(&lock)
            while queued.isEmpty { pthread_cond_wait(&ready, &lock) }
            var lines = queued
            queued.removeAll(keepingCapacity: true)
            if dropped > 0 {
                lines.append(Logger.timestamp() + "\(dropped) log lines dropped (logging fell behind)\n")
                dropped = 0
            }
            let target = fd
            writing = true
            pthread_mutex_unlock(&lock)
            for line in lines { _ = line.withCString { Glibc.write(target, $0, strlen($0)) } }
            pthread_mutex_lock(&lock)
            writing = false
            pthread_cond_broadcast(&written)
            pthread_mutex_unlock(&lock)
        }
    }

    /// `[YYYY-MM-DD HH:MM:SS.mmm] ` in local time, as nutcracker stamps its lines.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        localtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "[\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2)) "
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + "\(pad(Int32(now.tv_nsec / 1_000_000), 3))] "
    }
}
