// e^x and e^x - 1 for x <= 0, vectorised: the exponentials of softmax (logits minus
// the row maximum), which the C library's expf/exp evaluate one call at a time, the
// sigmoid layers' e^-|z| (Activation.swift) and tanh's e^-2|z| - 1
// (VectorHyperbolicTangent.swift). docs/performance.md (entry 15 and the
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
//   e^r = sum_{k<=d} r^k / k!       (as 1 + r t, t by Estrin's scheme)
//                                   d = 7 for Float, 13 for Double: the first
//                                   omitted term, 0.35^(d+1)/(d+1)!, is below
//                                   2^-(p+2)
//   e^x = (e^r 2^(n+m)) 2^-m        two exact power-of-two factors (m = p + 2) so
//                                   that results in the subnormal range round once,
//                                   as the C library's do
//   e^x - 1 = 2^n (e^r - 1) + (2^n - 1)
//                                   with e^r - 1 = r (1 + r/2 + ...), which keeps
//                                   its relative accuracy as x goes to 0
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
        let (scaled, belowRange) = scaledExponentialOfNonPositive(input)
        // Below the range the second factor is 0 instead of 2^-m, so the product is
        // exactly 0 in every rounding mode. Selecting between two constants (not
        // the result) keeps it a select, so the loop vectorises
        // (Tests/c/test_vectorised.sh checks the release build).
        return scaled * (belowRange ? 0 : exponentialScaleDown)
    }

    /// e^x 2^m for x <= 0 or NaN (m = `exponentialScaleBits`): `exponentialOfNonPositive`
    /// before its last factor, 2^-m, and whether x is below x_min (e^x is 0 there; the
    /// value is then that of x_min). Normal for every x from x_min up, so a ratio of
    /// such values, or of one and 2^m, rounds as the ratio of the scaled-down ones
    /// (`sigmoid`).
    @inline(__always)
    static func scaledExponentialOfNonPositive(_ input: Self) -> (scaled: Self, belowRange: Bool) {
        let lowestInput = exponentialLowestInput
        // The comparison is false for NaN, which passes through.
        let x = input < lowestInput ? lowestInput : input
        let (r, n) = reducedExponent(x)
        let polynomial = exponentialQuotient(r) * r + 1
        return (polynomial * powerOfTwo(n, plus: exponentialScaleBits), input < lowestInput)
    }

    /// e^x - 1 for x <= 0 or NaN, accurate near 0 (where 1 is most of e^x), within
    /// 2 ulp: 2^n (e^r - 1) + (2^n - 1) from the same reduction, with e^r - 1 as
    /// r times the Taylor quotient. Below -(p + 3) ln 2 the result rounds to -1, so
    /// x is clamped there (2^n stays normal, 2^n - 1 exact or -1).
    @inline(__always)
    static func exponentialMinusOneOfNonPositive(_ input: Self) -> Self {
        let lowestInput = exponentialMinusOneLowestInput
        let x = input < lowestInput ? lowestInput : input
        let (r, n) = reducedExponent(x)
        let scale = powerOfTwo(n, plus: 0)
        return scale * (exponentialQuotient(r) * r) + (scale - 1)
    }

    /// values[i] = e^values[i] for i < count, each value <= 0 or NaN.
    @inline(__always)
    static func exponentiateNonPositive(_ values: UnsafeMutablePointer<Self>, count: Int) {
        for index in 0..<count { values[index] = exponentialOfNonPositive(values[index]) }
    }

    // MARK: The shared steps

    /// ln 2 to about two Doubles' worth, so that the split into `ln2High` and
    /// `ln2Low` is exact well beyond Double precision.
    @inline(__always) static var ln2First: Double { 0.6931471805599453 }
    @inline(__always) static var ln2Second: Double { 2.3190468138462996e-17 }

    /// ln 2 rounded to 11 fewer bits than the type, so that n ln2High is exact for
    /// |n| < 2^11, and the rest of ln 2 in the type.
    @inline(__always) static var ln2High: Self {
        let highScale = Double(1 << (significandBitCount - 11))
        return Self((ln2First * highScale).rounded() / highScale)
    }
    @inline(__always) static var ln2Low: Self {
        Self((ln2First - Double(ln2High)) + ln2Second)
    }

    /// m = p + 2: e^x is built as (e^r 2^(n+m)) 2^-m, so that results in the
    /// subnormal range round once. 2^-m is `exponentialScaleDown`.
    @inline(__always) static var exponentialScaleBits: Int { significandBitCount + 2 }
    @inline(__always) static var exponentialScaleDown: Self {
        Self(sign: .plus, exponent: Exponent(-exponentialScaleBits), significand: 1)
    }
    /// 2^m.
    @inline(__always) static var exponentialScaleUp: Self {
        Self(sign: .plus, exponent: Exponent(exponentialScaleBits), significand: 1)
    }
    /// Below this e^x is 0 (x_min = (minExponent - m) ln 2).
    @inline(__always) static var exponentialLowestInput: Self {
        Self(Double(Int(leastNormalMagnitude.exponent) - exponentialScaleBits) * ln2First)
    }
    /// Below this e^x - 1 rounds to -1 (-(p + 3) ln 2).
    @inline(__always) static var exponentialMinusOneLowestInput: Self {
        Self(Double(-(significandBitCount + 3)) * ln2First)
    }

    /// x = n ln 2 + r with |r| <= ~0.35: r, and n as `x log2 e + shifter` (n in the
    /// low bits of the sum, for `powerOfTwo`). For x >= -2^11 ln 2 or so.
    @inline(__always)
    static func reducedExponent(_ x: Self) -> (remainder: Self, shiftedN: Self) {
        let shifted = x * Self(1.4426950408889634) + shifter
        let n = shifted - shifter
        return ((x - n * ln2High) - n * ln2Low, shifted)
    }

    /// 1.5 * 2^p: adding it rounds to an integer and leaves that integer in the low
    /// bits of the sum.
    @inline(__always) static var shifter: Self {
        Self(1.5) * Self(sign: .plus, exponent: Exponent(significandBitCount), significand: 1)
    }

    /// (e^r - 1) / r = sum_{k<=d} r^(k-1) / k! (d = 13 for Double, 7 for Float: the
    /// first omitted term, 0.35^(d+1)/(d+1)!, is below 2^-(p+2): 4.8e-18 and 5.6e-9),
    /// as 1 + r t with t = 1/2! + r/3! + ... by Estrin's scheme: pairs c_k + c_k+1 r,
    /// combined with r^2, r^4 and r^8. Horner's d - 1 dependent multiply-adds were
    /// the latency of a small network's whole forward pass; t's chain is 3-4 deep,
    /// and the last step stays 1 + r t, which keeps the result within the ulp bounds
    /// of the tests (a final sum of Estrin's pairs including the 1 did not). The
    /// branch is on a constant of the type.
    @inline(__always)
    static func exponentialQuotient(_ r: Self) -> Self {
        let r2 = r * r, r4 = r2 * r2
        // c_k + c_k+1 r
        @inline(__always) func pair(_ k: Int) -> Self {
            Self(exponentialQuotientCoefficient(k)) + Self(exponentialQuotientCoefficient(k + 1)) * r
        }
        let t: Self
        if significandBitCount > 23 {
            t = ((pair(1) + pair(3) * r2) + (pair(5) + pair(7) * r2) * r4) + (pair(9) + pair(11) * r2) * (r4 * r4)
        } else {
            t = (pair(1) + pair(3) * r2) + pair(5) * r4
        }
        return 1 + r * t
    }

    /// c_k = 1/(k+1)!, the k-th coefficient of `exponentialQuotient` (and of the
    /// exported C's copy of it, CSourceExport.swift), for k = 1 ... 12. A switch of
    /// literals, so that a constant k folds to a constant (a loop computing the
    /// factorial did not: 60 % more instructions a predict).
    @inline(__always)
    static func exponentialQuotientCoefficient(_ k: Int) -> Double {
        switch k {
        case 1: return 1.0 / 2.0
        case 2: return 1.0 / 6.0
        case 3: return 1.0 / 24.0
        case 4: return 1.0 / 120.0
        case 5: return 1.0 / 720.0
        case 6: return 1.0 / 5040.0
        case 7: return 1.0 / 40320.0
        case 8: return 1.0 / 362880.0
        case 9: return 1.0 / 3628800.0
        case 10: return 1.0 / 39916800.0
        case 11: return 1.0 / 479001600.0
        default: return 1.0 / 6227020800.0
        }
    }

    /// 2^(n + offset), n from `reducedExponent` (n <= 0; n + offset within the
    /// normal exponents): the low bits of `shiftedN` minus those of the shifter
    /// (wrapping, as n <= 0), moved into the exponent field.
    @inline(__always)
    static func powerOfTwo(_ shiftedN: Self, plus offset: Int) -> Self {
        let exponentBias = (1 << (exponentBitCount - 1)) - 1
        let nBits = unsafeBitCast(shiftedN, to: NonFiniteBits.self) &- unsafeBitCast(shifter, to: NonFiniteBits.self)
        return unsafeBitCast(
            (nBits &+ NonFiniteBits(offset + exponentBias)) &<< NonFiniteBits(significandBitCount), to: Self.self)
    }
}
