#if canImport(Glibc)
    import Glibc
#endif

/// Process-level chores of the daemon: daemonizing and the pid file.
public enum Daemon {
    /// Detaches from the terminal as nutcracker's `-d` does: fork, setsid, fork again,
    /// standard input, output and error to /dev/null. The working directory is kept
    /// (relative paths given on the command line keep working). Call before any thread
    /// is started. Returns an error text on failure.
    public static func daemonize() -> String? {
        switch fork() {
        case -1: return "fork() failed: \(Socket.describe(errno))"
        case 0: break
        default: _exit(0)
        }
        guard setsid() >= 0 else { return "setsid() failed: \(Socket.describe(errno))" }
        // The session leader's exit must not hang up the grandchild.
        signal(SIGHUP, SIG_IGN)
        switch fork() {
        case -1: return "fork() failed: \(Socket.describe(errno))"
        case 0: break
        default: _exit(0)
        }
        signal(SIGHUP, SIG_DFL)
        umask(0o022)
        let null = open("/dev/null", O_RDWR)
        guard null >= 0 else { return "open(\"/dev/null\") failed: \(Socket.describe(errno))" }
        for fd: Int32 in [0, 1, 2] { dup2(null, fd) }
        if null > 2 { close(null) }
        closeInheritedDescriptors()
        return nil
    }

    /// Closes every descriptor above 2 that the daemon inherited (a pipe from whatever
    /// started it would otherwise stay open for the daemon's whole life, and its
    /// reader would never see end of file).
    static func closeInheritedDescriptors() {
        guard let directory = opendir("/proc/self/fd") else { return }
        var open: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let fd = Int32(name), fd > 2 { open.append(fd) }
        }
        let own = dirfd(directory)
        closedir(directory)
        for fd in open where fd != own { close(fd) }
    }

    /// Writes this process's pid to `path` (mode 0644). Returns an error text on failure.
    public static func writePidFile(_ path: String) -> String? {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return "opening pid file '\(path)' failed: \(Socket.describe(errno))" }
        defer { close(fd) }
        let text = "\(getpid())\n"
        let written = text.withCString { write(fd, $0, strlen($0)) }
        return written == text.utf8.count ? nil : "writing pid file '\(path)' failed: \(Socket.describe(errno))"
    }
}
