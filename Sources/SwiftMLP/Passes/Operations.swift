// The three operations built on the passes (Backpropagation.swift): predict,
// gradients and step, for a batch in caller memory; and conveniences for Swift
// callers that allocate their results.

extension Network {
    /// Network outputs for `rows` samples.
    /// - Parameters:
    ///   - inputs: rows x inputCount.
    ///   - outputs: rows x outputCount; must not overlap `inputs`.
    /// - Throws: `shapeMismatch`, `outOfMemory`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func predict(
        _ inputs: UnsafeBufferPointer<Scalar>, rows: Int, into outputs: UnsafeMutableBufferPointer<Scalar>
    ) throws(MLPError) {
        try checkBatch(inputs: inputs, rows: rows, targets: nil, targetCount: 0)
        let (expectedOutputs, overflow) = rows.multipliedReportingOverflow(by: outputCount)
        guard !overflow, outputs.count == expectedOutputs, let output = outputs.baseAddress else {
            throw MLPError(.shapeMismatch,
                "outputs hold \(outputs.count) values, but \(rows) rows of \(outputCount) outputs need \(rows &* outputCount)")
        }
        let input = inputs.baseAddress.unsafelyUnwrapped
        // Small batches (one row of most networks) compute on the stack: no slot to
        // claim, no reference counting, no locked instruction beyond the C ABI's busy
        // flag. Every count here is at most a few hundred, so nothing overflows
        // (the wrapping operations skip the overflow checks).
        let widest = layout.widestOutput
        let onStack = rows <= stackScratchScalars && widest <= stackScratchScalars
            && inputCount <= stackScratchScalars && rows &* (2 &* widest &+ inputCount) <= stackScratchScalars
        // The whole 1 KiB, a constant size: no size arithmetic to check.
        let half = rows &* widest
        if onStack && foldsInputCheck && rows <= plans[0].smallForwardRows {
            let inputsFinite = withUnsafeTemporaryAllocation(of: Scalar.self, capacity: stackScratchScalars) { scratch in
                let base = scratch.baseAddress.unsafelyUnwrapped
                return forwardInferenceCheckingInputs(input: input, rows: rows, output: output,
                                                      buffers: (base, base + half), scaledInputs: base + 2 &* half)
            }
            if !inputsFinite { try reportNonFiniteInput(input, rows: rows) }
            return
        }
        try checkFiniteInputs(input, rows: rows)
        if onStack {
            withUnsafeTemporaryAllocation(of: Scalar.self, capacity: stackScratchScalars) { scratch in
                let base = scratch.baseAddress.unsafelyUnwrapped
                forwardInference(input: input, rows: rows, output: output,
                                 buffers: (base, base + half), scaledInputs: base + 2 &* half)
            }
            return
        }
        // Take a free slot: concurrent predictions never write the same memory. Past
        // `inferenceSlotCount` concurrent calls, a call gets scratch of its own.
        for slot in inferenceSlots where slot.claim() {
            defer { slot.release() }
            try slot.workspace.reserve(rows: rows, widest: widest, inputs: inputCount)
            forwardInference(input: input, rows: rows, output: output,
                             buffers: (slot.workspace.buffer(0), slot.workspace.buffer(1)),
                             scaledInputs: slot.workspace.scaledInputs)
            return
        }
        var privateScratch = InferenceWorkspace<Scalar>()
        try privateScratch.reserve(rows: rows, widest: widest, inputs: inputCount)
        forwardInference(input: input, rows: rows, output: output,
                         buffers: (privateScratch.buffer(0), privateScratch.buffer(1)),
                         scaledInputs: privateScratch.scaledInputs)
    }

    /// Scalars of inference scratch a prediction may take on the stack (two
    /// ping-pong buffers of rows x widest, rows x inputCount for the scaler):
    /// 1 KiB, which `withUnsafeTemporaryAllocation` always places on the stack.
    @inline(__always)
    var stackScratchScalars: Int { 1024 / MemoryLayout<Scalar>.stride }

    /// Throws `nonFinite` naming the first NaN or infinity in rows x inputCount
    /// inputs. One cheap pass (a compare per input, against inputCount multiply-adds
    /// per input in the first layer alone); needed because relu maps NaN to 0, so a
    /// bad input need not show in the outputs.
    @inline(__always)
    func checkFiniteInputs(_ input: UnsafePointer<Scalar>, rows: Int) throws(MLPError) {
        if Scalar.allFinite(input, count: rows * inputCount) { return }
        try reportNonFiniteInput(input, rows: rows)
    }

    /// The failure path of `checkFiniteInputs`, out of line so that the check inlines.
    @inline(never)
    func reportNonFiniteInput(_ input: UnsafePointer<Scalar>, rows: Int) throws(MLPError) {
        if let location = firstNonFinite(inputs: input, targets: nil, rows: rows) {
            throw MLPError(.nonFinite, location)
        }
    }

    /// The inputs the first layer sees: `raw` itself, or its standardised copy in
    /// `scratch` (rows x inputCount) when the model has a scaler.
    @inline(__always)
    func firstLayerInput(
        _ raw: UnsafePointer<Scalar>, rows: Int, scratch: UnsafeMutablePointer<Scalar>
    ) -> UnsafePointer<Scalar> {
        switch scalerCoefficients {
        case .none:
            return raw
        case .some(let coefficients):
            coefficients.standardize(raw, into: scratch, rows: rows, columns: inputCount)
            return UnsafePointer(scratch)
        }
    }

    /// The forward pass for inference: ping-pongs between two scratch buffers of
    /// rows x widestOutput and writes the last layer straight into `output`,
    /// activating in place. `scaledInputs` (rows x inputCount) is used with a scaler.
    func forwardInference(
        input: UnsafePointer<Scalar>, rows: Int, output: UnsafeMutablePointer<Scalar>,
        buffers: (UnsafeMutablePointer<Scalar>, UnsafeMutablePointer<Scalar>),
        scaledInputs: UnsafeMutablePointer<Scalar>
    ) {
        inferenceLayers(from: 0, input: firstLayerInput(input, rows: rows, scratch: scaledInputs), rows: rows,
                        output: output, buffers: buffers)
    }

    /// Layers `first`... of `forwardInference`, from `input` (what layer `first` sees).
    @inline(__always)
    func inferenceLayers(
        from first: Int, input: UnsafePointer<Scalar>, rows: Int, output: UnsafeMutablePointer<Scalar>,
        buffers: (UnsafeMutablePointer<Scalar>, UnsafeMutablePointer<Scalar>)
    ) {
        var current = input
        let last = layerCount - 1
        for l in first...last {
            let target = l == last ? output : (l & 1 == 0 ? buffers.0 : buffers.1)
            forwardDense(layer: l, input: current, rows: rows, product: target, z: nil, a: target)
            current = UnsafePointer(target)
        }
    }

    /// `forwardInference` with the check of the inputs folded into the first layer
    /// (`foldsInputCheck`); false, with `output` not written, when an input is NaN or
    /// infinite. Such an input makes every pre-activation of its row non-finite (NaN w
    /// and inf 0 are NaN, inf w is infinite, and sums keep either), so a finite z_0 in
    /// every row clears the inputs: one test a row instead of a pass over them. A z_0
    /// that is not finite may also be finite inputs overflowing; the pass decides
    /// then. The first layer's Z goes to the second buffer, free until the second
    /// layer writes it.
    func forwardInferenceCheckingInputs(
        input: UnsafePointer<Scalar>, rows: Int, output: UnsafeMutablePointer<Scalar>,
        buffers: (UnsafeMutablePointer<Scalar>, UnsafeMutablePointer<Scalar>),
        scaledInputs: UnsafeMutablePointer<Scalar>
    ) -> Bool {
        let firstInput = firstLayerInput(input, rows: rows, scratch: scaledInputs)
        forwardDense(layer: 0, input: firstInput, rows: rows, product: buffers.0, z: buffers.1, a: buffers.0)
        let width = plans[0].fanOut
        var nonFinite: Scalar.NonFiniteBits = 0
        for i in 0..<rows { nonFinite |= Scalar.nonFiniteBits(buffers.1[i &* width]) }
        if Scalar.containsNonFinite(nonFinite) && !Scalar.allFinite(input, count: rows &* inputCount) {
            return false
        }
        inferenceLayers(from: 1, input: buffers.0, rows: rows, output: output, buffers: buffers)
        return true
    }

    /// Loss and gradient of one batch, without changing the parameters. The gradient
    /// is then in `gradientView`, and every layer's Z, A and dZ in the workspace.
    /// - Parameters:
    ///   - inputs: rows x inputCount.
    ///   - targets: rows x outputCount dense targets, or rows labels.
    ///   - targetCount: the number of scalars (or labels) `targets` points to.
    /// - Throws: `shapeMismatch`, `invalidArgument` (labels), `outOfMemory`,
    ///   `nonFinite` (loss or gradient not finite).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @discardableResult
    public func gradients(
        inputs: UnsafeBufferPointer<Scalar>, targets: Targets<Scalar>, targetCount: Int, rows: Int
    ) throws(MLPError) -> Double {
        let (loss, firstInput) = try lossAndGradient(
            inputs: inputs, targets: targets, targetCount: targetCount, rows: rows)
        guard loss.isFinite, gradientSummary(needsNorm: false, rows: rows, firstInput: firstInput).isFinite else {
            throw nonFiniteError(inputs: inputs.baseAddress.unsafelyUnwrapped, targets: targets, rows: rows, loss: loss)
        }
        return loss
    }

    /// Shared by `gradients` and `step`: checks, reserves, forward, backward. Returns
    /// the loss and the inputs the first layer saw; the gradient is in `gradient`.
    @inline(__always)
    func lossAndGradient(
        inputs: UnsafeBufferPointer<Scalar>, targets: Targets<Scalar>, targetCount: Int, rows: Int,
        prechecked: Bool = false
    ) throws(MLPError) -> (loss: Double, firstInput: UnsafePointer<Scalar>) {
        let input = try checkedForward(
            inputs: inputs, targets: targets, targetCount: targetCount, rows: rows, prechecked: prechecked)
        return (backwardTraining(inputs: input, targets: targets, rows: rows), input)
    }

    /// The start of every training pass: checks the batch, makes room in the
    /// workspace and runs the forward pass. Returns the inputs the first layer saw
    /// (X, or its standardised copy). `prechecked`: the caller has checked the
    /// batch and reserved the workspace for it (`train`, once for every batch).
    @inline(__always)
    func checkedForward(
        inputs: UnsafeBufferPointer<Scalar>, targets: Targets<Scalar>, targetCount: Int, rows: Int,
        prechecked: Bool = false
    ) throws(MLPError) -> UnsafePointer<Scalar> {
        if !prechecked {
            try checkBatch(inputs: inputs, rows: rows, targets: targets, targetCount: targetCount)
            try workspace.reserve(rows: rows, layout: layout)
        }
        let input = firstLayerInput(
            inputs.baseAddress.unsafelyUnwrapped, rows: rows, scratch: workspace.scaledInputs)
        forwardTraining(inputs: input, rows: rows)
        workspaceRows = rows
        return input
    }

    /// One optimizer step on one batch. Returns the loss before the update.
    /// If the loss or the gradient is not finite, throws `nonFinite` and changes
    /// neither the parameters nor the optimizer state.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @discardableResult
    public func step(
        inputs: UnsafeBufferPointer<Scalar>, targets: Targets<Scalar>, targetCount: Int, rows: Int
    ) throws(MLPError) -> Double {
        try step(inputs: inputs, targets: targets, targetCount: targetCount, rows: rows, prechecked: false)
    }

    /// `step`, for a batch whose checks `prechecked` says were done (`checkedForward`).
    @inline(__always)
    func step(
        inputs: UnsafeBufferPointer<Scalar>, targets: Targets<Scalar>, targetCount: Int, rows: Int,
        prechecked: Bool
    ) throws(MLPError) -> Double {
        let needsNorm = optimizer.configuration.clipNorm > 0
        if optimizer.updatesOutOfPlace && !needsNorm {
            return try plainSGDStep(
                inputs: inputs, targets: targets, targetCount: targetCount, rows: rows, prechecked: prechecked)
        }
        let (loss, firstInput) = try lossAndGradient(
            inputs: inputs, targets: targets, targetCount: targetCount, rows: rows, prechecked: prechecked)
        let norm = gradientSummary(needsNorm: needsNorm, rows: rows, firstInput: firstInput)
        guard loss.isFinite, norm.isFinite else {
            throw nonFiniteError(inputs: inputs.baseAddress.unsafelyUnwrapped, targets: targets, rows: rows, loss: loss)
        }
        try applyGradient(norm: norm, loss: loss)
        return loss
    }
}

