// Applying a gradient: clipping, then the optimizer's update or plain SGD out of
// place, with what a failure leaves (step's update policy), and applying a gradient
// computed elsewhere (data-parallel training sums shard gradients outside the library).

extension Network {
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
    /// (`norm`, the gradient's L2 norm, is only read when clipping is on). `loss` is the
    /// loss at the current parameters, for iRPROP+.
    /// Clipping follows torch.nn.utils.clip_grad_norm_: scale = min(1, c / (norm + 1e-6)).
    /// - Throws: `nonFinite` when the update itself overflowed. With plain SGD nothing
    ///   has changed then. With an optimizer that keeps state, the parameters hold
    ///   that result and the optimizer state is reset, which the message says.
    func applyGradient(norm: Double, loss: Double? = nil) throws(MLPError) {
        var scale: Scalar = 1
        let clip = optimizer.configuration.clipNorm
        if clip > 0 {
            let coefficient = clip / (norm + 1e-6)
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

    /// Applies the optimizer to `scale * gradient` (parameter layout), with clipping,
    /// schedule and state, as `step` would. The gradient view then holds the scaled
    /// gradient, except with plain SGD, which uses the buffer as scratch (its
    /// contents are then unspecified, as after a plain-SGD `step`). Throws
    /// `nonFinite` (nothing changed) for a non-finite entry, and as `step` for an
    /// update that overflows; `invalidArgument` for iRPROP+, which needs each step's loss.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func applyGradients(_ gradient: UnsafeBufferPointer<Scalar>, scale: Double = 1) throws(MLPError) {
        guard gradient.count == parameterCount, let source = gradient.baseAddress else {
            throw MLPError(.shapeMismatch, "got \(gradient.count) gradient values, but the model has \(parameterCount) parameters")
        }
        guard scale.isFinite else {
            throw MLPError(.invalidArgument, "scale is \(scale.messageText); it must be finite")
        }
        if optimizer.configuration.kind == .rprop && optimizer.configuration.rpropVariant == .plus {
            throw MLPError(.invalidArgument,
                "iRPROP+ compares the loss of each step with the previous one, and a gradient applied alone has no loss; use step or train, or iRPROP-")
        }
        let factor = Scalar(scale)
        guard factor.isFinite else {
            throw MLPError(.invalidArgument,
                "scale is \(scale), which overflows \(Scalar.dtype == .float32 ? "float" : "double"); nothing was updated")
        }
        for index in 0..<parameterCount {
            let value = source[index] * factor
            guard value.isFinite else {
                throw MLPError(.nonFinite, "gradient[\(index)] * scale is \(value.messageText); nothing was updated")
            }
        }
        let destination = self.gradient.pointer
        for index in 0..<parameterCount { destination[index] = source[index] * factor }
        let clipping = optimizer.configuration.clipNorm > 0
        try applyGradient(norm: clipping ? euclideanNorm(destination, count: parameterCount) : 0)
    }
}
