// Activations: the forward function fused with the bias add, and the backward
// function that turns dL/dA into dL/dZ while summing the bias gradient.
//
// Every derivative here is taken from the layer's cached OUTPUT a = f(z), not from
// its input z: sigmoid' = a(1 - a), tanh' = 1 - a^2, relu' = [a > 0]. Evaluating
// a(1 - a) at z instead of at a is the classic hand-derivation bug (see
// docs/backprop.md and scripts/backprop_mistakes.py).

/// The nonlinearity applied after a layer's affine map. Raw values are the C
/// header's `smlp_activation` codes.
public enum Activation: UInt8, Sendable, Equatable, CaseIterable {
    /// a = z
    case identity = 0
    /// a = 1 / (1 + e^-z)
    case sigmoid = 1
    /// a = tanh z
    case tanh = 2
    /// a = max(z, 0)
    case relu = 3
    /// a = z for z > 0, slope * z otherwise (slope is the network's `leakyReLUSlope`)
    case leakyReLU = 4
    /// a_j = e^{z_j} / sum_k e^{z_k}, over each row; output layer only
    case softmax = 5
}

extension Activation: CustomStringConvertible {
    /// The name used in messages, which C and Python callers read too: the suffix of
    /// the header's `SMLP_*` constant in lower case.
    public var description: String {
        switch self {
        case .identity: return "identity"
        case .sigmoid: return "sigmoid"
        case .tanh: return "tanh"
        case .relu: return "relu"
        case .leakyReLU: return "leaky_relu"
        case .softmax: return "softmax"
        }
    }
}

/// A numerically safe logistic function: never evaluates e^x for large positive x.
@inline(__always)
func logistic<Scalar: MLPScalar>(_ z: Scalar) -> Scalar {
    logistic(z, exponential: Scalar.exponential(-abs(z)))
}

/// The logistic of `z` from e = e^-|z|: 1 / (1 + e) for z >= 0, e / (1 + e) below.
@inline(__always)
func logistic<Scalar: MLPScalar>(_ z: Scalar, exponential e: Scalar) -> Scalar {
    z >= 0 ? 1 / (1 + e) : e / (1 + e)
}

/// `logistic(z, exponential:)` as (z >= 0 ? 1 : e) / (1 + e): the same bits, with
/// a select between two values instead of a branch between two divisions.
@inline(__always)
func vectorLogistic<Scalar: MLPScalar>(_ z: Scalar, exponential e: Scalar) -> Scalar {
    (z >= 0 ? 1 : e) / (1 + e)
}

// The elementwise activations, one function each, shared by the bias and
// activation pass below and the fused small layers (`denseRow`, MatrixMultiply.swift).

/// relu as Swift's `maximum` (the number wins over a quiet NaN): x for x > 0, +0 for
/// the rest, NaN included, exactly `x > 0 ? x : 0` here, since a sum is never a
/// signaling NaN. Written so, inference's in-place loop is vectorised; the
/// conditional form became a branch around one of two stores there.
@inline(__always)
func rectified<Scalar: MLPScalar>(_ z: Scalar) -> Scalar { Scalar.maximum(z, 0) }

/// The logistic through the vectorised exponential: e = e^-|z| from
/// `exponentialOfNonPositive` (VectorExponential.swift, within 2 ulp), and the two
/// cases one division by 1 + e of a selected numerator, so a loop of it has no call
/// and no branch and vectorises: glibc's expf one element at a time was most of a
/// small sigmoid network's forward pass (docs/performance.md, small networks).
///
/// Evaluated as (z >= 0 ? 2^m : y) / (2^m + y) with y = e 2^m before its scaling
/// down (`scaledExponentialOfNonPositive`; 0 in the numerator below the range, where
/// e is 0): scaling numerator and denominator by 2^m changes no rounding, where e is
/// normal and also where it is subnormal (1 + e and 2^m + y are then 1 and 2^m, and
/// y / 2^m rounds once, as y 2^-m does), so the bits are those of
/// `vectorLogistic(z, exponential: e)` (in round-to-nearest; a directed mode may
/// differ in the last bit of a subnormal result). One multiply fewer on the path
/// of every small layer.
@inline(__always)
func sigmoid<Scalar: MLPScalar>(_ z: Scalar) -> Scalar {
    let (scaled, belowRange) = Scalar.scaledExponentialOfNonPositive(-abs(z))
    let scaleUp = Scalar.exponentialScaleUp
    return (z >= 0 ? scaleUp : belowRange ? 0 : scaled) / (scaleUp + scaled)
}

