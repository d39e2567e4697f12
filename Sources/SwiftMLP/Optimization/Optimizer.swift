// Optimizers: the update rules of PyTorch's torch.optim, applied as one loop over the
// flat parameter vector, plus gradient clipping by global norm and learning-rate
// schedules. State (momentum, first and second moments, step count) lives here, with
// the model, in buffers laid out exactly like the parameters.
//
// Per parameter p with gradient g, at step t = 1, 2, ... (wd = weight decay):
//   SGD      g += wd p; v = mu v + g (if mu > 0); g = nesterov ? g + mu v : v; p -= lr g
//   Adam     g += wd p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2
//            p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//   AdamW    p *= 1 - lr wd; then Adam with no wd term
//   RMSprop  g += wd p; s = alpha s + (1-alpha) g^2; d = g / (sqrt(s) + eps)
//            v = mu v + d, p -= lr v (if mu > 0), else p -= lr d
//   RPROP    iRPROP- and iRPROP+ (Rprop.swift): a step size per parameter, grown or
//            shrunk by the sign of g times the previous g; lr is not used
// Weight decay touches weights only unless `decayBiases` is set (scikit-learn's and
// the classic tutorials' convention; PyTorch decays every parameter it is given).

import CShim

/// Which update rule. Raw values are the C header's `smlp_optimizer` codes.
public enum OptimizerKind: UInt8, Sendable, Equatable, CaseIterable {
    case sgd = 0
    case adam = 1
    case adamW = 2
    case rmsProp = 3
    /// Resilient backpropagation (Rprop.swift); the variant is a configuration field.
    case rprop = 4
}

/// Which RPROP (Igel and Huesken, 2000). Raw values: `smlp_rprop_variant`.
public enum RpropVariant: UInt8, Sendable, Equatable, CaseIterable {
    /// iRPROP-: after a sign change the step shrinks and the parameter stays
    /// (FANN's FANN_TRAIN_RPROP and PyTorch's torch.optim.Rprop).
    case minus = 0
    /// iRPROP+: after a sign change the step shrinks, and the previous update is
    /// undone when the loss went up.
    case plus = 1
}

/// Which learning-rate schedule, without its settings. Raw values: `smlp_schedule`.
public enum ScheduleKind: UInt8, Sendable, Equatable, CaseIterable {
    case constant = 0
    case step = 1
    case exponential = 2
    case cosine = 3
    case inverseScaling = 4
}

/// How the learning rate changes with the epoch count e (0 for the first epoch),
/// as PyTorch's schedulers stepped once per epoch.
public enum LearningRateSchedule: Sendable, Equatable {
    /// lr
    case constant
    /// lr * gamma^floor(e / stepSize)  (StepLR)
    case step(stepSize: Int, gamma: Double)
    /// lr * gamma^e  (ExponentialLR)
    case exponential(gamma: Double)
    /// minimum + (lr - minimum) (1 + cos(pi min(e, period) / period)) / 2
    /// (CosineAnnealingLR, held at `minimum` after `period` epochs)
    case cosine(period: Int, minimum: Double)
    /// lr / (e + 1)^power  (scikit-learn's "invscaling" when e is set to the samples
    /// seen so far)
    case inverseScaling(power: Double)

    /// The schedule's kind.
    public var kind: ScheduleKind {
        switch self {
        case .constant: return .constant
        case .step: return .step
        case .exponential: return .exponential
        case .cosine: return .cosine
        case .inverseScaling: return .inverseScaling
        }
    }

    /// The learning rate for epoch `epoch` given the base rate. A step size or period
    /// below 1 (which `OptimizerConfiguration` refuses) counts as 1, so that no value
    /// traps here.
    public func learningRate(base: Double, epoch: Int) -> Double {
        switch self {
        case .constant:
            return base
        case .step(let stepSize, let gamma):
            return base * power(gamma, epoch / max(stepSize, 1))
        case .exponential(let gamma):
            return base * power(gamma, epoch)
        case .cosine(let period, let minimum):
            let period = max(period, 1)
            let progress = Double(min(epoch, period)) / Double(period)
            return minimum + (base - minimum) * (1 + cos(Double.pi * progress)) / 2
        case .inverseScaling(let power):
            return base / pow(Double(epoch) + 1, power)
        }
    }
}

