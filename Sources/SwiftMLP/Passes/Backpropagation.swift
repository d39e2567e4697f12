// The forward and backward passes, side by side, and the three operations built on
// them: predict, gradients, step. See docs/backprop.md for the equations.
//
// forwardDense     Z_l = A_{l-1} W_l            (gemm, no transposes)
//                  Z_l += b_l; A_l = f_l(Z_l)   (one fused pass)
// backwardDense    dA_{l-1} = dZ_l W_l^T        (gemm, transpose flag on W)
//                  dZ_{l-1} = dA_{l-1} ⊙ f'(A_{l-1}),  db_{l-1} = sum_rows dZ_{l-1}
//                                               (one fused pass)
//                  dW_l = A_{l-1}^T dZ_l        (gemm, transpose flag on A), or with
//                  plain SGD W_l' = W_l - lr dW_l in the same gemm (PlainSGDStep.swift)
// The output layer's dZ comes from the loss (Loss.swift): a - y for the fused
// cross-entropies, scaled by 1/n under mean reduction.

extension Network {
    // MARK: Layer kernels

    /// Z = input · W (+ b, activation), for one layer over `rows` rows.
    /// - input: rows x fanIn; product, z, a: rows x fanOut. The matrix product goes
    ///   to `product`, which may equal `z` (forwardTraining says when it does not),
    ///   or `a` when there is no `z` (inference keeps no pre-activations).
    @inline(__always)
    func forwardDense(
        layer l: Int, input: UnsafePointer<Scalar>, rows: Int, product: UnsafeMutablePointer<Scalar>,
        z: UnsafeMutablePointer<Scalar>?, a: UnsafeMutablePointer<Scalar>,
        sigmoidExponentials: UnsafeMutablePointer<Scalar>? = nil
    ) {
        let shape = plans[l]
        multiply(
            transposeA: false, transposeB: false, m: rows, n: shape.fanOut, k: shape.fanIn,
            a: input, lda: shape.fanIn,
            b: parameters.address(shape.weightOffset), ldb: shape.fanOut,
            c: product, ldc: shape.fanOut)
        forwardBiasActivation(
            shape.activation, leakySlope: leakySlope, product: product, z: z, a: a,
            bias: parameters.address(shape.biasOffset), rows: rows, width: shape.fanOut,
            sigmoidExponentials: sigmoidExponentials)
    }

    /// From dZ_l (already in the workspace): dW_l, and for l > 0 also dZ_{l-1} and
    /// db_{l-1}. db_l was written by whoever produced dZ_l.
    /// With `sgdStep`, dW_l and db_l are not kept: they update W_l and b_l into
    /// `sgdStep.newParameters` instead (PlainSGDStep.swift).
    /// - layerInput: rows x fanIn, the A_{l-1} (or X) the forward pass used.
    @inline(__always)
    func backwardDense(
        layer l: Int, layerInput: UnsafePointer<Scalar>, rows: Int, sgdStep: PlainSGDDestination?
    ) {
        let shape = plans[l]
        let dz = workspace.dz(l)
        if l > 0 {
            // dA_{l-1} (rows x fanIn) = dZ_l (rows x fanOut) · W_l^T (fanOut x fanIn)
            let upstream = workspace.upstream
            multiply(
                transposeA: false, transposeB: true, m: rows, n: shape.fanIn, k: shape.fanOut,
                a: dz, lda: shape.fanOut,
                b: parameters.address(shape.weightOffset), ldb: shape.fanOut,
                c: upstream, ldc: shape.fanIn)
            let previous = plans[l - 1]
            backwardActivationBiasGradient(
                previous.activation, leakySlope: leakySlope,
                upstream: upstream, a: workspace.a(l - 1), dz: workspace.dz(l - 1),
                biasGradient: gradient.address(previous.biasOffset), rows: rows, width: shape.fanIn)
        }
        guard let sgdStep else {
            // dW_l (fanIn x fanOut) = A_{l-1}^T (fanIn x rows) · dZ_l (rows x fanOut)
            multiply(
                transposeA: true, transposeB: false, m: shape.fanIn, n: shape.fanOut, k: rows,
                a: layerInput, lda: shape.fanIn, b: dz, ldb: shape.fanOut,
                c: gradient.address(shape.weightOffset), ldc: shape.fanOut)
            return
        }
        // W_l' = W_l - lr (A_{l-1}^T dZ_l + wd W_l), in the destination.
        let newWeights = sgdStep.newParameters + shape.weightOffset
        newWeights.update(from: parameters.address(shape.weightOffset), count: shape.fanIn * shape.fanOut)
        multiply(
            transposeA: true, transposeB: false, m: shape.fanIn, n: shape.fanOut, k: rows,
            a: layerInput, lda: shape.fanIn, b: dz, ldb: shape.fanOut,
            c: newWeights, ldc: shape.fanOut, sgdStep: sgdStep.weights)
        // b_l' = b_l - lr (db_l + wd b_l); db_l is in the gradient buffer, which is
        // also the destination (each element is read before it is written).
        let oldBiases = parameters.address(shape.biasOffset)
        let biasGradient = gradient.address(shape.biasOffset)
        let newBiases = sgdStep.newParameters + shape.biasOffset
        for j in 0..<shape.fanOut {
            newBiases[j] = sgdStep.biases.updated(oldBiases[j], gradient: biasGradient[j])
        }
    }

