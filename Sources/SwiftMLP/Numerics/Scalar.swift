// The element types the engine computes in, and the few primitives it needs from
// each: elementary functions from the C library and matrix products from OpenBLAS.
// Everything else in the engine is written once, generically, over `MLPScalar`.

import COpenBLAS
import CShim

/// The numeric element type of a network: its parameters, data and workspace.
public enum DType: Sendable, Equatable {
    case float32
    case float64
}

/// A floating-point type the engine can train in: `Float` or `Double`.
///
/// The requirements are the primitives whose implementations differ per type; every
/// algorithm is written once against this protocol. `CustomStringConvertible` so that
/// a value in an error message prints as the number (Embedded Swift cannot print a
/// generic value otherwise).
public protocol MLPScalar: BinaryFloatingPoint, SIMDScalar, Sendable, CustomStringConvertible {
    /// The `DType` tag of this type.
    static var dtype: DType { get }
    /// e^x.
    static func exponential(_ x: Self) -> Self
    /// Natural logarithm.
    static func logarithm(_ x: Self) -> Self
    /// log(1 + x), accurate for small x.
    static func logOnePlus(_ x: Self) -> Self
    /// tanh(x).
    static func hyperbolicTangent(_ x: Self) -> Self
    /// The unsigned integer as wide as the type, for `nonFiniteBits` (and the
    /// exponent-field arithmetic of `exponentialOfNonPositive`).
    associatedtype NonFiniteBits: FixedWidthInteger & UnsignedInteger
    /// The exponent field of `x` plus one unit: it carries into the top bit exactly
    /// when the exponent is all ones (an infinity or a NaN). OR these over a loop and
    /// test the result with `containsNonFinite`. Integer operations only, so the loop
    /// vectorises (a floating-point comparison reduction does not), raises no
    /// floating-point exception and does not depend on the rounding mode. (x - x,
    /// one operation fewer, was tried: it is -0 for every finite x under rounding
    /// toward -infinity, and traps on an infinity when invalid-operation traps are on.)
    static func nonFiniteBits(_ x: Self) -> NonFiniteBits
    /// The sum of squares of `count` values by OpenBLAS's dot product (x . x), in
    /// the kernel's own order and precision. Callers keep `count` within the BLAS
    /// integer type.
    static func sumOfSquares(_ values: UnsafePointer<Self>, count: Int) -> Self
    /// Row-major GEMM: C = alpha * op(A) * op(B) + beta * C, where op(A) is m x k and
    /// op(B) is k x n. `lda`, `ldb`, `ldc` are the row strides of A, B, C as stored.
    /// Callers guarantee every dimension fits the BLAS integer type.
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int,
        b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
}

extension MLPScalar {
    /// The value as error messages write it. A NaN is "nan" whatever its sign bit: the
    /// SwiftPM build's `description` says "-nan" for a negative one, Embedded Swift's
    /// "nan", and the two builds' messages are the same.
    var messageText: String { isNaN ? "nan" : description }

    /// Whether an OR of `nonFiniteBits` values saw an infinity or a NaN.
    @inline(__always)
    static func containsNonFinite(_ bits: NonFiniteBits) -> Bool {
        bits >> (NonFiniteBits.bitWidth - 1) != 0
    }

    /// Whether none of `count` values is an infinity or a NaN: one OR of
    /// `nonFiniteBits` over them, which vectorises.
    @inline(__always)
    static func allFinite(_ values: UnsafePointer<Self>, count: Int) -> Bool {
        var nonFinite: NonFiniteBits = 0
        for index in 0..<count { nonFinite |= nonFiniteBits(values[index]) }
        return !containsNonFinite(nonFinite)
    }