/// Integer power by repeated squaring, exact order so every platform agrees.
func power(_ base: Double, _ exponent: Int) -> Double {
    var result = 1.0, factor = base, remaining = exponent
    while remaining > 0 {
        if remaining & 1 == 1 { result *= factor }
        factor *= factor
        remaining >>= 1
    }
    return result
}

/// Everything that defines an optimizer. Defaults are PyTorch's for each kind.
public struct OptimizerConfiguration: Sendable, Equatable {
    public var kind: OptimizerKind
    public var learningRate: Double
    public var momentum: Double = 0
    public var nesterov: Bool = false
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var epsilon: Double = 1e-8
    public var alpha: Double = 0.99
    public var weightDecay: Double = 0
    public var decayBiases: Bool = false
    /// 0 disables clipping.
    public var clipNorm: Double = 0
    public var schedule: LearningRateSchedule = .constant
    /// RPROP: which variant, the step-size factors (eta+ > 1, 0 < eta- < 1), the
    /// initial step size and its bounds. Defaults: FANN's factors and initial step,
    /// PyTorch's step_sizes.
    public var rpropVariant: RpropVariant = .minus
    public var increaseFactor: Double = 1.2
    public var decreaseFactor: Double = 0.5
    public var initialStep: Double = 0.1
    public var minimumStep: Double = 1e-6
    public var maximumStep: Double = 50

    /// PyTorch's defaults: SGD lr 0.01 (PyTorch requires one; 0.01 is the customary
    /// choice), Adam and AdamW lr 1e-3, RMSprop lr 1e-2; AdamW weight decay 0.01.
    public init(kind: OptimizerKind) {
        self.kind = kind
        switch kind {
        case .sgd: learningRate = 0.01
        case .adam: learningRate = 0.001
        case .adamW: learningRate = 0.001; weightDecay = 0.01
        case .rmsProp: learningRate = 0.01
        case .rprop: learningRate = 0.01
        }
    }

    /// Checks every field; the message names the first bad one.
    public func validate() throws(MLPError) {
        func require(_ condition: Bool, _ field: String, _ value: Double, _ rule: String) throws(MLPError) {
            if !condition {
                throw MLPError(.invalidArgument, "optimizer \(field) is \(value); it must be \(rule)")
            }
        }
        try require(learningRate.isFinite && learningRate > 0, "learning_rate", learningRate, "finite and > 0")
        try require(momentum.isFinite && momentum >= 0 && momentum < 1, "momentum", momentum, "in [0, 1)")
        try require(beta1.isFinite && beta1 >= 0 && beta1 < 1, "beta1", beta1, "in [0, 1)")
        try require(beta2.isFinite && beta2 >= 0 && beta2 < 1, "beta2", beta2, "in [0, 1)")
        try require(epsilon.isFinite && epsilon > 0, "epsilon", epsilon, "finite and > 0")
        try require(alpha.isFinite && alpha >= 0 && alpha < 1, "alpha", alpha, "in [0, 1)")
        try require(weightDecay.isFinite && weightDecay >= 0, "weight_decay", weightDecay, "finite and >= 0")
        try require(clipNorm.isFinite && clipNorm >= 0, "clip_norm", clipNorm, "finite and >= 0 (0 disables)")
        if nesterov && !(kind == .sgd && momentum > 0) {
            throw MLPError(.invalidArgument, "optimizer nesterov needs SGD with momentum > 0")
        }
        if kind == .rprop {
            try validateRprop()
        }
        switch schedule {
        case .constant: break
        case .step(let stepSize, let gamma):
            if stepSize < 1 {
                throw MLPError(.invalidArgument, "schedule step_size is \(stepSize); it must be >= 1")
            }
            try require(gamma.isFinite && gamma > 0, "schedule gamma", gamma, "finite and > 0")
        case .exponential(let gamma):
            try require(gamma.isFinite && gamma > 0, "schedule gamma", gamma, "finite and > 0")
        case .cosine(let period, let minimum):
            if period < 1 {
                throw MLPError(.invalidArgument, "schedule period is \(period); it must be >= 1")
            }
            try require(minimum.isFinite && minimum >= 0, "schedule min_lr", minimum, "finite and >= 0")
        case .inverseScaling(let power):
            try require(power.isFinite && power >= 0, "schedule gamma", power, "finite and >= 0")
        }
    }

