/// A reference model of request framing: splits a client's byte stream into requests
/// and locally answered errors, fed in chunks of any size, the way the proxy core must.
///
/// It is not on the hot path (it copies bytes into arrays); it exists to pin down the
/// rules the core implements over evbuffers, and to test that framing does not depend
/// on where the stream is split. The rules, all memcached 1.6.18's:
/// - a line ends at LF; one CR before the LF is not part of the line;
/// - a line longer than `MemcacheRequestParser.lineLengthLimit(startingWith:)` (or that
///   many bytes plus a CR buffered with no LF yet) closes the connection silently;
/// - a storage request's data block is `valueLength + 2` bytes, whatever they hold; if
///   its last two are not `\r\n`, the request is answered `CLIENT_ERROR bad data chunk`
///   (nothing with `noreply`) and framing resumes right after those bytes;
/// - a parse error is answered with its reply; `swallow` more bytes are dropped; and
///   on `closeConnection`, or after `quit`, nothing more is read.
public struct MemcacheFramer: Sendable {
    /// One framed unit of the stream.
    public enum Framed: Equatable, Sendable {
        /// A valid request: its command, its keys (copied), whether it asked for
        /// `noreply`, and for storage commands the data block without its `\r\n`.
        case request(command: MemcacheCommand, keys: [[UInt8]], noreply: Bool, data: [UInt8]?)
        /// A request memcached answers without running it, with these bytes (empty when
        /// `noreply` silenced the error).
        case answered([UInt8])
        /// The connection closes after these bytes (the last unit of a stream).
        case closed([UInt8])
    }

    /// Bytes received and not framed yet.
    private var pending: [UInt8] = []
    /// The storage request whose data block is awaited, with its byte count (data and
    /// `\r\n`).
    private var awaiting: (command: MemcacheCommand, keys: [[UInt8]], noreply: Bool, total: Int)?
    /// Bytes still to drop after an error.
    private var swallowing = 0
    /// Whether the stream has ended (error close or `quit`); later bytes are ignored.
    private var finished = false
    /// Reused by every line.
    private var request = MemcacheRequest()

    /// An empty framer at the start of a stream.
    public init() {}

    /// Frames a whole stream at once.
    public static func frameRequests(_ bytes: [UInt8]) -> [Framed] {
        var framer = MemcacheFramer()
        return framer.feed(bytes)
    }

    /// Adds `bytes` to the stream and returns every unit they complete.
    public mutating func feed(_ bytes: [UInt8]) -> [Framed] {
        guard !finished else { return [] }
        pending += bytes
        var framed: [Framed] = []
        var start = 0
        defer { pending.removeFirst(min(start, pending.count)) }
        while !finished {
            if swallowing > 0 {
                let dropped = min(swallowing, pending.count - start)
                start += dropped
                swallowing -= dropped
                if swallowing > 0 { return framed }
            }
            if let block = awaiting {
                guard pending.count - start >= block.total else { return framed }
                let data = Array(pending[start..<(start + block.total - 2)])
                let error = MemcacheRequestParser.dataBlockError(
                    last: pending[start + block.total - 1], beforeLast: pending[start + block.total - 2],
                    noreply: block.noreply)
                start += block.total
                awaiting = nil
                if let error {
                    framed.append(.answered(Array(error.reply.utf8)))
                } else {
                    framed.append(.request(command: block.command, keys: block.keys, noreply: block.noreply, data: data))
                }
                continue
            }
            let limit = pending[start...].withUnsafeBytes { MemcacheRequestParser.lineLengthLimit(startingWith: $0) }
            guard let lf = pending[start...].firstIndex(of: 10) else {
                if pending.count - start > limit + 1 { close(&framed, .lineTooLong) }
                return framed
            }
            var lineEnd = lf
            if lineEnd > start && pending[lineEnd - 1] == 13 { lineEnd -= 1 }
            if lineEnd - start > limit {
                close(&framed, .lineTooLong)
                return framed
            }
            let result = pending[start..<lineEnd].withUnsafeBytes { line in
                MemcacheRequestParser.parse(line: line, into: &request)
            }
            let keys = request.keys.map { Array(pending[(start + $0.lowerBound)..<(start + $0.upperBound)]) }
            start = lf + 1
            switch result {
            case .error(let error):
                if error.closeConnection {
                    close(&framed, error)
                } else {
                    framed.append(.answered(Array(error.reply.utf8)))
                    swallowing = error.swallow
                }
            case .request where request.command.hasValue:
                awaiting = (request.command, keys, request.noreply, request.valueLength + 2)
            case .request:
                framed.append(.request(command: request.command, keys: keys, noreply: request.noreply, data: nil))
                if request.command == .quit { finished = true }
            }
        }
        return framed
    }

    /// Ends the stream with `error`'s reply.
    private mutating func close(_ framed: inout [Framed], _ error: MemcacheParseError) {
        framed.append(.closed(Array(error.reply.utf8)))
        finished = true
    }
}