// MARK: Conveniences for Swift callers (these allocate their results).

extension Network {
    /// Outputs for `inputs` (rows x inputCount, row-major), as a new array.
    public func predict(_ inputs: [Scalar]) throws(MLPError) -> [Scalar] {
        guard inputCount > 0, inputs.count % inputCount == 0 else {
            throw MLPError(.shapeMismatch,
                "\(inputs.count) inputs are not whole rows of \(inputCount)")
        }
        let rows = inputs.count / inputCount
        var outputs = [Scalar](repeating: 0, count: rows * outputCount)
        var failure: MLPError? = nil
        inputs.withUnsafeBufferPointer { input in
            outputs.withUnsafeMutableBufferPointer { output in
                do throws(MLPError) { try predict(input, rows: rows, into: output) } catch { failure = error }
            }
        }
        if let failure { throw failure }
        return outputs
    }

    /// One step on dense targets (rows x outputCount). Returns the loss before it.
    @discardableResult
    public func step(inputs: [Scalar], targets: [Scalar]) throws(MLPError) -> Double {
        try withBatch(inputs: inputs, targets: targets) { (x, y, rows) throws(MLPError) in
            try step(inputs: x, targets: .dense(y.baseAddress.unsafelyUnwrapped), targetCount: y.count, rows: rows)
        }
    }

    /// Loss and gradient on dense targets; the gradient is returned as a new array.
    public func gradients(inputs: [Scalar], targets: [Scalar]) throws(MLPError) -> (loss: Double, gradient: [Scalar]) {
        let loss = try withBatch(inputs: inputs, targets: targets) { (x, y, rows) throws(MLPError) in
            try gradients(inputs: x, targets: .dense(y.baseAddress.unsafelyUnwrapped), targetCount: y.count, rows: rows)
        }
        return (loss, Array(gradientView))
    }

    private func withBatch(
        inputs: [Scalar], targets: [Scalar],
        _ body: (UnsafeBufferPointer<Scalar>, UnsafeBufferPointer<Scalar>, Int) throws(MLPError) -> Double
    ) throws(MLPError) -> Double {
        guard inputCount > 0, inputs.count % inputCount == 0, !targets.isEmpty else {
            throw MLPError(.shapeMismatch, "\(inputs.count) inputs are not whole rows of \(inputCount)")
        }
        let rows = inputs.count / inputCount
        var result: Result<Double, MLPError> = .success(0)
        inputs.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { y in
                do throws(MLPError) { result = .success(try body(x, y, rows)) } catch { result = .failure(error) }
            }
        }
        return try result.get()
    }
}