    /// Checks that the values the update converts to `Scalar` survive the conversion:
    /// in Float, a learning rate of 1e39 becomes infinity and an epsilon of 1e-50
    /// becomes 0 (then 0/0 in Adam). Bias corrections stay in Double.
    func validateRepresentable<Scalar: MLPScalar>(in type: Scalar.Type) throws(MLPError) {
        let name = Scalar.dtype == .float32 ? "float" : "double"
        for (field, value) in [("learning_rate", learningRate), ("weight_decay", weightDecay),
                               ("learning_rate * weight_decay", learningRate * weightDecay)] {
            guard Scalar(value).isFinite else {
                throw MLPError(.invalidArgument, "optimizer \(field) is \(value), which overflows \(name)")
            }
        }
        guard Scalar(epsilon) > 0 else {
            throw MLPError(.invalidArgument, "optimizer epsilon is \(epsilon), which is 0 in \(name)")
        }
        if kind == .rprop {
            try validateRpropRepresentable(in: type)
        }
    }

    /// How many parameter-sized state buffers this optimizer keeps.
    var stateBufferCount: Int {
        switch kind {
        case .sgd: return momentum > 0 ? 1 : 0
        case .adam, .adamW: return 2
        case .rmsProp: return momentum > 0 ? 2 : 1
        case .rprop: return rpropVariant == .plus ? 3 : 2
        }
    }
}

/// The optimizer's mutable state: step count and up to three buffers shaped like the
/// parameters (SGD: velocity; Adam: m, v; RMSprop: square average s, velocity;
/// RPROP: previous gradient, step size, and for iRPROP+ previous update), plus
/// iRPROP+'s previous loss.
struct OptimizerState<Scalar: MLPScalar>: ~Copyable {
    var configuration: OptimizerConfiguration
    var stepCount = 0
    var first = ScalarBuffer<Scalar>()
    var second = ScalarBuffer<Scalar>()
    var third = ScalarBuffer<Scalar>()
    /// iRPROP+: the loss of the previous step; +infinity before the first.
    var previousLoss = Double.infinity

    init(configuration: OptimizerConfiguration, parameterCount: Int) throws(MLPError) {
        self.configuration = configuration
        let buffers = configuration.stateBufferCount
        if buffers >= 1 {
            first = try ScalarBuffer(zeroedCount: parameterCount, purpose: "optimizer state")
        }
        if buffers >= 2 {
            second = try ScalarBuffer(zeroedCount: parameterCount, purpose: "optimizer state")
        }
        if buffers >= 3 {
            third = try ScalarBuffer(zeroedCount: parameterCount, purpose: "optimizer state")
        }
        // The buffers come zeroed (large ones as untouched pages); only RPROP's step
        // sizes start elsewhere.
        if configuration.kind == .rprop {
            second.fill(with: Scalar(configuration.initialStep))
        }
    }

    /// Back to the state of a freshly set optimizer: no steps, zero buffers, except
    /// RPROP's step sizes, which start at the initial step.
    mutating func reset() {
        first.fill(with: 0)
        second.fill(with: 0)
        third.fill(with: 0)
        if configuration.kind == .rprop {
            second.fill(with: Scalar(configuration.initialStep))
        }
        previousLoss = .infinity
        stepCount = 0
    }

