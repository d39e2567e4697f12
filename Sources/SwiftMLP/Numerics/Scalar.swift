// The element types the engine computes in, and the few primitives it needs from
// each: elementary functions from the C library and matrix products from OpenBLAS.
// Everything else in the engine is written once, generically, over `MLPScalar`.

import COpenBLAS
import CShim

/// The numeric element type of a network: its parameters, data and workspace.
/// Raw values are the C header's `smlp_dtype` codes (and the model file's).
public enum DType: UInt8, Sendable, Equatable, CaseIterable {
    case float32 = 1
    case float64 = 2
}

/// What `MLPScalar` refines: a float that SIMD vectors hold (the small matrix
/// products, MatrixMultiply.swift). Outside Embedded Swift, SIMD vectors are Codable,
/// so their scalars must be too.
#if hasFeature(Embedded)
public typealias MLPScalarBase = BinaryFloatingPoint & SIMDScalar
#else
public typealias MLPScalarBase = BinaryFloatingPoint & SIMDScalar & Codable
#endif

/// A floating-point type the engine can train in: `Float` or `Double`.
///
/// The requirements are the primitives whose implementations differ per type; every
/// algorithm is written once against this protocol. `CustomStringConvertible` so that
/// a value in an error message prints as the number (Embedded Swift cannot print a
/// generic value otherwise).
public protocol MLPScalar: MLPScalarBase, Sendable, CustomStringConvertible {
    /// The `DType` tag of this type.
    static var dtype: DType { get }
    /// e^x.
    static func exponential(_ x: Self) -> Self
    /// Natural logarithm.
    static func logarithm(_ x: Self) -> Self
    /// log(1 + x), accurate for small x.
    static func logOnePlus(_ x: Self) -> Self
    /// The unsigned integer as wide as the type, for `nonFiniteBits` (and the
    /// exponent-field arithmetic of `exponentialOfNonPositive`).
    associatedtype NonFiniteBits: FixedWidthInteger & UnsignedInteger
    /// The exponent field of `x` plus one unit: it carries into the top bit exactly
    /// when the exponent is all ones (an infinity or a NaN). OR these over a loop and
    /// test the result with `containsNonFinite`. Integer operations only, so the loop
    /// vectorises (a floating-point comparison reduction does not), raises no
    /// floating-point exception and does not depend on the rounding mode.
    static func nonFiniteBits(_ x: Self) -> NonFiniteBits
    /// The bits of |x| as an unsigned integer: ordered as the magnitudes for finite
    /// values, and above every finite value for an infinity or a NaN. A maximum of
    /// these vectorises where a floating-point maximum does not.
    static func magnitudeBits(_ x: Self) -> NonFiniteBits
    /// The value whose `magnitudeBits` are `bits`.
    init(magnitudeBits bits: NonFiniteBits)
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

    /// The largest `magnitudeBits` of `count` values (0 for none): at least
    /// `magnitudeBits(.infinity)` exactly when one of them is an infinity or a NaN.
    @inline(__always)
    static func largestMagnitudeBits(_ values: UnsafePointer<Self>, count: Int) -> NonFiniteBits {
        var largest: NonFiniteBits = 0
        for index in 0..<count { largest = Swift.max(largest, magnitudeBits(values[index])) }
        return largest
    }

    /// Whether none of `count` values is an infinity or a NaN: one OR of
    /// `nonFiniteBits` over them, which vectorises.
    @inline(__always)
    static func allFinite(_ values: UnsafePointer<Self>, count: Int) -> Bool {
        #if SWIFTMLP_DISPATCH
        if allFiniteRunsWide(count: count) {
            return wideAllFinite(values, count: count, double: Self.self == Double.self)
        }
        #endif
        var nonFinite: NonFiniteBits = 0
        for index in 0..<count { nonFinite |= nonFiniteBits(values[index]) }
        return !containsNonFinite(nonFinite)
    }

    #if SWIFTMLP_DISPATCH
    /// Whether `allFinite` over `count` values runs in the x86-64-v3 copy
    /// (WideLoops.swift).
    @inline(__always)
    static func allFiniteRunsWide(count: Int) -> Bool { runsWideLoops(Self.self, count: count, minimumBytes: 128) }
    #endif
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
    @inline(__always) public static func nonFiniteBits(_ x: Float) -> UInt32 {
        (x.bitPattern & 0x7F80_0000) &+ 0x0080_0000
    }
    @inline(__always) public static func magnitudeBits(_ x: Float) -> UInt32 { x.bitPattern & 0x7FFF_FFFF }
    @inline(__always) public init(magnitudeBits bits: UInt32) { self.init(bitPattern: bits) }
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
    @inline(__always) public static func nonFiniteBits(_ x: Double) -> UInt64 {
        (x.bitPattern & 0x7FF0_0000_0000_0000) &+ 0x0010_0000_0000_0000
    }
    @inline(__always) public static func magnitudeBits(_ x: Double) -> UInt64 { x.bitPattern & 0x7FFF_FFFF_FFFF_FFFF }
    @inline(__always) public init(magnitudeBits bits: UInt64) { self.init(bitPattern: bits) }
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
