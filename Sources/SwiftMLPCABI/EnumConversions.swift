// C enum values to engine enums and back. The engine enums' raw values are the
// header's codes (Tests/SwiftMLPTests checks each against include/swiftmlp.h), so a
// conversion is a raw-value lookup. Every value from C is checked: an unknown number
// is an INVALID_ARGUMENT naming the field, never a trap.

import CSwiftMLP
import SwiftMLP

/// The engine value whose raw value is `code`, or nil when no case has it.
private func engineValue<Engine: RawRepresentable, Code: BinaryInteger>(_ code: Code) -> Engine?
where Engine.RawValue == UInt8 {
    UInt8(exactly: code).flatMap(Engine.init(rawValue:))
}

func activation(from value: smlp_activation, index: Int) throws(APIError) -> Activation {
    guard let activation: Activation = engineValue(value.rawValue) else {
        throw APIError(SMLP_ERR_INVALID_ARGUMENT, "activations[\(index)] is \(value.rawValue), not an smlp_activation")
    }
    return activation
}

func cValue(_ activation: Activation) -> smlp_activation { smlp_activation(rawValue: .init(activation.rawValue)) }

func loss(from value: smlp_loss) throws(APIError) -> Loss {
    guard let loss: Loss = engineValue(value.rawValue) else {
        throw APIError(SMLP_ERR_INVALID_ARGUMENT, "loss is \(value.rawValue), not an smlp_loss")
    }
    return loss
}

func cValue(_ loss: Loss) -> smlp_loss { smlp_loss(rawValue: .init(loss.rawValue)) }

func reduction(from value: smlp_reduction) throws(APIError) -> Reduction {
    guard let reduction: Reduction = engineValue(value.rawValue) else {
        throw APIError(SMLP_ERR_INVALID_ARGUMENT, "reduction is \(value.rawValue), not an smlp_reduction")
    }
    return reduction
}

func cValue(_ reduction: Reduction) -> smlp_reduction { smlp_reduction(rawValue: .init(reduction.rawValue)) }

func initialization(from value: smlp_init) throws(APIError) -> Initialization {
    guard let initialization: Initialization = engineValue(value.rawValue) else {
        throw APIError(SMLP_ERR_INVALID_ARGUMENT, "init is \(value.rawValue), not an smlp_init")
    }
    return initialization
}

func optimizerKind(from value: smlp_optimizer) throws(APIError) -> OptimizerKind {
    guard let kind: OptimizerKind = engineValue(value.rawValue) else {
        throw APIError(SMLP_ERR_INVALID_ARGUMENT, "optimizer kind is \(value.rawValue), not an smlp_optimizer")
    }
    return kind
}

func cValue(_ kind: OptimizerKind) -> smlp_optimizer { smlp_optimizer(rawValue: .init(kind.rawValue)) }

func rpropVariant(from value: smlp_rprop_variant) throws(APIError) -> RpropVariant {
    guard let variant: RpropVariant = engineValue(value.rawValue) else {
        throw APIError(SMLP_ERR_INVALID_ARGUMENT, "config.rprop_variant is \(value.rawValue), not an smlp_rprop_variant")
    }
    return variant
}

func cValue(_ variant: RpropVariant) -> smlp_rprop_variant { smlp_rprop_variant(rawValue: .init(variant.rawValue)) }

func cValue(_ kind: ScheduleKind) -> smlp_schedule { smlp_schedule(rawValue: .init(kind.rawValue)) }

func cacheKind(from value: smlp_cache_kind) throws(APIError) -> CacheKind {
    guard let kind: CacheKind = engineValue(value.rawValue) else {
        throw APIError(SMLP_ERR_INVALID_ARGUMENT, "kind is \(value.rawValue), not an smlp_cache_kind")
    }
    return kind
}

func trainingMethod(from value: smlp_train_method) throws(APIError) -> TrainingMethod {
    guard let method: TrainingMethod = engineValue(value.rawValue) else {
        throw APIError(SMLP_ERR_INVALID_ARGUMENT,
            "options.method is \(value.rawValue); it must be SMLP_TRAIN_MINIBATCH (0) or SMLP_TRAIN_LBFGS (1)")
    }
    return method
}

func cValue(_ reason: StopReason) -> smlp_stop_reason { smlp_stop_reason(rawValue: .init(reason.rawValue)) }

func dtype(from value: smlp_dtype) throws(APIError) -> DType {
    guard let dtype: DType = engineValue(value.rawValue) else {
        throw APIError(SMLP_ERR_INVALID_ARGUMENT, "dtype is \(value.rawValue), not an smlp_dtype")
    }
    return dtype
}

func cValue(_ dtype: DType) -> smlp_dtype { smlp_dtype(rawValue: .init(dtype.rawValue)) }

/// The schedule fields of an optimizer config. Range checks happen in the engine.
func schedule(from c: smlp_optimizer_config) throws(APIError) -> LearningRateSchedule {
    func epochs(_ field: Int, _ name: StaticString) throws(APIError) -> Int {
        let value = cSize(field)
        guard value >= 1, value <= UInt(Int32.max) else {
            throw APIError(SMLP_ERR_INVALID_ARGUMENT, "config.\(name) is \(value); it must be in 1...\(Int32.max)")
        }
        return Int(value)
    }
    guard let kind: ScheduleKind = engineValue(c.schedule.rawValue) else {
        throw APIError(SMLP_ERR_INVALID_ARGUMENT, "config.schedule is \(c.schedule.rawValue), not an smlp_schedule")
    }
    switch kind {
    case .constant: return .constant
    case .step: return .step(stepSize: try epochs(c.step_size, "step_size"), gamma: c.gamma)
    case .exponential: return .exponential(gamma: c.gamma)
    case .cosine: return .cosine(period: try epochs(c.t_max, "t_max"), minimum: c.min_lr)
    case .inverseScaling: return .inverseScaling(power: c.gamma)
    }
}