    /// A copy with its own buffers (the training snapshot).
    func duplicate() throws(MLPError) -> OptimizerState {
        var copy = try OptimizerState(configuration: configuration, parameterCount: first.count)
        copy.restore(from: self)
        return copy
    }

    /// Takes `other`'s values; both must have the same configuration and size.
    mutating func restore(from other: borrowing OptimizerState) {
        first.copy(from: other.first)
        second.copy(from: other.second)
        third.copy(from: other.third)
        previousLoss = other.previousLoss
        stepCount = other.stepCount
    }

    /// One more update applied. Saturating: a count restored from a file may be
    /// anything up to Int.max.
    mutating func countStep() {
        stepCount = stepCount == Int.max ? Int.max : stepCount + 1
    }

    /// Plain SGD (no momentum) keeps no state: a new parameter depends only on the
    /// old one and its gradient, so the update can be computed out of place.
    var updatesOutOfPlace: Bool { configuration.kind == .sgd && configuration.momentum == 0 }

    /// Plain SGD, out of place: overwrites every gradient entry with its new parameter
    /// value p - lr (s g + wd p) and leaves `parameters` as they are; the caller then
    /// swaps the two buffers. One pass that reads p and g and writes one stream, where
    /// an in-place update would need a finiteness pass over the gradient first (a
    /// failed step must change nothing). Returns false when a new value is not finite
    /// (a non-finite gradient, or an update that overflows): the parameters are then
    /// untouched, the gradient buffer holds no gradient, and the step count is as it
    /// was. Otherwise advances the step count.
    /// - Precondition: `updatesOutOfPlace`.
    mutating func applyOutOfPlace(
        parameters: UnsafePointer<Scalar>, gradient: UnsafeMutablePointer<Scalar>,
        gradientScale: Scalar, learningRate: Double,
        plans: UnsafePointer<LayerPlan>, layerCount: Int
    ) -> Bool {
        let lr = Scalar(learningRate)
        let weightDecay = Scalar(configuration.weightDecay)
        let biasDecay = configuration.decayBiases ? weightDecay : 0
        var nonFinite: Scalar.NonFiniteBits = 0
        if weightDecay == biasDecay {
            // One rule for every parameter: one loop over the flat buffer (the layers
            // are contiguous), one overlap check, no per-segment loop overhead.
            let layer = plans[layerCount - 1]
            nonFinite = plainSGDOutOfPlace(
                parameters: parameters, gradient: gradient, gradientScale: gradientScale,
                range: 0..<(layer.biasOffset + layer.fanOut), weightDecay: weightDecay, learningRate: lr)
        } else {
            for l in 0..<layerCount {
                let layer = plans[l]
                nonFinite |= plainSGDOutOfPlace(
                    parameters: parameters, gradient: gradient, gradientScale: gradientScale,
                    range: layer.weightOffset..<layer.biasOffset, weightDecay: weightDecay, learningRate: lr)
                nonFinite |= plainSGDOutOfPlace(
                    parameters: parameters, gradient: gradient, gradientScale: gradientScale,
                    range: layer.biasOffset..<(layer.biasOffset + layer.fanOut), weightDecay: biasDecay,
                    learningRate: lr)
            }
        }
        guard !Scalar.containsNonFinite(nonFinite) else { return false }
        countStep()
        return true
    }

