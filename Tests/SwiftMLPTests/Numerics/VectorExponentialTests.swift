// Tests of VectorExponential.swift: e^x for x <= 0 against a more precise
// reference (Double's exp for Float, Float80's expl for Double), in ulps of the
// correctly rounded result.

import Foundation
import XCTest
@testable import SwiftMLP

final class VectorExponentialTests: XCTestCase {
    /// Within 2 ulp of e^x everywhere on x <= 0: random values over the whole
    /// domain, dense near 0 (most softmax entries), near each power of two's
    /// boundary in n, and through the subnormal range down to where results round to
    /// 0. The bound: the Taylor remainder is below 2^-(p+2) relative and the Horner
    /// evaluation and the scaling round a few times at most 1/2 ulp each, so the
    /// method cannot exceed ~1.5 ulp; glibc's own exp is within 1.
    func testWithinTwoUlpsOfExp() {
        checkAccuracy(Float.self, lowest: -104) { x in Double(x) == 0 ? 1 : Foundation.exp(Double(x)) }
        checkAccuracy(Double.self, lowest: -745) { x in Double(expl(Float80(x))) }
    }

    func checkAccuracy<Scalar: MLPScalar>(
        _: Scalar.Type, lowest: Double, reference: (Scalar) -> Double
    ) {
        var random = TestRandom(seed: 11)
        var inputs: [Scalar] = [0, -0.0, -Scalar.leastNonzeroMagnitude, -Scalar.ulpOfOne, -0.5, -1]
        for _ in 0..<20_000 { inputs.append(Scalar(random.uniform(lowest, 0))) }
        for _ in 0..<20_000 { inputs.append(Scalar(random.uniform(-1, 0))) }
        for n in 1...40 {
            // Around x = -(n + 1/2) ln 2, where round(x log2 e) switches.
            let edge = -(Double(n) + 0.5) * 0.6931471805599453
            for step in -3...3 { inputs.append(Scalar(edge).advanced(byUlps: step)) }
        }
        // Results in the subnormal range and at its end.
        let subnormalStart = Double(Scalar.leastNormalMagnitude.exponent) * 0.6931471805599453
        for _ in 0..<5_000 { inputs.append(Scalar(random.uniform(lowest, subnormalStart))) }

        var values = inputs
        values.withUnsafeMutableBufferPointer { buffer in
            Scalar.exponentiateNonPositive(buffer.baseAddress!, count: buffer.count)
        }
        var worst = 0.0, worstInput: Scalar = 0
        for (x, computed) in zip(inputs, values) {
            let exact = reference(x)
            let rounded = Scalar(exact)
            // One ulp of the correctly rounded result (the subnormal spacing below).
            let ulp = Double(max(rounded.ulp, Scalar.leastNonzeroMagnitude))
            let error = abs(Double(computed) - exact) / ulp
            if error > worst { worst = error; worstInput = x }
        }
        XCTAssertLessThanOrEqual(worst, 2, "\(Scalar.self): worst \(worst) ulp at x = \(worstInput)")
    }

    /// The edges of the domain: e^0 = 1 exactly, results that round to 0, -infinity,
    /// and NaN propagating (softmax relies on it to report a non-finite logit).
    func testEdgesOfTheDomain() {
        checkEdges(Float.self)
        checkEdges(Double.self)
    }

    func checkEdges<Scalar: MLPScalar>(_: Scalar.Type) {
        var values: [Scalar] = [0, -0.0, -Scalar.infinity, -Scalar.greatestFiniteMagnitude, -2000, .nan]
        values.withUnsafeMutableBufferPointer { buffer in
            Scalar.exponentiateNonPositive(buffer.baseAddress!, count: buffer.count)
        }
        XCTAssertEqual(values[0], 1, "\(Scalar.self)")
        XCTAssertEqual(values[1], 1, "\(Scalar.self)")
        XCTAssertEqual(values[2], 0, "\(Scalar.self)")
        XCTAssertEqual(values[3], 0, "\(Scalar.self)")
        XCTAssertEqual(values[4], 0, "\(Scalar.self)")
        XCTAssertTrue(values[5].isNaN, "\(Scalar.self)")
    }

    /// Below the range (and -infinity) the result is 0 in every rounding mode, and
    /// every result is in [0, 1]. Under rounding upward the clamped arithmetic alone
    /// would give the smallest subnormal (a review found e^-inf = 1e-45 there).
    func testEveryRoundingModeStaysInRange() {
        checkRoundingModes(Float.self)
        checkRoundingModes(Double.self)
    }

    func checkRoundingModes<Scalar: MLPScalar>(_: Scalar.Type) {
        let saved = fegetround()
        defer { fesetround(saved) }
        var random = TestRandom(seed: 3)
        let inputs: [Scalar] = [0, -0.0, -1e-30, -0.5, -1, -20, -80, -700, -745, -2000, -.infinity]
            + (0..<2_000).map { _ in Scalar(random.uniform(-800, 0)) }
        for mode in [saved, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO] {   // saved: to nearest
            XCTAssertEqual(fesetround(mode), 0)
            var values = inputs
            values.withUnsafeMutableBufferPointer { Scalar.exponentiateNonPositive($0.baseAddress!, count: $0.count) }
            fesetround(saved)
            let lowest = Scalar(Double(Int(Scalar.leastNormalMagnitude.exponent) - Scalar.significandBitCount - 2) * 0.6931471805599453)
            for (x, result) in zip(inputs, values) {
                XCTAssertTrue(result >= 0 && result <= 1, "\(Scalar.self) mode \(mode): e^\(x) = \(result)")
                if x < lowest { XCTAssertEqual(result, 0, "\(Scalar.self) mode \(mode): e^\(x)") }
            }
        }
    }

    /// A value's result does not depend on where it sits in the buffer or on the
    /// buffer's length. (`swift test` builds without optimisation, so here the loop
    /// is not vectorised; Tests/c/test_predict.c checks the same property on the
    /// release library, where it is.)
    func testResultDoesNotDependOnPosition() {
        checkPositionIndependence(Float.self)
        checkPositionIndependence(Double.self)
    }

    func checkPositionIndependence<Scalar: MLPScalar>(_: Scalar.Type) {
        var random = TestRandom(seed: 5)
        let inputs = (0..<37).map { _ in Scalar(random.uniform(-30, 0)) }
        var whole = inputs
        whole.withUnsafeMutableBufferPointer { Scalar.exponentiateNonPositive($0.baseAddress!, count: $0.count) }
        for (index, x) in inputs.enumerated() {
            var single = [x]
            single.withUnsafeMutableBufferPointer { Scalar.exponentiateNonPositive($0.baseAddress!, count: 1) }
            XCTAssertEqual(single[0], whole[index], "\(Scalar.self) element \(index)")
        }
    }
}

extension BinaryFloatingPoint {
    /// The value `steps` representable numbers away (negative: toward -infinity).
    func advanced(byUlps steps: Int) -> Self {
        var value = self
        for _ in 0..<abs(steps) { value = steps > 0 ? value.nextUp : value.nextDown }
        return value
    }
}
