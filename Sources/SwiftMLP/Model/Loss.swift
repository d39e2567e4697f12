// Losses, their reduction over the batch, and the output-layer delta dL/dZ_last.
//
// For one sample with output a (k values) and target y:
//   meanSquaredError         L = 1/2 sum_j (a_j - y_j)^2          dL/da = a - y
//   binaryCrossEntropy       L = sum_j [max(z,0) - z y + log(1 + e^-|z|)]
//                            (= -[y log a + (1-y) log(1-a)] with a = sigmoid(z),
//                            written in z so it never takes log 0)   dL/dz = a - y
//   softmaxCrossEntropy      L = sum_j y_j (logsumexp(z) - z_j)    dL/dz = a sum(y) - y
//                            (= a - y for one-hot or label targets)
//   poisson                  L = sum_j [e^z_j - y_j z_j + y_j log y_j - y_j]
//                            (identity output z = log of the mean; half the Poisson
//                            deviance, 0 when e^z = y; y log y is 0 for y <= 0)
//                                                                   dL/dz = e^z - y
//   fannTanhError            FANN's default error function (FANN_ERRORFUNC_TANH):
//                            e = (a - y) / s, s = 2 for a tanh output layer and 1
//                            otherwise; dL/da = log((1 + e)/(1 - e)) = 2 atanh(e),
//                            +-17 where |e| > 0.9999999; L = s G(e) (`fannTanhError`)
// A batch of n samples reduces to (1/n) sum_i L_i (mean) or sum_i L_i (sum), and the
// same factor scales every dL/dZ, so every parameter gradient follows the reduction.

/// The training objective. Raw values are the C header's `smlp_loss` codes.
public enum Loss: UInt8, Sendable, Equatable, CaseIterable {
    case meanSquaredError = 0
    /// Requires a sigmoid output layer.
    case binaryCrossEntropy = 1
    /// Requires a softmax output layer; targets may be one-hot rows or class labels.
    case softmaxCrossEntropy = 2
    /// Requires an identity output layer, whose output is the log of the predicted mean.
    case poisson = 3
    /// FANN's default error function, FANN_ERRORFUNC_TANH: the output error e is
    /// trained on as 2 atanh(e), clipped to +-17 (`fannTanhError`). Any output layer.
    case fannTanhError = 4
}

extension Loss: CustomStringConvertible {
    /// The name used in messages, which C and Python callers read too: the suffix of
    /// the header's `SMLP_*` constant in lower case.
    public var description: String {
        switch self {
        case .meanSquaredError: return "mse"
        case .binaryCrossEntropy: return "binary_cross_entropy"
        case .softmaxCrossEntropy: return "softmax_cross_entropy"
        case .poisson: return "poisson"
        case .fannTanhError: return "fann_tanh_error"
        }
    }
}

/// How per-sample losses combine over a batch. Raw values: `smlp_reduction`.
public enum Reduction: UInt8, Sendable, Equatable, CaseIterable {
    /// (1/n) sum over the batch. The default, as in PyTorch and scikit-learn.
    case mean = 0
    /// Plain sum over the batch, as in much hand-written NumPy code.
    case sum = 1
}

/// The targets of a batch: dense rows in the network's dtype, or class indices.
public enum Targets<Scalar: MLPScalar> {
    /// rows x outputs, row-major.
    case dense(UnsafePointer<Scalar>)
    /// rows class indices in 0..<outputs (softmax cross-entropy only).
    case labels(UnsafePointer<Int32>)
}

