// Tests of Scalar.swift: the finiteness test every check in the engine is built on.

import Foundation
import XCTest
@testable import SwiftMLP

final class ScalarTests: XCTestCase {
    /// `nonFiniteBits` marks exactly the infinities and NaNs, for every exponent and
    /// both signs, including the extremes around them.
    func testNonFiniteBitsMarksExactlyInfinitiesAndNaNs() {
        checkNonFiniteBits(Float.self)
        checkNonFiniteBits(Double.self)
    }

    func checkNonFiniteBits<Scalar: MLPScalar>(_: Scalar.Type) {
        let finite: [Scalar] = [0, -0, 1, -1, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                                .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                .ulpOfOne, 3.5e-3, -7e10]
        let nonFinite: [Scalar] = [.infinity, -.infinity, .nan, -.nan, .signalingNaN]
        for value in finite {
            XCTAssertFalse(Scalar.containsNonFinite(Scalar.nonFiniteBits(value)), "\(Scalar.self) \(value)")
        }
        for value in nonFinite {
            XCTAssertTrue(Scalar.containsNonFinite(Scalar.nonFiniteBits(value)), "\(Scalar.self) \(value)")
            // One bad value among many good ones still shows in the OR.
            var bits = Scalar.NonFiniteBits(0)
            for other in finite { bits |= Scalar.nonFiniteBits(other) }
            bits |= Scalar.nonFiniteBits(value)
            XCTAssertTrue(Scalar.containsNonFinite(bits), "\(Scalar.self) \(value) among finite values")
        }
        var allFinite = Scalar.NonFiniteBits(0)
        for value in finite { allFinite |= Scalar.nonFiniteBits(value) }
        XCTAssertFalse(Scalar.containsNonFinite(allFinite), "\(Scalar.self): OR of finite values")
    }

    /// The checks do not depend on the caller's rounding mode: under rounding toward
    /// -infinity, x - x is -0 for finite x, which a sign-bit-blind test would take
    /// for a non-finite value (an earlier version did). A step, a prediction and a
    /// non-finite input are all handled as under round-to-nearest.
    func testChecksHoldUnderDirectedRounding() throws {
        let net = try Network<Float>(NetworkConfiguration(
            layerSizes: [2, 3, 1], activations: [.relu, .sigmoid], loss: .binaryCrossEntropy, seed: 2))
        let x: [Float] = [0.5, -0.25, 1, 0.75], y: [Float] = [1, 0]
        let saved = fegetround()
        XCTAssertEqual(fesetround(FE_DOWNWARD), 0)
        defer { fesetround(saved) }
        try net.step(inputs: x, targets: y)
        try net.setOptimizer(OptimizerConfiguration(kind: .adam))
        try net.step(inputs: x, targets: y)
        let outputs = try net.predict(x)
        XCTAssertTrue(outputs.allSatisfy(\.isFinite))
        assertThrowsMLP(.nonFinite, "an infinite input is still caught") { () throws(MLPError) in
            try net.predict([Float.infinity, 0])
        }
    }
}
