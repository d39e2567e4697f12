// The network: its flat parameter and gradient vectors, optimizer state, generator
// and workspaces, and the three hot operations - predict, gradients, step.
//
// Shapes, for a batch of n rows and layer l mapping n_l inputs to n_{l+1} outputs:
//   X        n x n_0              inputs, row-major
//   W_l      n_l x n_{l+1}        in the parameter vector at layout.layers[l]
//   Z_l, A_l n x n_{l+1}          workspace.z(l), workspace.a(l)
//   dZ_l     n x n_{l+1}          workspace.dz(l)
//   dW_l     n_l x n_{l+1}        gradient vector, same offsets as W_l
//   db_l     n_{l+1}              gradient vector, same offsets as b_l

import Synchronization

/// A multilayer perceptron computing in `Scalar` (`Float` or `Double`).
///
/// Not safe to mutate from two threads at once; `predict` may run concurrently with
/// other `predict` calls. The C ABI adds a busy flag on top of this contract.
public final class Network<Scalar: MLPScalar> {
    public let configuration: NetworkConfiguration
    public let layout: ParameterLayout
    // Exclusive access to a network is the caller's contract (the C ABI enforces it
    // with its busy flag), so the hot mutable properties skip Swift's run-time
    // exclusivity bookkeeping (docs/performance.md, entry 6).

    /// The parameters: `layout.parameterCount` scalars, laid out as `ParameterLayout` says.
    /// A plain-SGD step may swap this buffer with `gradient` (PlainSGDStep.swift).
    @exclusivity(unchecked) var parameters: ScalarBuffer<Scalar>
    /// The gradient of the last `gradients` call, same layout. A `step` with an
    /// optimizer that keeps state also computes its gradient here; plain SGD uses
    /// it as scratch (PlainSGDStep.swift).
    @exclusivity(unchecked) var gradient: ScalarBuffer<Scalar>
    @exclusivity(unchecked) var optimizer: OptimizerState<Scalar>
    let workspace: Workspace<Scalar>
    /// Per-layer shapes and activations as plain memory for the hot path.
    let plans: UnsafeMutablePointer<LayerPlan>
    /// Weight layers: `layout.layers.count`.
    let layerCount: Int
    /// The most weights in one layer (fanIn * fanOut): whether any product of a
    /// batch goes to OpenBLAS, in one check (`forwardTraining`).
    let largestLayerWeights: Int
    /// Whether a batch of one row checks its gradient from the factors of the
    /// weight gradients (`oneRowGradientIsFinite`) rather than entry by entry.
    let checksFactors: Bool
    /// Whether a small prediction checks its inputs from the first layer's Z
    /// (`forwardInferenceCheckingInputs`) instead of by a pass over them: with two
    /// layers or more (the first then writes scratch, not the output), a first layer
    /// with a kernel (its plan's `denseRows`), and rows of 128 bytes or more of inputs,
    /// where the pass costs more than the one test a row.
    let foldsInputCheck: Bool
    /// Rows of the batch whose activations and deltas the workspace holds (0: none).
    @exclusivity(unchecked) public internal(set) var workspaceRows = 0
    /// Inference scratch, one slot per concurrent prediction, so predictions never
    /// share memory; each slot's buffers are allocated on its first use. Predictions
    /// small enough take their scratch on the stack instead (`predict`).
    let inferenceSlots: [InferenceSlot<Scalar>] = (0..<inferenceSlotCount).map { _ in InferenceSlot() }
    /// The network's own generator: initial weights, then shuffling in `train`.
    public var generator: Xoshiro256StarStar
    /// Epochs completed by `train`; drives the learning-rate schedule. Never negative
    /// (a negative assignment is stored as 0).
    @exclusivity(unchecked) public var epoch = 0 {
        didSet { if epoch < 0 { epoch = 0 } }
    }
    /// Caller key/value strings saved with the model, in insertion order.
    public private(set) var metadata: [(key: String, value: String)] = []
    /// Standardisation applied to every input before the first layer, if any.
    public private(set) var scaler: InputScaler? = nil
    @exclusivity(unchecked) var scalerCoefficients: ScalerCoefficients<Scalar>? = nil
    let leakySlope: Scalar

