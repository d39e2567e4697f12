// A plain-SGD training step (no momentum, no clipping) with the update fused into
// the backward pass: each layer's weight gradient is never stored; the product that
// would compute it updates the weights directly (`multiply` with `sgdStep`:
// W = W - lr (A^T dZ + wd W), one GEMM with alpha = -lr, beta = 1 - lr wd). That
// saves the separate update pass over every parameter and the zeroing of the
// gradient, which at batch 64 on a 784-128-10 network are ~6% of a step.
//
// A failed step must change nothing, so the update goes one of two ways:
//
//   in place       the new parameters overwrite the old ones, layer by layer during
//                  the backward pass. Taken only when norms prove that nothing the
//                  step computes can overflow or become NaN (below), so there is
//                  nothing to check afterwards.
//   out of place   each layer's weights are copied into the gradient buffer and the
//                  same fused product runs there; a pass then checks every new value,
//                  and the buffers trade places only when all are finite. Taken when
//                  the proof fails: the first step after the parameters were set,
//                  loaded, restored by `train`, or changed by `applyGradients` or an
//                  optimizer with state; a step near overflow; and always on
//                  networks too small for the proof to pay (`worthProving`).
//
// Both ways evaluate the same expressions on the same values in the same order, so
// their results are equal bit for bit, and which way a step went never shows in the
// parameters (same seed, same bits, whatever the history).
//
// The proof, in Frobenius norms |.| (so that one vectorised sum of squares per
// buffer measures a batch, and a NaN or an infinity shows as an infinite norm).
// `ParameterNormBounds` keeps bounds on |W_l| and |b_l|: measured by an
// out-of-place step, raised by each in-place step by what it can have added, and
// forgotten on any other change to the parameters. After the forward pass and the
// loss, with n rows, the step measures
//   |A_{l-1}|   the inputs X for l = 0; deeper, Z_{l-1} through the activation
//               (Z, not A: relu would turn a NaN into 0)
//   |dZ_L|      the output delta the loss wrote
// and bounds what the backward pass will compute, from the last layer down:
//   |dA_{l-1}| <= |dZ_l| |W_l|          (dA = dZ W^T, W_l read before its update)
//   |dZ_{l-1}| <= f'_max |dA_{l-1}|     (f'_max: 1; |slope| for leaky relu; 2 for the
//                                        softmax Jacobian product)
//   |dW_l|     <= |A_{l-1}| |dZ_l|,  |db_l| <= sqrt(n) |dZ_l|
//   |W_l new|  <= |W_l| + lr (|dW_l| + wd |W_l|), and the same for b_l, with every
//               intermediate (wd W, dW + wd W, the BLAS factor 1 - lr wd) bounded too
// Every entry of a matrix is at most its norm, so when all of these stay below
// greatestFiniteMagnitude / 16, no value the step computes can be infinite or NaN.
// Rounding: a computed dot product of k terms is within k u / (1 - k u) <= 1/3 of
// the exact one when k u <= 1/4 (u = ulpOfOne, the unit roundoff of every rounding
// mode; the proof requires it for k = n and k = fanOut), and a factor 2 on each
// bound covers that and the few roundings around it; the measurement covers
// squares that underflow (`normBound`). After an in-place step the norm bounds are
// raised with the measured |dZ_l| (the a-priori ones above would let them grow
// geometrically) and every rounding's worth, and measured afresh every 1024 steps.

/// Bounds on the Frobenius norm of every layer's weights and biases, kept by
/// plain-SGD steps (PlainSGDStep.swift), plus the current step's measurements.
/// Plain memory, allocated once with the network.
final class ParameterNormBounds {
    /// Whether `weights` and `biases` hold for the parameters as they are now.
    var known = false
    /// Per layer: bounds on |W_l| and |b_l|.
    let weights: UnsafeMutablePointer<Double>
    let biases: UnsafeMutablePointer<Double>
    /// Per layer, in the current step: the bound on |A_{l-1}| (|X| for layer 0).
    let inputs: UnsafeMutablePointer<Double>
    /// In the current step: the bound on |dZ| of the output layer.
    var outputDelta = Double.infinity
    /// Whether the last successful plain-SGD step updated in place (for tests).
    var lastStepInPlace = false
    /// In-place steps since the bounds were last measured from the parameters.
    var stepsSinceMeasured = 0
    /// Values per batch row the proof measures: the inputs, every hidden layer's Z
    /// and dZ, the output dZ.
    let measuredWidth: Int
    let layerCount: Int
    let parameterCount: Int

