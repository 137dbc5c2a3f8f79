#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's log: nutcracker's line format, `[YYYY-MM-DD HH:MM:SS.mmm] message`, to
/// standard error or to the `-o` file (appended, reopened on SIGHUP).
public final class Logger: @unchecked Sendable {
    // Why @unchecked: the file descriptor is only replaced under `lock`.
    private var fd: Int32 = 2
    private let path: String?
    private var lock = pthread_mutex_t()
    /// Lines above this level (0-11, nutcracker's scale; 5 = notice) are dropped.
    public var level: Int

    public init(path: String?, level: Int) {
        self.path = path
        self.level = level
        pthread_mutex_init(&lock, nil)
        reopen()
    }

    /// Opens (again) the log file; standard error when there is none or it cannot be opened.
    public func reopen() {
        guard let path else { return }
        let opened = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        pthread_mutex_lock(&lock)
        if fd > 2 { close(fd) }
        fd = opened >= 0 ? opened : 2
        pthread_mutex_unlock(&lock)
        if opened < 0 { write("opening log file '\(path)' failed: \(Socket.describe(errno))") }
    }

    /// Writes one line at `level` (default: notice).
    public func write(_ message: String, level: Int = 5) {
        guard level <= self.level else { return }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        localtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let stamp =
            "[\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2)) "
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(now.tv_nsec / 1_000_000), 3))] "
        let line = stamp + message + "\n"
        pthread_mutex_lock(&lock)
        _ = line.withCString { Glibc.write(fd, $0, strlen($0)) }
        pthread_mutex_unlock(&lock)
    }
}