    /// Builds and initialises a network.
    /// - Throws: `invalidArgument` for a bad configuration, `outOfMemory` when the
    ///   parameters cannot be allocated.
    public convenience init(_ configuration: NetworkConfiguration) throws(MLPError) {
        let layout = try configuration.validatedLayout()
        guard Scalar(configuration.leakyReLUSlope).isFinite else {
            throw MLPError(.invalidArgument,
                "leaky_relu_slope \(configuration.leakyReLUSlope) overflows \(Scalar.dtype == .float32 ? "float" : "double")")
        }
        let count = layout.parameterCount
        let parameters = try ScalarBuffer<Scalar>(zeroedCount: count, purpose: "parameters")
        let gradient = try ScalarBuffer<Scalar>(zeroedCount: count, purpose: "gradient")
        let optimizer = try OptimizerState<Scalar>(
            configuration: OptimizerConfiguration(kind: .sgd), parameterCount: count)
        self.init(configuration: configuration, layout: layout, parameters: parameters,
                  gradient: gradient, optimizer: optimizer)
    }

    /// The rest of `init(_:)`, which cannot fail. Everything that can throw runs before
    /// the object exists: Embedded Swift's runtime does not free an object whose
    /// initializer throws (its swift_deallocPartialClassInstance destroys the fields
    /// only), so a failed create would leak the object.
    private init(
        configuration: NetworkConfiguration, layout: ParameterLayout,
        parameters: consuming ScalarBuffer<Scalar>, gradient: consuming ScalarBuffer<Scalar>,
        optimizer: consuming OptimizerState<Scalar>
    ) {
        self.configuration = configuration
        self.layout = layout
        self.leakySlope = Scalar(configuration.leakyReLUSlope)
        self.parameters = parameters
        self.gradient = gradient
        self.optimizer = optimizer
        self.layerCount = layout.layers.count
        self.largestLayerWeights = layout.layers.map { $0.fanIn * $0.fanOut }.max() ?? 0
        self.checksFactors = oneRowFactorCheckIsCheaper(layout, Scalar.self)
        self.workspace = Workspace(layerCount: layout.layers.count)
        self.plans = .allocate(capacity: layout.layers.count)
        for (l, shape) in layout.layers.enumerated() {
            (plans + l).initialize(to: LayerPlan(
                fanIn: shape.fanIn, fanOut: shape.fanOut, weightOffset: shape.weightOffset,
                biasOffset: shape.biasOffset, activation: configuration.activations[l],
                denseRows: denseRowsKernel(configuration.activations[l], Scalar.self, outputs: shape.fanOut)))
        }
        self.foldsInputCheck = layout.layers.count >= 2 && plans[0].denseRows != nil
            && configuration.inputCount * MemoryLayout<Scalar>.size >= 128
        var generator = Xoshiro256StarStar(seed: configuration.seed)
        initializeParameters(
            self.parameters.pointer, layout: layout, activations: configuration.activations,
            initialization: configuration.initialization, generator: &generator)
        self.generator = generator
    }

    deinit {
        plans.deallocate()
    }

    // MARK: Shape

    public var parameterCount: Int { layout.parameterCount }
    public var inputCount: Int { configuration.inputCount }
    public var outputCount: Int { configuration.outputCount }

    // MARK: Parameters

    /// A read-only view of the parameter vector. Valid while the network lives and no
    /// mutating call runs.
    public var parameterView: UnsafeBufferPointer<Scalar> {
        UnsafeBufferPointer(parameters.bufferPointer)
    }

    /// A read-only view of the gradient of the most recent `gradients` call (or of a
    /// `step` or `applyGradients` with an optimizer that keeps state). Plain SGD
    /// uses the buffer as scratch: after its `step` or `applyGradients`, successful
    /// or not, what it holds is unspecified. Valid until the next mutating call.
    public var gradientView: UnsafeBufferPointer<Scalar> {
        UnsafeBufferPointer(gradient.bufferPointer)
    }

    /// A copy of the parameter vector.
    public var parameterValues: [Scalar] { Array(parameterView) }