    init(layout: ParameterLayout) {
        let layerCount = layout.layers.count
        self.layerCount = layerCount
        parameterCount = layout.parameterCount
        var width = layout.layers[0].fanIn + layout.layers[layerCount - 1].fanOut
        for layer in layout.layers.dropLast() { width += 2 * layer.fanOut }
        measuredWidth = width
        weights = .allocate(capacity: layerCount)
        biases = .allocate(capacity: layerCount)
        inputs = .allocate(capacity: layerCount)
        weights.initialize(repeating: .infinity, count: layerCount)
        biases.initialize(repeating: .infinity, count: layerCount)
        inputs.initialize(repeating: .infinity, count: layerCount)
    }

    /// Whether the proof is worth trying on a batch of `rows`: its measurements
    /// (a sum of squares over `measuredWidth` values a row, plus a fixed cost per
    /// layer) against the out-of-place path's extra traffic (copy the weights, check
    /// every new value: about three passes over the parameters). Tiny networks
    /// such as 2-4-1 at batch 4 fail it: there the fixed costs dominate.
    @inline(__always)
    func worthProving(rows: Int) -> Bool {
        // In Double: no overflow to trap on, and the comparison needs no precision.
        Double(rows) * Double(measuredWidth) + 64 * Double(layerCount) <= 3 * Double(parameterCount)
    }

    deinit {
        weights.deallocate()
        biases.deallocate()
        inputs.deallocate()
    }
}

extension Network {
    /// Where one plain-SGD step writes, and at which rates.
    struct PlainSGDDestination {
        let weights: PlainSGDRate<Scalar>
        let biases: PlainSGDRate<Scalar>
        /// `parameters.pointer` (in place) or `gradient.pointer` (out of place).
        let newParameters: UnsafeMutablePointer<Scalar>
    }

    /// One plain-SGD step on one batch; see the file comment. Returns the loss
    /// before the update. If the loss, the gradient or an updated parameter is not
    /// finite, throws `nonFinite` with the parameters and optimizer unchanged.
    /// (Not inlined into `step`: the generic entry point of `step` would then
    /// instantiate the metadata of this function's generic types on every call
    /// before dispatching to its specialisation, ~40 ns.)
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inline(never)
    func plainSGDStep(
        inputs: UnsafeBufferPointer<Scalar>, targets: Targets<Scalar>, targetCount: Int, rows: Int
    ) throws(MLPError) -> Double {
        let input = try checkedForward(inputs: inputs, targets: targets, targetCount: targetCount, rows: rows)
        let raw = inputs.baseAddress.unsafelyUnwrapped
        let loss = outputLossAndDelta(targets: targets, rows: rows)
        guard loss.isFinite else {
            throw nonFiniteError(inputs: raw, targets: targets, rows: rows, loss: loss)
        }
        let learningRate = Scalar(currentLearningRate)
        let weightDecay = Scalar(optimizer.configuration.weightDecay)
        let weights = PlainSGDRate(learningRate: learningRate, weightDecay: weightDecay)
        let biases = PlainSGDRate(
            learningRate: learningRate, weightDecay: optimizer.configuration.decayBiases ? weightDecay : 0)
        let worthProving = normBounds.worthProving(rows: rows)
        let inPlace = worthProving && stepFitsInPlace(input: input, rows: rows, weights: weights, biases: biases)
        backwardLayers(
            inputs: input, rows: rows,
            sgdStep: PlainSGDDestination(
                weights: weights, biases: biases,
                newParameters: inPlace ? parameters.pointer : gradient.pointer))
        if inPlace {
            raiseNormBoundsAfterInPlaceStep(rows: rows, weights: weights, biases: biases)
        } else {
            guard Scalar.allFinite(gradient.pointer, count: parameterCount) else {
                throw nonFiniteError(inputs: raw, targets: targets, rows: rows, loss: loss)
            }
            swap(&parameters, &gradient)
            // Bounds for the next step's proof, unless it would not be tried.
            if worthProving { measureNormBounds() } else { normBounds.known = false }
        }
        optimizer.countStep()
        normBounds.lastStepInPlace = inPlace
        return loss
    }

