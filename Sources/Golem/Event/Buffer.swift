internal import CLibevent

#if canImport(Glibc)
    import Glibc
#endif

/// Owns one libevent `evbuffer`: a chain of byte chunks that bytes can be moved between
/// without copying. Every request and reply byte the proxy forwards lives in one.
///
/// Raw bytes are reachable only inside `withContiguousBytes`; a pointer from there
/// must not escape, since the next change to the buffer may move its chunks.
public final class Buffer {
    let raw: OpaquePointer

    /// A new, empty buffer (`evbuffer_new`).
    public init() {
        guard let raw = evbuffer_new() else { fatalError("evbuffer_new failed") }
        self.raw = raw
    }

    deinit { evbuffer_free(raw) }

    /// Bytes held (`evbuffer_get_length`).
    @inline(__always)
    public var count: Int { evbuffer_get_length(raw) }

    @inline(__always)
    public var isEmpty: Bool { count == 0 }

    /// The offset of the first `\r\n` at or after `from`, or nil (`evbuffer_search_eol`
    /// with `EVBUFFER_EOL_CRLF_STRICT`).
    public func firstCRLF(from offset: Int = 0) -> Int? {
        var start = evbuffer_ptr()
        if offset > 0 {
            guard evbuffer_ptr_set(raw, &start, offset, EVBUFFER_PTR_SET) == 0 else { return nil }
        }
        var eolLength = 0
        let found = withUnsafeMutablePointer(to: &start) { startPointer in
            evbuffer_search_eol(raw, offset > 0 ? startPointer : nil, &eolLength, EVBUFFER_EOL_CRLF_STRICT)
        }
        return found.pos < 0 ? nil : found.pos
    }

    /// The first line end at or after the start: its offset and length, 2 for `\r\n`
    /// and 1 for a bare `\n` (`evbuffer_search_eol` with `EVBUFFER_EOL_CRLF`), or nil.
    /// memcached ends request lines this way.
    public func firstLineEnd() -> (offset: Int, length: Int)? {
        var eolLength = 0
        let found = evbuffer_search_eol(raw, nil, &eolLength, EVBUFFER_EOL_CRLF)
        return found.pos < 0 ? nil : (found.pos, eolLength)
    }