/// Computes the batch loss and the output delta dZ_last = dL/dZ (already scaled by
/// the reduction), and the last layer's bias gradient (column sums of dZ).
///
/// - Parameters:
///   - z, a: rows x width, the last layer's pre-activation and output.
///   - upstream: rows x width scratch used by the generic (MSE) path.
///   - dz: rows x width, receives dL/dZ. For binary cross-entropy it must hold
///     e^-|z| on entry, as `forwardTraining` leaves it (`forwardBiasActivation`'s
///     `sigmoidExponentials`): the loss reuses the forward pass's exponentials.
///   - biasGradient: width, receives sum_i dZ[i][j].
/// - Returns: the reduced loss, accumulated in Double.
func lossAndOutputDelta<Scalar: MLPScalar>(
    loss: Loss, reduction: Reduction, outputActivation: Activation, leakySlope: Scalar,
    z: UnsafePointer<Scalar>, a: UnsafePointer<Scalar>, targets: Targets<Scalar>,
    upstream: UnsafeMutablePointer<Scalar>, dz: UnsafeMutablePointer<Scalar>,
    biasGradient: UnsafeMutablePointer<Scalar>, rows: Int, width: Int
) -> Double {
    let scale: Scalar = reduction == .mean ? 1 / Scalar(rows) : 1
    var total: Double = 0
    switch loss {
    case .meanSquaredError:
        // dL/dA = (a - y) * scale, then back through the output activation.
        for i in 0..<rows {
            let aRow = a + i * width, gRow = upstream + i * width
            var rowLoss: Scalar = 0
            for j in 0..<width {
                let difference = aRow[j] - targetValue(targets, row: i, column: j, width: width)
                rowLoss += difference * difference
                gRow[j] = difference * scale
            }
            total += Double(rowLoss) / 2
        }
        backwardActivationBiasGradient(
            outputActivation, leakySlope: leakySlope, upstream: upstream, a: a,
            dz: dz, biasGradient: biasGradient, rows: rows, width: width)

    case .fannTanhError:
        // dL/dA = FANN's transformed error * scale, then back through the output activation.
        let halved = outputActivation == .tanh
        for i in 0..<rows {
            let aRow = a + i * width, gRow = upstream + i * width
            for j in 0..<width {
                let (value, slope) = fannTanhError(
                    output: aRow[j], target: targetValue(targets, row: i, column: j, width: width), halved: halved)
                total += value
                gRow[j] = slope * scale
            }
        }
        backwardActivationBiasGradient(
            outputActivation, leakySlope: leakySlope, upstream: upstream, a: a,
            dz: dz, biasGradient: biasGradient, rows: rows, width: width)

    case .binaryCrossEntropy:
        biasGradient.update(repeating: 0, count: width)
        for i in 0..<rows {
            let zRow = z + i * width, aRow = a + i * width, dzRow = dz + i * width
            var rowLoss: Scalar = 0
            for j in 0..<width {
                let target = targetValue(targets, row: i, column: j, width: width)
                let logit = zRow[j]
                // dz holds e^-|z| from the forward pass until this overwrites it.
                rowLoss += max(logit, 0) - logit * target + Scalar.logOnePlus(dzRow[j])
                dzRow[j] = (aRow[j] - target) * scale
            }
            addRow(UnsafePointer(dzRow), into: biasGradient, width: width)
            total += Double(rowLoss)
        }

    case .softmaxCrossEntropy:
        biasGradient.update(repeating: 0, count: width)
        for i in 0..<rows {
            let zRow = z + i * width, aRow = a + i * width, dzRow = dz + i * width
            let (rowMax, logSumExpAboveMax) = logSumExpFromSoftmax(z: zRow, a: aRow, width: width)
            switch targets {
            case .labels(let labels):
                let label = Int(labels[i])
                total += Double((rowMax - zRow[label]) + logSumExpAboveMax)
                for j in 0..<width { dzRow[j] = (j == label ? aRow[j] - 1 : aRow[j]) * scale }
            case .dense(let y):
                let yRow = y + i * width
                var targetMass: Scalar = 0
                var rowLoss: Scalar = 0
                for j in 0..<width {
                    targetMass += yRow[j]
                    rowLoss += yRow[j] * ((rowMax - zRow[j]) + logSumExpAboveMax)
                }
                total += Double(rowLoss)
                for j in 0..<width { dzRow[j] = (aRow[j] * targetMass - yRow[j]) * scale }
            }
            addRow(UnsafePointer(dzRow), into: biasGradient, width: width)
        }

    case .poisson:
        biasGradient.update(repeating: 0, count: width)
        for i in 0..<rows {
            let zRow = z + i * width, dzRow = dz + i * width
            var rowLoss: Scalar = 0
            for j in 0..<width {
                let target = targetValue(targets, row: i, column: j, width: width)
                let mean = Scalar.exponential(zRow[j])
                rowLoss += poissonLoss(logMean: zRow[j], mean: mean, target: target)
                dzRow[j] = (mean - target) * scale
            }
            addRow(UnsafePointer(dzRow), into: biasGradient, width: width)
            total += Double(rowLoss)
        }
    }
    return reduction == .mean ? total / Double(rows) : total
}