    /// Sets the norm bounds from the parameters as they are.
    func measureNormBounds() {
        normBounds.stepsSinceMeasured = 0
        var known = true
        for l in 0..<layerCount {
            let shape = plans[l]
            let weights = Scalar.normBound(parameters.address(shape.weightOffset), count: shape.fanIn * shape.fanOut)
            let biases = Scalar.normBound(parameters.address(shape.biasOffset), count: shape.fanOut)
            normBounds.weights[l] = weights
            normBounds.biases[l] = biases
            // Finite parameters whose squares overflow: no proof from them.
            known = known && weights <= boundLimit && biases <= boundLimit
        }
        normBounds.known = known
    }

    // MARK: The proof

    /// The largest value any bound may reach.
    @inline(__always)
    var boundLimit: Double { Double(Scalar.greatestFiniteMagnitude) / 16 }

    /// Whether a k-term dot product is short enough for the factor-2 rounding
    /// allowance: k u <= 1/4 with u = ulpOfOne, the unit roundoff of every rounding
    /// mode (the caller's may be directed).
    @inline(__always)
    func roundingAllowanceHolds(terms: Int) -> Bool {
        Double(terms) * Double(Scalar.ulpOfOne) <= 0.25
    }

    /// Whether the step about to run, with the workspace holding this batch's
    /// forward pass and output delta, provably computes only finite values (file
    /// comment). Fills `normBounds.inputs` and `outputDelta` for
    /// `raiseNormBoundsAfterInPlaceStep`.
    @inline(__always)
    func stepFitsInPlace(
        input: UnsafePointer<Scalar>, rows: Int,
        weights: PlainSGDRate<Scalar>, biases: PlainSGDRate<Scalar>
    ) -> Bool {
        let limit = boundLimit
        // Every test is written `x <= limit`, which is false for NaN.
        guard normBounds.known, roundingAllowanceHolds(terms: rows) else { return false }
        let last = layerCount - 1
        var delta = Scalar.normBound(workspace.dz(last), count: rows * plans[last].fanOut)
        normBounds.outputDelta = delta
        for l in stride(from: last, through: 0, by: -1) {
            let inputNorm = inputNormBound(layer: l, input: input, rows: rows)
            normBounds.inputs[l] = inputNorm
            let (newWeights, newBiases) = normBoundsAfterUpdate(
                layer: l, inputNorm: inputNorm, delta: delta, rows: rows, weights: weights, biases: biases)
            guard newWeights <= limit, newBiases <= limit else { return false }
            if l == 0 { break }
            guard roundingAllowanceHolds(terms: plans[l].fanOut) else { return false }
            let upstream = 2 * delta * normBounds.weights[l]
            delta = derivativeBound(plans[l - 1].activation) * upstream
            guard upstream <= limit, delta <= limit else { return false }
        }
        return true
    }

    /// Bound on |A_{l-1}| (|X| for l = 0), measured on the batch in the workspace.
    @inline(__always)
    func inputNormBound(layer l: Int, input: UnsafePointer<Scalar>, rows: Int) -> Double {
        let count = rows * plans[l].fanIn
        if l == 0 { return Scalar.normBound(input, count: count) }
        let z = Scalar.normBound(workspace.z(l - 1), count: count)
        switch plans[l - 1].activation {
        case .identity, .relu: return z
        case .leakyReLU: return max(1, abs(Double(leakySlope))) * z
        case .sigmoid, .tanh, .softmax: return z.isFinite ? Double(count).squareRoot() : .infinity
        }
    }