    /// Calls `body` with the first `length` bytes made contiguous (`evbuffer_pullup`).
    @inline(__always)
    public func withContiguousBytes<T>(_ length: Int, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        precondition(length <= count)
        if length == 0 { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        let pointer = evbuffer_pullup(raw, length)!
        return try body(UnsafeRawBufferPointer(start: pointer, count: length))
    }

    /// Calls `body` with the `length` bytes at `offset` made contiguous without
    /// rearranging the buffer: a pointer into the chunk that holds them when they lie in
    /// one chunk (the usual case), otherwise a temporary copy. For framing headers and
    /// reading keys that sit after other requests' data.
    @inline(__always)
    public func withBytes<T>(at offset: Int, length: Int, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        precondition(offset >= 0 && length >= 0 && offset + length <= count)
        if length == 0 { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        if offset == 0 {
            return try withContiguousBytes(length, body)
        }
        var position = evbuffer_ptr()
        guard evbuffer_ptr_set(raw, &position, offset, EVBUFFER_PTR_SET) == 0 else { fatalError("offset checked above") }
        var extent = iovec()
        let needed = evbuffer_peek(raw, length, &position, &extent, 1)
        if needed >= 1, extent.iov_len >= length, let base = extent.iov_base {
            return try body(UnsafeRawBufferPointer(start: base, count: length))
        }
        return try withUnsafeTemporaryAllocation(byteCount: length, alignment: 1) { storage in
            _ = evbuffer_copyout_from(raw, &position, storage.baseAddress, length)
            return try body(UnsafeRawBufferPointer(storage))
        }
    }

    /// Whether the two bytes at `offset` are `\r\n` (one chunk lookup, no copy when they
    /// lie in one chunk).
    @inline(__always)
    public func hasCRLF(at offset: Int) -> Bool {
        guard offset >= 0 && offset + 2 <= count else { return false }
        return withBytes(at: offset, length: 2) { $0[0] == 13 && $0[1] == 10 }
    }

    /// Puts a copy of `bytes` in front of what the buffer holds (`evbuffer_prepend`).
    public func prepend(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { _ = evbuffer_prepend(raw, $0.baseAddress, $0.count) }
    }

    /// Appends `prefix` and the decimal digits of `value`, then `\r\n`: a RESP header
    /// such as `*3\r\n` or `$5\r\n`, without building a string.
    public func appendHeader(_ prefix: UInt8, _ value: Int) {
        withUnsafeTemporaryAllocation(byteCount: 24, alignment: 1) { storage in
            var end = 24
            storage[end - 1] = 10
            storage[end - 2] = 13
            end -= 2
            var magnitude = value.magnitude
            repeat {
                end -= 1
                storage[end] = UInt8(truncatingIfNeeded: 48 + magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                end -= 1
                storage[end] = UInt8(ascii: "-")
            }
            end -= 1
            storage[end] = prefix
            append(UnsafeRawBufferPointer(rebasing: storage[end..<24]))
        }
    }

    /// The byte at `offset` (copied out, no pull-up).
    public func byte(at offset: Int) -> UInt8? {
        guard offset < count else { return nil }
        var position = evbuffer_ptr()
        guard evbuffer_ptr_set(raw, &position, offset, EVBUFFER_PTR_SET) == 0 else { return nil }
        var value: UInt8 = 0
        return evbuffer_copyout_from(raw, &position, &value, 1) == 1 ? value : nil
    }

    /// Copies the first `length` bytes out (for tests and small control replies).
    public func copyBytes(_ length: Int? = nil) -> [UInt8] {
        let length = min(length ?? count, count)
        return [UInt8](unsafeUninitializedCapacity: length) { storage, initialized in
            initialized = length == 0 ? 0 : Int(evbuffer_copyout(raw, storage.baseAddress, length))
        }
    }

    /// Discards the first `length` bytes (`evbuffer_drain`).
    @inline(__always)
    public func drain(_ length: Int) {
        evbuffer_drain(raw, length)
    }

    /// Moves the first `length` bytes to the end of `other`, re-linking chunks rather
    /// than copying where it can (`evbuffer_remove_buffer`).
    @inline(__always)
    public func move(_ length: Int, to other: Buffer) {
        var remaining = length
        while remaining > 0 {
            let moved = Int(evbuffer_remove_buffer(raw, other.raw, remaining))
            guard moved > 0 else { break }
            remaining -= moved
        }
    }

    /// Moves everything to the end of `other` (`evbuffer_add_buffer`).
    @inline(__always)
    public func moveAll(to other: Buffer) {
        evbuffer_add_buffer(other.raw, raw)
    }

    /// Appends a copy of `bytes` (`evbuffer_add`).
    @inline(__always)
    public func append(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count > 0 { evbuffer_add(raw, bytes.baseAddress, bytes.count) }
    }

    public func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    public func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Disfavoured, so that a string literal appends as a `StaticString` (no String
    /// is made).
    @_disfavoredOverload
    public func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Reads what `fd` has, at most `limit` bytes, straight into the buffer's free space.
    /// Returns the byte count, 0 at end of stream, or -errno (`-EAGAIN` when nothing is
    /// ready).
    ///
    /// Why not `evbuffer_read`: libevent 2.1 calls `ioctl(FIONREAD)` before every read
    /// and reads at most 4096 bytes; reserving space and calling `recv` once saves a
    /// syscall per read. 16 KiB per reservation avoids 128 KiB chunk allocations.
    public func read(from fd: Int32, limit: Int = 16384) -> Int {
        var vectors = (iovec(), iovec())
        return withUnsafeMutablePointer(to: &vectors) { pair in
            pair.withMemoryRebound(to: iovec.self, capacity: 2) { vector in
                // A socket buffer may be frozen at its end by libevent; we own ours.
                let extents = evbuffer_reserve_space(raw, limit, vector, 1)
                guard extents >= 1 else { return -Int(ENOMEM) }
                let capacity = min(vector[0].iov_len, limit)
                var received: Int
                repeat {
                    received = recv(fd, vector[0].iov_base, capacity, 0)
                } while received < 0 && errno == EINTR
                if received <= 0 {
                    let code = errno
                    vector[0].iov_len = 0
                    evbuffer_commit_space(raw, vector, 0)
                    return received == 0 ? 0 : -Int(code)
                }
                vector[0].iov_len = received
                evbuffer_commit_space(raw, vector, 1)
                return received
            }
        }
    }

    /// What `writeAll` achieved.
    public enum WriteOutcome: Equatable {
        /// Everything was written.
        case done
        /// The socket is full (`EAGAIN`); the rest waits for writability.
        case blocked
        /// The write failed with this errno (0: the peer is gone without one).
        case failed(Int32)
    }

    /// Writes until the buffer is empty or the socket is full: one `writev` per pass.
    public func writeAll(to fd: Int32) -> WriteOutcome {
        while !isEmpty {
            let written = write(to: fd)
            if written > 0 { continue }
            if written == -Int(EAGAIN) { return .blocked }
            return .failed(written == 0 ? 0 : Int32(-written))
        }
        return .done
    }

    /// Writes as much as `fd` takes now (`evbuffer_write`, one `writev`), removing what
    /// was written. Returns the byte count or -errno (`-EAGAIN` when the socket is full).
    public func write(to fd: Int32) -> Int {
        var written: Int32
        repeat {
            written = evbuffer_write(raw, fd)
        } while written < 0 && errno == EINTR
        return written < 0 ? -Int(errno) : Int(written)
    }
}
