// Looking inside a gradient computation: the cached Z, A and dZ of every layer and a
// finite-difference gradient check in Float64.

/// Which cached matrix of a layer. Raw values: `smlp_cache_kind`.
public enum CacheKind: UInt8, Sendable, Equatable, CaseIterable {
    /// Z_l = A_{l-1} W_l + b_l
    case preActivation = 0
    /// A_l = f(Z_l)
    case activation = 1
    /// dZ_l = dL/dZ_l, scaled by the reduction
    case delta = 2
}

/// The largest error of one layer's analytic gradient against central differences,
/// |analytic - numeric| / max(1, |analytic|, |numeric|) (docs/backprop.md section 12).
public struct LayerGradientError: Sendable, Equatable {
    public var weights: Double
    public var biases: Double
}

extension Network {
    /// Z, A or dZ of `layer` for the batch of the last `gradients`/`step` call, as a
    /// view of `workspaceRows` x fanOut scalars. Valid until the next mutating call.
    /// - Throws: `invalidArgument` for a bad layer or when no batch is cached.
    public func cachedMatrix(layer: Int, kind: CacheKind) throws(MLPError) -> UnsafeBufferPointer<Scalar> {
        guard layer >= 0, layer < layout.layers.count else {
            throw MLPError(.invalidArgument, "layer is \(layer), but the model has \(layout.layers.count) layers")
        }
        guard workspaceRows > 0 else {
            throw MLPError(.invalidArgument, "no gradient computation is cached; call gradients or step first")
        }
        let start: UnsafeMutablePointer<Scalar>
        switch kind {
        case .preActivation: start = workspace.z(layer)
        case .activation: start = workspace.a(layer)
        case .delta: start = workspace.dz(layer)
        }
        return UnsafeBufferPointer(start: start, count: workspaceRows * layout.layers[layer].fanOut)
    }

    /// Central finite differences, in Float64 on a Float64 copy of this network, for
    /// every parameter; returns the largest relative error per layer for W and b.
    /// The network itself is not changed.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func gradientCheck(_ batch: Dataset<Scalar>, step: Double = 1e-6) throws(MLPError) -> [LayerGradientError] {
        guard step.isFinite, step > 0 else {
            throw MLPError(.invalidArgument, "step is \(step.messageText); it must be finite and > 0")
        }
        try checkBatch(inputs: batch.inputs, rows: batch.rows, targets: batch.targets, targetCount: batch.targetCount)
        // Every copy goes through ScalarBuffer, so a model too large to check in Float64
        // is an outOfMemory error, not a trap.
        let twin = try Network<Double>(configuration)
        for index in 0..<parameterCount { twin.parameters.pointer[index] = Double(parameters.pointer[index]) }
        try twin.setScaler(scaler)
        let inputs = try ScalarBuffer<Double>(zeroedCount: batch.inputs.count, purpose: "gradient check")
        for index in 0..<batch.inputs.count { inputs.pointer[index] = Double(batch.inputs[index]) }
        let targets: Targets<Double>
        var denseTargets = ScalarBuffer<Double>()
        switch batch.targets {
        case .dense(let y):
            denseTargets = try ScalarBuffer<Double>(zeroedCount: batch.targetCount, purpose: "gradient check")
            for index in 0..<batch.targetCount { denseTargets.pointer[index] = Double(y[index]) }
            targets = .dense(denseTargets.pointer)
        case .labels(let labels):
            targets = .labels(labels)
        }
        let data = Dataset(
            inputs: UnsafeBufferPointer(inputs.bufferPointer), targets: targets,
            targetCount: batch.targetCount, rows: batch.rows)
        return try twin.finiteDifferenceErrors(data, step: step)
    }

    /// The reduced loss of `data` at the current parameters (no gradient).
    func reducedLoss(_ data: Dataset<Scalar>) -> Double {
        let input = firstLayerInput(
            data.inputs.baseAddress.unsafelyUnwrapped, rows: data.rows, scratch: workspace.scaledInputs)
        forwardTraining(inputs: input, rows: data.rows)
        let last = layout.layers.count - 1
        let total = batchLoss(
            loss: configuration.loss, outputActivation: configuration.activations[last], z: workspace.z(last), a: workspace.a(last),
            targets: data.targets, rows: data.rows, width: outputCount)
        return configuration.reduction == .mean ? total / Double(data.rows) : total
    }

    /// Compares the analytic gradient with (L(p+h) - L(p-h)) / 2h, parameter by parameter.
    func finiteDifferenceErrors(_ data: Dataset<Scalar>, step: Double) throws(MLPError) -> [LayerGradientError] {
        try gradients(inputs: data.inputs, targets: data.targets, targetCount: data.targetCount, rows: data.rows)
        let analytic = try ScalarBuffer<Scalar>(zeroedCount: parameterCount, purpose: "gradient check")
        analytic.copy(from: gradient)
        let p = parameters.pointer
        let h = Scalar(step)
        var errors: [LayerGradientError] = []
        for layer in layout.layers {
            var worstWeights = 0.0, worstBiases = 0.0
            for index in layer.weightOffset..<layer.endOffset {
                let saved = p[index]
                p[index] = saved + h
                let plus = reducedLoss(data)
                p[index] = saved - h
                let minus = reducedLoss(data)
                p[index] = saved
                // Divide by the step actually taken after rounding p +- h.
                let taken = Double(saved + h) - Double(saved - h)
                let numeric = (plus - minus) / taken
                let exact = Double(analytic.pointer[index])
                // Relative for entries of magnitude 1 and up, absolute below: a pure
                // relative error makes the O(h^2) + O(eps/h) noise of the difference
                // quotient look large on small entries (a correct -5.7e-4 read as 1e-6).
                let error = abs(exact - numeric) / max(abs(exact), abs(numeric), 1)
                if index < layer.biasOffset {
                    worstWeights = max(worstWeights, error)
                } else {
                    worstBiases = max(worstBiases, error)
                }
            }
            errors.append(LayerGradientError(weights: worstWeights, biases: worstBiases))
        }
        workspaceRows = 0
        return errors
    }
}
