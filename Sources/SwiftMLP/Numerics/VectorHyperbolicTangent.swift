// tanh, vectorised: the tanh layers' activation, which the C library's tanhf/tanh
// evaluate one call at a time (most of a small tanh network's forward pass).
//
//   tanh |z| = -m / (2 + m),  m = e^(-2|z|) - 1   (VectorExponential.swift)
//
// then the sign of z. The e^x - 1 form keeps the relative accuracy for small |z|,
// where 1 - e^(-2|z|) would cancel. Within 4 ulp of tanh (worst seen 2.5 ulp Float,
// 3 Double; VectorHyperbolicTangentTests), against 1 for glibc: far inside the
// NumPy reference's 1e-5 / 1e-10 tolerances. tanh(±0) = ±0, tanh(±inf) = ±1, NaN stays NaN, and |tanh| <= 1 in every
// rounding mode (a directed mode could round m just below -1: the min keeps the
// quotient at 1).
//
// Branch-free like the exponential, so the loops of forwardBiasActivation that call
// it vectorise (Tests/c/test_vectorised.sh).

extension MLPScalar {
    /// tanh(z), for every z (see the file comment).
    @inline(__always)
    static func vectorHyperbolicTangent(_ z: Self) -> Self {
        let m = exponentialMinusOneOfNonPositive(-2 * abs(z))
        // min(x, 1) is `1 < x ? 1 : x`: a NaN stays NaN.
        let magnitude = Swift.min(-m / (2 + m), 1)
        return Self(signOf: z, magnitudeOf: magnitude)
    }
}
