// The training loop: epochs of shuffled mini-batches, optional validation with early
// stopping, a per-epoch callback that can stop the run; and evaluation.
//
// Losses reported here are the mean per-sample loss over the data set, whatever the
// reduction used for the gradients, so train and validation losses compare directly.
// `train` is all-or-nothing: if it fails (a non-finite loss mid-run, out of memory),
// parameters, optimizer state, generator and epoch are restored to what they were.

import CShim

/// A labelled data set in memory: inputs rows x inputCount, targets as `Targets`.
public struct Dataset<Scalar: MLPScalar> {
    public var inputs: UnsafeBufferPointer<Scalar>
    public var targets: Targets<Scalar>
    /// Scalars of dense targets (rows x outputCount), or the number of labels.
    public var targetCount: Int
    public var rows: Int

    public init(inputs: UnsafeBufferPointer<Scalar>, targets: Targets<Scalar>, targetCount: Int, rows: Int) {
        self.inputs = inputs
        self.targets = targets
        self.targetCount = targetCount
        self.rows = rows
    }
}

/// How `train` runs. Defaults match common practice (and the C defaults).
public struct TrainingOptions: Sendable, Equatable {
    public var epochs = 10
    public var batchSize = 32
    /// Shuffle the rows every epoch with the network's generator.
    public var shuffle = true
    /// Drop the last batch when it is smaller than batchSize.
    public var dropLast = false
    /// Stop after this many consecutive epochs whose validation loss is not below the
    /// best so far by more than `minDelta`; 0 disables early stopping. `minDelta` only
    /// drives this count: the best epoch is always the lowest validation loss.
    public var patience = 0
    public var minDelta = 0.0
    /// With validation data: end with the parameters of the best (lowest) validation epoch.
    public var restoreBest = true
    /// Mini-batch optimizer steps, or L-BFGS on the whole data set (LBFGS.swift),
    /// which ignores batchSize, shuffle and dropLast.
    public var method: TrainingMethod = .miniBatch
    /// Used when `method` is `.lbfgs`.
    public var lbfgs = LBFGSOptions()

    public init() {}

    func validate() throws(MLPError) {
        guard epochs >= 1 else { throw MLPError(.invalidArgument, "epochs is \(epochs); it must be >= 1") }
        guard batchSize >= 1 else {
            throw MLPError(.invalidArgument, "batch_size is \(batchSize); it must be >= 1")
        }
        guard patience >= 0 else { throw MLPError(.invalidArgument, "patience is \(patience); it must be >= 0") }
        guard minDelta.isFinite, minDelta >= 0 else {
            throw MLPError(.invalidArgument, "min_delta is \(minDelta); it must be finite and >= 0")
        }
        if method == .lbfgs { try lbfgs.validate() }
    }
}

/// What the callback sees after each epoch.
public struct EpochReport: Sendable, Equatable {
    /// 1-based within this `train` call.
    public var epoch: Int
    public var trainLoss: Double
    /// NaN without validation data.
    public var validationLoss: Double
    /// NaN without validation data, or for mean squared error.
    public var validationAccuracy: Double
    /// The learning rate used this epoch; for L-BFGS, the step length the line
    /// search accepted.
    public var learningRate: Double
}

/// What `train` returns.
public struct TrainingSummary: Sendable, Equatable {
    public var epochsRun = 0
    /// The epoch (1-based) with the lowest validation loss, or the last epoch.
    public var bestEpoch = 0
    public var bestValidationLoss = Double.nan
    public var finalTrainLoss = Double.nan
    public var finalValidationLoss = Double.nan
    public var stoppedEarly = false
    public var stoppedByCallback = false
    /// Optimizer steps (mini-batch) or L-BFGS iterations.
    public var iterations = 0
    /// Loss-and-gradient evaluations: one per step (mini-batch), or over the whole
    /// data set, line search included (L-BFGS).
    public var functionEvaluations = 0
    public var stopReason: StopReason = .maxEpochs
    /// L-BFGS: the objective minimised (loss plus L2 term, see LBFGS.swift) at the
    /// end of the last iteration; nil for mini-batch training (NaN in C).
    public var finalObjective: Double? = nil
}

/// Loss and accuracy of a network on a data set.
public struct Evaluation: Sendable, Equatable {
    /// Mean per-sample loss.
    public var loss: Double
    /// Fraction of rows classified right; NaN for mean squared error.
    public var accuracy: Double
}

/// Integers on the C heap (class labels of a gathered batch, the row order), so that
/// an allocation failure is an `outOfMemory` error, not a trap.
struct HeapBuffer<Element>: ~Copyable {
    let base: UnsafeMutablePointer<Element>