    /// One segment of `applyOutOfPlace`; returns the OR of the new values'
    /// `nonFiniteBits`.
    @inline(__always)
    private func plainSGDOutOfPlace(
        parameters: UnsafePointer<Scalar>, gradient: UnsafeMutablePointer<Scalar>,
        gradientScale: Scalar, range: Range<Int>, weightDecay wd: Scalar, learningRate lr: Scalar
    ) -> Scalar.NonFiniteBits {
        // The expression every plain-SGD loop evaluates (`PlainSGDRate.updated`; the
        // fused step's small products and bias updates use it too, its BLAS products
        // the GEMM's own order). A gradient scale of 1 multiplies exactly.
        let rate = PlainSGDRate(learningRate: lr, weightDecay: wd)
        var nonFinite: Scalar.NonFiniteBits = 0
        for i in range {
            let updated = rate.updated(parameters[i], gradient: gradient[i] * gradientScale)
            gradient[i] = updated
            nonFinite |= Scalar.nonFiniteBits(updated)
        }
        return nonFinite
    }

    /// Applies one update to `parameters` from `gradient` (both laid out as `plans` say),
    /// with the gradient scaled by `gradientScale` first (clipping), at rate
    /// `learningRate`. `loss` is the batch loss at the current parameters, which
    /// iRPROP+ needs (the caller refuses iRPROP+ without one). Advances the step count.
    /// Returns false when an updated parameter or state value is not finite (the
    /// update overflowed).
    mutating func apply(
        parameters: UnsafeMutablePointer<Scalar>, gradient: UnsafePointer<Scalar>,
        gradientScale: Scalar, learningRate: Double,
        plans: UnsafePointer<LayerPlan>, layerCount: Int, loss: Double? = nil
    ) -> Bool {
        countStep()
        if configuration.kind == .rprop {
            let layer = plans[layerCount - 1]
            return applyRprop(
                parameters: parameters, gradient: gradient, gradientScale: gradientScale,
                count: layer.biasOffset + layer.fanOut, loss: loss ?? .infinity)
        }
        var nonFinite: Scalar.NonFiniteBits = 0
        let decay = configuration.weightDecay
        if decay == 0 || configuration.decayBiases {
            // One rule for every parameter: one loop over the flat buffer (the layers
            // are contiguous), so one overlap check and one loop setup a step instead
            // of two per layer, which dominated small networks' updates.
            let layer = plans[layerCount - 1]
            nonFinite = updateSegment(
                parameters: parameters, gradient: gradient, gradientScale: gradientScale,
                range: 0..<(layer.biasOffset + layer.fanOut), weightDecay: decay,
                learningRate: learningRate)
            return !Scalar.containsNonFinite(nonFinite)
        }
        for l in 0..<layerCount {
            let layer = plans[l]
            nonFinite |= updateSegment(
                parameters: parameters, gradient: gradient, gradientScale: gradientScale,
                range: layer.weightOffset..<layer.biasOffset, weightDecay: decay,
                learningRate: learningRate)
            nonFinite |= updateSegment(
                parameters: parameters, gradient: gradient, gradientScale: gradientScale,
                range: layer.biasOffset..<(layer.biasOffset + layer.fanOut),
                weightDecay: configuration.decayBiases ? decay : 0,
                learningRate: learningRate)
        }
        return !Scalar.containsNonFinite(nonFinite)
    }

