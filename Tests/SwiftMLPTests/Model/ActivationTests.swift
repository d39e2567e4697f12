// Tests of Activation.swift: the fused bias + activation forward kernel, the backward
// kernel (dZ from the cached output, with the bias gradient), numerical safety of the
// logistic and softmax, and softmax rows summing to one through predict.

import Foundation
import XCTest
@testable import SwiftMLP

final class ActivationTests: XCTestCase {

    /// Runs the forward kernel on copies, the product updated in place in Z as
    /// training does, and returns (z + b, f(z + b)).
    func forward(_ activation: Activation, z: [Double], bias: [Double], rows: Int, slope: Double = 0.01)
        -> (z: [Double], a: [Double]) {
        let result = forward(activation, .inPlaceInZ, product: z, bias: bias, rows: rows, slope: slope)
        return (result.z, result.a)
    }

    /// How `forwardBiasActivation`'s buffers meet: the product updated in place in Z
    /// (training at one BLAS thread), apart from Z (more threads), and without Z,
    /// updated in place in A (inference) or apart from it.
    enum BufferArrangement: CaseIterable {
        case inPlaceInZ, apartFromZ, inPlaceInA, apartWithoutZ
    }

    /// Runs the forward kernel with the buffers arranged so; returns (Z, A, the
    /// product afterwards). Z is NaN where the kernel keeps no Z.
    func forward<S: MLPScalar>(
        _ activation: Activation, _ arrangement: BufferArrangement, product: [S], bias: [S], rows: Int, slope: S
    ) -> (z: [S], a: [S], product: [S]) {
        var source = product
        var z = [S](repeating: .nan, count: product.count)
        var a = [S](repeating: .nan, count: product.count)
        if arrangement == .inPlaceInZ { z = product }
        if arrangement == .inPlaceInA { a = product }
        source.withUnsafeMutableBufferPointer { pb in
            z.withUnsafeMutableBufferPointer { zb in
                a.withUnsafeMutableBufferPointer { ab in
                    bias.withUnsafeBufferPointer { bb in
                        let (read, keptZ): (UnsafeMutablePointer<S>, UnsafeMutablePointer<S>?)
                        switch arrangement {
                        case .inPlaceInZ: (read, keptZ) = (zb.baseAddress!, zb.baseAddress!)
                        case .apartFromZ: (read, keptZ) = (pb.baseAddress!, zb.baseAddress!)
                        case .inPlaceInA: (read, keptZ) = (ab.baseAddress!, nil)
                        case .apartWithoutZ: (read, keptZ) = (pb.baseAddress!, nil)
                        }
                        forwardBiasActivation(activation, leakySlope: slope, product: read, z: keptZ,
                                              a: ab.baseAddress!, bias: bb.baseAddress!, rows: rows, width: bias.count)
                    }
                }
            }
        }
        return (z, a, source)
    }

    /// Every arrangement gives Z and A with the same bits as the product updated in
    /// place in Z, for every activation, in Float and Double; a product apart is only
    /// read; relu and leaky relu match their definitions bit for bit, edge values
    /// (NaN, ±0, ±inf, subnormals) included.
    func testEveryBufferArrangementGivesTheSameBits() {
        checkBufferArrangements(Float.self)
        checkBufferArrangements(Double.self)
    }

    func checkBufferArrangements<S: MLPScalar>(_: S.Type) {
        var random = TestRandom(seed: 11)
        let rows = 5, width = 7, slope = S(0.1)
        for activation in [Activation.identity, .sigmoid, .tanh, .relu, .leakyReLU, .softmax] {
            var product = random.array(rows * width, -6, 6).map { S($0) }
            var bias = random.array(width, -1, 1).map { S($0) }
            if activation != .softmax {
                // Edge values in the first row (bias 0 there).
                let edges: [S] = [.nan, -0.0, 0, -.infinity, .infinity, -.leastNonzeroMagnitude, .leastNonzeroMagnitude]
                for (j, value) in edges.enumerated() { product[j] = value; bias[j] = 0 }
            }
            let reference = forward(activation, .inPlaceInZ, product: product, bias: bias, rows: rows, slope: slope)
            if activation == .relu || activation == .leakyReLU {
                let expected = reference.z.map { $0 > 0 ? $0 : (activation == .relu ? 0 : slope * $0) }
                XCTAssertTrue(bitsEqual(reference.a, expected), "\(S.self) \(activation) definition")
            }
            for arrangement in BufferArrangement.allCases where arrangement != .inPlaceInZ {
                let result = forward(activation, arrangement, product: product, bias: bias, rows: rows, slope: slope)
                let context = "\(S.self) \(activation), \(arrangement)"
                XCTAssertTrue(bitsEqual(result.a, reference.a), "\(context): A")
                if arrangement == .apartFromZ {
                    XCTAssertTrue(bitsEqual(result.z, reference.z), "\(context): Z")
                } else {
                    XCTAssertTrue(result.z.allSatisfy(\.isNaN), "\(context): Z written")
                }
                if arrangement != .inPlaceInA {
                    XCTAssertTrue(bitsEqual(result.product, product), "\(context): product written")
                }
            }
        }
    }

