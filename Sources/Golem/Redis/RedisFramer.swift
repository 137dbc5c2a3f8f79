/// RESP framing, in place: requests and replies are found in a `Buffer` by offsets,
/// never copied out, so their bytes can be moved on to the other side as they are.
///
/// Small messages (the usual case) are framed from one contiguous view of the front
/// of the buffer; a message longer than that view is framed with offset reads into
/// the buffer's chunks, and the framer keeps its place between calls, so a large
/// message arriving in many reads is scanned once.
enum RESP {
    static let cr: UInt8 = 13
    static let lf: UInt8 = 10
    /// How much of the buffer's front the fast path looks at.
    static let window = 1024

    /// A RESP integer (`-`? digits), as in a header line; nil if malformed or too long.
    @inline(__always)
    static func parseInteger(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var index = 0
        var negative = false
        if bytes.count > 0 && bytes[0] == UInt8(ascii: "-") {
            negative = true
            index = 1
        }
        let digits = bytes.count - index
        guard digits > 0 && digits <= 18 else { return nil }
        var value = 0
        while index < bytes.count {
            let digit = bytes[index] &- 48
            guard digit < 10 else { return nil }
            value = value * 10 + Int(digit)
            index += 1
        }
        return negative ? -value : value
    }

    /// The offset of the `\r\n` at or after `start` in `bytes`, or nil.
    @inline(__always)
    static func crlf(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == cr {
                if bytes[index + 1] == lf { return index }
            }
            index += 1
        }
        return nil
    }

    /// A byte as it may appear in an error message: printable ASCII or `?`.
    static func printable(_ byte: UInt8) -> Character {
        byte >= 32 && byte < 127 ? Character(Unicode.Scalar(byte)) : "?"
    }
}

/// Frames client requests: multibulk (`*N` then N bulk strings) or inline lines.
public struct RedisRequestFramer {
    public enum Outcome: Equatable {
        /// More bytes are needed.
        case incomplete
        /// A multibulk request of `total` bytes; see `arguments` and `argumentStarts`.
        case request
        /// Bytes that hold no command (`*0`, `*-1`, a blank inline line): drop them.
        case empty(Int)
        /// An inline command line this long, line end included.
        case inline(Int)
        /// A protocol error, in Redis's words (no `-ERR`, no line end); the stream
        /// cannot be resynchronised after it.
        case error(String)
    }

    /// Redis's own limits.
    public static let maxArguments = 1024 * 1024
    public static let maxBulkLength = 512 << 20
    public static let maxInlineLength = 64 << 10

    /// The data of each argument (offsets from the start of the request).
    public private(set) var arguments: [Range<Int>] = []
    /// Where each argument's `$` header starts.
    public private(set) var argumentStarts: [Int] = []
    /// The length of the framed request.
    public private(set) var total = 0
    /// Arguments announced by the multibulk header; -1 while it is not read.
    private var expected = -1
    /// Where framing continues (chunked path).
    private var offset = 0

    public init() {}

    /// Frames the request at the front of `buffer`. After `.request`, the caller
    /// consumes `total` bytes before framing again.
    public mutating func frame(_ buffer: Buffer) -> Outcome {
        let count = buffer.count
        guard count > 0 else { return .incomplete }
        if expected < 0 {
            let visible = min(count, RESP.window)
            let outcome = buffer.withContiguousBytes(visible) { frameContiguous($0, sawEverything: visible == count) }
            if let outcome { return outcome }
        }
        return frameChunked(buffer)
    }

    private mutating func startRequest() {
        arguments.removeAll(keepingCapacity: true)
        argumentStarts.removeAll(keepingCapacity: true)
        total = 0
    }

    /// Frames from one contiguous view; nil when the request runs past the view and the
    /// buffer holds more (the chunked path takes over).
    private mutating func frameContiguous(_ bytes: UnsafeRawBufferPointer, sawEverything: Bool) -> Outcome? {
        startRequest()
        if bytes[0] != UInt8(ascii: "*") {
            if let newline = bytes.firstIndex(of: RESP.lf) { return .inline(newline + 1) }
            return sawEverything ? (bytes.count > Self.maxInlineLength ? .error("too big inline request") : .incomplete) : nil
        }
        guard let headerEnd = RESP.crlf(in: bytes, from: 1) else { return sawEverything ? .incomplete : nil }
        guard let count = RESP.parseInteger(UnsafeRawBufferPointer(rebasing: bytes[1..<headerEnd])), count <= Self.maxArguments
        else { return .error("invalid multibulk length") }
        if count <= 0 { return .empty(headerEnd + 2) }
        var position = headerEnd + 2
        while arguments.count < count {
            guard position < bytes.count else { return sawEverything ? .incomplete : nil }
            guard bytes[position] == UInt8(ascii: "$") else { return .error("expected '$', got '\(RESP.printable(bytes[position]))'") }
            guard let end = RESP.crlf(in: bytes, from: position + 1) else { return sawEverything ? .incomplete : nil }
            guard let length = RESP.parseInteger(UnsafeRawBufferPointer(rebasing: bytes[(position + 1)..<end])),
                length >= 0, length <= Self.maxBulkLength
            else { return .error("invalid bulk length") }
            let start = end + 2
            guard start + length + 2 <= bytes.count else { return sawEverything ? .incomplete : nil }
            guard bytes[start + length] == RESP.cr && bytes[start + length + 1] == RESP.lf else {
                return .error("expected CRLF after bulk data")
            }
            argumentStarts.append(position)
            arguments.append(start..<(start + length))
            position = start + length + 2
        }
        total = position
        return .request
    }

