// Tests of VectorHyperbolicTangent.swift and of e^x - 1 (VectorExponential.swift),
// against a more precise reference (Double's functions for Float, Float80's for
// Double), in ulps of the correctly rounded result.

import Foundation
import XCTest
@testable import SwiftMLP

final class VectorHyperbolicTangentTests: XCTestCase {
    /// e^x - 1 within 2 ulp on x <= 0: dense near 0 (where the form matters), around
    /// each switch of n, and down to where it rounds to -1. The bound: the Taylor
    /// quotient is within 2^-(p+2), r times it and the scaling round once each and
    /// the final sum once, each at most 1/2 ulp of the result.
    func testExponentialMinusOneWithinTwoUlps() {
        checkExponentialMinusOne(Float.self) { x in Foundation.expm1(Double(x)) }
        checkExponentialMinusOne(Double.self) { x in Double(expm1l(Float80(x))) }
    }

    func checkExponentialMinusOne<Scalar: MLPScalar>(_: Scalar.Type, reference: (Scalar) -> Double) {
        var random = TestRandom(seed: 13)
        var inputs: [Scalar] = [0, -0.0, -Scalar.leastNonzeroMagnitude, -Scalar.leastNormalMagnitude,
                                -Scalar.ulpOfOne, -0.5, -1, -20, -50]
        for _ in 0..<20_000 { inputs.append(Scalar(random.uniform(-1, 0))) }
        for _ in 0..<10_000 { inputs.append(Scalar(-Foundation.exp(random.uniform(-40, 0)))) }
        for _ in 0..<10_000 { inputs.append(Scalar(random.uniform(-60, 0))) }
        for n in 0...60 {
            let edge = -(Double(n) + 0.5) * 0.6931471805599453
            for step in -3...3 { inputs.append(Scalar(edge).advanced(byUlps: step)) }
        }
        let worst = worstUlps(inputs, reference: reference) { Scalar.exponentialMinusOneOfNonPositive($0) }
        XCTAssertLessThanOrEqual(worst.ulps, 2, "\(Scalar.self): worst \(worst.ulps) ulp at x = \(worst.input)")
    }

    /// tanh within 4 ulp over both signs: tiny, subnormal, around 1, and up to where
    /// it rounds to ±1. The bound: -m / (2 + m) passes m's relative error (2 ulp of
    /// m) on scaled by 2 / (2 + m) <= 2, and the result can sit in a lower binade
    /// than m; 2 + m and the quotient round once each. That analysis gives about
    /// 3.5 ulp; the worst measured over 2 million inputs in [-3, 3] is 2.5 (Float)
    /// and 3 (Double), where glibc's tanh is within 1.
    func testHyperbolicTangentWithinFourUlps() {
        checkHyperbolicTangent(Float.self) { z in Foundation.tanh(Double(z)) }
        checkHyperbolicTangent(Double.self) { z in Double(tanhl(Float80(z))) }
    }

    func checkHyperbolicTangent<Scalar: MLPScalar>(_: Scalar.Type, reference: (Scalar) -> Double) {
        var random = TestRandom(seed: 17)
        var inputs: [Scalar] = [Scalar.leastNonzeroMagnitude, Scalar.leastNormalMagnitude, Scalar.ulpOfOne,
                                0.5, 1, 2, 10, 20, 30, 1e-30]
        for _ in 0..<20_000 { inputs.append(Scalar(random.uniform(-3, 3))) }
        for _ in 0..<10_000 { inputs.append(Scalar(Foundation.exp(random.uniform(-40, 3)))) }
        for _ in 0..<10_000 { inputs.append(Scalar(random.uniform(-25, 25))) }
        inputs += inputs.map { -$0 }
        let worst = worstUlps(inputs, reference: reference) { Scalar.vectorHyperbolicTangent($0) }
        XCTAssertLessThanOrEqual(worst.ulps, 4, "\(Scalar.self): worst \(worst.ulps) ulp at z = \(worst.input)")
    }

    /// The edges: signed zeros keep their sign, infinities give ±1, large values
    /// ±1 exactly, NaN stays NaN.
    func testEdges() {
        checkEdges(Float.self)
        checkEdges(Double.self)
    }

    func checkEdges<Scalar: MLPScalar>(_: Scalar.Type) {
        let inputs: [Scalar] = [0, -0.0, .infinity, -.infinity, .greatestFiniteMagnitude, -40, .nan]
        let results = inputs.map { Scalar.vectorHyperbolicTangent($0) }
        XCTAssertEqual(results[0], 0)
        XCTAssertEqual(results[0].sign, .plus, "\(Scalar.self): tanh(+0)")
        XCTAssertEqual(results[1], 0)
        XCTAssertEqual(results[1].sign, .minus, "\(Scalar.self): tanh(-0)")
        XCTAssertEqual(results[2], 1, "\(Scalar.self)")
        XCTAssertEqual(results[3], -1, "\(Scalar.self)")
        XCTAssertEqual(results[4], 1, "\(Scalar.self)")
        XCTAssertEqual(results[5], -1, "\(Scalar.self)")
        XCTAssertTrue(results[6].isNaN, "\(Scalar.self)")
        XCTAssertEqual(Scalar.exponentialMinusOneOfNonPositive(-.infinity), -1, "\(Scalar.self)")
        XCTAssertTrue(Scalar.exponentialMinusOneOfNonPositive(.nan).isNaN, "\(Scalar.self)")
    }

    /// |tanh| <= 1 and the sign of z, in every rounding mode.
    func testEveryRoundingModeStaysInRange() {
        checkRoundingModes(Float.self)
        checkRoundingModes(Double.self)
    }

    func checkRoundingModes<Scalar: MLPScalar>(_: Scalar.Type) {
        let saved = fegetround()
        defer { fesetround(saved) }
        var random = TestRandom(seed: 19)
        var inputs: [Scalar] = [1e-30, 0.5, 1, 9, 18, 19, 40, .infinity]
            + (0..<4_000).map { _ in Scalar(random.uniform(0, 45)) }
        inputs += inputs.map { -$0 }
        for mode in [saved, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO] {
            XCTAssertEqual(fesetround(mode), 0)
            let results = inputs.map { Scalar.vectorHyperbolicTangent($0) }
            fesetround(saved)
            for (z, t) in zip(inputs, results) {
                XCTAssertTrue(abs(t) <= 1 && t.sign == z.sign, "\(Scalar.self) mode \(mode): tanh(\(z)) = \(t)")
            }
        }
    }

    /// The largest error in ulps of the correctly rounded reference, and where.
    func worstUlps<Scalar: MLPScalar>(
        _ inputs: [Scalar], reference: (Scalar) -> Double, _ function: (Scalar) -> Scalar
    ) -> (ulps: Double, input: Scalar) {
        var worst = (ulps: 0.0, input: Scalar(0))
        for x in inputs {
            let exact = reference(x)
            let ulp = Double(max(Scalar(exact).ulp, Scalar.leastNonzeroMagnitude))
            let error = abs(Double(function(x)) - exact) / ulp
            if error > worst.ulps { worst = (error, x) }
        }
        return worst
    }
}