    /// Runs the backward kernel and returns (dZ, bias gradient).
    func backward(_ activation: Activation, upstream: [Double], a: [Double], rows: Int, width: Int,
                  slope: Double = 0.01) -> (dz: [Double], db: [Double]) {
        var dz = [Double](repeating: .nan, count: upstream.count)
        var db = [Double](repeating: .nan, count: width)
        upstream.withUnsafeBufferPointer { ub in
            a.withUnsafeBufferPointer { ab in
                dz.withUnsafeMutableBufferPointer { dzb in
                    db.withUnsafeMutableBufferPointer { dbb in
                        backwardActivationBiasGradient(
                            activation, leakySlope: slope, upstream: ub.baseAddress!, a: ab.baseAddress!,
                            dz: dzb.baseAddress!, biasGradient: dbb.baseAddress!, rows: rows, width: width)
                    }
                }
            }
        }
        return (dz, db)
    }

    /// Each activation against its closed form on random rows, bias added per column.
    /// Same libm functions on the same argument (z + b is one rounding in both): the
    /// only differences are e/(1+e) vs 1/(1+e^-z) for negative sigmoid inputs and the
    /// max-shift in softmax, a few ulps: 1e-14.
    func testForwardMatchesClosedForms() {
        var random = TestRandom(seed: 1)
        let rows = 5, width = 4
        let z = random.array(rows * width, -6, 6)
        let bias = random.array(width, -1, 1)
        let slope = 0.3
        for activation in Activation.allCases {
            let (zOut, a) = forward(activation, z: z, bias: bias, rows: rows, slope: slope)
            var expectedZ = z
            for i in 0..<rows { for j in 0..<width { expectedZ[i * width + j] += bias[j] } }
            XCTAssertEqual(bits(zOut), bits(expectedZ), "z must become z + b, \(activation)")
            var expected: [Double] = []
            for i in 0..<rows {
                expected += referenceActivate(activation, Array(expectedZ[(i * width)..<((i + 1) * width)]), slope: slope)
            }
            assertClose(a, expected, tolerance: 1e-14, "\(activation)")
        }
    }

    /// The logistic never overflows: e^x is evaluated only for x <= 0. Far tails
    /// saturate to exactly 0 or 1, and the negative tail keeps full relative accuracy
    /// (1 / (1 + e^30) computed naively would also be fine, but e^-(-800) overflows).
    func testLogisticIsStableAndAccurateInTheTails() {
        XCTAssertEqual(logistic(-800.0), 0)
        XCTAssertEqual(logistic(800.0), 1)
        XCTAssertEqual(logistic(Float(-200)), 0)
        XCTAssertEqual(logistic(Float(200)), 1)
        XCTAssertEqual(logistic(0.0), 0.5)
        // e^-30 / (1 + e^-30): relative accuracy to a few ulps.
        XCTAssertEqual(logistic(-30.0), exp(-30.0) / (1 + exp(-30.0)), accuracy: 1e-15 * exp(-30.0))
        XCTAssertEqual(logistic(-700.0), exp(-700.0), accuracy: 1e-15 * exp(-700.0))
        for z in stride(from: -20.0, through: 20.0, by: 0.37) {
            XCTAssertEqual(logistic(z) + logistic(-z), 1, accuracy: 1e-15, "symmetry at \(z)")  // two roundings each: a few ulps of 1
        }
    }