    /// Frames with offset reads, keeping its place across calls.
    private mutating func frameChunked(_ buffer: Buffer) -> Outcome {
        let count = buffer.count
        if expected < 0 {
            startRequest()
            if buffer.byte(at: 0) != UInt8(ascii: "*") {
                if let (end, length) = buffer.firstLineEnd() { return .inline(end + length) }
                return count > Self.maxInlineLength ? .error("too big inline request") : .incomplete
            }
            guard let headerEnd = buffer.firstCRLF() else {
                return count > Self.maxInlineLength ? .error("too big mbulk count string") : .incomplete
            }
            guard let announced = buffer.withBytes(at: 1, length: headerEnd - 1, RESP.parseInteger), announced <= Self.maxArguments
            else { return .error("invalid multibulk length") }
            if announced <= 0 { return .empty(headerEnd + 2) }
            expected = announced
            offset = headerEnd + 2
        }
        while arguments.count < expected {
            guard offset < count else { return .incomplete }
            let marker = buffer.byte(at: offset)!
            guard marker == UInt8(ascii: "$") else {
                expected = -1
                return .error("expected '$', got '\(RESP.printable(marker))'")
            }
            guard let end = buffer.firstCRLF(from: offset) else {
                if count - offset > Self.maxInlineLength {
                    expected = -1
                    return .error("too big bulk count string")
                }
                return .incomplete
            }
            guard let length = buffer.withBytes(at: offset + 1, length: end - offset - 1, RESP.parseInteger),
                length >= 0, length <= Self.maxBulkLength
            else {
                expected = -1
                return .error("invalid bulk length")
            }
            let start = end + 2
            guard start + length + 2 <= count else { return .incomplete }
            guard buffer.hasCRLF(at: start + length) else {
                expected = -1
                return .error("expected CRLF after bulk data")
            }
            argumentStarts.append(offset)
            arguments.append(start..<(start + length))
            offset = start + length + 2
        }
        total = offset
        expected = -1
        offset = 0
        return .request
    }

    /// Splits an inline command line (line end excluded) into arguments the way Redis
    /// does (`sdssplitargs`): blanks separate, "double quotes" take \n \r \t \b \a \\
    /// \" and \xHH escapes, 'single quotes' take \'. Nil for unbalanced quotes. As in
    /// Redis, which splits a C string, a NUL byte ends the line.
    public static func splitInline(_ whole: UnsafeRawBufferPointer) -> [[UInt8]]? {
        let line = UnsafeRawBufferPointer(rebasing: whole[0..<(whole.firstIndex(of: 0) ?? whole.count)])
        func isSpace(_ byte: UInt8) -> Bool { byte == 32 || (byte >= 9 && byte <= 13) }
        func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 48...57: byte - 48
            case 97...102: byte - 87
            case 65...70: byte - 55
            default: nil
            }
        }
        var result: [[UInt8]] = []
        var index = 0
        let end = line.count
        while true {
            while index < end && isSpace(line[index]) { index += 1 }
            if index == end { return result }
            var token: [UInt8] = []
            var inDouble = false
            var inSingle = false
            tokenLoop: while true {
                if inDouble {
                    guard index < end else { return nil }
                    let byte = line[index]
                    if byte == UInt8(ascii: "\\") && index + 3 < end && line[index + 1] == UInt8(ascii: "x"),
                        let high = hexValue(line[index + 2]), let low = hexValue(line[index + 3])
                    {
                        token.append(high << 4 | low)
                        index += 3
                    } else if byte == UInt8(ascii: "\\") && index + 1 < end {
                        index += 1
                        switch line[index] {
                        case UInt8(ascii: "n"): token.append(10)
                        case UInt8(ascii: "r"): token.append(13)
                        case UInt8(ascii: "t"): token.append(9)
                        case UInt8(ascii: "b"): token.append(8)
                        case UInt8(ascii: "a"): token.append(7)
                        default: token.append(line[index])
                        }
                    } else if byte == UInt8(ascii: "\"") {
                        // The closing quote must be followed by a blank or the end.
                        if index + 1 < end && !isSpace(line[index + 1]) { return nil }
                        index += 1
                        break tokenLoop
                    } else {
                        token.append(byte)
                    }
                } else if inSingle {
                    guard index < end else { return nil }
                    let byte = line[index]
                    if byte == UInt8(ascii: "\\") && index + 1 < end && line[index + 1] == UInt8(ascii: "'") {
                        token.append(UInt8(ascii: "'"))
                        index += 1
                    } else if byte == UInt8(ascii: "'") {
                        if index + 1 < end && !isSpace(line[index + 1]) { return nil }
                        index += 1
                        break tokenLoop
                    } else {
                        token.append(byte)
                    }
                } else {
                    guard index < end else { break tokenLoop }
                    let byte = line[index]
                    if isSpace(byte) { break tokenLoop }
                    if byte == UInt8(ascii: "\"") {
                        inDouble = true
                    } else if byte == UInt8(ascii: "'") {
                        inSingle = true
                    } else {
                        token.append(byte)
                    }
                }
                index += 1
            }
            result.append(token)
        }
    }

    /// `arguments` as one multibulk request.
    public static func multibulk(_ arguments: [[UInt8]]) -> [UInt8] {
        var bytes = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            bytes += Array("$\(argument.count)\r\n".utf8)
            bytes += argument
            bytes += [RESP.cr, RESP.lf]
        }
        return bytes
    }
}

