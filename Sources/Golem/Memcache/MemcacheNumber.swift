/// memcached's number parsing (`safe_strtoul`, `safe_strtol`, `safe_strtoull` in
/// util.c, over glibc's `strtoul`/`strtol`/`strtoull`, base 10, on x86-64), reproduced
/// exactly, because the proxy forwards the line unchanged and must read the same
/// `bytes` value the server will.
///
/// What that means, all checked against memcached 1.6.18:
/// - leading C-locale white space (`\t \n \v \f \r`) is skipped, and a `+` or `-` sign
///   is accepted: `set k 0 0 +1`, `set k 0 0 \t1` store one byte;
/// - the digits must be followed by the end of the token or by white space:
///   `set k 0 0 1\t` is fine, `0x10` and `1a` are not;
/// - the value is computed in 64 bits (`long`), then **truncated to 32 bits** for
///   flags, exptime and bytes: `set k 0 0 4294967301` stores 5 bytes, flags
///   `4294967296` are stored as 0;
/// - an unsigned value is rejected if it has a `-` and looks negative as a signed
///   64-bit number, so `-1` fails, `-0` passes and `-18446744073709551615` is 1.
enum MemcacheNumber {
    /// The pieces glibc's `strto*` functions find in a token.
    struct Scan {
        /// Whether a `-` sign preceded the digits.
        var negative: Bool
        /// The digits' value, if it fits 64 bits.
        var magnitude: UInt64
        /// Whether the digits overflowed 64 bits (`ERANGE` for every variant).
        var overflow: Bool
    }

    /// Whether `byte` is white space in the C locale (`isspace`).
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0d)
    }

    /// Scans `token` like `strto*` with base 10 plus the `safe_` wrappers' end check:
    /// nil when there are no digits or the digits are followed by something that is not
    /// white space.
    static func scan(_ bytes: UnsafeRawBufferPointer, _ token: Range<Int>) -> Scan? {
        var index = token.lowerBound
        let end = token.upperBound
        while index < end && isSpace(bytes[index]) { index += 1 }
        var negative = false
        if index < end && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        let digitsStart = index
        var magnitude: UInt64 = 0
        var overflow = false
        while index < end {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(digit))
            overflow = overflow || o1 || o2
            magnitude = sum
            index += 1
        }
        guard index > digitsStart else { return nil }  // str == endptr
        guard index == end || isSpace(bytes[index]) else { return nil }
        return Scan(negative: negative, magnitude: magnitude, overflow: overflow)
    }

    /// Whether the token contains a `-` anywhere (`strchr(str, '-')`).
    static func hasMinus(_ bytes: UnsafeRawBufferPointer, _ token: Range<Int>) -> Bool {
        for index in token where bytes[index] == UInt8(ascii: "-") { return true }
        return false
    }

    /// `safe_strtoull`: a u64 (cas unique, incr/decr delta).
    static func unsigned64(_ bytes: UnsafeRawBufferPointer, _ token: Range<Int>) -> UInt64? {
        guard let scan = scan(bytes, token), !scan.overflow else { return nil }
        let value = scan.negative ? 0 &- scan.magnitude : scan.magnitude
        if Int64(bitPattern: value) < 0 && hasMinus(bytes, token) { return nil }
        return value
    }

    /// `safe_strtoul`: `unsigned long` (64 bits) stored into a `uint32_t` (flags,
    /// verbosity level).
    static func unsigned32(_ bytes: UnsafeRawBufferPointer, _ token: Range<Int>) -> UInt32? {
        unsigned64(bytes, token).map { UInt32(truncatingIfNeeded: $0) }
    }

    /// `safe_strtol`: `long` (64 bits, `ERANGE` outside it) stored into an `int32_t`
    /// (exptime, bytes).
    static func signed32(_ bytes: UnsafeRawBufferPointer, _ token: Range<Int>) -> Int32? {
        guard let scan = scan(bytes, token), !scan.overflow else { return nil }
        let value: Int64
        if scan.negative {
            guard scan.magnitude <= UInt64(Int64.max) + 1 else { return nil }
            value = Int64(truncatingIfNeeded: 0 &- scan.magnitude)
        } else {
            guard scan.magnitude <= UInt64(Int64.max) else { return nil }
            value = Int64(scan.magnitude)
        }
        return Int32(truncatingIfNeeded: value)
    }
}