/// An elementwise activation as a type, which the fused small layers (`denseRow`)
/// are generic over: one specialised copy of the kernel per activation and scalar
/// type, the function inlined into its vector loops.
protocol ElementwiseFunction {
    associatedtype Scalar: MLPScalar
    func callAsFunction(_ z: Scalar) -> Scalar
}

struct IdentityFunction<Scalar: MLPScalar>: ElementwiseFunction {
    @inline(__always) func callAsFunction(_ z: Scalar) -> Scalar { z }
}

struct SigmoidFunction<Scalar: MLPScalar>: ElementwiseFunction {
    @inline(__always) func callAsFunction(_ z: Scalar) -> Scalar { sigmoid(z) }
}

struct TanhFunction<Scalar: MLPScalar>: ElementwiseFunction {
    @inline(__always) func callAsFunction(_ z: Scalar) -> Scalar { Scalar.vectorHyperbolicTangent(z) }
}

struct RectifiedFunction<Scalar: MLPScalar>: ElementwiseFunction {
    @inline(__always) func callAsFunction(_ z: Scalar) -> Scalar { rectified(z) }
}

struct LeakyRectifiedFunction<Scalar: MLPScalar>: ElementwiseFunction {
    let slope: Scalar
    @inline(__always) func callAsFunction(_ z: Scalar) -> Scalar { z > 0 ? z : slope * z }
}