    init(count: Int, purpose: StaticString) throws(MLPError) {
        let (bytes, overflow) = max(count, 1).multipliedReportingOverflow(by: MemoryLayout<Element>.stride)
        guard !overflow, let memory = malloc(bytes) else {
            throw MLPError(.outOfMemory, "\(purpose): cannot allocate \(count) entries")
        }
        base = memory.bindMemory(to: Element.self, capacity: max(count, 1))
    }

    deinit { free(base) }
}

/// Where a training run was when it failed, and the one place that words its failure:
/// whatever the step or the evaluation said went wrong, then that the model was rolled
/// back (replacing what the step would say it left behind).
struct TrainingPosition {
    var epoch = 0
    /// The first row (in this epoch's order) of the batch being stepped; nil outside a step.
    var row: Int? = nil

    func failure(_ error: MLPError) -> MLPError {
        var place = ""
        if epoch > 0 {
            place = row.map { "epoch \(epoch), batch at row \($0): " } ?? "epoch \(epoch), validation: "
        }
        return MLPError(error.kind, reason: place + error.reason,
            consequence: "training stopped and the model was rolled back to its state before the call (parameters, optimizer state, generator and epoch)")
    }
}

/// A copy of everything `train` may change, to roll back to.
struct TrainingSnapshot<Scalar: MLPScalar>: ~Copyable {
    let parameters: ScalarBuffer<Scalar>
    let optimizer: OptimizerState<Scalar>
    let generator: Xoshiro256StarStar
    let epoch: Int

    init(of network: Network<Scalar>) throws(MLPError) {
        let parameters = try ScalarBuffer<Scalar>(zeroedCount: network.parameterCount, purpose: "training snapshot")
        let optimizer = try network.optimizer.duplicate()
        parameters.copy(from: network.parameters)
        self.parameters = parameters
        self.optimizer = optimizer
        self.generator = network.generator
        self.epoch = network.epoch
    }

    func restore(into network: Network<Scalar>) {
        network.parameters.copy(from: parameters)
        network.optimizer.restore(from: optimizer)
        network.generator = generator
        network.epoch = epoch
    }
}

extension Network {
    /// Checks a whole data set once: shapes, labels, and that every value is finite
    /// (naming the first bad row), so the loop itself need not look again.
    func checkDataset(_ data: Dataset<Scalar>, _ name: String) throws(MLPError) {
        try checkBatch(inputs: data.inputs, rows: data.rows, targets: data.targets, targetCount: data.targetCount)
        let x = data.inputs.baseAddress.unsafelyUnwrapped
        // One flat pass that vectorises; the row-by-row scan only to name the value.
        var finite = Scalar.allFinite(x, count: data.rows * inputCount)
        if case .dense(let y) = data.targets { finite = finite && Scalar.allFinite(y, count: data.rows * outputCount) }
        if !finite, let location = firstNonFinite(inputs: x, targets: data.targets, rows: data.rows) {
            throw MLPError(.nonFinite, "\(name) \(location)")
        }
    }