/// Frames server replies: simple strings, errors, integers, bulk strings (or nil) and
/// arrays of any nesting. A nested array is tracked with one count of elements still
/// to come: every element read takes one off, every array header adds its length.
public struct RedisReplyFramer {
    public enum Outcome: Equatable {
        case incomplete
        /// A whole reply of this many bytes.
        case complete(Int)
        /// Not RESP: the stream cannot be trusted.
        case invalid
    }

    /// The longest header or status line accepted.
    public static let maxLineLength = 64 << 10

    private var offset = 0
    private var remaining = 1

    public init() {}

    public mutating func frame(_ buffer: Buffer) -> Outcome {
        let count = buffer.count
        guard count > 0 else { return .incomplete }
        if offset == 0 {
            let visible = min(count, RESP.window)
            let outcome = buffer.withContiguousBytes(visible) { Self.frameContiguous($0, sawEverything: visible == count) }
            if let outcome { return outcome }
        }
        return frameChunked(buffer)
    }

    private static func frameContiguous(_ bytes: UnsafeRawBufferPointer, sawEverything: Bool) -> Outcome? {
        var position = 0
        var remaining = 1
        while remaining > 0 {
            guard position < bytes.count else { return sawEverything ? .incomplete : nil }
            guard let end = RESP.crlf(in: bytes, from: position + 1) else { return sawEverything ? .incomplete : nil }
            let marker = bytes[position]
            switch marker {
            case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"):
                position = end + 2
                remaining -= 1
            case UInt8(ascii: "$"), UInt8(ascii: "*"):
                guard let value = RESP.parseInteger(UnsafeRawBufferPointer(rebasing: bytes[(position + 1)..<end])), value >= -1
                else { return .invalid }
                position = end + 2
                remaining -= 1
                if marker == UInt8(ascii: "*") {
                    if value > 0 { remaining += value }
                } else if value >= 0 {
                    guard position + value + 2 <= bytes.count else { return sawEverything ? .incomplete : nil }
                    guard bytes[position + value] == RESP.cr && bytes[position + value + 1] == RESP.lf else { return .invalid }
                    position += value + 2
                }
            default:
                return .invalid
            }
        }
        return .complete(position)
    }

    private mutating func frameChunked(_ buffer: Buffer) -> Outcome {
        let count = buffer.count
        while remaining > 0 {
            guard offset < count else { return .incomplete }
            guard let end = buffer.firstCRLF(from: offset) else {
                if count - offset > Self.maxLineLength {
                    reset()
                    return .invalid
                }
                return .incomplete
            }
            let marker = buffer.byte(at: offset)!
            switch marker {
            case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"):
                offset = end + 2
                remaining -= 1
            case UInt8(ascii: "$"), UInt8(ascii: "*"):
                guard let value = buffer.withBytes(at: offset + 1, length: end - offset - 1, RESP.parseInteger), value >= -1 else {
                    reset()
                    return .invalid
                }
                if marker == UInt8(ascii: "$") && value >= 0 {
                    let start = end + 2
                    guard start + value + 2 <= count else { return .incomplete }
                    guard buffer.hasCRLF(at: start + value) else {
                        reset()
                        return .invalid
                    }
                    offset = start + value + 2
                } else {
                    offset = end + 2
                    if marker == UInt8(ascii: "*") && value > 0 { remaining += value }
                }
                remaining -= 1
            default:
                reset()
                return .invalid
            }
        }
        let total = offset
        reset()
        return .complete(total)
    }

    /// Forgets a partly framed reply (after it completed, or the connection reset).
    public mutating func reset() {
        offset = 0
        remaining = 1
    }
}