/// Adds the bias to every row of the product and applies the activation, in one
/// pass.
///
///     Z[i][j] = P[i][j] + b[j];  A[i][j] = f(Z[i][j])
///
/// - Parameters:
///   - product: rows x width, P = X·W as the matrix product left it. May equal `z`
///     (training with one BLAS thread: Z is updated in place) or, without `z`, `a`
///     (inference); each element is read before it is written.
///   - z: rows x width, receives the pre-activation X·W + b; nil when only A is
///     wanted (inference).
///   - a: rows x width, receives f(Z).
///   - bias: width.
///   - sigmoidExponentials: rows x width or nil; for a sigmoid layer, receives
///     e^-|Z| (the exponential the logistic evaluates anyway), which binary
///     cross-entropy needs for its log1p term (`lossAndOutputDelta`).
// Inlined into `forwardDenseByPasses`: as a call of its own it made a 2-4-1 step 2-3 % slower
// (its nine arguments and the arrangement tests, for 4 x 4 and 4 x 1 matrices).
@inline(__always)
func forwardBiasActivation<Scalar: MLPScalar>(
    _ activation: Activation, leakySlope: Scalar, product: UnsafePointer<Scalar>,
    z: UnsafeMutablePointer<Scalar>?, a: UnsafeMutablePointer<Scalar>,
    bias: UnsafePointer<Scalar>, rows: Int, width: Int,
    sigmoidExponentials: UnsafeMutablePointer<Scalar>? = nil
) {
    switch activation {
    case .identity:
        forwardBiasElementwise(product: product, z: z, a: a, bias: bias, rows: rows, width: width) { $0 }
    case .relu:
        forwardBiasElementwise(product: product, z: z, a: a, bias: bias, rows: rows, width: width, rectified)
    case .leakyReLU:
        forwardBiasElementwise(product: product, z: z, a: a, bias: bias, rows: rows, width: width) {
            $0 > 0 ? $0 : leakySlope * $0
        }
    case .sigmoid:
        guard let sigmoidExponentials else {
            forwardBiasElementwise(product: product, z: z, a: a, bias: bias, rows: rows, width: width, sigmoid)
            return
        }
        // Binary cross-entropy's output layer also keeps e^-|Z|. Without Z the
        // value goes to A first and is overwritten there.
        let kept = z ?? a
        for i in 0..<rows {
            let pRow = product + i * width, zRow = kept + i * width, aRow = a + i * width
            let eRow = sigmoidExponentials + i * width
            for j in 0..<width {
                let value = pRow[j] + bias[j]
                zRow[j] = value
                let e = Scalar.exponentialOfNonPositive(-abs(value))
                eRow[j] = e
                aRow[j] = vectorLogistic(value, exponential: e)
            }
        }
    case .tanh:
        // Vectorised, within 4 ulp (VectorHyperbolicTangent.swift).
        forwardBiasElementwise(product: product, z: z, a: a, bias: bias, rows: rows, width: width) {
            Scalar.vectorHyperbolicTangent($0)
        }
    case .softmax:
        // Shift by the row maximum so that every exponent is <= 0 (no overflow);
        // A holds the shifted logits until one vectorised pass over the whole
        // block exponentiates them (VectorExponential.swift). Without Z the logits
        // wait in A.
        let logits = z ?? a
        for i in 0..<rows {
            let pRow = product + i * width, logitRow = logits + i * width, aRow = a + i * width
            var rowMax = -Scalar.infinity
            for j in 0..<width {
                let value = pRow[j] + bias[j]
                logitRow[j] = value
                if value > rowMax { rowMax = value }
            }
            for j in 0..<width { aRow[j] = logitRow[j] - rowMax }
        }
        Scalar.exponentiateNonPositive(a, count: rows * width)
        for i in 0..<rows {
            let aRow = a + i * width
            var total: Scalar = 0
            for j in 0..<width { total += aRow[j] }
            let inverse = 1 / total
            for j in 0..<width { aRow[j] *= inverse }
        }
    }
}

/// `forwardBiasActivation` for an activation that is a function of each element
/// alone (all but sigmoid, which also stores its exponentials, and softmax), with
/// one loop for each way the buffers meet. The compiler vectorises a
/// loop over distinct buffers behind a run-time overlap check, and a buffer read
/// and written at the same index is an overlap to that check: one loop over
/// `product` and `z` as two pointers ran one element at a time when they were the
/// same matrix. Here a buffer updated in place is one pointer.
@inline(__always)
func forwardBiasElementwise<Scalar: MLPScalar>(
    product: UnsafePointer<Scalar>, z: UnsafeMutablePointer<Scalar>?, a: UnsafeMutablePointer<Scalar>,
    bias: UnsafePointer<Scalar>, rows: Int, width: Int, _ f: (Scalar) -> Scalar
) {
    if let z {
        if product == UnsafePointer(z) {
            for i in 0..<rows {
                let zRow = z + i * width, aRow = a + i * width
                for j in 0..<width {
                    let value = zRow[j] + bias[j]
                    zRow[j] = value
                    aRow[j] = f(value)
                }
            }
        } else {
            for i in 0..<rows {
                let pRow = product + i * width, zRow = z + i * width, aRow = a + i * width
                for j in 0..<width {
                    let value = pRow[j] + bias[j]
                    zRow[j] = value
                    aRow[j] = f(value)
                }
            }
        }
    } else if product == UnsafePointer(a) {
        for i in 0..<rows {
            let aRow = a + i * width
            for j in 0..<width { aRow[j] = f(aRow[j] + bias[j]) }
        }
    } else {
        for i in 0..<rows {
            let pRow = product + i * width, aRow = a + i * width
            for j in 0..<width { aRow[j] = f(pRow[j] + bias[j]) }
        }
    }
}