    // MARK: Passes

    /// The forward pass over the training workspace (keeps Z and A of every layer).
    /// Under binary cross-entropy the output layer's dZ buffer receives e^-|Z| for
    /// the loss (`lossAndOutputDelta`), which overwrites it with dZ.
    ///
    /// Where the products go: with one BLAS thread, into Z, which the bias pass then
    /// updates in place. With more, each product OpenBLAS computes goes into the
    /// workspace's `product` buffer and the pass writes Z (the small products the
    /// engine's own loops compute still go into Z). OpenBLAS's other thread writes
    /// part of every large product. For this thread, a line the other one wrote is a
    /// fetch from the other core's cache; writing Z in place over it is a second
    /// round trip (invalidating the other core's copy), and the next step's product
    /// fetches the line back. Into a buffer that only products write, the pass's
    /// share is the one fetch. On a (784-128-10, batch 64) in float32 at two threads
    /// the bias + relu pass went from 3-21 us to 2-5 us a step (perf,
    /// docs/performance.md entry 17). At one thread the in-place update is the
    /// cheaper: it reads and writes one matrix where the other way reads one and
    /// writes another. The values are the same bits either way.
    func forwardTraining(inputs: UnsafePointer<Scalar>, rows: Int) {
        var input = inputs
        let last = layerCount - 1
        // One check a step, and no BLAS query (6 ns) when every product of this
        // batch is small (2-4-1 at batch 4). Two loops, so that the usual one stays
        // as lean as before: one loop choosing the product layer by layer counted
        // ~30 instructions more in a 2-4-1 step of ~5 200 (callgrind, float64).
        let productsApart = productGoesToBLAS(m: rows, n: largestLayerWeights, k: 1) && BLASThreads.count > 1
        for l in 0..<layerCount {
            let z = workspace.z(l), a = workspace.a(l)
            let exponentials = l == last && configuration.loss == .binaryCrossEntropy ? workspace.dz(l) : nil
            if productsApart {
                let shape = plans[l]
                let product = productGoesToBLAS(m: rows, n: shape.fanOut, k: shape.fanIn) ? workspace.product : z
                forwardDense(layer: l, input: input, rows: rows, product: product,
                             z: z, a: a, sigmoidExponentials: exponentials)
            } else {
                forwardDense(layer: l, input: input, rows: rows, product: z,
                             z: z, a: a, sigmoidExponentials: exponentials)
            }
            input = UnsafePointer(a)
        }
    }

    /// The loss, then the backward pass; fills `gradient`. Returns the reduced loss.
    func backwardTraining(inputs: UnsafePointer<Scalar>, targets: Targets<Scalar>, rows: Int) -> Double {
        let loss = outputLossAndDelta(targets: targets, rows: rows)
        backwardLayers(inputs: inputs, rows: rows, sgdStep: nil)
        return loss
    }