    /// `sigmoid` divides the scaled-up exponential y = e 2^m by 2^m + y instead of e by
    /// 1 + e: the same bits, in both types, for a spread of every magnitude (a fixed
    /// stride through the bit patterns), zeros, infinities, NaN, and the inputs around
    /// where e^-|z| turns subnormal and where it becomes 0. An exact comparison: the
    /// claim is that no rounding changes.
    func testSigmoidEqualsLogisticOfTheExponentialBitForBit() {
        func check<S: MLPScalar>(_ z: S, _ name: String) -> Bool {
            let expected = vectorLogistic(z, exponential: S.exponentialOfNonPositive(-abs(z)))
            let got = sigmoid(z)
            // Equal values of one sign are equal bits (NaN apart).
            guard (got == expected && got.sign == expected.sign) || (got.isNaN && expected.isNaN) else {
                XCTFail("\(name) sigmoid(\(z)) = \(got), e / (1 + e) gives \(expected)")
                return false
            }
            return true
        }
        func edges<S: MLPScalar>(_: S.Type) -> [S] {
            var values: [S] = [0, -0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
            // e^-|z| turns subnormal below z = -(minExponent) ln 2 and is 0 below x_min.
            for center in [S(Double(S.leastNormalMagnitude.exponent) * log(2.0)), S.exponentialLowestInput] {
                var below = center, above = center
                for _ in 0..<200 {
                    values += [below, above, -below, -above]
                    below = below.nextDown
                    above = above.nextUp
                }
            }
            return values
        }
        for z in edges(Float.self) where !check(z, "Float") { return }
        for z in edges(Double.self) where !check(z, "Double") { return }
        for bits in stride(from: UInt32(0), to: UInt32.max - 8191, by: 8191) {
            guard check(Float(bitPattern: bits), "Float") else { return }
        }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<300_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            guard check(Double(bitPattern: state), "Double") else { return }
        }
    }

    /// Softmax shifts by the row maximum: huge logits give the exact limit instead of
    /// inf/inf = NaN, rows sum to 1 within a few ulps, and it works in place (a == z),
    /// as predict uses it.
    func testSoftmaxIsStableAndRowsSumToOne() {
        let (_, a) = forward(.softmax, z: [1000, 1000, 0, -1000, 0, 1000], bias: [0, 0, 0], rows: 2)
        XCTAssertEqual(a[0], 0.5); XCTAssertEqual(a[1], 0.5); XCTAssertEqual(a[2], 0)
        XCTAssertEqual(a[3], 0); XCTAssertEqual(a[4], 0); XCTAssertEqual(a[5], 1)
        var random = TestRandom(seed: 2)
        let rows = 50, width = 7
        let z = random.array(rows * width, -40, 40)
        let (_, b) = forward(.softmax, z: z, bias: random.array(width, -5, 5), rows: rows)
        for i in 0..<rows {
            // Sum of 7 values each within ~2 ulps: 1e-15.
            XCTAssertEqual(b[(i * width)..<((i + 1) * width)].reduce(0, +), 1, accuracy: 1e-15)
            XCTAssertTrue(b[(i * width)..<((i + 1) * width)].allSatisfy { $0 >= 0 && $0 <= 1 })
        }
        // Float: e^100 overflows Float, the shifted form does not.
        var zf: [Float] = [100, 99, -100]
        let bf: [Float] = [0, 0, 0]
        zf.withUnsafeMutableBufferPointer { p in
            bf.withUnsafeBufferPointer { bb in
                forwardBiasActivation(.softmax, leakySlope: Float(0.01), product: p.baseAddress!,
                                      z: p.baseAddress!, a: p.baseAddress!,
                                      bias: bb.baseAddress!, rows: 1, width: 3)
            }
        }
        XCTAssertTrue(zf.allSatisfy(\.isFinite))
        XCTAssertEqual(zf.reduce(0, +), 1, accuracy: 1e-6)  // Float: 3 terms, ~2 ulps each.
        XCTAssertEqual(zf[0], Float(1 / (1 + exp(-1.0))), accuracy: 1e-6)
    }

