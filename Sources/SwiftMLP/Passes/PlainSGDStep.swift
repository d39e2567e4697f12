// A plain-SGD training step (no momentum, no clipping) with the update fused into
// the backward pass: each layer's weight gradient is never stored; the product that
// would compute it writes the updated weights directly (`multiply` with `sgdStep`:
// W' = W - lr (A^T dZ + wd W), one GEMM with alpha = -lr, beta = 1 - lr wd). That
// saves the separate update pass over every parameter and the zeroing of the
// gradient buffer.
//
// A failed step must change nothing, so the new parameters go to the gradient
// buffer (free scratch in plain SGD): each layer's weights are copied there first
// and the fused product updates the copy. One pass then checks every new value, and
// the two buffers trade places only when all are finite.

/// The learning rate and weight decay of a plain-SGD update, and the one expression
/// every plain-SGD path evaluates per parameter.
struct PlainSGDRate<Scalar: MLPScalar> {
    let learningRate: Scalar
    let weightDecay: Scalar
    /// 1 - lr wd, the factor BLAS keeps of each parameter (its beta).
    let retained: Scalar

    init(learningRate: Scalar, weightDecay: Scalar) {
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        retained = 1 - learningRate * weightDecay
    }

    /// p - lr (g + wd p); p - lr g without decay.
    @inline(__always)
    func updated(_ p: Scalar, gradient g: Scalar) -> Scalar {
        weightDecay == 0 ? p - learningRate * g : p - learningRate * (g + weightDecay * p)
    }
}

extension PlainSGDRate: OuterProductWrite {
    /// The parameters at c, updated by the gradients `product` (`updated`, lane by lane).
    @inline(__always)
    func write<Vector: SIMD>(_ product: Vector, to c: UnsafeMutablePointer<Scalar>) where Vector.Scalar == Scalar {
        let p = UnsafeRawPointer(c).loadUnaligned(as: Vector.self)
        let rate = Vector(repeating: learningRate)
        storeVector(weightDecay == 0 ? p - rate * product : p - rate * (product + Vector(repeating: weightDecay) * p), c)
    }

    @inline(__always)
    func write(_ product: Scalar, to c: UnsafeMutablePointer<Scalar>) { c.pointee = updated(c.pointee, gradient: product) }

    var updateRate: PlainSGDRate<Scalar>? { self }
}

extension Network {
    /// Where one plain-SGD step writes, and at which rates.
    struct PlainSGDDestination {
        let weights: PlainSGDRate<Scalar>
        let biases: PlainSGDRate<Scalar>
        /// Receives the updated parameters: `gradient.pointer`.
        let newParameters: UnsafeMutablePointer<Scalar>
    }

    /// One plain-SGD step on one batch; see the file comment. Returns the loss
    /// before the update. If the loss, the gradient or an updated parameter is not
    /// finite, throws `nonFinite` with the parameters and optimizer unchanged.
    /// (Not inlined into `step`: the generic entry point of `step` would then
    /// instantiate the metadata of this function's generic types on every call.)
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inline(never)
    func plainSGDStep(
        inputs: UnsafeBufferPointer<Scalar>, targets: Targets<Scalar>, targetCount: Int, rows: Int,
        prechecked: Bool
    ) throws(MLPError) -> Double {
        let input = try checkedForward(
            inputs: inputs, targets: targets, targetCount: targetCount, rows: rows, prechecked: prechecked)
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
        backwardLayers(
            inputs: input, rows: rows,
            sgdStep: PlainSGDDestination(weights: weights, biases: biases, newParameters: gradient.pointer))
        guard Scalar.allFinite(gradient.pointer, count: parameterCount) else {
            throw nonFiniteError(inputs: raw, targets: targets, rows: rows, loss: loss)
        }
        swap(&parameters, &gradient)
        optimizer.countStep()
        return loss
    }
}