    /// Bound on |f'| as the backward pass applies it: sigmoid a(1-a) <= 1/4 and
    /// tanh 1 - a^2 <= 1 with a in range (1 covers both); softmax's Jacobian-vector
    /// product a_j (g_j - sum_k g_k a_k) has at most twice the norm of g.
    @inline(__always)
    func derivativeBound(_ activation: Activation) -> Double {
        switch activation {
        case .identity, .relu, .sigmoid, .tanh: return 1
        case .leakyReLU: return max(1, abs(Double(leakySlope)))
        case .softmax: return 2
        }
    }

    /// Bounds on |W_l| and |b_l| after their update, from bounds on the layer's
    /// input and delta norms; infinity when a value the update computes could
    /// exceed the limit.
    @inline(__always)
    func normBoundsAfterUpdate(
        layer l: Int, inputNorm: Double, delta: Double, rows: Int,
        weights: PlainSGDRate<Scalar>, biases: PlainSGDRate<Scalar>
    ) -> (weights: Double, biases: Double) {
        let weightGradient = 2 * inputNorm * delta
        let biasGradient = 2 * Double(rows).squareRoot() * delta
        // Roundings of one new value: up to `rows` additions into it (BLAS adds
        // each block of the batch dimension into C), beta p, alpha times the sum,
        // and the few of p - lr (g + wd p): (1 + u)^(rows + 4) < 1 + 2 (rows + 4) u
        // when (rows + 4) u <= 1/2. Plus this bound's own Double arithmetic, which
        // may round down (directed rounding).
        let rounding = 1 + 2 * Double(rows + 4) * Double(Scalar.ulpOfOne) + 16 * Double.ulpOfOne
        return (
            updatedNormBound(normBounds.weights[l], gradient: weightGradient, rate: weights, rounding: rounding),
            updatedNormBound(normBounds.biases[l], gradient: biasGradient, rate: biases, rounding: rounding))
    }

    /// Bound on |p - lr (g + wd p)| (the small-product loops and the bias loop) and
    /// on |(1 - lr wd) p - lr g| (BLAS), given |p| <= norm and |g| <= gradient:
    /// both are at most |p| + lr (|g| + wd |p|). Infinity when an intermediate of
    /// either form (wd p, g + wd p, lr (...), the retained factor) could exceed the
    /// limit.
    @inline(__always)
    func updatedNormBound(
        _ norm: Double, gradient: Double, rate: PlainSGDRate<Scalar>, rounding: Double
    ) -> Double {
        let limit = boundLimit
        let decay = Double(rate.weightDecay) * norm
        let step = Double(rate.learningRate) * (gradient + decay)
        let updated = (norm + step) * rounding
        guard gradient <= limit, decay <= limit, gradient + decay <= limit, step <= limit,
              abs(Double(rate.retained)) <= limit, updated <= limit
        else { return .infinity }
        return updated
    }

    /// After an in-place step: every layer's norm bounds raised by its update,
    /// using the deltas as measured (all still in the workspace).
    @inline(__always)
    func raiseNormBoundsAfterInPlaceStep(
        rows: Int, weights: PlainSGDRate<Scalar>, biases: PlainSGDRate<Scalar>
    ) {
        let last = layerCount - 1
        var known = true
        for l in 0..<layerCount {
            let delta = l == last
                ? normBounds.outputDelta
                : Scalar.normBound(workspace.dz(l), count: rows * plans[l].fanOut)
            let (newWeights, newBiases) = normBoundsAfterUpdate(
                layer: l, inputNorm: normBounds.inputs[l], delta: delta, rows: rows,
                weights: weights, biases: biases)
            normBounds.weights[l] = newWeights
            normBounds.biases[l] = newBiases
            known = known && newWeights <= boundLimit && newBiases <= boundLimit
        }
        normBounds.known = known
        // Raised bounds only grow; measuring them afresh now and then keeps them
        // close to the norms (one read of the parameters per 1024 steps).
        normBounds.stepsSinceMeasured += 1
        if known && normBounds.stepsSinceMeasured >= 1024 { measureNormBounds() }
    }
}