    /// Updates one segment; returns the OR of the new values' `nonFiniteBits` (an
    /// integer OR that vectorises with the update).
    @inline(__always)
    private func updateSegment(
        parameters: UnsafeMutablePointer<Scalar>, gradient: UnsafePointer<Scalar>,
        gradientScale: Scalar, range: Range<Int>, weightDecay: Double, learningRate: Double
    ) -> Scalar.NonFiniteBits {
        var nonFinite: Scalar.NonFiniteBits = 0
        let lr = Scalar(learningRate)
        let wd = Scalar(weightDecay)
        let mu = Scalar(configuration.momentum)
        switch configuration.kind {
        case .sgd:
            // With momentum: plain SGD goes through `applyOutOfPlace`.
            let start = range.lowerBound
            nonFinite = momentumSGD(
                parameters: parameters + start, velocity: first.pointer + start, gradient: gradient + start,
                count: range.count, gradientScale: gradientScale, weightDecay: wd, learningRate: lr, momentum: mu,
                nesterov: configuration.nesterov)
        case .adam, .adamW:
            let decoupled = configuration.kind == .adamW
            let b1 = Scalar(configuration.beta1), b2 = Scalar(configuration.beta2)
            let eps = Scalar(configuration.epsilon)
            // Bias corrections in Double, as PyTorch computes them in Python floats.
            let correction1 = 1 - power(configuration.beta1, stepCount)
            let correction2Root = (1 - power(configuration.beta2, stepCount)).squareRoot()
            let stepSize = Scalar(learningRate / correction1)
            let root2 = Scalar(correction2Root)
            let shrink = Scalar(1 - learningRate * weightDecay)
            nonFinite = adamUpdate(
                parameters: parameters + range.lowerBound, m: first.pointer + range.lowerBound,
                v: second.pointer + range.lowerBound, gradient: gradient + range.lowerBound, count: range.count,
                gradientScale: gradientScale, weightDecay: wd, decoupled: decoupled, beta1: b1, beta2: b2,
                epsilon: eps, stepSize: stepSize, root2: root2, shrink: shrink)
        case .rmsProp:
            let alpha = Scalar(configuration.alpha), eps = Scalar(configuration.epsilon)
            let square = first.pointer
            // With momentum or without, decided once (`loop` inlined with a constant
            // velocity): a branch inside kept the loop from vectorising.
            @inline(__always)
            func loop(velocity: UnsafeMutablePointer<Scalar>?) {
                for i in range {
                    let g = gradient[i] * gradientScale + wd * parameters[i]
                    let s = alpha * square[i] + (1 - alpha) * g * g
                    square[i] = s
                    nonFinite |= Scalar.nonFiniteBits(s)
                    let direction = g / (s.squareRoot() + eps)
                    if let velocity {
                        let v = mu * velocity[i] + direction
                        velocity[i] = v
                        parameters[i] -= lr * v
                        nonFinite |= Scalar.nonFiniteBits(v)
                    } else {
                        parameters[i] -= lr * direction
                    }
                    nonFinite |= Scalar.nonFiniteBits(parameters[i])
                }
            }
            if configuration.momentum > 0 {
                loop(velocity: second.pointer)
            } else {
                loop(velocity: nil)
            }
        case .rprop:
            break  // `apply` hands RPROP to `applyRprop` before any segment
        }
        return nonFinite
    }
}

/// SGD with momentum over `count` parameters, PyTorch's rule: g = gradient x
/// gradientScale + wd p; v = mu v + g; p -= lr (nesterov ? g + mu v : v). Returns the
/// OR of the new parameters' `nonFiniteBits`.
///
/// Nesterov or not, and whether the gradient needs scaling or decay, are decided
/// once, so that each case is one plain loop (`loop` inlined with constant flags).
/// Without clipping or decay (the usual case) the loop skips g * 1 + 0 * p: for a
/// finite p that is g exactly, up to the sign of a zero gradient (-0 + 0 p is +0 for
/// a positive p), so values can differ from the general loop's only in the sign of a
/// zero. Only the new parameter's bits are tested: the parameter was finite, so
/// p - lr (...v...) is not finite exactly when v is not or the update overflows
/// (lr x infinity is infinite or NaN for every finite lr, 0 included): the same
/// verdict as testing both, in half the work.
@inline(__always)
func momentumSGD<Scalar: MLPScalar>(
    parameters: UnsafeMutablePointer<Scalar>, velocity: UnsafeMutablePointer<Scalar>,
    gradient: UnsafePointer<Scalar>, count: Int, gradientScale: Scalar, weightDecay wd: Scalar,
    learningRate lr: Scalar, momentum mu: Scalar, nesterov: Bool
) -> Scalar.NonFiniteBits {
    #if SWIFTMLP_DISPATCH
    if runsWideLoops(Scalar.self, count: count, minimumBytes: 128) {
        return Scalar.NonFiniteBits(truncatingIfNeeded: wideMomentumSGD(
            parameters: parameters, velocity: velocity, gradient: gradient, count: count,
            gradientScale: Double(gradientScale), weightDecay: Double(wd), learningRate: Double(lr),
            momentum: Double(mu), nesterov: nesterov, double: Scalar.self == Double.self))
    }
    #endif
    var nonFinite: Scalar.NonFiniteBits = 0
    @inline(__always)
    func loop(nesterov: Bool, plain: Bool) {
        for i in 0..<count {
            let g = plain ? gradient[i] : gradient[i] * gradientScale + wd * parameters[i]
            let v = mu * velocity[i] + g
            velocity[i] = v
            let updated = parameters[i] - lr * (nesterov ? g + mu * v : v)
            parameters[i] = updated
            nonFinite |= Scalar.nonFiniteBits(updated)
        }
    }
    if nesterov {
        loop(nesterov: true, plain: false)
    } else if wd == 0 && gradientScale == 1 {
        loop(nesterov: false, plain: true)
    } else {
        loop(nesterov: false, plain: false)
    }
    return nonFinite
}

