#if canImport(Glibc)
    import Glibc
#endif

/// One complete memcached text-protocol reply, as far as a load generator cares.
public enum BenchReply: Equatable, Sendable {
    /// `END` after `hits` `VALUE` blocks: the answer to a get of any width.
    case end(hits: Int)
    /// `STORED`.
    case stored
    /// `NOT_STORED`, `EXISTS` or `NOT_FOUND`: a storage command that did not store.
    case notStored
    /// `SERVER_ERROR ...`.
    case serverError
    /// `CLIENT_ERROR ...`.
    case clientError
    /// `ERROR`.
    case error
    /// A line that is no memcached reply (or a `VALUE` line without a length): nothing
    /// after it can be trusted.
    case unexpected
}

/// Frames memcached replies from a byte stream that may be cut anywhere: each call
/// consumes bytes and returns the next complete reply, carrying partial lines and the
/// rest of a value across calls.
///
/// Values are skipped without being looked at; only reply lines are read. A line split
/// between two reads is copied into a small buffer reserved up front, so steady-state
/// parsing allocates nothing.
public struct ReplyParser {
    /// Bytes of the current value block (data and its `\r\n`) still to skip.
    private var valueRemaining = 0
    /// `VALUE` blocks seen since the last complete reply.
    private var hits = 0
    /// The start of a line whose end has not arrived yet (at most `maxLineLength` bytes
    /// are kept: a reply line is recognised by its first few, a `VALUE` line is < 320).
    private var partial: [UInt8] = []
    static let maxLineLength = 1024

    public init() {
        partial.reserveCapacity(Self.maxLineLength)
    }

    /// Whether the parser is between replies (no partial line, value or `VALUE` blocks).
    public var isIdle: Bool { valueRemaining == 0 && hits == 0 && partial.isEmpty }

    /// Consumes `bytes` from `offset` up to the end of the next complete reply and
    /// returns it, with `offset` just past it; or consumes everything and returns nil
    /// when no reply completes within `bytes`.
    public mutating func next(in bytes: UnsafeRawBufferPointer, at offset: inout Int) -> BenchReply? {
        while offset < bytes.count {
            if valueRemaining > 0 {
                let skipped = min(valueRemaining, bytes.count - offset)
                valueRemaining -= skipped
                offset += skipped
                continue
            }
            let base = bytes.baseAddress! + offset
            let available = bytes.count - offset
            guard let newline = memchr(base, 10, available) else {
                keep(UnsafeRawBufferPointer(start: base, count: available))
                offset = bytes.count
                return nil
            }
            let lineLength = UnsafeRawPointer(newline) - base
            offset += lineLength + 1
            let reply: BenchReply?
            if partial.isEmpty {
                reply = classify(UnsafeRawBufferPointer(start: base, count: lineLength))
            } else {
                keep(UnsafeRawBufferPointer(start: base, count: lineLength))
                reply = partial.withUnsafeBytes { classify($0) }
                partial.removeAll(keepingCapacity: true)
            }
            if let reply { return reply }
        }
        return nil
    }

    /// Appends the start of an unfinished line (beyond `maxLineLength`, bytes are dropped).
    private mutating func keep(_ bytes: UnsafeRawBufferPointer) {
        let room = Self.maxLineLength - partial.count
        guard room > 0 else { return }
        partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes.prefix(room)))
    }

    /// Reads one reply line (without its `\n`); returns the reply it completes, or nil
    /// for a `VALUE` line (whose data block is then skipped).
    private mutating func classify(_ rawLine: UnsafeRawBufferPointer) -> BenchReply? {
        var line = rawLine
        if let last = line.last, last == 13 { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
        guard let first = line.first else { return finish(.unexpected) }
        switch first {
        case UInt8(ascii: "V") where Self.starts(line, "VALUE "):
            guard let length = Self.valueLength(line) else { return finish(.unexpected) }
            hits += 1
            valueRemaining = length + 2
            return nil
        case UInt8(ascii: "E"):
            if Self.equals(line, "END") { return finish(.end(hits: hits)) }
            if Self.equals(line, "ERROR") || Self.starts(line, "ERROR ") { return finish(.error) }
            if Self.equals(line, "EXISTS") { return finish(.notStored) }
        case UInt8(ascii: "S"):
            if Self.equals(line, "STORED") { return finish(.stored) }
            if Self.starts(line, "SERVER_ERROR") { return finish(.serverError) }
        case UInt8(ascii: "N"):
            if Self.equals(line, "NOT_STORED") || Self.equals(line, "NOT_FOUND") { return finish(.notStored) }
        case UInt8(ascii: "C"):
            if Self.starts(line, "CLIENT_ERROR") { return finish(.clientError) }
        default:
            break
        }
        return finish(.unexpected)
    }

    /// Ends the current reply: `VALUE` blocks seen so far belong to it.
    private mutating func finish(_ reply: BenchReply) -> BenchReply {
        hits = 0
        return reply
    }

    private static func starts(_ line: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
        let length = word.utf8CodeUnitCount
        guard line.count >= length else { return false }
        return memcmp(line.baseAddress!, word.utf8Start, length) == 0
    }

    private static func equals(_ line: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
        line.count == word.utf8CodeUnitCount && starts(line, word)
    }

    /// The `<bytes>` field of `VALUE <key> <flags> <bytes> [<cas>]`.
    private static func valueLength(_ line: UnsafeRawBufferPointer) -> Int? {
        var field = 0
        var index = 0
        // Skip to the start of the fourth space-separated field.
        while index < line.count && field < 3 {
            if line[index] == 32 {
                field += 1
                while index + 1 < line.count && line[index + 1] == 32 { index += 1 }
            }
            index += 1
        }
        var length = 0
        var digits = 0
        while index < line.count, line[index] != 32 {
            let digit = Int(line[index]) - 48
            guard digit >= 0 && digit <= 9, digits < 18 else { return nil }
            length = length * 10 + digit
            digits += 1
            index += 1
        }
        return field == 3 && digits > 0 ? length : nil
    }
}
