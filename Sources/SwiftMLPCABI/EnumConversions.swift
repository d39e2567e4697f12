// C enum values to engine enums and back. Every value from C is checked: an unknown
// number is an INVALID_ARGUMENT naming the field, never a trap.

import CSwiftMLP
import SwiftMLP

func activation(from value: smlp_activation, index: Int) throws(APIError) -> Activation {
    switch value {
    case SMLP_IDENTITY: return .identity
    case SMLP_SIGMOID: return .sigmoid
    case SMLP_TANH: return .tanh
    case SMLP_RELU: return .relu
    case SMLP_LEAKY_RELU: return .leakyReLU
    case SMLP_SOFTMAX: return .softmax
    default:
        throw APIError(SMLP_ERR_INVALID_ARGUMENT, "activations[\(index)] is \(value.rawValue), not an smlp_activation")
    }
}

func cValue(_ activation: Activation) -> smlp_activation {
    switch activation {
    case .identity: return SMLP_IDENTITY
    case .sigmoid: return SMLP_SIGMOID
    case .tanh: return SMLP_TANH
    case .relu: return SMLP_RELU
    case .leakyReLU: return SMLP_LEAKY_RELU
    case .softmax: return SMLP_SOFTMAX
    }
}

func loss(from value: smlp_loss) throws(APIError) -> Loss {
    switch value {
    case SMLP_MSE: return .meanSquaredError
    case SMLP_BINARY_CROSS_ENTROPY: return .binaryCrossEntropy
    case SMLP_SOFTMAX_CROSS_ENTROPY: return .softmaxCrossEntropy
    case SMLP_POISSON: return .poisson
    default: throw APIError(SMLP_ERR_INVALID_ARGUMENT, "loss is \(value.rawValue), not an smlp_loss")
    }
}

func cValue(_ loss: Loss) -> smlp_loss {
    switch loss {
    case .meanSquaredError: return SMLP_MSE
    case .binaryCrossEntropy: return SMLP_BINARY_CROSS_ENTROPY
    case .softmaxCrossEntropy: return SMLP_SOFTMAX_CROSS_ENTROPY
    case .poisson: return SMLP_POISSON
    }
}

func reduction(from value: smlp_reduction) throws(APIError) -> Reduction {
    switch value {
    case SMLP_REDUCTION_MEAN: return .mean
    case SMLP_REDUCTION_SUM: return .sum
    default: throw APIError(SMLP_ERR_INVALID_ARGUMENT, "reduction is \(value.rawValue), not an smlp_reduction")
    }
}

func cValue(_ reduction: Reduction) -> smlp_reduction {
    reduction == .mean ? SMLP_REDUCTION_MEAN : SMLP_REDUCTION_SUM
}

func initialization(from value: smlp_init) throws(APIError) -> Initialization {
    switch value {
    case SMLP_INIT_AUTO: return .automatic
    case SMLP_INIT_GLOROT_UNIFORM: return .glorotUniform
    case SMLP_INIT_HE_UNIFORM: return .heUniform
    default: throw APIError(SMLP_ERR_INVALID_ARGUMENT, "init is \(value.rawValue), not an smlp_init")
    }
}

func optimizerKind(from value: smlp_optimizer) throws(APIError) -> OptimizerKind {
    switch value {
    case SMLP_SGD: return .sgd
    case SMLP_ADAM: return .adam
    case SMLP_ADAMW: return .adamW
    case SMLP_RMSPROP: return .rmsProp
    case SMLP_RPROP: return .rprop
    default: throw APIError(SMLP_ERR_INVALID_ARGUMENT, "optimizer kind is \(value.rawValue), not an smlp_optimizer")
    }
}

func cValue(_ kind: OptimizerKind) -> smlp_optimizer {
    switch kind {
    case .sgd: return SMLP_SGD
    case .adam: return SMLP_ADAM
    case .adamW: return SMLP_ADAMW
    case .rmsProp: return SMLP_RMSPROP
    case .rprop: return SMLP_RPROP
    }
}

func rpropVariant(from value: smlp_rprop_variant) throws(APIError) -> RpropVariant {
    switch value {
    case SMLP_IRPROP_MINUS: return .minus
    case SMLP_IRPROP_PLUS: return .plus
    default:
        throw APIError(SMLP_ERR_INVALID_ARGUMENT, "config.rprop_variant is \(value.rawValue), not an smlp_rprop_variant")
    }
}

func cValue(_ variant: RpropVariant) -> smlp_rprop_variant {
    variant == .minus ? SMLP_IRPROP_MINUS : SMLP_IRPROP_PLUS
}

/// The schedule fields of an optimizer config. Range checks happen in the engine.
func schedule(from c: smlp_optimizer_config) throws(APIError) -> LearningRateSchedule {
    func epochs(_ field: Int, _ name: StaticString) throws(APIError) -> Int {
        let value = cSize(field)
        guard value >= 1, value <= UInt(Int32.max) else {
            throw APIError(SMLP_ERR_INVALID_ARGUMENT, "config.\(name) is \(value); it must be in 1...\(Int32.max)")
        }
        return Int(value)
    }
    switch c.schedule {
    case SMLP_SCHEDULE_CONSTANT: return .constant
    case SMLP_SCHEDULE_STEP: return .step(stepSize: try epochs(c.step_size, "step_size"), gamma: c.gamma)
    case SMLP_SCHEDULE_EXPONENTIAL: return .exponential(gamma: c.gamma)
    case SMLP_SCHEDULE_COSINE: return .cosine(period: try epochs(c.t_max, "t_max"), minimum: c.min_lr)
    case SMLP_SCHEDULE_INVERSE_SCALING: return .inverseScaling(power: c.gamma)
    default:
        throw APIError(SMLP_ERR_INVALID_ARGUMENT, "config.schedule is \(c.schedule.rawValue), not an smlp_schedule")
    }
}
