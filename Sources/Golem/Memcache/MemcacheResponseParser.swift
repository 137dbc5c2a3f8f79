/// Classifies one reply line from a memcached server (without its `\r\n`).
///
/// memcached 1.6.18 writes single spaces and no trailing blanks; like nutcracker, the
/// parser also accepts trailing spaces after a keyword or number, and runs of spaces
/// between `VALUE` fields. Keywords are upper case and match whole: `STOREDX` is
/// invalid, `ERRORS` too.
public enum MemcacheResponseParser {
    /// The classification of `line`.
    public static func parse(line: UnsafeRawBufferPointer) -> MemcacheResponseLine {
        guard !line.isEmpty else { return .invalid }
        // The first word ends at a space or the end of the line.
        var wordEnd = 0
        while wordEnd < line.count && line[wordEnd] != 0x20 { wordEnd += 1 }
        let word = 0..<wordEnd
        let restIsBlank = isBlank(line, from: wordEnd)
        /// Whether the first word is exactly `keyword`.
        func wordIs(_ keyword: StaticString) -> Bool { equals(line, word, keyword) }

        switch line[0] {
        case UInt8(ascii: "V"):
            if wordIs("VALUE") { return value(line, after: wordEnd) }
            // `VERSION 1.6.18`: memcached always sends a version string.
            if wordIs("VERSION") && !restIsBlank { return .simple }
        case UInt8(ascii: "E"):
            if wordIs("END") && restIsBlank { return .end }
            if wordIs("ERROR") { return .error }
            if wordIs("EXISTS") && restIsBlank { return .simple }
        case UInt8(ascii: "S"):
            if wordIs("STAT") && !restIsBlank { return .stat }
            if wordIs("SERVER_ERROR") { return .error }
            if wordIs("STORED") && restIsBlank { return .simple }
        case UInt8(ascii: "C"):
            if wordIs("CLIENT_ERROR") { return .error }
        case UInt8(ascii: "N"):
            if (wordIs("NOT_FOUND") || wordIs("NOT_STORED")) && restIsBlank { return .simple }
        case UInt8(ascii: "D"):
            if wordIs("DELETED") && restIsBlank { return .simple }
        case UInt8(ascii: "T"):
            if wordIs("TOUCHED") && restIsBlank { return .simple }
        case UInt8(ascii: "O"):
            if wordIs("OK") && restIsBlank { return .simple }
        case UInt8(ascii: "R"):
            if wordIs("RESET") && restIsBlank { return .simple }
        case UInt8(ascii: "I"):
            if wordIs("ITEM") && !restIsBlank { return .stat }
        case UInt8(ascii: "P"):
            if wordIs("PREFIX") && !restIsBlank { return .stat }
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            // incr/decr: a u64 in decimal.
            if restIsBlank && number(line, word, max: UInt64.max) != nil { return .simple }
        default:
            break
        }
        return .invalid
    }

    /// The rest of a `VALUE` line after the word: key, flags (u32), bytes (up to
    /// `Int32.max`, memcached's limit), optional cas (u64), nothing else.
    static func value(_ line: UnsafeRawBufferPointer, after start: Int) -> MemcacheResponseLine {
        var position = start
        /// The next space-separated field, or nil at the end.
        func field() -> Range<Int>? {
            while position < line.count && line[position] == 0x20 { position += 1 }
            guard position < line.count else { return nil }
            let begin = position
            while position < line.count && line[position] != 0x20 { position += 1 }
            return begin..<position
        }
        guard let key = field(), key.count <= MemcacheRequestParser.maxKeyLength,
            let flags = field(), number(line, flags, max: UInt64(UInt32.max)) != nil,
            let bytes = field(), let length = number(line, bytes, max: UInt64(Int32.max))
        else { return .invalid }
        if let cas = field() {
            guard number(line, cas, max: UInt64.max) != nil, field() == nil else { return .invalid }
        }
        return .value(key: key, valueLength: Int(length))
    }

    /// The decimal number at `range` (digits only), if it is at most `max`.
    static func number(_ line: UnsafeRawBufferPointer, _ range: Range<Int>, max: UInt64) -> UInt64? {
        guard !range.isEmpty else { return nil }
        var value: UInt64 = 0
        for index in range {
            let digit = line[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(digit))
            guard !o1, !o2, sum <= max else { return nil }
            value = sum
        }
        return value
    }

    /// Whether `line` holds only spaces from `start` on.
    static func isBlank(_ line: UnsafeRawBufferPointer, from start: Int) -> Bool {
        for index in start..<line.count where line[index] != 0x20 { return false }
        return true
    }

    /// Whether the bytes at `range` are exactly `keyword`.
    static func equals(_ line: UnsafeRawBufferPointer, _ range: Range<Int>, _ keyword: StaticString) -> Bool {
        guard range.count == keyword.utf8CodeUnitCount else { return false }
        let expected = keyword.utf8Start
        for offset in 0..<range.count where line[range.lowerBound + offset] != expected[offset] { return false }
        return true
    }
}
