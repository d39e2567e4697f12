// Tests of SplitMixXoshiro.swift against an independent reimplementation of
// SplitMix64 and xoshiro256** (below, transcribed from the authors' public-domain C
// code at prng.di.unimi.it), against fixed vectors, and for nextUnitInterval and
// nextIndex (range, exact Lemire algorithm, uniformity).

import XCTest
@testable import SwiftMLP

/// Reference SplitMix64 (Vigna, splitmix64.c).
struct ReferenceSplitMix64 {
    var x: UInt64
    mutating func next() -> UInt64 {
        x = x &+ 0x9e37_79b9_7f4a_7c15
        var z = x
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// Reference xoshiro256** (Blackman & Vigna, xoshiro256starstar.c), seeded with four
/// successive SplitMix64 outputs as the authors recommend.
struct ReferenceXoshiro256StarStar {
    var s: [UInt64]
    init(seed: UInt64) {
        var sm = ReferenceSplitMix64(x: seed)
        s = [sm.next(), sm.next(), sm.next(), sm.next()]
    }
    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
    mutating func next() -> UInt64 {
        let result = Self.rotl(s[1] &* 5, 7) &* 9
        let t = s[1] << 17
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = Self.rotl(s[3], 45)
        return result
    }
    /// (next >> 11) * 2^-53, the standard conversion to [0, 1).
    mutating func nextDouble() -> Double { Double(next() >> 11) * 0x1.0p-53 }
    /// Lemire's nearly-divisionless bounded integer (2019), as specified.
    mutating func nextIndex(below bound: UInt64) -> UInt64 {
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return m.high
    }
}

final class SplitMixXoshiroTests: XCTestCase {

    /// Fixed vectors. SplitMix64 from state 0 yields 0xe220a8397b1dcdaf first (the
    /// widely published value); the rest were produced by compiling the authors' C
    /// reference code and agree with the Swift reference above.
    func testKnownVectors() {
        var sm = ReferenceSplitMix64(x: 0)
        XCTAssertEqual([sm.next(), sm.next(), sm.next(), sm.next()],
                       [0xe220_a839_7b1d_cdaf, 0x6e78_9e6a_a1b9_65f4, 0x06c4_5d18_8009_454f, 0xf88b_b8a8_724c_81ec])
        let vectors: [(UInt64, [UInt64])] = [
            (0, [0x99ec_5f36_cb75_f2b4, 0xbf6e_1f78_4956_452a, 0x1a5f_849d_4933_e6e0,
                 0x6aa5_94f1_262d_2d2c, 0xbba5_ad4a_1f84_2e59, 0xffef_8375_d9eb_caca]),
            (1, [0xb3f2_af6d_0fc7_10c5, 0x853b_5596_4736_4cea, 0x92f8_9756_082a_4514,
                 0x642e_1c7b_c266_a3a7, 0xb27a_48e2_9a23_3673, 0x24c1_2312_6ffd_a722]),
            (42, [0x1578_0b2e_0c2e_c716, 0x6104_d986_6d11_3a7e, 0xae17_5332_39e4_99a1,
                  0xecb8_ad47_03b3_60a1, 0xfde6_dc7f_e2ec_5e64, 0xc50d_a531_0179_5238]),
            (0xDEAD_BEEF_CAFE_BABE, [0x2299_b342_1aa7_8b66, 0x9af6_5504_83e0_2887, 0xda05_9cb5_eec5_c979,
                                     0xcf86_bd29_360f_ff98, 0x5cc8_83c9_4008_9820, 0xb006_10ac_ed04_900f]),
            (UInt64.max, [0x8f55_20d5_2a7e_ad08, 0xc476_a018_caa1_802d, 0x81de_31c0_d260_469e,
                          0xbf65_8d7e_065f_3c2f, 0x9135_93fd_a1bc_a32a, 0xbb53_5e93_941b_a525]),
        ]
        for (seed, expected) in vectors {
            var engine = Xoshiro256StarStar(seed: seed)
            var reference = ReferenceXoshiro256StarStar(seed: seed)
            XCTAssertEqual((0..<6).map { _ in engine.next() }, expected, "engine, seed \(seed)")
            XCTAssertEqual((0..<6).map { _ in reference.next() }, expected, "reference, seed \(seed)")
        }
    }

    /// The seeded state is the four SplitMix64 outputs, and long runs agree with the
    /// reference for many seeds.
    func testMatchesReferenceOverLongRuns() {
        var seeds = TestRandom(seed: 99)
        for seed in [0, 1, 2, UInt64.max] + (0..<20).map({ _ in seeds.next() }) {
            var engine = Xoshiro256StarStar(seed: seed)
            var reference = ReferenceXoshiro256StarStar(seed: seed)
            XCTAssertEqual([engine.state.0, engine.state.1, engine.state.2, engine.state.3], reference.s)
            for i in 0..<2000 {
                let a = engine.next(), b = reference.next()
                if a != b { XCTFail("seed \(seed) output \(i): \(a) vs \(b)"); break }
            }
        }
    }

    /// nextUnitInterval is (next >> 11) 2^-53: in [0, 1), reproducible.
    func testNextUnitInterval() {
        var engine = Xoshiro256StarStar(seed: 7)
        var reference = ReferenceXoshiro256StarStar(seed: 7)
        var total = 0.0
        for _ in 0..<10_000 {
            let u = engine.nextUnitInterval()
            XCTAssertEqual(u, reference.nextDouble())
            XCTAssertTrue(u >= 0 && u < 1)
            total += u
        }
        // Mean of 10^4 uniforms: sd = sqrt(1/12 / 10^4) ~ 0.0029; 5 sd.
        XCTAssertEqual(total / 10_000, 0.5, accuracy: 0.015)
    }

    /// nextIndex is in range, equals Lemire's algorithm draw for draw (so it consumes
    /// the same outputs), and is uniform by a chi-square test.
    func testNextIndexInRangeExactAndUniform() {
        for bound in [1, 2, 3, 7, 10, 1000, 1 << 40, Int.max] {
            var engine = Xoshiro256StarStar(seed: UInt64(bound))
            var reference = ReferenceXoshiro256StarStar(seed: UInt64(bound))
            for _ in 0..<2000 {
                let k = engine.nextIndex(below: bound)
                XCTAssertTrue(k >= 0 && k < bound, "bound \(bound): \(k)")
                XCTAssertEqual(UInt64(k), reference.nextIndex(below: UInt64(bound)), "bound \(bound)")
            }
            XCTAssertEqual(engine, Xoshiro256StarStar(state: (reference.s[0], reference.s[1], reference.s[2], reference.s[3]))!,
                           "same number of outputs consumed, bound \(bound)")
        }
        // A bound just above 2^63 would make rejection frequent; the largest Int bound
        // is (2^63 - 1), for which rejection happens about half the time: the exact
        // comparison above covers the rejection loop.
        //
        // Uniformity: 10 cells, 100_000 draws, chi-square with 9 degrees of freedom;
        // P(chi2 > 27.88) = 0.001. Seeded, so the outcome is fixed; the threshold says
        // the fixed outcome is unremarkable.
        var engine = Xoshiro256StarStar(seed: 2024)
        var counts = [Int](repeating: 0, count: 10)
        let n = 100_000
        for _ in 0..<n { counts[engine.nextIndex(below: 10)] += 1 }
        let expected = Double(n) / 10
        let chi2 = counts.map { (Double($0) - expected) * (Double($0) - expected) / expected }.reduce(0, +)
        XCTAssertLessThan(chi2, 27.88, "counts \(counts)")
        // Bound 3 does not divide 2^64: still uniform.
        var counts3 = [0, 0, 0]
        for _ in 0..<30_000 { counts3[engine.nextIndex(below: 3)] += 1 }
        let chi3 = counts3.map { (Double($0) - 10_000) * (Double($0) - 10_000) / 10_000 }.reduce(0, +)
        XCTAssertLessThan(chi3, 13.82, "counts \(counts3)")  // 2 dof, p = 0.001
    }

    /// Value semantics, state round trip, the all-zero state refused.
    func testStateAndValueSemantics() {
        var a = Xoshiro256StarStar(seed: 5)
        _ = a.next()
        var b = a
        XCTAssertEqual(a.next(), b.next())
        var c = Xoshiro256StarStar(state: a.state)!
        XCTAssertEqual(c, a)
        XCTAssertEqual(c.next(), a.next())
        XCTAssertNil(Xoshiro256StarStar(state: (0, 0, 0, 0)))
        XCTAssertNotNil(Xoshiro256StarStar(state: (0, 0, 0, 1)))
        XCTAssertNotEqual(Xoshiro256StarStar(seed: 1), Xoshiro256StarStar(seed: 2))
        // Usable as a Swift RandomNumberGenerator, reproducibly.
        var g1 = Xoshiro256StarStar(seed: 3), g2 = Xoshiro256StarStar(seed: 3)
        XCTAssertEqual((0..<10).shuffled(using: &g1), (0..<10).shuffled(using: &g2))
    }
}
