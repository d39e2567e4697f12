// RPROP, resilient backpropagation (Riedmiller and Braun, 1993), in the two variants
// of Igel and Huesken (2000). Each parameter has its own step size D, which only the
// sign of the gradient moves; the gradient's magnitude is never used. Per parameter,
// with g the gradient, g' the previous step's stored gradient (0 at first), s the
// product of their signs, eta+ / eta- the factors and [D_min, D_max] the bounds:
//
//   iRPROP-  s > 0:  D = min(D eta+, D_max)
//            s < 0:  D = max(D eta-, D_min); g = 0    (no move this step)
//            s = 0:  D kept (clamped to the bounds)
//            p -= sign(g) D;  g' = g
//   iRPROP+  s > 0:  D = min(D eta+, D_max); u = -sign(g) D; p += u; g' = g
//            s < 0:  D = max(D eta-, D_min); if E > E': p -= u (undo); u = 0; g' = 0
//            s = 0:  u = -sign(g) D; p += u; g' = g
//            then E' = E  (E: the loss at the current parameters, one for all)
//
// iRPROP- is PyTorch's torch.optim.Rprop rule exactly (its step size is clamped to
// the bounds on every step, as here), and FANN's FANN_TRAIN_RPROP apart from three
// details FANN adds: a step size floor of 0.0001, a zero product counted as same
// sign (so the first step already grows D), and a zero gradient moving the
// parameter by +D. The signs are compared directly rather than through the product
// g g', which underflows to 0 for two tiny gradients.
//
// RPROP is a full-batch method: the sign of a mini-batch gradient changes from batch
// to batch through sampling noise alone, and iRPROP+ compares losses of different
// batches. Each smlp_step is nevertheless one RPROP step on the gradient it is given,
// as PyTorch allows; smlp_train with batch_size >= n_rows gives the classic method.

extension OptimizerConfiguration {
    /// RPROP's own ranges (PyTorch's: 0 < eta- < 1 < eta+), and no weight decay: the
    /// rules use only the gradient's sign, and iRPROP+ compares losses that do not
    /// include a decay term.
    func validateRprop() throws(MLPError) {
        func require(_ condition: Bool, _ field: String, _ value: Double, _ rule: String) throws(MLPError) {
            if !condition {
                throw MLPError(.invalidArgument, "optimizer \(field) is \(value); it must be \(rule)")
            }
        }
        try require(increaseFactor.isFinite && increaseFactor > 1, "rprop_increase", increaseFactor, "finite and > 1")
        try require(decreaseFactor > 0 && decreaseFactor < 1, "rprop_decrease", decreaseFactor, "in (0, 1)")
        try require(maximumStep.isFinite && maximumStep > 0, "rprop_delta_max", maximumStep, "finite and > 0")
        try require(minimumStep >= 0 && minimumStep <= maximumStep, "rprop_delta_min", minimumStep,
                    "in [0, rprop_delta_max] (\(maximumStep))")
        try require(initialStep > 0 && initialStep >= minimumStep && initialStep <= maximumStep,
                    "rprop_delta0", initialStep, "> 0 and in [rprop_delta_min, rprop_delta_max] ([\(minimumStep), \(maximumStep)])")
        if weightDecay != 0 {
            throw MLPError(.invalidArgument,
                "optimizer weight_decay is \(weightDecay); RPROP takes none (it must be 0), as PyTorch's Rprop and FANN's")
        }
    }

    /// The step sizes in `Scalar`: finite, and the initial one not rounded to 0.
    func validateRpropRepresentable<Scalar: MLPScalar>(in type: Scalar.Type) throws(MLPError) {
        let name = Scalar.dtype == .float32 ? "float" : "double"
        guard Scalar(maximumStep).isFinite else {
            throw MLPError(.invalidArgument, "optimizer rprop_delta_max is \(maximumStep), which overflows \(name)")
        }
        guard Scalar(initialStep) > 0 else {
            throw MLPError(.invalidArgument, "optimizer rprop_delta0 is \(initialStep), which is 0 in \(name)")
        }
    }
}

extension OptimizerState {
    /// One RPROP step over `count` parameters (the whole flat vector: the rule is the
    /// same for weights and biases). State: `first` holds g', `second` the step sizes,
    /// `third` (iRPROP+) the previous update u. Returns false when a new parameter is
    /// not finite (only possible for parameters within D_max of the type's limit).
    mutating func applyRprop(
        parameters: UnsafeMutablePointer<Scalar>, gradient: UnsafePointer<Scalar>,
        gradientScale: Scalar, count: Int, loss: Double
    ) -> Bool {
        let up = Scalar(configuration.increaseFactor), down = Scalar(configuration.decreaseFactor)
        let lowest = Scalar(configuration.minimumStep), highest = Scalar(configuration.maximumStep)
        let previous = first.pointer, steps = second.pointer
        var nonFinite: Scalar.NonFiniteBits = 0
        switch configuration.rpropVariant {
        case .minus:
            for i in 0..<count {
                var g = gradient[i] * gradientScale
                let sign = signProduct(g, previous[i])
                var d = steps[i]
                if sign > 0 {
                    d *= up
                } else if sign < 0 {
                    d *= down
                    g = 0
                }
                d = min(max(d, lowest), highest)
                steps[i] = d
                if g > 0 {
                    parameters[i] -= d
                } else if g < 0 {
                    parameters[i] += d
                }
                previous[i] = g
                nonFinite |= Scalar.nonFiniteBits(parameters[i])
            }
        case .plus:
            let lastUpdate = third.pointer
            let undo = loss > previousLoss
            for i in 0..<count {
                let g = gradient[i] * gradientScale
                let sign = signProduct(g, previous[i])
                var d = steps[i]
                if sign < 0 {
                    d = min(max(d * down, lowest), highest)
                    if undo { parameters[i] -= lastUpdate[i] }
                    lastUpdate[i] = 0
                    previous[i] = 0
                } else {
                    if sign > 0 { d *= up }
                    d = min(max(d, lowest), highest)
                    let u: Scalar = g > 0 ? -d : (g < 0 ? d : 0)
                    parameters[i] += u
                    lastUpdate[i] = u
                    previous[i] = g
                }
                steps[i] = d
                nonFinite |= Scalar.nonFiniteBits(parameters[i])
            }
            previousLoss = loss
        }
        return !Scalar.containsNonFinite(nonFinite)
    }
}

/// 1 when a and b have the same strict sign, -1 when opposite, 0 when either is 0.
@inline(__always)
private func signProduct<Scalar: MLPScalar>(_ a: Scalar, _ b: Scalar) -> Int {
    if a == 0 || b == 0 { return 0 }
    return (a > 0) == (b > 0) ? 1 : -1
}