/// |e| beyond which FANN trains on +-17 instead of log((1 + e)/(1 - e)).
let fannTanhErrorClip = 0.9999999
/// G(c) of `fannTanhError`: the loss of an output at the clip (s = 1), computed once,
/// not for every clipped output.
let fannTanhErrorAtClip = fannTanhErrorClip * Double.logarithm((1 + fannTanhErrorClip) / (1 - fannTanhErrorClip))
    + Double.logarithm((1 - fannTanhErrorClip) * (1 + fannTanhErrorClip))

/// FANN's tanh error function (FANN_ERRORFUNC_TANH, `fann_compute_MSE` in FANN's
/// fann_train.c) for one output a with target y: e = (a - y) / s, halved (s = 2) for a
/// tanh output as FANN halves the error of its symmetric units. The slope dL/da is
/// log((1 + e)/(1 - e)) = 2 atanh(e), evaluated in Double as FANN does, and +-17 where
/// |e| > 0.9999999. The loss is the function with that slope:
/// L = s G(e), G(e) = e log((1 + e)/(1 - e)) + log(1 - e^2) (about e^2 near 0), and
/// beyond the clip G(c) + 17 (|e| - c), so that it is continuous.
///
///     fannTanhError(output: 0.5 as Float, target: 0, halved: false)   // (0.2616..., 1.0986...)
@inline(__always)
func fannTanhError<Scalar: MLPScalar>(
    output a: Scalar, target y: Scalar, halved: Bool
) -> (loss: Double, slope: Scalar) {
    let difference = a - y
    let e = Double(halved ? difference / 2 : difference), s: Double = halved ? 2 : 1
    let c = fannTanhErrorClip
    if e > c || e < -c {
        return (s * (fannTanhErrorAtClip + 17 * (abs(e) - c)), e > 0 ? 17 : -17)
    }
    let slope = Double.logarithm((1 + e) / (1 - e))   // NaN stays NaN
    return (s * (e * slope + Double.logarithm((1 - e) * (1 + e))), Scalar(slope))
}

/// e^z - y z + y log y - y for one output (y log y taken as 0 for y <= 0).
@inline(__always)
func poissonLoss<Scalar: MLPScalar>(logMean z: Scalar, mean: Scalar, target y: Scalar) -> Scalar {
    let entropy: Scalar = y > 0 ? y * Scalar.logarithm(y) : 0
    return mean - y * z + entropy - y
}