    /// Replaces every parameter. Optimizer state is kept.
    /// - Throws: `shapeMismatch` for a wrong count, `nonFinite` for NaN or infinity
    ///   (nothing is changed).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func setParameters(_ values: UnsafeBufferPointer<Scalar>) throws(MLPError) {
        guard values.count == parameterCount else {
            throw MLPError(.shapeMismatch,
                "got \(values.count) parameters, but the model has \(parameterCount)")
        }
        for index in 0..<values.count where !values[index].isFinite {
            throw MLPError(.nonFinite, "parameter \(index) is \(values[index].messageText); parameters must be finite")
        }
        if let source = values.baseAddress, parameterCount > 0 {
            copyScalars(parameters.pointer, from: source, count: parameterCount)
        }
    }

    public func setParameters(_ values: [Scalar]) throws(MLPError) {
        var failure: MLPError? = nil
        values.withUnsafeBufferPointer { buffer in
            do throws(MLPError) { try setParameters(buffer) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    // MARK: Metadata

    /// Sets `key` to `value` (nil removes the key). Keys are compared byte for byte
    /// (no Unicode normalisation), and are 1...255 UTF-8 bytes,
    /// values at most 65535, at most 1024 keys; neither may contain NUL.
    public func setMetadata(key: String, value: String?) throws(MLPError) {
        let keyBytes = key.utf8.count
        guard keyBytes >= 1, keyBytes <= maximumMetadataKeyBytes, !key.utf8.contains(0) else {
            throw MLPError(.invalidArgument, "a metadata key must be 1...\(maximumMetadataKeyBytes) bytes without NUL; got \(keyBytes) bytes")
        }
        let existing = metadata.firstIndex { $0.key.hasSameBytes(as: key) }
        guard let value else {
            if let existing { metadata.remove(at: existing) }
            return
        }
        guard value.utf8.count <= maximumMetadataValueBytes, !value.utf8.contains(0) else {
            throw MLPError(.invalidArgument,
                "the value of metadata key \"\(key)\" is \(value.utf8.count) bytes; at most \(maximumMetadataValueBytes), without NUL")
        }
        if let existing {
            metadata[existing].value = value
        } else {
            guard metadata.count < maximumMetadataEntries else {
                throw MLPError(.invalidArgument, "a model holds at most \(maximumMetadataEntries) metadata keys")
            }
            metadata.append((key, value))
        }
    }

    // MARK: Input scaling

    /// Keeps `scaler` in the model (nil removes it).
    /// - Throws: `shapeMismatch` when its length is not the input width.
    public func setScaler(_ scaler: InputScaler?) throws(MLPError) {
        guard let scaler else {
            scalerCoefficients = nil
            self.scaler = nil
            return
        }
        guard scaler.mean.count == inputCount else {
            throw MLPError(.shapeMismatch,
                "the scaler has \(scaler.mean.count) features but the model has \(inputCount) inputs")
        }
        scalerCoefficients = try ScalerCoefficients<Scalar>(scaler)
        self.scaler = scaler
    }

    /// Computes the scaler from training inputs (rows x inputCount) and keeps it.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func fitScaler(_ inputs: UnsafeBufferPointer<Scalar>, rows: Int) throws(MLPError) {
        try checkBatch(inputs: inputs, rows: rows, targets: nil, targetCount: 0)
        try setScaler(try InputScaler.fit(inputs, rows: rows, columns: inputCount))
    }

    // MARK: Optimizer

    public var optimizerConfiguration: OptimizerConfiguration { optimizer.configuration }
    /// Updates applied since the optimizer was set.
    public var optimizerStepCount: Int { optimizer.stepCount }

    /// Replaces the optimizer and resets its state.
    public func setOptimizer(_ configuration: OptimizerConfiguration) throws(MLPError) {
        try configuration.validate()
        try configuration.validateRepresentable(in: Scalar.self)
        optimizer = try OptimizerState<Scalar>(configuration: configuration, parameterCount: parameterCount)
    }

    /// The learning rate the next step will use (the schedule at the current epoch).
    public var currentLearningRate: Double {
        optimizer.configuration.schedule.learningRate(
            base: optimizer.configuration.learningRate, epoch: epoch)
    }

    // MARK: Checks shared by the batch operations

    @inline(__always)
    func checkBatch(
        inputs: UnsafeBufferPointer<Scalar>, rows: Int, targets: Targets<Scalar>?,
        targetCount: Int
    ) throws(MLPError) {
        // The usual batch passes a few inlined comparisons; labels, and any batch
        // that fails one, go through the full checks and their messages out of line.
        let (expectedInputs, overflow) = rows.multipliedReportingOverflow(by: inputCount)
        if rows >= 1, rows <= largestBLASDimension, !overflow, inputs.count == expectedInputs,
           inputs.baseAddress != nil {
            switch targets {
            case nil:
                return
            case .dense?:
                let (expectedTargets, overflowT) = rows.multipliedReportingOverflow(by: outputCount)
                if !overflowT, targetCount == expectedTargets { return }
            case .labels?:
                break
            }
        }
        try checkBatchInDetail(inputs: inputs, rows: rows, targets: targets, targetCount: targetCount)
    }

    /// Every check of `checkBatch`, with the message naming the first that fails.
    @inline(never)
    func checkBatchInDetail(
        inputs: UnsafeBufferPointer<Scalar>, rows: Int, targets: Targets<Scalar>?,
        targetCount: Int
    ) throws(MLPError) {
        guard rows >= 1, rows <= largestBLASDimension else {
            throw MLPError(.shapeMismatch, "n_rows is \(rows); it must be in 1...\(largestBLASDimension)")
        }
        let (expectedInputs, overflow) = rows.multipliedReportingOverflow(by: inputCount)
        guard !overflow, inputs.count == expectedInputs, inputs.baseAddress != nil else {
            throw MLPError(.shapeMismatch,
                "inputs hold \(inputs.count) values, but \(rows) rows of \(inputCount) inputs need \(rows &* inputCount)")
        }
        guard let targets else { return }
        switch targets {
        case .dense:
            let (expectedTargets, overflowT) = rows.multipliedReportingOverflow(by: outputCount)
            guard !overflowT, targetCount == expectedTargets else {
                throw MLPError(.shapeMismatch,
                    "targets hold \(targetCount) values, but \(rows) rows of \(outputCount) outputs need \(rows &* outputCount)")
            }
        case .labels(let labels):
            guard configuration.loss == .softmaxCrossEntropy else {
                throw MLPError(.invalidArgument,
                    "class labels need softmax cross-entropy; this model's loss is \(configuration.loss)")
            }
            guard targetCount == rows else {
                throw MLPError(.shapeMismatch, "got \(targetCount) labels for \(rows) rows")
            }
            for row in 0..<rows where labels[row] < 0 || Int(labels[row]) >= outputCount {
                throw MLPError(.invalidArgument,
                    "label of row \(row) is \(labels[row]); it must be from 0 to \(outputCount - 1) (one class per output)")
            }
        }
    }

    /// Explains a non-finite loss or gradient, naming the first row of non-finite
    /// data when there is one. Only runs on the failure path.
    func nonFiniteError(
        inputs: UnsafePointer<Scalar>, targets: Targets<Scalar>, rows: Int, loss: Double
    ) -> MLPError {
        if let location = firstNonFinite(inputs: inputs, targets: targets, rows: rows) {
            return MLPError(.nonFinite, reason: "\(location)", consequence: "nothing was updated")
        }
        return MLPError(.nonFinite,
            reason: "the loss (\(loss.messageText)), a gradient or an updated parameter is not finite though the data are; the parameters or learning rate may have diverged",
            consequence: "nothing was updated")
    }

    /// Where the first NaN or infinity is in `rows` rows of inputs and, if given, dense
    /// targets, scanning row by row: "input row 3 column 1 is nan" (or "target ..."),
    /// or nil when every value is finite. The one scan behind every non-finite message.
    func firstNonFinite(inputs: UnsafePointer<Scalar>, targets: Targets<Scalar>?, rows: Int) -> String? {
        for row in 0..<rows {
            for column in 0..<inputCount where !inputs[row * inputCount + column].isFinite {
                return "input row \(row) column \(column) is \(inputs[row * inputCount + column].messageText)"
            }
            if case .dense(let y)? = targets {
                for column in 0..<outputCount where !y[row * outputCount + column].isFinite {
                    return "target row \(row) column \(column) is \(y[row * outputCount + column].messageText)"
                }
            }
        }
        return nil
    }
}
