import Foundation

/// Small memcached text-protocol helpers for tests that talk to real servers.
extension TestSocket {
    /// Stores every `(key, value)` with pipelined `set`s, checking each reply is `STORED`.
    func setAll(_ items: [([UInt8], [UInt8])], batch: Int = 100) throws {
        var start = 0
        while start < items.count {
            let slice = items[start..<min(start + batch, items.count)]
            var request: [UInt8] = []
            for (key, value) in slice {
                request += Array("set ".utf8) + key + Array(" 0 0 \(value.count)\r\n".utf8) + value + [13, 10]
            }
            try send(request)
            for (key, _) in slice {
                let reply = try readLineString()
                guard reply == "STORED" else {
                    throw HarnessError("set \(String(decoding: key, as: UTF8.self)) answered \(reply)")
                }
            }
            start += batch
        }
    }

    /// Which of `keys` this server holds: one multi-key `get` per chunk of keys.
    func heldKeys(_ keys: [[UInt8]], chunk: Int = 50) throws -> Set<[UInt8]> {
        var held = Set<[UInt8]>()
        var start = 0
        while start < keys.count {
            let slice = keys[start..<min(start + chunk, keys.count)]
            var request = Array("get".utf8)
            for key in slice { request += [32] + key }
            request += [13, 10]
            try send(request)
            while true {
                let line = try readLine()
                if line == Array("END".utf8) { break }
                let fields = line.split(separator: 32, omittingEmptySubsequences: false)
                guard fields.count >= 4, fields[0] == ArraySlice("VALUE".utf8),
                    let length = Int(String(decoding: fields[3], as: UTF8.self))
                else { throw HarnessError("unexpected reply: \(String(decoding: line, as: UTF8.self))") }
                _ = try read(count: length + 2)
                held.insert(Array(fields[1]))
            }
            start += chunk
        }
        return held
    }

    /// `flush_all`, expecting `OK`.
    func flushAll() throws {
        try send("flush_all\r\n")
        let reply = try readLineString()
        guard reply == "OK" else { throw HarnessError("flush_all answered \(reply)") }
    }
}

/// Deterministic pseudo-random numbers for test data (SplitMix64), so a failing key
/// set can be reproduced.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