/// logsumexp(z) of one row as m = max z and logsumexp(z) - m, reusing the softmax
/// output the forward pass computed. With m at index k, a_k = 1 / sum_j e^(z_j - m)
/// and a_j / a_k = e^(z_j - m), so logsumexp(z) - m = log(1 + sum_{j != k} a_j / a_k):
/// log1p of a sum of positive terms, accurate to a few ulp however small it is, and no
/// exponential is evaluated twice. A label's loss is then (m - z_j) + that, two
/// non-negative terms: no cancellation (m - log a_k, then minus z_j, lost up to an ulp
/// of m, a relative error of 3e-7 on a loss of 4e-9 with logits of 30).
@inline(__always)
func logSumExpFromSoftmax<Scalar: MLPScalar>(
    z: UnsafePointer<Scalar>, a: UnsafePointer<Scalar>, width: Int
) -> (max: Scalar, aboveMax: Scalar) {
    let k = indexOfMaximum(z, width: width)
    var others: Scalar = 0
    for j in 0..<width where j != k { others += a[j] }
    return (z[k], Scalar.logOnePlus(others / a[k]))
}

/// log(sum_j e^(z_j - m)) = log(1 + sum_{j != k} e^(z_j - m)) for one row of logits,
/// with m = z_k their maximum: `logSumExpFromSoftmax` from the logits alone.
@inline(__always)
func logSumExpAboveMax<Scalar: MLPScalar>(_ z: UnsafePointer<Scalar>, width: Int) -> (max: Scalar, aboveMax: Scalar) {
    let k = indexOfMaximum(z, width: width)
    var others: Scalar = 0
    for j in 0..<width where j != k { others += Scalar.exponential(z[j] - z[k]) }
    return (z[k], Scalar.logOnePlus(others))
}

/// The first index of the largest of `width` values (0 when width is 0 or 1, or when
/// the first value is NaN, which then propagates).
@inline(__always)
func indexOfMaximum<Scalar: MLPScalar>(_ z: UnsafePointer<Scalar>, width: Int) -> Int {
    var k = 0
    for j in 1..<max(width, 1) where z[j] > z[k] { k = j }
    return k
}

/// The loss of a batch without gradients (evaluation), same definitions as above.
func batchLoss<Scalar: MLPScalar>(
    loss: Loss, outputActivation: Activation, z: UnsafePointer<Scalar>, a: UnsafePointer<Scalar>,
    targets: Targets<Scalar>, rows: Int, width: Int
) -> Double {
    var total: Double = 0
    for i in 0..<rows {
        let zRow = z + i * width, aRow = a + i * width
        var rowLoss: Scalar = 0
        switch loss {
        case .meanSquaredError:
            for j in 0..<width {
                let difference = aRow[j] - targetValue(targets, row: i, column: j, width: width)
                rowLoss += difference * difference / 2
            }
        case .binaryCrossEntropy:
            for j in 0..<width {
                let target = targetValue(targets, row: i, column: j, width: width)
                let logit = zRow[j]
                rowLoss += max(logit, 0) - logit * target
                    + Scalar.logOnePlus(Scalar.exponential(-abs(logit)))
            }
        case .softmaxCrossEntropy:
            let (rowMax, aboveMax) = logSumExpAboveMax(zRow, width: width)
            for j in 0..<width {
                rowLoss += targetValue(targets, row: i, column: j, width: width) * ((rowMax - zRow[j]) + aboveMax)
            }
        case .poisson:
            for j in 0..<width {
                let target = targetValue(targets, row: i, column: j, width: width)
                rowLoss += poissonLoss(logMean: zRow[j], mean: Scalar.exponential(zRow[j]), target: target)
            }
        case .fannTanhError:   // summed in Double, as in training
            let halved = outputActivation == .tanh
            for j in 0..<width {
                let target = targetValue(targets, row: i, column: j, width: width)
                total += fannTanhError(output: aRow[j], target: target, halved: halved).loss
            }
        }
        total += Double(rowLoss)
    }
    return total
}

/// y[i][j] for dense targets, or the one-hot value for label targets.
@inline(__always)
func targetValue<Scalar: MLPScalar>(
    _ targets: Targets<Scalar>, row: Int, column: Int, width: Int
) -> Scalar {
    switch targets {
    case .dense(let y): return y[row * width + column]
    case .labels(let labels): return Int(labels[row]) == column ? 1 : 0
    }
}