/// Adam's (or AdamW's, `decoupled`) update of `count` parameters with its moments m
/// and v, the bias corrections already in `stepSize` (lr / (1 - b1^t)) and `root2`
/// (sqrt(1 - b2^t)), and AdamW's decay in `shrink` (1 - lr wd). Returns the OR of the
/// new parameters' and moments' `nonFiniteBits`.
///
/// Without clipping or decay (`plain`), g * 1 + 0 * p and p * 1 are skipped, as in
/// `momentumSGD`: the same values up to the sign of a zero.
@inline(__always)
func adamUpdate<Scalar: MLPScalar>(
    parameters: UnsafeMutablePointer<Scalar>, m: UnsafeMutablePointer<Scalar>, v: UnsafeMutablePointer<Scalar>,
    gradient: UnsafePointer<Scalar>, count: Int, gradientScale: Scalar, weightDecay wd: Scalar, decoupled: Bool,
    beta1 b1: Scalar, beta2 b2: Scalar, epsilon eps: Scalar, stepSize: Scalar, root2: Scalar, shrink: Scalar
) -> Scalar.NonFiniteBits {
    #if SWIFTMLP_DISPATCH
    if runsWideLoops(Scalar.self, count: count, minimumBytes: 128) {
        return Scalar.NonFiniteBits(truncatingIfNeeded: wideAdamUpdate(
            parameters: parameters, m: m, v: v, gradient: gradient, count: count,
            gradientScale: Double(gradientScale), weightDecay: Double(wd), decoupled: decoupled,
            beta1: Double(b1), beta2: Double(b2), epsilon: Double(eps), stepSize: Double(stepSize),
            root2: Double(root2), shrink: Double(shrink), double: Scalar.self == Double.self))
    }
    #endif
    var nonFinite: Scalar.NonFiniteBits = 0
    @inline(__always)
    func loop(plain: Bool) {
        for i in 0..<count {
            var g = plain ? gradient[i] : gradient[i] * gradientScale
            if !plain {
                if decoupled {
                    parameters[i] *= shrink
                } else {
                    g += wd * parameters[i]
                }
            }
            let mi = b1 * m[i] + (1 - b1) * g
            let vi = b2 * v[i] + (1 - b2) * g * g
            m[i] = mi
            v[i] = vi
            parameters[i] -= stepSize * mi / (vi.squareRoot() / root2 + eps)
            nonFinite |= Scalar.nonFiniteBits(parameters[i]) | Scalar.nonFiniteBits(mi) | Scalar.nonFiniteBits(vi)
        }
    }
    if wd == 0 && gradientScale == 1 {
        loop(plain: true)
    } else {
        loop(plain: false)
    }
    return nonFinite
}
