#if canImport(Glibc)
    import Glibc
#endif

/// Draws key numbers from `0..<keys` for one thread: SplitMix64 (a few multiplies, no
/// syscall, unlike the system generator) shaped by the chosen distribution.
struct KeyChooser {
    private var state: UInt64
    let keys: Int
    let distribution: BenchOptions.KeyDistribution
    /// Box–Muller makes two normal draws at a time; the second waits here.
    private var spare: Double? = nil

    init(keys: Int, distribution: BenchOptions.KeyDistribution, seed: UInt64) {
        self.keys = keys
        self.distribution = distribution
        state = seed
    }

    /// The next 64 random bits (SplitMix64).
    @inline(__always)
    mutating func nextBits() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1).
    @inline(__always)
    private mutating func unit() -> Double {
        Double(nextBits() >> 11) * 0x1.0p-53
    }

    /// The next key number.
    @inline(__always)
    mutating func next() -> Int {
        switch distribution {
        case .uniform:
            // Lemire's multiply-shift: the high half of bits × keys is uniform in 0..<keys.
            return Int(nextBits().multipliedFullWidth(by: UInt64(keys)).high)
        case .gaussian:
            let mean = Double(keys) / 2
            let deviation = Double(keys) / 10
            while true {
                let key = (mean + deviation * normal()).rounded(.down)
                if key >= 0 && key < Double(keys) { return Int(key) }
            }
        }
    }

    /// A standard normal draw (Box–Muller).
    private mutating func normal() -> Double {
        if let value = spare {
            spare = nil
            return value
        }
        let radius = (-2 * log(1 - unit())).squareRoot()
        let angle = 2 * Double.pi * unit()
        spare = radius * sin(angle)
        return radius * cos(angle)
    }
}