    /// Softmax outputs through a whole network's `predict` (Float64 and Float32) sum to 1
    /// per row, including rows with large inputs.
    func testPredictSoftmaxRowsSumToOne() throws {
        var random = TestRandom(seed: 4)
        let configuration = NetworkConfiguration(
            layerSizes: [4, 6, 5], activations: [.relu, .softmax], loss: .softmaxCrossEntropy, seed: 8)
        let net = try Network<Double>(configuration)
        let netF = try Network<Float>(configuration)
        let rows = 20
        let x = random.array(rows * 4, -50, 50)
        let out = try net.predict(x)
        let outF = try netF.predict(x.map(Float.init))
        for i in 0..<rows {
            XCTAssertEqual(out[(i * 5)..<((i + 1) * 5)].reduce(0, +), 1, accuracy: 1e-15)  // 5 terms, ulps.
            XCTAssertEqual(outF[(i * 5)..<((i + 1) * 5)].reduce(0, +), 1, accuracy: 1e-6)  // Float ulps.
            XCTAssertTrue(out[(i * 5)..<((i + 1) * 5)].allSatisfy { $0 >= 0 && $0 <= 1 })
        }
    }

    /// dZ = dA * f'(z), taken from the cached output, against the derivative written in
    /// terms of z; softmax against its explicit Jacobian; the bias gradient equals the
    /// column sums of dZ. Exact arithmetic in both (a few roundings): 1e-13.
    func testBackwardMatchesDerivativesAndSumsBiasGradient() {
        var random = TestRandom(seed: 5)
        let rows = 6, width = 5, slope = 0.2
        var z = random.array(rows * width, -4, 4)
        // Keep relu-type inputs off the kink, where the derivative is undefined.
        z = z.map { abs($0) < 1e-3 ? 0.5 : $0 }
        let zero = [Double](repeating: 0, count: width)
        let upstream = random.array(rows * width, -2, 2)
        for activation in Activation.allCases {
            let (zOut, a) = forward(activation, z: z, bias: zero, rows: rows, slope: slope)
            let (dz, db) = backward(activation, upstream: upstream, a: a, rows: rows, width: width, slope: slope)
            var expected: [Double] = []
            for i in 0..<rows {
                let r = (i * width)..<((i + 1) * width)
                expected += referenceActivationBackward(activation, z: Array(zOut[r]), a: Array(a[r]),
                                                        upstream: Array(upstream[r]), slope: slope)
            }
            assertClose(dz, expected, tolerance: 1e-13, "dz \(activation)")
            let sums = (0..<width).map { j in (0..<rows).map { dz[$0 * width + j] }.reduce(0, +) }
            assertClose(db, sums, tolerance: 1e-13, "bias gradient \(activation)")
        }
    }

    /// The backward kernel may write dZ over its upstream (dz == upstream), and the
    /// bias gradient is overwritten, not accumulated into.
    func testBackwardInPlaceAndOverwritesBiasGradient() {
        let a = [0.2, 0.7, -0.1, 0.0]
        let upstream = [1.0, -2.0, 3.0, 4.0]
        for activation in [Activation.identity, .sigmoid, .tanh, .relu, .leakyReLU] {
            let (expected, expectedDb) = backward(activation, upstream: upstream, a: a, rows: 2, width: 2)
            var g = upstream
            var db = [Double](repeating: 1e9, count: 2)
            g.withUnsafeMutableBufferPointer { gb in
                a.withUnsafeBufferPointer { ab in
                    db.withUnsafeMutableBufferPointer { dbb in
                        backwardActivationBiasGradient(activation, leakySlope: 0.01, upstream: gb.baseAddress!,
                                                       a: ab.baseAddress!, dz: gb.baseAddress!,
                                                       biasGradient: dbb.baseAddress!, rows: 2, width: 2)
                    }
                }
            }
            XCTAssertEqual(bits(g), bits(expected), "\(activation)")
            XCTAssertEqual(bits(db), bits(expectedDb), "\(activation)")
        }
    }

    /// leakyReLU with slope 0 is relu; its negative side is slope * z.
    func testLeakyReLUSlope() {
        let z = [-2.0, -0.5, 0.5, 3.0]
        let zero = [0.0, 0.0, 0.0, 0.0]
        XCTAssertEqual(forward(.leakyReLU, z: z, bias: zero, rows: 1, slope: 0).a.map { $0 + 0 },
                       forward(.relu, z: z, bias: zero, rows: 1).a)
        XCTAssertEqual(forward(.leakyReLU, z: z, bias: zero, rows: 1, slope: 0.25).a, [-0.5, -0.125, 0.5, 3.0])
        let (dz, _) = backward(.leakyReLU, upstream: [1, 1, 1, 1], a: [-0.5, -0.125, 0.5, 3.0],
                               rows: 1, width: 4, slope: 0.25)
        XCTAssertEqual(dz, [0.25, 0.25, 1, 1])
    }
}