/// Back through the activation: dZ = dA ⊙ f'(Z), computed from the cached output A,
/// while accumulating the bias gradient db[j] = sum_i dZ[i][j] row by row.
///
/// Rows go in blocks of about 4096 values: first the elementwise dZ of the whole
/// block in one flat loop, then `addRow` of each of its rows into the sums while the
/// block is still in L1. (One fused loop, `db[j] += value` next to the dZ store,
/// could not be vectorised: the compiler must assume db may alias the rows, and it
/// ran scalar at ~6 ns an element on configuration e; per-row loops cost a
/// vectorisation prologue per row, which dominated tiny layers.) The sums are taken
/// in row order, so the bits do not depend on the blocking.
///
/// - Parameters:
///   - upstream: rows x width, dL/dA.
///   - a: rows x width, the cached activation output.
///   - dz: rows x width, receives dL/dZ. May equal `upstream`.
///   - biasGradient: width, overwritten with the column sums of dZ.
func backwardActivationBiasGradient<Scalar: MLPScalar>(
    _ activation: Activation, leakySlope: Scalar,
    upstream: UnsafePointer<Scalar>, a: UnsafePointer<Scalar>,
    dz: UnsafeMutablePointer<Scalar>, biasGradient: UnsafeMutablePointer<Scalar>,
    rows: Int, width: Int
) {
    // One row (online training) needs no zeroing, no blocks and no column sums:
    // its bias gradient 0 + dz is copied after the delta.
    let oneRow = rows == 1
    if !oneRow { biasGradient.update(repeating: 0, count: width) }
    let rowsPerBlock = oneRow ? 1 : max(1, 4096 / max(width, 1))
    var firstRow = 0
    while firstRow < rows {
        let blockRows = min(rowsPerBlock, rows - firstRow)
        let offset = firstRow * width, count = blockRows * width
        let g = upstream + offset, out = a + offset, delta = dz + offset
        switch activation {
        case .identity:
            for k in 0..<count { delta[k] = g[k] }
        case .sigmoid:
            for k in 0..<count { delta[k] = g[k] * out[k] * (1 - out[k]) }
        case .tanh:
            for k in 0..<count { delta[k] = g[k] * (1 - out[k] * out[k]) }
        case .relu:
            // g is loaded before the test: a load inside the branch would be
            // conditional, and a conditional load keeps the loop from vectorising.
            for k in 0..<count {
                let gradient = g[k]
                delta[k] = out[k] > 0 ? gradient : 0
            }
        case .leakyReLU:
            // For slope >= 0, a > 0 exactly when z > 0, so the output decides the branch.
            for k in 0..<count {
                let gradient = g[k]
                delta[k] = out[k] > 0 ? gradient : leakySlope * gradient
            }
        case .softmax:
            // Jacobian-vector product of softmax per row: dz_j = a_j (g_j - sum_k g_k a_k).
            // Reached only for MSE on a softmax output; cross-entropy uses its fused form.
            for i in 0..<blockRows {
                let gRow = g + i * width, aRow = out + i * width, dzRow = delta + i * width
                var dot: Scalar = 0
                for k in 0..<width { dot += gRow[k] * aRow[k] }
                for j in 0..<width { dzRow[j] = aRow[j] * (gRow[j] - dot) }
            }
        }
        if oneRow {
            for j in 0..<width { biasGradient[j] = 0 + delta[j] }
        } else {
            for i in 0..<blockRows { addRow(UnsafePointer(delta + i * width), into: biasGradient, width: width) }
        }
        firstRow += blockRows
    }
}

/// sums[j] += row[j] for j < width: the column-sum step of a bias gradient. A loop
/// of its own so that it vectorises (the compiler checks the two ranges for overlap
/// once per call).
@inline(__always)
func addRow<Scalar: MLPScalar>(_ row: UnsafePointer<Scalar>, into sums: UnsafeMutablePointer<Scalar>, width: Int) {
    for j in 0..<width { sums[j] += row[j] }
}