    /// The loss of the batch in the workspace; writes the output layer's dZ and db.
    @inline(__always)
    func outputLossAndDelta(targets: Targets<Scalar>, rows: Int) -> Double {
        let last = layerCount - 1
        let lastShape = plans[last]
        return lossAndOutputDelta(
            loss: configuration.loss, reduction: configuration.reduction,
            outputActivation: lastShape.activation, leakySlope: leakySlope,
            z: workspace.z(last), a: workspace.a(last), targets: targets,
            upstream: workspace.upstream, dz: workspace.dz(last),
            biasGradient: gradient.address(lastShape.biasOffset),
            rows: rows, width: lastShape.fanOut)
    }

    /// `backwardDense` from the last layer to the first.
    @inline(__always)
    func backwardLayers(inputs: UnsafePointer<Scalar>, rows: Int, sgdStep: PlainSGDDestination?) {
        for l in stride(from: layerCount - 1, through: 0, by: -1) {
            let layerInput = l == 0 ? inputs : UnsafePointer(workspace.a(l - 1))
            backwardDense(layer: l, layerInput: layerInput, rows: rows, sgdStep: sgdStep)
        }
    }

    /// What the step needs to know about the gradient: with clipping on, its squared
    /// L2 norm (in Double, four partial sums so the adds overlap); otherwise only
    /// whether it is finite (0, or NaN when an entry is not), by an integer OR that
    /// vectorises (`nonFiniteBits`). Either way a non-finite gradient gives a
    /// non-finite result.
    func gradientSummary(needsNorm: Bool) -> Double {
        let g = gradient.pointer, count = parameterCount
        if needsNorm {
            var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
            var index = 0
            while index + 4 <= count {
                let a = Double(g[index]), b = Double(g[index + 1])
                let c = Double(g[index + 2]), d = Double(g[index + 3])
                s0 += a * a; s1 += b * b; s2 += c * c; s3 += d * d
                index += 4
            }
            while index < count {
                let a = Double(g[index])
                s0 += a * a
                index += 1
            }
            return (s0 + s1) + (s2 + s3)
        }
        return Scalar.allFinite(g, count: count) ? 0 : .nan
    }

