/// Splits a request line into tokens the way memcached's `tokenize_command` does.
///
/// Tokens are separated by runs of spaces (only `0x20`: a tab is part of a token), and
/// the line ends at its first NUL byte, because memcached hands the line to `strlen`
/// (`get a\0b` asks for `a`). Every other byte, `0x80` and above included, belongs to
/// a token.
struct MemcacheTokenizer {
    /// The line; read only between `position` and `end`.
    let bytes: UnsafeRawBufferPointer
    /// Where scanning resumes.
    var position: Int
    /// The effective end of the line: its length, or the offset of its first NUL once
    /// scanning has reached it.
    var end: Int

    /// A tokenizer at the start of `bytes`.
    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        position = 0
        end = bytes.count
    }

    /// The next token's byte range, or nil at the end of the line.
    mutating func next() -> Range<Int>? {
        while position < end {
            let byte = bytes[position]
            if byte == 0x20 {
                position += 1
            } else if byte == 0 {
                end = position
            } else {
                break
            }
        }
        guard position < end else { return nil }
        let start = position
        position += 1
        while position < end {
            let byte = bytes[position]
            if byte == 0x20 { break }
            if byte == 0 {
                end = position
                break
            }
            position += 1
        }
        return start..<position
    }

    /// Whether the token at `range` is exactly `word` (ASCII, at most 8 bytes).
    func token(_ range: Range<Int>, is word: StaticString) -> Bool {
        guard range.count == word.utf8CodeUnitCount else { return false }
        let expected = word.utf8Start
        for index in 0..<range.count where bytes[range.lowerBound + index] != expected[index] {
            return false
        }
        return true
    }
}