    /// Trains on `data` for `options.epochs` epochs (or until early stopping or the
    /// callback says stop: it returns false to stop).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func train(
        _ data: Dataset<Scalar>, validation: Dataset<Scalar>? = nil, options: TrainingOptions = TrainingOptions(),
        onEpoch: (EpochReport) -> Bool = { _ in true }
    ) throws(MLPError) -> TrainingSummary {
        try options.validate()
        try checkDataset(data, "training")
        if let validation { try checkDataset(validation, "validation") }

        let snapshot = try TrainingSnapshot(of: self)
        var position = TrainingPosition()
        do {
            if options.method == .lbfgs {
                return try lbfgsLoop(data, validation: validation, options: options, onEpoch: onEpoch)
            }
            return try trainLoop(data, validation: validation, options: options, onEpoch: onEpoch, position: &position)
        } catch {
            snapshot.restore(into: self)
            throw position.failure(error)
        }
    }

    private func trainLoop(
        _ data: Dataset<Scalar>, validation: Dataset<Scalar>?, options: TrainingOptions,
        onEpoch: (EpochReport) -> Bool, position: inout TrainingPosition
    ) throws(MLPError) -> TrainingSummary {
        let rows = data.rows
        let batchRows = min(options.batchSize, rows)
        let labelTargets: Bool
        if case .labels = data.targets { labelTargets = true } else { labelTargets = false }
        let targetWidth = labelTargets ? 1 : outputCount

        // Gathered batches and the row order (only when shuffling), allocated once.
        let batchInputs = try ScalarBuffer<Scalar>(zeroedCount: options.shuffle ? batchRows * inputCount : 0, purpose: "batch")
        let batchTargets = try ScalarBuffer<Scalar>(
            zeroedCount: options.shuffle && !labelTargets ? batchRows * outputCount : 0, purpose: "batch")
        let batchLabels = try HeapBuffer<Int32>(count: options.shuffle && labelTargets ? batchRows : 0, purpose: "batch labels")
        let orderBuffer = try HeapBuffer<Int>(count: options.shuffle ? rows : 0, purpose: "row order")
        let order = orderBuffer.base
        let meanReduction = configuration.reduction == .mean
        try workspace.reserve(rows: batchRows, layout: layout)

        // The best validation epoch's parameters (empty when not restored).
        let keepsBest = validation != nil && options.restoreBest
        let bestParameters = try ScalarBuffer<Scalar>(
            zeroedCount: keepsBest ? parameterCount : 0, purpose: "best parameters")
        if keepsBest { bestParameters.copy(from: parameters) }

        var summary = TrainingSummary()
        var epochsWithoutImprovement = 0
        let x = data.inputs.baseAddress.unsafelyUnwrapped

        for epochIndex in 1...options.epochs {
            position.epoch = epochIndex
            position.row = nil
            let learningRate = currentLearningRate
            if options.shuffle {
                // Fisher-Yates with the network's generator over 0..<rows afresh each
                // epoch (as PyTorch's sampler draws a permutation of the indices): the
                // order depends on the generator alone, so epochs split across calls,
                // or across a save and a load, run as one call does.
                for row in 0..<rows { order[row] = row }
                for i in stride(from: rows - 1, to: 0, by: -1) {
                    let j = generator.nextIndex(below: i + 1)
                    let swapped = order[i]
                    order[i] = order[j]
                    order[j] = swapped
                }
            }
            var lossSum = 0.0
            var samplesSeen = 0
            var start = 0
            while start < rows {
                let count = min(batchRows, rows - start)
                if count < batchRows && options.dropLast && start > 0 { break }
                position.row = start
                let inputs: UnsafeBufferPointer<Scalar>
                let targets: Targets<Scalar>
                if options.shuffle {
                    for r in 0..<count {
                        let source = order[start + r]
                        copyScalars(batchInputs.pointer + r * inputCount, from: x + source * inputCount, count: inputCount)
                        switch data.targets {
                        case .dense(let y):
                            copyScalars(batchTargets.pointer + r * outputCount, from: y + source * outputCount, count: outputCount)
                        case .labels(let labels):
                            batchLabels.base[r] = labels[source]
                        }
                    }
                    inputs = UnsafeBufferPointer(start: batchInputs.pointer, count: count * inputCount)
                    if labelTargets {
                        targets = .labels(batchLabels.base)
                    } else {
                        targets = .dense(batchTargets.pointer)
                    }
                } else {
                    inputs = UnsafeBufferPointer(start: x + start * inputCount, count: count * inputCount)
                    switch data.targets {
                    case .dense(let y): targets = .dense(y + start * outputCount)
                    case .labels(let labels): targets = .labels(labels + start)
                    }
                }
                // The data set was checked and the workspace reserved for batchRows.
                let loss = try step(
                    inputs: inputs, targets: targets, targetCount: count * targetWidth, rows: count, prechecked: true)
                // Back to a per-sample sum, whatever the reduction.
                lossSum += meanReduction ? loss * Double(count) : loss
                samplesSeen += count
                start += count
                summary.iterations += 1
            }
            epoch = epoch == Int.max ? Int.max : epoch + 1   // saturating, like the step count
            let trainLoss = samplesSeen > 0 ? lossSum / Double(samplesSeen) : .nan
            var report = EpochReport(
                epoch: epochIndex, trainLoss: trainLoss, validationLoss: .nan,
                validationAccuracy: .nan, learningRate: learningRate)
            summary.epochsRun = epochIndex
            summary.finalTrainLoss = trainLoss

            position.row = nil
            if try endOfEpoch(
                epochIndex, report: &report, validation: validation, options: options, summary: &summary,
                epochsWithoutImprovement: &epochsWithoutImprovement,
                bestParameters: keepsBest ? bestParameters.bufferPointer : nil, onEpoch: onEpoch)
            { break }
        }
        summary.functionEvaluations = summary.iterations
        if keepsBest {
            parameters.copy(from: bestParameters)
        }
        workspaceRows = 0   // the workspace no longer matches the final parameters
        return summary
    }

    /// The end of an epoch (or an L-BFGS iteration), the same for both methods: the
    /// validation loss, the best epoch (the lowest loss, whatever minDelta says) and its
    /// parameters, patience (an improvement must beat the best by more than minDelta),
    /// the callback. Returns whether training stops here; `summary` says why.
    func endOfEpoch(
        _ index: Int, report: inout EpochReport, validation: Dataset<Scalar>?, options: TrainingOptions,
        summary: inout TrainingSummary, epochsWithoutImprovement: inout Int,
        bestParameters: UnsafeMutableBufferPointer<Scalar>?, onEpoch: (EpochReport) -> Bool
    ) throws(MLPError) -> Bool {
        var stopEarly = false
        if let validation {
            let result = try evaluateChecked(validation)
            report.validationLoss = result.loss
            report.validationAccuracy = result.accuracy
            summary.finalValidationLoss = result.loss
            let first = summary.bestEpoch == 0
            if first || result.loss < summary.bestValidationLoss - options.minDelta {
                epochsWithoutImprovement = 0
            } else {
                epochsWithoutImprovement += 1
                stopEarly = options.patience > 0 && epochsWithoutImprovement >= options.patience
            }
            if first || result.loss < summary.bestValidationLoss {
                summary.bestEpoch = index
                summary.bestValidationLoss = result.loss
                if let best = bestParameters, let base = best.baseAddress {
                    copyScalars(base, from: parameters.pointer, count: best.count)
                }
            }
        } else {
            summary.bestEpoch = index
        }
        if !onEpoch(report) {
            // Patience may have run out in this epoch too: both flags say so, and the
            // reason is the callback, which spoke last.
            summary.stoppedByCallback = true
            summary.stoppedEarly = stopEarly
            summary.stopReason = .callback
            return true
        }
        if stopEarly {
            summary.stoppedEarly = true
            summary.stopReason = .earlyStopping
            return true
        }
        return false
    }

    /// Mean per-sample loss and accuracy on `data`, in chunks through the training
    /// workspace (so it replaces the activations a `gradients` call left there).
    /// Accuracy: softmax - argmax equals the label; sigmoid - every output on the right
    /// side of 0.5 (scikit-learn's subset accuracy); mean squared error - NaN.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func evaluate(_ data: Dataset<Scalar>) throws(MLPError) -> Evaluation {
        try checkDataset(data, "evaluation")
        return try evaluateChecked(data)
    }

    /// `evaluate` for data already checked by `checkDataset` (train's validation set).
    func evaluateChecked(_ data: Dataset<Scalar>) throws(MLPError) -> Evaluation {
        let chunk = max(min(data.rows, 1024), min(workspace.capacityRows, data.rows))
        try workspace.reserve(rows: chunk, layout: layout)
        workspaceRows = 0
        let last = layout.layers.count - 1
        let x = data.inputs.baseAddress.unsafelyUnwrapped
        var lossSum = 0.0
        var correct = 0
        var start = 0
        while start < data.rows {
            let count = min(chunk, data.rows - start)
            let targets: Targets<Scalar>
            switch data.targets {
            case .dense(let y): targets = .dense(y + start * outputCount)
            case .labels(let labels): targets = .labels(labels + start)
            }
            let input = firstLayerInput(x + start * inputCount, rows: count, scratch: workspace.scaledInputs)
            forwardTraining(inputs: input, rows: count)
            let z = workspace.z(last), a = workspace.a(last)
            lossSum += batchLoss(loss: configuration.loss, outputActivation: configuration.activations[last],
                                 z: z, a: a, targets: targets, rows: count, width: outputCount)
            correct += countCorrect(a: a, targets: targets, rows: count)
            start += count
        }
        let loss = lossSum / Double(data.rows)
        let regression = configuration.loss != .binaryCrossEntropy && configuration.loss != .softmaxCrossEntropy
        let accuracy = regression ? Double.nan : Double(correct) / Double(data.rows)
        return Evaluation(loss: loss, accuracy: accuracy)
    }

    /// Rows whose prediction matches the target (see `evaluate`).
    func countCorrect(a: UnsafePointer<Scalar>, targets: Targets<Scalar>, rows: Int) -> Int {
        let width = outputCount
        var correct = 0
        for i in 0..<rows {
            let row = a + i * width
            switch configuration.loss {
            case .softmaxCrossEntropy:
                var best = 0
                for j in 1..<width where row[j] > row[best] { best = j }
                let label: Int
                switch targets {
                case .labels(let labels): label = Int(labels[i])
                case .dense(let y):
                    var target = 0
                    for j in 1..<width where y[i * width + j] > y[i * width + target] { target = j }
                    label = target
                }
                if best == label { correct += 1 }
            case .binaryCrossEntropy:
                var allRight = true
                for j in 0..<width {
                    let predicted: Scalar = row[j] > 0.5 ? 1 : 0
                    let expected: Scalar = targetValue(targets, row: i, column: j, width: width) > 0.5 ? 1 : 0
                    if predicted != expected { allRight = false }
                }
                if allRight { correct += 1 }
            case .meanSquaredError, .poisson, .fannTanhError:
                break
            }
        }
        return correct
    }
}