    // MARK: Public operations

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
        try checkFiniteInputs(input, rows: rows)
        // Take a free slot: concurrent predictions never write the same memory. Past
        // `inferenceSlotCount` concurrent calls, a call gets scratch of its own.
        for slot in inferenceSlots where slot.claim() {
            defer { slot.release() }
            try slot.workspace.reserve(rows: rows, widest: layout.widestOutput, inputs: inputCount)
            forwardInference(input: input, rows: rows, output: output, scratch: slot.workspace)
            return
        }
        var privateScratch = InferenceWorkspace<Scalar>()
        try privateScratch.reserve(rows: rows, widest: layout.widestOutput, inputs: inputCount)
        forwardInference(input: input, rows: rows, output: output, scratch: privateScratch)
    }

    /// Throws `nonFinite` naming the first NaN or infinity in rows x inputCount
    /// inputs. One cheap pass (a compare per input, against inputCount multiply-adds
    /// per input in the first layer alone); needed because relu maps NaN to 0, so a
    /// bad input need not show in the outputs.
    func checkFiniteInputs(_ input: UnsafePointer<Scalar>, rows: Int) throws(MLPError) {
        if Scalar.allFinite(input, count: rows * inputCount) { return }
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

    /// The forward pass for inference: ping-pongs between two scratch buffers and
    /// writes the last layer straight into `output`, activating in place.
    func forwardInference(
        input: UnsafePointer<Scalar>, rows: Int, output: UnsafeMutablePointer<Scalar>,
        scratch: borrowing InferenceWorkspace<Scalar>
    ) {
        var current = firstLayerInput(input, rows: rows, scratch: scratch.scaledInputs)
        let last = layout.layers.count - 1
        for l in 0...last {
            let target = l == last ? output : scratch.buffer(l & 1)
            forwardDense(layer: l, input: current, rows: rows, product: target, z: nil, a: target)
            current = UnsafePointer(target)
        }
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
        let loss = try lossAndGradient(inputs: inputs, targets: targets, targetCount: targetCount, rows: rows)
        guard loss.isFinite, gradientSummary(needsNorm: false).isFinite else {
            throw nonFiniteError(inputs: inputs.baseAddress.unsafelyUnwrapped, targets: targets, rows: rows, loss: loss)
        }
        return loss
    }

    /// Shared by `gradients` and `step`: checks, reserves, forward, backward. Returns
    /// the loss; the gradient is in `gradient`.
    @inline(__always)
    func lossAndGradient(
        inputs: UnsafeBufferPointer<Scalar>, targets: Targets<Scalar>, targetCount: Int, rows: Int
    ) throws(MLPError) -> Double {
        let input = try checkedForward(inputs: inputs, targets: targets, targetCount: targetCount, rows: rows)
        return backwardTraining(inputs: input, targets: targets, rows: rows)
    }

    /// The start of every training pass: checks the batch, makes room in the
    /// workspace and runs the forward pass. Returns the inputs the first layer saw
    /// (X, or its standardised copy).
    @inline(__always)
    func checkedForward(
        inputs: UnsafeBufferPointer<Scalar>, targets: Targets<Scalar>, targetCount: Int, rows: Int
    ) throws(MLPError) -> UnsafePointer<Scalar> {
        try checkBatch(inputs: inputs, rows: rows, targets: targets, targetCount: targetCount)
        try workspace.reserve(rows: rows, layout: layout)
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
        let needsNorm = optimizer.configuration.clipNorm > 0
        if optimizer.updatesOutOfPlace && !needsNorm {
            return try plainSGDStep(inputs: inputs, targets: targets, targetCount: targetCount, rows: rows)
        }
        let loss = try lossAndGradient(inputs: inputs, targets: targets, targetCount: targetCount, rows: rows)
        let squaredNorm = gradientSummary(needsNorm: needsNorm)
        guard loss.isFinite, squaredNorm.isFinite else {
            throw nonFiniteError(inputs: inputs.baseAddress.unsafelyUnwrapped, targets: targets, rows: rows, loss: loss)
        }
        try applyGradient(squaredNorm: squaredNorm, loss: loss)
        return loss
    }

    /// Plain SGD out of place (`OptimizerState.applyOutOfPlace`): the new parameters
    /// are written over the gradient, and the two buffers trade places when every new
    /// value is finite. Returns false, with the parameters and the optimizer state
    /// unchanged, when one is not.
    @inline(__always)
    func applyPlainSGD(gradientScale: Scalar) -> Bool {
        guard optimizer.applyOutOfPlace(
            parameters: parameters.pointer, gradient: gradient.pointer, gradientScale: gradientScale,
            learningRate: currentLearningRate, plans: plans, layerCount: layerCount)
        else { return false }
        swap(&parameters, &gradient)
        return true
    }

    /// Applies the optimizer to the gradient now in `gradient`, clipping first
    /// (`squaredNorm` is only read when clipping is on). `loss` is the loss at the
    /// current parameters, for iRPROP+.
    /// Clipping follows torch.nn.utils.clip_grad_norm_: scale = min(1, c / (norm + 1e-6)).
    /// - Throws: `nonFinite` when the update itself overflowed. With plain SGD nothing
    ///   has changed then. With an optimizer that keeps state, the parameters hold
    ///   that result and the optimizer state is reset, which the message says.
    func applyGradient(squaredNorm: Double, loss: Double? = nil) throws(MLPError) {
        var scale: Scalar = 1
        let clip = optimizer.configuration.clipNorm
        if clip > 0 {
            let coefficient = clip / (squaredNorm.squareRoot() + 1e-6)
            if coefficient < 1 { scale = Scalar(coefficient) }
        }
        if optimizer.updatesOutOfPlace {
            guard applyPlainSGD(gradientScale: scale) else {
                throw MLPError(.nonFinite,
                    reason: "the update would overflow: a new parameter would be infinite or NaN though the gradient is finite",
                    consequence: "nothing was updated: lower the learning rate")
            }
            return
        }
        let finite = optimizer.apply(
            parameters: parameters.pointer, gradient: gradient.pointer, gradientScale: scale,
            learningRate: currentLearningRate, plans: plans, layerCount: layerCount, loss: loss)
        guard finite else {
            // The overflowed state would poison every later step; start it afresh.
            optimizer.reset()
            throw MLPError(.nonFinite,
                reason: "the update overflowed: a parameter or optimizer state became infinite or NaN though the gradient was finite",
                consequence: "the parameters now hold the overflowed values and the optimizer state was reset: restore the parameters (smlp_set_params) and lower the learning rate")
        }
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
