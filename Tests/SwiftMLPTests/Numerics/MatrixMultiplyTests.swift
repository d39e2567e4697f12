// Tests of MatrixMultiply.swift: the plain-loop path (m n k <= smallProductLimit) and
// the OpenBLAS path compute the same row-major products, for every transpose pair.

import XCTest
@testable import SwiftMLP

final class MatrixMultiplyTests: XCTestCase {

    /// Naive C = op(A) op(B) with A stored (transposeA ? k x m : m x k) and B stored
    /// (transposeB ? n x k : k x n), tight strides.
    func naive(_ tA: Bool, _ tB: Bool, m: Int, n: Int, k: Int, a: [Double], b: [Double]) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += (tA ? a[p * m + i] : a[i * k + p]) * (tB ? b[j * k + p] : b[p * n + j]) }
                c[i * n + j] = s
            }
        }
        return c
    }

    /// Shapes on both sides of the limit, every transpose pair, output pre-filled with
    /// garbage (beta = 0 must overwrite it). Sums of <= 60 products of O(1) values in
    /// Float64 in different orders: 1e-13.
    func testBothPathsMatchNaiveProduct() {
        var random = TestRandom(seed: 41)
        let shapes = [(1, 1, 1), (3, 5, 2), (7, 1, 6), (16, 16, 16), (17, 16, 16), (5, 60, 30), (2, 3, 700), (40, 41, 3)]
        for (m, n, k) in shapes {
            for (tA, tB) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = random.array(m * k, -1, 1), b = random.array(k * n, -1, 1)
                var c = [Double](repeating: .nan, count: m * n)
                a.withUnsafeBufferPointer { ab in
                    b.withUnsafeBufferPointer { bb in
                        c.withUnsafeMutableBufferPointer { cb in
                            multiply(transposeA: tA, transposeB: tB, m: m, n: n, k: k,
                                     a: ab.baseAddress!, lda: tA ? m : k, b: bb.baseAddress!, ldb: tB ? k : n,
                                     c: cb.baseAddress!, ldc: n)
                        }
                    }
                }
                assertClose(c, naive(tA, tB, m: m, n: n, k: k, a: a, b: b), tolerance: 1e-13,
                            "m \(m) n \(n) k \(k) tA \(tA) tB \(tB) (\(m * n * k > smallProductLimit ? "BLAS" : "loops"))")
            }
        }
    }

    /// NaN in an input reaches the product even when multiplied by zero (IEEE), on both
    /// paths: the weight gradient X^T dZ must carry a NaN input even where relu zeroed
    /// dZ, or a non-finite batch could go unnoticed.
    func testNaNTimesZeroPropagatesOnBothPaths() {
        for k in [4, 5000] {   // loops, then BLAS (1 * 1 * 5000 > limit)
            var a = [Double](repeating: 1, count: k); a[k / 2] = .nan
            let b = [Double](repeating: 0, count: k)
            var c = [0.0]
            a.withUnsafeBufferPointer { ab in
                b.withUnsafeBufferPointer { bb in
                    c.withUnsafeMutableBufferPointer { cb in
                        multiply(transposeA: true, transposeB: false, m: 1, n: 1, k: k,
                                 a: ab.baseAddress!, lda: 1, b: bb.baseAddress!, ldb: 1, c: cb.baseAddress!, ldc: 1)
                    }
                }
            }
            XCTAssertTrue(c[0].isNaN, "k = \(k)")
        }
    }

    /// `productGoesToBLAS` is m n k > smallProductLimit, and answers without trapping
    /// when m n k does not fit an Int.
    func testProductGoesToBLASMatchesTheProductAndNeverTraps() {
        let sizes = [1, 2, 3, 4, 15, 16, 17, 63, 64, 65, 4095, 4096, 4097, 1 << 20]
        for m in sizes {
            for n in sizes {
                for k in sizes {
                    let (mn, o1) = m.multipliedReportingOverflow(by: n)
                    let (mnk, o2) = mn.multipliedReportingOverflow(by: k)
                    XCTAssertEqual(productGoesToBLAS(m: m, n: n, k: k), o1 || o2 || mnk > smallProductLimit, "\(m) \(n) \(k)")
                }
            }
        }
        XCTAssertTrue(productGoesToBLAS(m: Int.max, n: Int.max, k: Int.max))
        XCTAssertTrue(productGoesToBLAS(m: 1 << 31, n: 1 << 31, k: 1 << 31))
    }

    /// Every path of `multiply` at the sizes where the choice switches (m n k at
    /// smallProductLimit and one above it; batch 1 and small batches), every
    /// transpose pair, with and without the fused plain-SGD update, in Float and
    /// Double, against the exact-enough product of the rounded inputs in Double.
    /// Tolerance: a sum of k products in any order (loops or BLAS, with or without
    /// FMA) is within about k u sum_p |a_p b_p| (u = unit roundoff of the type);
    /// 4 (k + 2) u leaves room for the update's two more roundings (and |c0|) and
    /// second-order terms. An indexing or update mistake is off by O(1).
    func testEveryPathAtTheSwitchInFloatAndDouble() {
        checkSwitch(Float.self)
        checkSwitch(Double.self)
    }

    func checkSwitch<Scalar: MLPScalar>(_: Scalar.Type) {
        var random = TestRandom(seed: 77)
        let limit = smallProductLimit
        // (m, n, k): batch 1 forward (1 x k by k x n), the weight gradient of one row
        // (k = 1), small batches, each at the limit and one past it.
        let shapes = [(1, 64, 64), (1, 64, 65), (1, 16, limit / 16), (1, 16, limit / 16 + 1),
                      (64, 64, 1), (64, 65, 1), (4096, 1, 1), (4097, 1, 1),
                      (4, 32, 32), (4, 32, 33), (16, 16, 16), (17, 16, 16), (3, 5, 2)]
        let u = Double(Scalar.ulpOfOne) / 2
        for (m, n, k) in shapes {
            for (tA, tB) in [(false, false), (true, false), (false, true), (true, true)] {
                for fused in [false, true] {
                    let a = random.array(m * k, -1, 1), b = random.array(k * n, -1, 1)
                    let c0 = random.array(m * n, -1, 1)
                    let aS = a.map { Scalar($0) }, bS = b.map { Scalar($0) }
                    var c = fused ? c0.map { Scalar($0) } : [Scalar](repeating: .nan, count: m * n)
                    let lr = 0.25
                    aS.withUnsafeBufferPointer { ab in
                        bS.withUnsafeBufferPointer { bb in
                            c.withUnsafeMutableBufferPointer { cb in
                                multiply(transposeA: tA, transposeB: tB, m: m, n: n, k: k,
                                         a: ab.baseAddress!, lda: tA ? m : k, b: bb.baseAddress!, ldb: tB ? k : n,
                                         c: cb.baseAddress!, ldc: n,
                                         sgdStep: fused ? PlainSGDRate(learningRate: Scalar(lr), weightDecay: 0) : nil)
                            }
                        }
                    }
                    // exact products of the rounded inputs, in Double
                    let aR = aS.map { Double($0) }, bR = bS.map { Double($0) }
                    let product = naive(tA, tB, m: m, n: n, k: k, a: aR, b: bR)
                    let magnitude = naive(tA, tB, m: m, n: n, k: k, a: aR.map(abs), b: bR.map(abs))
                    let path = productGoesToBLAS(m: m, n: n, k: k) ? "BLAS" : "loops"
                    for e in 0..<(m * n) {
                        let start = fused ? Double(Scalar(c0[e])) : 0
                        let expected = fused ? start - lr * product[e] : product[e]
                        let bound = 4 * Double(k + 2) * u * (fused ? abs(start) + lr * magnitude[e] : magnitude[e])
                        XCTAssertEqual(Double(c[e]), expected, accuracy: bound,
                                       "\(Scalar.self) m \(m) n \(n) k \(k) tA \(tA) tB \(tB) fused \(fused) (\(path)) element \(e)")
                        if abs(Double(c[e]) - expected) > bound { return }
                    }
                }
            }
        }
    }

    /// The register-blocked rows (`rowTimesMatrix`: blocks of 16, 8 and 4 columns,
    /// then single columns), the outer products of the backward pass (k = 1: TN,
    /// and NT through a one-output layer; `outerProduct`, by the same column blocks)
    /// and the dot products of the other shapes give every element as
    /// `columnsSummedInOrder` says: the columns of whole 64 bytes of a row as the sum
    /// 0 + a_0 b_0 + a_1 b_1 + ... in that order, the last ones as the four-part sum
    /// (s_0 + s_1) + (s_2 + s_3), s_r the sequential sum of the terms with p = r
    /// (mod 4); bit for bit those sums in the same type (same seed, same bits), at
    /// every width from 1 to 37 (each block boundary and every tail), depths with
    /// each remainder mod 4, with row strides wider than the rows (except NT's B,
    /// tight so that k = 1 takes the blocked path, and C's, tight for one column of
    /// 20 rows so that it takes the scaled column). Exact equality: the order of the
    /// sum is the contract.
    func testSmallPathsSumInTheirOrderBitForBit() {
        checkSumOrder(Float.self)
        checkSumOrder(Double.self)
    }

    func checkSumOrder<Scalar: MLPScalar>(_: Scalar.Type) {
        var random = TestRandom(seed: 5)
        let inOrderWidth = 64 / MemoryLayout<Scalar>.size
        for n in 1...37 {
            for (m, k) in [(1, 1), (1, 2), (1, 7), (3, 1), (2, 5), (2, 6), (5, 16), (20, 1)] {
                for (tA, tB) in [(false, false), (true, false), (false, true), (true, true)] {
                    // One tight column (TN, n = 1, ldc = 1, m >= 4) takes the scaled column.
                    let tightColumn = tA && !tB && n == 1 && m >= 4
                    let ldb = tB ? k : n + 3, ldc = tightColumn ? 1 : n + 2, lda = tA ? m + 1 : k + 1
                    let a = random.array(tA ? k * lda : m * lda, -1, 1).map { Scalar($0) }
                    let b = random.array(tB ? n * ldb : k * ldb, -1, 1).map { Scalar($0) }
                    var c = [Scalar](repeating: .nan, count: m * ldc)
                    XCTAssertFalse(productGoesToBLAS(m: m, n: n, k: k))
                    a.withUnsafeBufferPointer { ab in
                        b.withUnsafeBufferPointer { bb in
                            c.withUnsafeMutableBufferPointer { cb in
                                multiply(transposeA: tA, transposeB: tB, m: m, n: n, k: k,
                                         a: ab.baseAddress!, lda: lda, b: bb.baseAddress!, ldb: ldb,
                                         c: cb.baseAddress!, ldc: ldc)
                            }
                        }
                    }
                    for i in 0..<m {
                        for j in 0..<n {
                            var parts = [Scalar](repeating: 0, count: 4)
                            let inOrder = j < n - n % inOrderWidth
                            for p in 0..<k {
                                parts[inOrder ? 0 : p % 4] +=
                                    (tA ? a[p * lda + i] : a[i * lda + p]) * (tB ? b[j * ldb + p] : b[p * ldb + j])
                            }
                            let total = inOrder ? parts[0] : (parts[0] + parts[1]) + (parts[2] + parts[3])
                            let got = c[i * ldc + j]   // equal and same sign: the same bits
                            XCTAssertTrue(got == total && got.sign == total.sign,
                                          "\(got) != \(total): \(Scalar.self) m \(m) n \(n) k \(k) tA \(tA) tB \(tB) element \(i), \(j)")
                        }
                    }
                }
            }
        }
    }

    /// The plain-SGD update fused into the weight gradient of one row (TN, k = 1,
    /// `outerProduct` with `PlainSGDRate`) gives each parameter the bits of
    /// `PlainSGDRate.updated(p, 0 + a_i b_j)`, at every width from 1 to 37 (each
    /// column block and tail), with and without weight decay, rows wider than the
    /// width (the padding untouched), in Float and Double. Exact equality: the same
    /// operations on each element.
    func testFusedOuterProductUpdateIsThePlainSGDRuleBitForBit() {
        checkFusedOuterProduct(Float.self)
        checkFusedOuterProduct(Double.self)
    }

    func checkFusedOuterProduct<Scalar: MLPScalar>(_: Scalar.Type) {
        var random = TestRandom(seed: 8)
        for n in 1...37 {
            for m in [1, 3, 20] {
                for weightDecay in [0.0, 0.01] {
                    let ldc = n + 2
                    let a = random.array(m, -1, 1).map { Scalar($0) }, b = random.array(n, -1, 1).map { Scalar($0) }
                    let c0 = random.array(m * ldc, -1, 1).map { Scalar($0) }
                    let rate = PlainSGDRate(learningRate: Scalar(0.3), weightDecay: Scalar(weightDecay))
                    var c = c0
                    a.withUnsafeBufferPointer { ab in
                        b.withUnsafeBufferPointer { bb in
                            c.withUnsafeMutableBufferPointer { cb in
                                multiply(transposeA: true, transposeB: false, m: m, n: n, k: 1,
                                         a: ab.baseAddress!, lda: m, b: bb.baseAddress!, ldb: n,
                                         c: cb.baseAddress!, ldc: ldc, sgdStep: rate)
                            }
                        }
                    }
                    for i in 0..<m {
                        for j in 0..<ldc {
                            let e = i * ldc + j
                            let expected = j < n ? rate.updated(c0[e], gradient: 0 + a[i] * b[j]) : c0[e]
                            XCTAssertTrue(c[e] == expected && c[e].sign == expected.sign,   // the same bits
                                          "\(c[e]) != \(expected): \(Scalar.self) n \(n) m \(m) wd \(weightDecay) element \(i), \(j)")
                        }
                    }
                }
            }
        }
    }

    /// `denseRow` (the small layers' product with the bias and the activation fused
    /// into it), through each activation's layer kernel, gives the bits of the
    /// product (`multiply`) followed by the
    /// bias and activation pass (`forwardBiasActivation`), in Z and A, for every
    /// elementwise activation, with and without Z, at every width from 1 to 37 (each
    /// block of 32 (Float), 16, 8, 4 and 2 columns, and the single last column) and depths 1 to 16, in Float and
    /// Double, edge values (NaN, ±0, ±inf) included. Exact equality: the same sums
    /// in the same order and the same elementwise functions.
    func testDenseRowEqualsProductThenPassBitForBit() {
        checkDenseRow(Float.self)
        checkDenseRow(Double.self)
    }

    func checkDenseRow<Scalar: MLPScalar>(_: Scalar.Type) {
        var random = TestRandom(seed: 61)
        let slope = Scalar(0.1)
        for n in 1...37 {
            for k in [1, 2, 7, 16] {
                // Weights then biases, as the parameter layout stores them.
                var parameters = random.array(k * n + n, -1, 1).map { Scalar($0) }
                var x = random.array(k, -3, 3).map { Scalar($0) }
                if n >= 5 && k == 2 {
                    // Edge values through the products: a NaN input, and ±inf, ±0 sums.
                    x = [.nan, 1]
                    parameters[k * n + 1] = .infinity
                    parameters[k * n + 2] = -.infinity
                    parameters[k * n + 3] = 0
                    parameters[1] = 0; parameters[n + 1] = 0
                }
                for activation in [Activation.identity, .sigmoid, .tanh, .relu, .leakyReLU] {
                    var product = [Scalar](repeating: .nan, count: n)
                    var expectedZ = [Scalar](repeating: .nan, count: n)
                    var expectedA = [Scalar](repeating: .nan, count: n)
                    var z = [Scalar](repeating: .nan, count: n)
                    var a = [Scalar](repeating: .nan, count: n)
                    var aWithoutZ = [Scalar](repeating: .nan, count: n)
                    parameters.withUnsafeBufferPointer { pb in
                        let w = pb.baseAddress!
                        x.withUnsafeBufferPointer { xb in
                            product.withUnsafeMutableBufferPointer { prb in
                                multiply(transposeA: false, transposeB: false, m: 1, n: n, k: k,
                                         a: xb.baseAddress!, lda: k, b: w, ldb: n, c: prb.baseAddress!, ldc: n)
                                expectedZ.withUnsafeMutableBufferPointer { ezb in
                                    expectedA.withUnsafeMutableBufferPointer { eab in
                                        forwardBiasActivation(activation, leakySlope: slope, product: prb.baseAddress!,
                                                              z: ezb.baseAddress!, a: eab.baseAddress!,
                                                              bias: w + k * n, rows: 1, width: n)
                                    }
                                }
                            }
                            z.withUnsafeMutableBufferPointer { zb in
                                a.withUnsafeMutableBufferPointer { ab in
                                    denseRow(activation, slope: slope, xb.baseAddress!, w, z: zb.baseAddress!,
                                             into: ab.baseAddress!, n: n, k: k)
                                }
                            }
                            aWithoutZ.withUnsafeMutableBufferPointer { ab in
                                denseRow(activation, slope: slope, xb.baseAddress!, w, z: nil,
                                         into: ab.baseAddress!, n: n, k: k)
                            }
                        }
                    }
                    let context = "\(Scalar.self) \(activation) n \(n) k \(k)"
                    XCTAssertTrue(bitsEqual(z, expectedZ), "\(context): Z \(z) != \(expectedZ)")
                    XCTAssertTrue(bitsEqual(a, expectedA), "\(context): A \(a) != \(expectedA)")
                    XCTAssertTrue(bitsEqual(aWithoutZ, expectedA), "\(context): A without Z")
                }
            }
        }
    }

    /// `denseRow` through the layer kernel of `activation` (`denseRowsKernel`, this
    /// build's table): each activation, type and width (four outputs have their own)
    /// must hand out its own kernel.
    func denseRow<Scalar: MLPScalar>(
        _ activation: Activation, slope: Scalar, _ x: UnsafePointer<Scalar>, _ w: UnsafePointer<Scalar>,
        z: UnsafeMutablePointer<Scalar>?, into a: UnsafeMutablePointer<Scalar>, n: Int, k: Int
    ) {
        guard let kernel = denseRowsKernel(activation, double: Scalar.self == Double.self, outputs: n) else {
            return XCTFail("no kernel for \(activation)")
        }
        kernel(x, w, z, a, n, k, Double(slope))
    }

    /// Softmax, which normalises a whole row, has no fused kernel.
    func testSoftmaxHasNoDenseRowsKernel() {
        for outputs in [3, 4] {
            XCTAssertNil(denseRowsKernel(.softmax, double: false, outputs: outputs))
            XCTAssertNil(denseRowsKernel(.softmax, double: true, outputs: outputs))
            XCTAssertNil(denseRowsKernel(.softmax, Float.self, outputs: outputs))
        }
    }
}