    /// An upper bound on the Euclidean (Frobenius) norm of `count` values: infinity
    /// when one is an infinity or a NaN (both propagate through x * x and the sums),
    /// or when the sum of squares reaches the end of the type's range, in any
    /// rounding mode (|x| beyond ~1.8e19 in Float: such parameters are never proved,
    /// only checked).
    ///
    /// The sums of squares are OpenBLAS dot products (`sumOfSquares`): as fast as
    /// an explicit SIMD loop in one thread, and ddot splits long vectors over the
    /// BLAS threads (measured alone on configuration a's 50 k inputs in float64:
    /// 5.9 us in one thread, 3.2 us in two; sdot is not threaded in OpenBLAS
    /// 0.3.21). Their order of summation, their use of FMA and their internal
    /// precision are the kernel's, so the bound allows for any: sums run in chunks
    /// short enough (k u <= 1/4, u = ulpOfOne, the unit roundoff of any rounding
    /// mode) that a computed chunk of k non-negative terms, rounded at most k + 1
    /// times (sdot adds in Double and rounds once more on return), is at least
    /// (1 - u)^(k+1) > 2/3 of its exact value whatever the order; chunks add in
    /// Double; the factor 2 on the sum covers the rounding.
    @inline(__always)
    static func normBound(_ values: UnsafePointer<Self>, count: Int) -> Double {
        let chunk = Swift.min(Int(0.25 / Double(ulpOfOne)), largestBLASDimension)
        var total = 0.0, start = 0
        while start < count {
            let end = Swift.min(start + chunk, count)
            let sum = sumOfSquares(values + start, count: end - start)
            // Overflow is infinity under round-to-nearest, but the largest finite
            // value under rounding toward zero or -infinity: either way (and NaN)
            // the sum is not below greatestFiniteMagnitude.
            guard sum < greatestFiniteMagnitude else { return .infinity }
            total += Double(sum)
            start = end
        }
        // A square or a sum below the smallest normal number may come out as 0
        // (gradual underflow, or flush-to-zero, which other code in the process may
        // have switched on): each of the 2 count operations loses at most that much.
        let underflow = 2 * Double(count) * Double(leastNormalMagnitude)
        let squares = total + underflow
        guard squares < Double.greatestFiniteMagnitude / 4 else { return .infinity }
        return (2 * squares).squareRoot()
    }
}

@inline(__always)
func blasTranspose(_ transpose: Bool) -> CBLAS_TRANSPOSE {
    transpose ? CblasTrans : CblasNoTrans
}

/// The largest dimension OpenBLAS's 32-bit integer interface accepts.
let largestBLASDimension = Int(Int32.max)

extension Float: MLPScalar {
    public static var dtype: DType { .float32 }
    @inline(__always) public static func exponential(_ x: Float) -> Float { expf(x) }
    @inline(__always) public static func logarithm(_ x: Float) -> Float { logf(x) }
    @inline(__always) public static func logOnePlus(_ x: Float) -> Float { log1pf(x) }
    @inline(__always) public static func hyperbolicTangent(_ x: Float) -> Float { tanhf(x) }
    @inline(__always) public static func sumOfSquares(_ values: UnsafePointer<Float>, count: Int) -> Float {
        cblas_sdot(blasint(count), values, 1, values, 1)
    }
    @inline(__always) public static func nonFiniteBits(_ x: Float) -> UInt32 {
        (x.bitPattern & 0x7F80_0000) &+ 0x0080_0000
    }
    @inline(__always)
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, blasTranspose(transposeA), blasTranspose(transposeB),
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda),
            b, blasint(ldb), beta, c, blasint(ldc))
    }
}

extension Double: MLPScalar {
    public static var dtype: DType { .float64 }
    @inline(__always) public static func exponential(_ x: Double) -> Double { exp(x) }
    @inline(__always) public static func logarithm(_ x: Double) -> Double { log(x) }
    @inline(__always) public static func logOnePlus(_ x: Double) -> Double { log1p(x) }
    @inline(__always) public static func hyperbolicTangent(_ x: Double) -> Double { tanh(x) }
    @inline(__always) public static func sumOfSquares(_ values: UnsafePointer<Double>, count: Int) -> Double {
        cblas_ddot(blasint(count), values, 1, values, 1)
    }
    @inline(__always) public static func nonFiniteBits(_ x: Double) -> UInt64 {
        (x.bitPattern & 0x7FF0_0000_0000_0000) &+ 0x0010_0000_0000_0000
    }
    @inline(__always)
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int,
        b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        cblas_dgemm(
            CblasRowMajor, blasTranspose(transposeA), blasTranspose(transposeB),
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda),
            b, blasint(ldb), beta, c, blasint(ldc))
    }
}
