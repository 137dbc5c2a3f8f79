import Golem

/// Writes memcached text-protocol requests into a connection's output buffer. Each
/// request is assembled in one scratch area allocated up front and appended with one
/// copy (`evbuffer_add`), so sending allocates nothing.
///
/// Keys are the prefix followed by the key number in decimal (`key:123`); values are a
/// fixed pattern of `valueSize` letters.
final class RequestWriter {
    private let scratch: UnsafeMutableRawBufferPointer
    private let prefix: [UInt8]
    /// ` 0 0 <size>\r\n`: flags 0, no expiry.
    private let setTail: [UInt8]
    /// The value and its `\r\n`.
    private let valueBlock: [UInt8]
    /// Small values are copied into the scratch area with their command line (one
    /// append); large ones are appended on their own rather than copied twice.
    private let valueInline: Bool
    static let inlineLimit = 4096
    /// The longest decimal key number.
    private static let maxDigits = 20

    init(options: BenchOptions) {
        prefix = Array(options.keyPrefix.utf8)
        setTail = Array(" 0 0 \(options.valueSize)\r\n".utf8)
        let letters = Array("abcdefghijklmnopqrstuvwxyz".utf8)
        valueBlock = (0..<options.valueSize).map { letters[$0 % letters.count] } + [13, 10]
        valueInline = valueBlock.count <= Self.inlineLimit
        let key = 1 + prefix.count + Self.maxDigits
        let getLength = 3 + options.multiget * key + 2
        let setLength = 3 + key + setTail.count + (valueInline ? valueBlock.count : 0)
        scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: max(getLength, setLength), alignment: 8)
    }

    deinit { scratch.deallocate() }

    /// Appends `get k1 k2 ... kN\r\n` with `count` keys drawn from `chooser`.
    @inline(__always)
    func appendGet(count: Int, chooser: inout KeyChooser, to buffer: Buffer) {
        var position = put(StaticString("get"), at: 0)
        for _ in 0..<count {
            scratch[position] = 32
            position = putKey(chooser.next(), at: position + 1)
        }
        scratch[position] = 13
        scratch[position + 1] = 10
        buffer.append(UnsafeRawBufferPointer(rebasing: scratch[0..<(position + 2)]))
    }

    /// Appends `set <key> 0 0 <size>\r\n<value>\r\n`.
    @inline(__always)
    func appendSet(key: Int, to buffer: Buffer) {
        var position = put(StaticString("set "), at: 0)
        position = putKey(key, at: position)
        position = put(setTail, at: position)
        if valueInline {
            position = put(valueBlock, at: position)
            buffer.append(UnsafeRawBufferPointer(rebasing: scratch[0..<position]))
        } else {
            buffer.append(UnsafeRawBufferPointer(rebasing: scratch[0..<position]))
            valueBlock.withUnsafeBytes { buffer.append($0) }
        }
    }

    @inline(__always)
    private func put(_ text: StaticString, at position: Int) -> Int {
        let count = text.utf8CodeUnitCount
        (scratch.baseAddress! + position).copyMemory(from: text.utf8Start, byteCount: count)
        return position + count
    }

    @inline(__always)
    private func put(_ bytes: [UInt8], at position: Int) -> Int {
        bytes.withUnsafeBytes { source in
            guard let start = source.baseAddress else { return }
            (scratch.baseAddress! + position).copyMemory(from: start, byteCount: source.count)
        }
        return position + bytes.count
    }

    /// Writes the prefix and `number` in decimal at `position`; returns the end.
    @inline(__always)
    private func putKey(_ number: Int, at position: Int) -> Int {
        var position = put(prefix, at: position)
        var digits = 1
        var rest = number / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        var value = number
        var index = position + digits - 1
        repeat {
            scratch[index] = UInt8(48 + value % 10)
            value /= 10
            index -= 1
        } while value > 0
        position += digits
        return position
    }
}
