// Per-feature standardisation kept inside the model: x' = (x - mean) / std, applied
// by predict, gradients, step, train and evaluate, so a C caller cannot forget it at
// inference time. Statistics are computed in Double, as scikit-learn's StandardScaler
// does (population standard deviation; a feature with zero variance, up to rounding,
// gets std 1).

/// Mean and standard deviation per input feature.
public struct InputScaler: Sendable, Equatable {
    public let mean: [Double]
    public let standardDeviation: [Double]

    /// - Throws: `shapeMismatch` when the lengths differ, `invalidArgument` for a
    ///   non-finite mean or a std that is not finite and > 0.
    public init(mean: [Double], standardDeviation: [Double]) throws(MLPError) {
        guard mean.count == standardDeviation.count, !mean.isEmpty else {
            throw MLPError(.shapeMismatch,
                "scaler mean has \(mean.count) entries and std \(standardDeviation.count); they must match and be non-empty")
        }
        for (index, value) in mean.enumerated() where !value.isFinite {
            throw MLPError(.invalidArgument, "scaler mean[\(index)] is \(value.messageText); it must be finite")
        }
        for (index, value) in standardDeviation.enumerated() where !(value.isFinite && value > 0) {
            throw MLPError(.invalidArgument, "scaler std[\(index)] is \(value.messageText); it must be finite and > 0")
        }
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// Statistics of `rows` rows of `columns` features (row-major).
    /// - Throws: `nonFinite` naming the first row with a NaN or infinity.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func fit<Scalar: MLPScalar>(
        _ inputs: UnsafeBufferPointer<Scalar>, rows: Int, columns: Int
    ) throws(MLPError) -> InputScaler {
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard rows >= 1, columns >= 1, !overflow, inputs.count == count, let x = inputs.baseAddress else {
            throw MLPError(.shapeMismatch, "cannot fit a scaler to \(inputs.count) values as \(rows) x \(columns)")
        }
        var largeDeviation = [Double?](repeating: nil, count: columns)
        var mean = [Double](repeating: 0, count: columns)
        var largest = [Double](repeating: 0, count: columns)
        for row in 0..<rows {
            for column in 0..<columns {
                let value = Double(x[row * columns + column])
                guard value.isFinite else {
                    throw MLPError(.nonFinite, "input row \(row) column \(column) is \(value.messageText)")
                }
                mean[column] += value
                largest[column] = max(largest[column], abs(value))
            }
        }
        for column in 0..<columns { mean[column] /= Double(rows) }
        var variance = [Double](repeating: 0, count: columns)
        for row in 0..<rows {
            for column in 0..<columns {
                let deviation = Double(x[row * columns + column]) - mean[column]
                variance[column] += deviation * deviation
            }
        }
        // Finite data near Double's limit can overflow the plain sums (1e308 + 1e308,
        // or squares of 1e200). Such a column is computed again on values divided by
        // its largest magnitude, whose statistics cannot overflow, then scaled back.
        for column in 0..<columns where !(mean[column].isFinite && variance[column].isFinite) {
            let scale = largest[column]
            var scaledMean = 0.0
            for row in 0..<rows { scaledMean += Double(x[row * columns + column]) / scale }
            scaledMean /= Double(rows)
            var scaledVariance = 0.0
            for row in 0..<rows {
                let deviation = Double(x[row * columns + column]) / scale - scaledMean
                scaledVariance += deviation * deviation
            }
            mean[column] = scaledMean * scale
            // Kept as variance * rows in the scaled form; the std is scaled back below.
            let std = (scaledVariance / Double(rows)).squareRoot() * scale
            variance[column] = std.isFinite ? std * std * Double(rows) : .infinity
            if !variance[column].isFinite {
                // The std itself is finite but its square is not: keep it directly.
                largeDeviation[column] = std
            }
        }
        // A constant column can leave a variance of rounding noise (std 1e-17 for a
        // column of 0.1s). scikit-learn's rule (_is_constant_feature) bounds that noise:
        // var <= n eps var + (n mean eps)^2 means constant, and a constant gets std 1.
        var deviation = [Double](repeating: 1, count: columns)
        let n = Double(rows), eps = Double.ulpOfOne
        for column in 0..<columns {
            if let std = largeDeviation[column] {
                deviation[column] = std
                continue
            }
            let populationVariance = variance[column] / n
            let roundingBound = n * eps * populationVariance + (n * mean[column] * eps) * (n * mean[column] * eps)
            let std = populationVariance.squareRoot()
            // A spread so small that 1/std overflows the network's type (subnormal
            // float data) cannot be standardised there either: treat it as constant.
            let usable = std.isFinite && std > 0 && Scalar(1 / std).isFinite
            deviation[column] = populationVariance > roundingBound && usable ? std : 1
        }
        return try InputScaler(mean: mean, standardDeviation: deviation)
    }
}

/// The scaler as the hot path uses it: mean and 1/std in the network's Scalar.
struct ScalerCoefficients<Scalar: MLPScalar>: ~Copyable {
    let mean: ScalarBuffer<Scalar>
    let inverseDeviation: ScalarBuffer<Scalar>

    init(_ scaler: InputScaler) throws(MLPError) {
        let count = scaler.mean.count
        let typeName = Scalar.dtype == .float32 ? "float" : "double"
        for column in 0..<count {
            let mean = Scalar(scaler.mean[column]), inverse = Scalar(1 / scaler.standardDeviation[column])
            guard mean.isFinite, inverse.isFinite else {
                throw MLPError(.invalidArgument,
                    "scaler feature \(column) (mean \(scaler.mean[column]), std \(scaler.standardDeviation[column])) cannot be applied in \(typeName): the mean or 1/std overflows it")
            }
            // An input of 0 scales to -mean/std: if even that overflows, no input near
            // the data the scaler describes would give a finite prediction.
            guard (mean * inverse).isFinite else {
                throw MLPError(.invalidArgument,
                    "scaler feature \(column) (mean \(scaler.mean[column]), std \(scaler.standardDeviation[column])) cannot be applied in \(typeName): mean / std overflows it, so an input of 0 would scale to infinity")
            }
        }
        let mean = try ScalarBuffer<Scalar>(zeroedCount: count, purpose: "scaler")
        let inverseDeviation = try ScalarBuffer<Scalar>(zeroedCount: count, purpose: "scaler")
        for column in 0..<count {
            mean.pointer[column] = Scalar(scaler.mean[column])
            inverseDeviation.pointer[column] = Scalar(1 / scaler.standardDeviation[column])
        }
        self.mean = mean
        self.inverseDeviation = inverseDeviation
    }

    /// output[i][j] = (input[i][j] - mean[j]) * (1 / std[j]) for rows x columns.
    func standardize(
        _ input: UnsafePointer<Scalar>, into output: UnsafeMutablePointer<Scalar>, rows: Int, columns: Int
    ) {
        let m = mean.pointer, s = inverseDeviation.pointer
        for row in 0..<rows {
            let source = input + row * columns, destination = output + row * columns
            for column in 0..<columns {
                destination[column] = (source[column] - m[column]) * s[column]
            }
        }
    }
}
