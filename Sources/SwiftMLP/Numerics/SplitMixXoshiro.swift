// The model's own pseudo-random number generator: xoshiro256** (Blackman & Vigna,
// 2018), seeded by expanding a 64-bit seed with SplitMix64. Chosen because it is
// small, fast, fully specified, and easy to reimplement bit-for-bit in NumPy or C;
// it never touches global state such as rand().

/// xoshiro256** with SplitMix64 seeding. A value type: copying it copies its state.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable, Equatable {
    /// The four 64-bit words of state; never all zero.
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)

    /// Seeds the state with four successive SplitMix64 outputs from `seed`.
    public init(seed: UInt64) {
        var splitMix = seed
        func nextSplitMix() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitMix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (nextSplitMix(), nextSplitMix(), nextSplitMix(), nextSplitMix())
    }

    /// Restores a saved state. Returns nil for the all-zero state, which is invalid.
    public init?(state: (UInt64, UInt64, UInt64, UInt64)) {
        if state.0 == 0 && state.1 == 0 && state.2 == 0 && state.3 == 0 { return nil }
        self.state = state
    }

    public mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, by: 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = rotateLeft(state.3, by: 45)
        return result
    }

    /// A double in [0, 1): the top 53 bits of `next()` times 2^-53.
    public mutating func nextUnitInterval() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// An integer uniform in 0..<bound (bound >= 1), by Lemire's multiply-shift with
    /// rejection, so it is exactly uniform and reproducible.
    public mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0)
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold {
                product = next().multipliedFullWidth(by: range)
            }
        }
        return Int(product.high)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.state == rhs.state
    }

    @inline(__always)
    private func rotateLeft(_ x: UInt64, by k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }
}
