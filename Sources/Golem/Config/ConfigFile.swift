import Glibc

/// Reads a configuration file's bytes with plain POSIX calls (the library does not use
/// Foundation).
enum ConfigFile {
    /// The whole content of `path`. Errors are about the file as a whole (location 0:0):
    /// `cannot open: No such file or directory`, `cannot read: Is a directory`.
    /// The corresponding C functions are `open`, `read` and `close`.
    static func read(path: String) throws(ConfigIssue) -> [UInt8] {
        let fd = retryingInterrupts { open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else {
            throw ConfigIssue(.wholeFile, "cannot open: \(errorText(errno))")
        }
        defer { _ = close(fd) }
        var content: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                retryingInterrupts { Glibc.read(fd, buffer.baseAddress, buffer.count) }
            }
            if count < 0 {
                throw ConfigIssue(.wholeFile, "cannot read: \(errorText(errno))")
            }
            if count == 0 { return content }
            content += chunk[..<count]
        }
    }

    /// Calls `body` again while it fails with EINTR; errno is left as `body` set it.
    private static func retryingInterrupts<T: BinaryInteger>(_ body: () -> T) -> T {
        while true {
            let result = body()
            if result < 0 && errno == EINTR { continue }
            return result
        }
    }

    /// `strerror(code)`, e.g. "No such file or directory".
    private static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
