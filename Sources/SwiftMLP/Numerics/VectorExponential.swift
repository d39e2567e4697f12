// e^x for x <= 0, vectorised: the exponentials of softmax (logits minus the row
// maximum), which the C library's expf/exp evaluate one call at a time, and the
// sigmoid layers' e^-|z| (Activation.swift). docs/performance.md (entry 15 and the
// small-networks section) has what it bought and what was tried.
//
// One algorithm for Float and Double (Cody-Waite range reduction and a Taylor
// polynomial), its constants derived from the type's precision:
//
//   n = round(x log2 e)             by adding and subtracting 1.5 * 2^p (p =
//                                   significandBitCount), which leaves n in the
//                                   low bits of the sum: no SSE4.1 rounding needed
//   r = (x - n ln2hi) - n ln2lo     ln2hi has 11 fewer bits than the type, so
//                                   n ln2hi is exact for |n| < 2^11; |r| <= ~0.35
//                                   (under a directed rounding mode |r| < ln 2 and
//                                   the error grows to at most ~2.7e-6 relative in
//                                   Float, ~1.3e-13 in Double, the Taylor remainder
//                                   at ln 2: still a softmax, not a failure)
//   e^r = sum_{k<=d} r^k / k!       d = 7 for Float, 13 for Double: the first
//                                   omitted term, 0.35^(d+1)/(d+1)!, is below
//                                   2^-(p+2)
//   e^x = (e^r 2^(n+m)) 2^-m        two exact power-of-two factors (m = p + 2) so
//                                   that results in the subnormal range round once,
//                                   as the C library's do
//
// Below x_min = (minExponent - m) ln2 the result is 0, in every rounding mode (x is
// clamped there for the arithmetic, and the last factor is 0 instead of 2^-m:
// rounding upward would otherwise give the smallest subnormal, e.g. for e^-inf).
// A NaN stays NaN (it reaches r, and NaN times any scale is NaN).
// Accuracy: within 2 ulp of e^x over the whole domain (VectorExponentialTests),
// against 1 ulp or less for glibc; softmax outputs and losses stay within the
// Float32 1e-5 / Float64 1e-10 tolerances of the NumPy reference with a wide margin.
//
// Written as a scalar function without branches (the clamp is a select), which the
// compiler vectorises in the loop of `exponentiateNonPositive`. Each element goes
// through the same operations in a vector or in the loop's scalar remainder, so a
// result does not depend on its position, nor on the batch size
// (Tests/c/test_predict.c checks it on the release library).

extension MLPScalar {
    /// e^x for x <= 0 or NaN (see the file comment; positive x is outside the
    /// domain: no overflow handling).
    @inline(__always)
    static func exponentialOfNonPositive(_ input: Self) -> Self {
        let p = significandBitCount
        let m = p + 2
        // ln 2 to about two Doubles' worth, so that the split is exact well beyond
        // Double precision.
        let ln2First = 0.6931471805599453, ln2Second = 2.3190468138462996e-17
        let highScale = Double(1 << (p - 11))
        let ln2HighDouble = (ln2First * highScale).rounded() / highScale
        let ln2High = Self(ln2HighDouble)
        let ln2Low = Self((ln2First - ln2HighDouble) + ln2Second)
        let shifter = Self(1.5) * Self(sign: .plus, exponent: Exponent(p), significand: 1)
        let lowestInput = Self(Double(Int(leastNormalMagnitude.exponent) - m) * ln2First)
        let exponentBias = (1 << (exponentBitCount - 1)) - 1

        // The comparison is false for NaN, which passes through.
        let x = input < lowestInput ? lowestInput : input
        let shifted = x * Self(1.4426950408889634) + shifter
        let n = shifted - shifter
        let r = (x - n * ln2High) - n * ln2Low
        // Taylor coefficients 1/k!, Horner from the highest degree: 13 for Double,
        // 7 for Float (the first omitted term, 0.35^(d+1)/(d+1)!, is below
        // 2^-(p+2): 4.8e-18 and 5.6e-9). The branch is on a constant of the type.
        var polynomial: Self
        if p > 23 {
            polynomial = Self(1.0 / 6227020800.0)
            polynomial = polynomial * r + Self(1.0 / 479001600.0)
            polynomial = polynomial * r + Self(1.0 / 39916800.0)
            polynomial = polynomial * r + Self(1.0 / 3628800.0)
            polynomial = polynomial * r + Self(1.0 / 362880.0)
            polynomial = polynomial * r + Self(1.0 / 40320.0)
            polynomial = polynomial * r + Self(1.0 / 5040.0)
        } else {
            polynomial = Self(1.0 / 5040.0)
        }
        polynomial = polynomial * r + Self(1.0 / 720.0)
        polynomial = polynomial * r + Self(1.0 / 120.0)
        polynomial = polynomial * r + Self(1.0 / 24.0)
        polynomial = polynomial * r + Self(1.0 / 6.0)
        polynomial = polynomial * r + Self(0.5)
        polynomial = polynomial * r + 1
        polynomial = polynomial * r + 1
        // n as an integer: the low bits of `shifted` minus those of the shifter
        // (wrapping, as n <= 0), moved into the exponent field of 2^(n+m).
        let nBits = unsafeBitCast(shifted, to: NonFiniteBits.self) &- unsafeBitCast(shifter, to: NonFiniteBits.self)
        let scaleUp = unsafeBitCast(
            (nBits &+ NonFiniteBits(m + exponentBias)) &<< NonFiniteBits(p), to: Self.self)
        // Below the range the second factor is 0 instead of 2^-m, so the product is
        // exactly 0 in every rounding mode. Selecting between two constants (not
        // the result) keeps it a select, so the loop vectorises
        // (Tests/c/test_vectorised.sh checks the release build).
        let twoToMinusM = Self(sign: .plus, exponent: Exponent(-m), significand: 1)
        let scaleDown = input < lowestInput ? 0 : twoToMinusM
        return (polynomial * scaleUp) * scaleDown
    }

    /// values[i] = e^values[i] for i < count, each value <= 0 or NaN.
    @inline(__always)
    static func exponentiateNonPositive(_ values: UnsafeMutablePointer<Self>, count: Int) {
        for index in 0..<count { values[index] = exponentialOfNonPositive(values[index]) }
    }
}
