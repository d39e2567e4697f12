// Every function the C header declares, in header order. Each one checks its
// arguments, takes the model's busy flag, converts raw pointers to typed buffers, and
// calls the engine; none does any math. A failure returns a status and leaves a
// message for smlp_last_error().

import CSwiftMLP
import SwiftMLP

// MARK: Version

let versionString: StaticString = "0.1.0"

@_cdecl("smlp_version")
public func smlp_version() -> UInt32 {
    UInt32(SMLP_VERSION_MAJOR * 10000 + SMLP_VERSION_MINOR * 100 + SMLP_VERSION_PATCH)
}

@_cdecl("smlp_version_string")
public func smlp_version_string() -> UnsafePointer<CChar> {
    UnsafeRawPointer(versionString.utf8Start).assumingMemoryBound(to: CChar.self)
}

// MARK: Status and errors

@_cdecl("smlp_status_string")
public func smlp_status_string(_ status: smlp_status) -> UnsafePointer<CChar> {
    let text: StaticString
    switch status {
    case SMLP_OK: text = "ok"
    case SMLP_ERR_NULL_ARGUMENT: text = "null argument"
    case SMLP_ERR_INVALID_ARGUMENT: text = "invalid argument"
    case SMLP_ERR_SHAPE_MISMATCH: text = "shape mismatch"
    case SMLP_ERR_DTYPE_MISMATCH: text = "dtype mismatch"
    case SMLP_ERR_OUT_OF_MEMORY: text = "out of memory"
    case SMLP_ERR_NON_FINITE: text = "non-finite value"
    case SMLP_ERR_BUSY: text = "model busy"
    case SMLP_ERR_IO: text = "input/output error"
    case SMLP_ERR_BAD_FORMAT: text = "bad model file"
    case SMLP_ERR_UNSUPPORTED_VERSION: text = "unsupported file version"
    default: text = "unknown status"
    }
    return UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
}

@_cdecl("smlp_last_error")
public func smlp_last_error() -> UnsafePointer<CChar> {
    if let buffer = pthreadMessageBuffer() {
        return UnsafePointer(buffer)
    }
    return UnsafeRawPointer(emptyMessage.utf8Start).assumingMemoryBound(to: CChar.self)
}

// MARK: Create and free

@_cdecl("smlp_config_init")
public func smlp_config_init(_ config: UnsafeMutablePointer<smlp_config>?) {
    guard let config else { return }
    config.pointee = smlp_config(
        struct_size: MemoryLayout<smlp_config>.size, dtype: SMLP_FLOAT64,
        n_layer_sizes: 0, layer_sizes: nil, activations: nil, loss: SMLP_MSE,
        reduction: SMLP_REDUCTION_MEAN, init: SMLP_INIT_AUTO, seed: 0, leaky_relu_slope: 0.01)
}

@_cdecl("smlp_create")
public func smlp_create(
    _ config: UnsafePointer<smlp_config>?, _ outModel: UnsafeMutablePointer<OpaquePointer?>?
) -> smlp_status {
    runReportingErrors("smlp_create") { () throws(APIError) in
        let out = try require(outModel, "out_model")
        out.pointee = nil
        let c = try require(config, "config").pointee
        guard c.struct_size == MemoryLayout<smlp_config>.size else {
            throw APIError(SMLP_ERR_INVALID_ARGUMENT,
                "config.struct_size is \(c.struct_size), expected \(MemoryLayout<smlp_config>.size); call smlp_config_init first")
        }
        guard c.n_layer_sizes >= 2 else {
            throw APIError(SMLP_ERR_INVALID_ARGUMENT,
                "config.n_layer_sizes is \(c.n_layer_sizes); a network needs at least 2 (input and output)")
        }
        // More layers than this is certainly a caller bug (and bounds what we copy).
        guard c.n_layer_sizes <= 1 << 20 else {
            throw APIError(SMLP_ERR_INVALID_ARGUMENT, "config.n_layer_sizes is \(c.n_layer_sizes), more than 2^20")
        }
        let sizes = try require(c.layer_sizes, "config.layer_sizes")
        let codes = try require(c.activations, "config.activations")
        var layerSizes: [Int] = []
        var activations: [Activation] = []
        for index in 0..<c.n_layer_sizes {
            layerSizes.append(sizes[index])
        }
        for index in 0..<(c.n_layer_sizes - 1) {
            activations.append(try SwiftMLPCABI.activation(from: codes[index], index: index))
        }
        let configuration = NetworkConfiguration(
            layerSizes: layerSizes, activations: activations,
            loss: try SwiftMLPCABI.loss(from: c.loss), reduction: try SwiftMLPCABI.reduction(from: c.reduction),
            initialization: try SwiftMLPCABI.initialization(from: c.`init`), seed: c.seed,
            leakyReLUSlope: c.leaky_relu_slope)
        let storage: NetworkStorage
        switch c.dtype {
        case SMLP_FLOAT32: storage = .float32(try engine { () throws(MLPError) in try Network<Float>(configuration) })
        case SMLP_FLOAT64: storage = .float64(try engine { () throws(MLPError) in try Network<Double>(configuration) })
        default:
            throw APIError(SMLP_ERR_INVALID_ARGUMENT, "config.dtype is \(c.dtype.rawValue), not an smlp_dtype")
        }
        out.pointee = OpaquePointer(Unmanaged.passRetained(ModelHandle(storage)).toOpaque())
    }
}

@_cdecl("smlp_free")
public func smlp_free(_ model: OpaquePointer?) {
    guard let model else { return }
    Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(model)).release()
}

// MARK: Queries

@_cdecl("smlp_param_count")
public func smlp_param_count(_ model: OpaquePointer?) -> Int {
    var count = 0
    _ = runReportingErrors("smlp_param_count") { () throws(APIError) in
        switch try handle(model).storage {
        case .float32(let network): count = network.parameterCount
        case .float64(let network): count = network.parameterCount
        }
    }
    return count
}

@_cdecl("smlp_model_info_get")
public func smlp_model_info_get(
    _ model: OpaquePointer?, _ outInfo: UnsafeMutablePointer<smlp_model_info>?
) -> smlp_status {
    runReportingErrors("smlp_model_info_get") { () throws(APIError) in
        // Shared use: the epoch and the scaler change under smlp_train and smlp_set_*.
        try reading(model) { (box) throws(APIError) in
            let out = try require(outInfo, "out_info")
            let configuration: NetworkConfiguration
            let count: Int, epoch: Int, hasScaler: Bool
            switch box.storage {
            case .float32(let network):
                configuration = network.configuration; count = network.parameterCount
                epoch = network.epoch; hasScaler = network.scaler != nil
            case .float64(let network):
                configuration = network.configuration; count = network.parameterCount
                epoch = network.epoch; hasScaler = network.scaler != nil
            }
            out.pointee = smlp_model_info(
                dtype: box.dtype, n_layers: configuration.layerSizes.count - 1,
                n_inputs: configuration.inputCount, n_outputs: configuration.outputCount,
                param_count: count, loss: cValue(configuration.loss),
                reduction: cValue(configuration.reduction),
                leaky_relu_slope: configuration.leakyReLUSlope, epoch: epoch,
                has_scaler: hasScaler ? 1 : 0)
        }
    }
}

@_cdecl("smlp_layer_info_get")
public func smlp_layer_info_get(
    _ model: OpaquePointer?, _ layer: Int, _ outInfo: UnsafeMutablePointer<smlp_layer_info>?
) -> smlp_status {
    runReportingErrors("smlp_layer_info_get") { () throws(APIError) in
        let box = try handle(model)
        let out = try require(outInfo, "out_info")
        let layout: ParameterLayout
        let activations: [Activation]
        switch box.storage {
        case .float32(let network): layout = network.layout; activations = network.configuration.activations
        case .float64(let network): layout = network.layout; activations = network.configuration.activations
        }
        guard layer >= 0, layer < layout.layers.count else {
            throw APIError(SMLP_ERR_INVALID_ARGUMENT,
                "layer is \(layer), but the model has \(layout.layers.count) layers (0-based)")
        }
        let shape = layout.layers[layer]
        out.pointee = smlp_layer_info(
            n_inputs: shape.fanIn, n_outputs: shape.fanOut, activation: cValue(activations[layer]),
            weight_offset: shape.weightOffset, bias_offset: shape.biasOffset)
    }
}

// MARK: Parameters

@_cdecl("smlp_get_params")
public func smlp_get_params(
    _ model: OpaquePointer?, _ dtype: smlp_dtype, _ out: UnsafeMutableRawPointer?, _ count: Int
) -> smlp_status {
    runReportingErrors("smlp_get_params") { () throws(APIError) in
        try reading(model) { (box) throws(APIError) in
            let destination = try require(out, "out")
            try requireDType(dtype, matches: box, "out")
            switch box.storage {
            case .float32(let network): try copyParameters(network, to: destination, count: count)
            case .float64(let network): try copyParameters(network, to: destination, count: count)
            }
        }
    }
}

func copyParameters<Scalar: MLPScalar>(
    _ network: Network<Scalar>, to destination: UnsafeMutableRawPointer, count: Int
) throws(APIError) {
    try requireCount(count, equals: network.parameterCount, "count")
    let view = network.parameterView
    if let source = view.baseAddress {
        destination.assumingMemoryBound(to: Scalar.self).update(from: source, count: count)
    }
}

@inline(__always)
func requireCount(_ count: Int, equals expected: Int, _ name: StaticString) throws(APIError) {
    guard count == expected else {
        throw APIError(SMLP_ERR_SHAPE_MISMATCH, "\(name) is \(count), but the model has \(expected) parameters")
    }
}

@_cdecl("smlp_set_params")
public func smlp_set_params(
    _ model: OpaquePointer?, _ dtype: smlp_dtype, _ params: UnsafeRawPointer?, _ count: Int
) -> smlp_status {
    runReportingErrors("smlp_set_params") { () throws(APIError) in
        try writing(model, "smlp_set_params") { (box) throws(APIError) in
            let source = try require(params, "params")
            try requireDType(dtype, matches: box, "params")
            switch box.storage {
            case .float32(let network): try setParameters(network, from: source, count: count)
            case .float64(let network): try setParameters(network, from: source, count: count)
            }
        }
    }
}

func setParameters<Scalar: MLPScalar>(
    _ network: Network<Scalar>, from source: UnsafeRawPointer, count: Int
) throws(APIError) {
    try requireCount(count, equals: network.parameterCount, "count")
    let values = UnsafeBufferPointer(start: source.assumingMemoryBound(to: Scalar.self), count: count)
    try engine { () throws(MLPError) in try network.setParameters(values) }
}

// MARK: Inference

@_cdecl("smlp_predict")
public func smlp_predict(
    _ model: OpaquePointer?, _ dtype: smlp_dtype, _ x: UnsafeRawPointer?, _ nRows: Int,
    _ nInputs: Int, _ out: UnsafeMutableRawPointer?, _ nOutputs: Int
) -> smlp_status {
    runReportingErrors("smlp_predict") { () throws(APIError) in
        try reading(model) { (box) throws(APIError) in
            let input = try require(x, "x")
            let output = try require(out, "out")
            try requireDType(dtype, matches: box, "x")
            switch box.storage {
            case .float32(let network):
                try predict(network, input, nRows, nInputs, output, nOutputs)
            case .float64(let network):
                try predict(network, input, nRows, nInputs, output, nOutputs)
            }
        }
    }
}

func predict<Scalar: MLPScalar>(
    _ network: Network<Scalar>, _ x: UnsafeRawPointer, _ rows: Int, _ inputs: Int,
    _ out: UnsafeMutableRawPointer, _ outputs: Int
) throws(APIError) {
    try requireWidths(network, inputs: inputs, outputs: outputs, rows: rows)
    let inputBuffer = UnsafeBufferPointer(
        start: x.assumingMemoryBound(to: Scalar.self), count: try elementCount(rows, inputs, "x"))
    let outputBuffer = UnsafeMutableBufferPointer(
        start: out.assumingMemoryBound(to: Scalar.self), count: try elementCount(rows, outputs, "out"))
    try engine { () throws(MLPError) in try network.predict(inputBuffer, rows: rows, into: outputBuffer) }
}

@inline(__always)
func requireWidths<Scalar: MLPScalar>(
    _ network: Network<Scalar>, inputs: Int, outputs: Int, rows: Int
) throws(APIError) {
    guard rows >= 1 else {
        throw APIError(SMLP_ERR_SHAPE_MISMATCH, "n_rows is \(rows); it must be at least 1")
    }
    guard inputs == network.inputCount else {
        throw APIError(SMLP_ERR_SHAPE_MISMATCH,
            "n_inputs is \(inputs) but the model's n_inputs is \(network.inputCount)")
    }
    guard outputs == network.outputCount else {
        throw APIError(SMLP_ERR_SHAPE_MISMATCH,
            "n_outputs is \(outputs) but the model's n_outputs is \(network.outputCount)")
    }
}

// MARK: Training

/// A checked view of an smlp_dataset for one network.
struct Batch<Scalar: MLPScalar> {
    let inputs: UnsafeBufferPointer<Scalar>
    let targets: Targets<Scalar>
    let targetCount: Int
    let rows: Int
}

func batch<Scalar: MLPScalar>(
    _ data: smlp_dataset, for network: Network<Scalar>, _ name: StaticString
) throws(APIError) -> Batch<Scalar> {
    try requireWidths(network, inputs: data.n_inputs, outputs: data.n_outputs, rows: data.n_rows)
    guard let x = data.x else { throw APIError(SMLP_ERR_NULL_ARGUMENT, "\(name).x is NULL") }
    let inputs = UnsafeBufferPointer(
        start: x.assumingMemoryBound(to: Scalar.self),
        count: try elementCount(data.n_rows, data.n_inputs, "x"))
    switch (data.y, data.labels) {
    case (let y?, nil):
        return Batch(
            inputs: inputs, targets: .dense(y.assumingMemoryBound(to: Scalar.self)),
            targetCount: try elementCount(data.n_rows, data.n_outputs, "y"), rows: data.n_rows)
    case (nil, let labels?):
        return Batch(inputs: inputs, targets: .labels(labels), targetCount: data.n_rows, rows: data.n_rows)
    case (nil, nil):
        throw APIError(SMLP_ERR_INVALID_ARGUMENT, "\(name) has neither y nor labels; give one")
    default:
        throw APIError(SMLP_ERR_INVALID_ARGUMENT, "\(name) has both y and labels; give one")
    }
}

@_cdecl("smlp_gradients")
public func smlp_gradients(
    _ model: OpaquePointer?, _ data: UnsafePointer<smlp_dataset>?, _ outLoss: UnsafeMutablePointer<Double>?,
    _ grad: UnsafeMutableRawPointer?, _ count: Int
) -> smlp_status {
    runReportingErrors("smlp_gradients") { () throws(APIError) in
        try writing(model, "smlp_gradients") { (box) throws(APIError) in
            let dataset = try require(data, "batch").pointee
            try requireDType(dataset.dtype, matches: box, "batch")
            if grad == nil, count != 0 {
                throw APIError(SMLP_ERR_NULL_ARGUMENT, "grad is NULL but count is \(count)")
            }
            let loss: Double
            switch box.storage {
            case .float32(let network): loss = try gradients(network, dataset, grad, count)
            case .float64(let network): loss = try gradients(network, dataset, grad, count)
            }
            outLoss?.pointee = loss
        }
    }
}

func gradients<Scalar: MLPScalar>(
    _ network: Network<Scalar>, _ data: smlp_dataset, _ grad: UnsafeMutableRawPointer?, _ count: Int
) throws(APIError) -> Double {
    if grad != nil { try requireCount(count, equals: network.parameterCount, "count") }
    let b = try batch(data, for: network, "batch")
    let loss = try engine { () throws(MLPError) in
        try network.gradients(inputs: b.inputs, targets: b.targets, targetCount: b.targetCount, rows: b.rows)
    }
    if let grad, let source = network.gradientView.baseAddress {
        grad.assumingMemoryBound(to: Scalar.self).update(from: source, count: count)
    }
    return loss
}

@_cdecl("smlp_step")
public func smlp_step(
    _ model: OpaquePointer?, _ data: UnsafePointer<smlp_dataset>?, _ outLoss: UnsafeMutablePointer<Double>?
) -> smlp_status {
    runReportingErrors("smlp_step") { () throws(APIError) in
        try writing(model, "smlp_step") { (box) throws(APIError) in
            let dataset = try require(data, "batch").pointee
            try requireDType(dataset.dtype, matches: box, "batch")
            let loss: Double
            switch box.storage {
            case .float32(let network): loss = try step(network, dataset)
            case .float64(let network): loss = try step(network, dataset)
            }
            outLoss?.pointee = loss
        }
    }
}

func step<Scalar: MLPScalar>(_ network: Network<Scalar>, _ data: smlp_dataset) throws(APIError) -> Double {
    let b = try batch(data, for: network, "batch")
    return try engine { () throws(MLPError) in
        try network.step(inputs: b.inputs, targets: b.targets, targetCount: b.targetCount, rows: b.rows)
    }
}

// MARK: Optimizers

@_cdecl("smlp_optimizer_config_init")
public func smlp_optimizer_config_init(
    _ config: UnsafeMutablePointer<smlp_optimizer_config>?, _ kind: smlp_optimizer
) {
    guard let config else { return }
    let engineKind = (try? optimizerKind(from: kind)) ?? .sgd
    let defaults = OptimizerConfiguration(kind: engineKind)
    config.pointee = smlp_optimizer_config(
        struct_size: MemoryLayout<smlp_optimizer_config>.size, kind: kind,
        learning_rate: defaults.learningRate, momentum: defaults.momentum,
        nesterov: defaults.nesterov ? 1 : 0, beta1: defaults.beta1, beta2: defaults.beta2,
        epsilon: defaults.epsilon, alpha: defaults.alpha, weight_decay: defaults.weightDecay,
        decay_biases: defaults.decayBiases ? 1 : 0, clip_norm: defaults.clipNorm,
        schedule: SMLP_SCHEDULE_CONSTANT, step_size: 10, gamma: 0.1, t_max: 100, min_lr: 0,
        rprop_variant: cValue(defaults.rpropVariant), rprop_increase: defaults.increaseFactor,
        rprop_decrease: defaults.decreaseFactor, rprop_delta0: defaults.initialStep,
        rprop_delta_min: defaults.minimumStep, rprop_delta_max: defaults.maximumStep)
}

/// sizeof(smlp_optimizer_config) in 0.1.0, before the RPROP fields were appended.
let legacyOptimizerConfigSize = MemoryLayout<smlp_optimizer_config>.offset(of: \.rprop_variant)!

@_cdecl("smlp_set_optimizer")
public func smlp_set_optimizer(
    _ model: OpaquePointer?, _ config: UnsafePointer<smlp_optimizer_config>?
) -> smlp_status {
    runReportingErrors("smlp_set_optimizer") { () throws(APIError) in
        try writing(model, "smlp_set_optimizer") { (box) throws(APIError) in
            let given = try require(config, "config")
            // struct_size comes first: read it alone, then only as many bytes as the
            // caller's struct has; a 0.1.0-sized config keeps the newer fields' defaults.
            let size = UnsafeRawPointer(given).load(as: Int.self)
            let fullSize = MemoryLayout<smlp_optimizer_config>.size
            guard size == fullSize || size == legacyOptimizerConfigSize else {
                throw APIError(SMLP_ERR_INVALID_ARGUMENT,
                    "config.struct_size is \(size), expected \(fullSize) (or \(legacyOptimizerConfigSize), the size before the RPROP fields); call smlp_optimizer_config_init first")
            }
            var c = smlp_optimizer_config()
            smlp_optimizer_config_init(&c, SMLP_SGD)
            withUnsafeMutableBytes(of: &c) { bytes in
                bytes.baseAddress!.copyMemory(from: UnsafeRawPointer(given), byteCount: size)
            }
            var configuration = OptimizerConfiguration(kind: try optimizerKind(from: c.kind))
            configuration.learningRate = c.learning_rate
            configuration.momentum = c.momentum
            configuration.nesterov = c.nesterov != 0
            configuration.beta1 = c.beta1
            configuration.beta2 = c.beta2
            configuration.epsilon = c.epsilon
            configuration.alpha = c.alpha
            configuration.weightDecay = c.weight_decay
            configuration.decayBiases = c.decay_biases != 0
            configuration.clipNorm = c.clip_norm
            configuration.schedule = try schedule(from: c)
            configuration.rpropVariant = try rpropVariant(from: c.rprop_variant)
            configuration.increaseFactor = c.rprop_increase
            configuration.decreaseFactor = c.rprop_decrease
            configuration.initialStep = c.rprop_delta0
            configuration.minimumStep = c.rprop_delta_min
            configuration.maximumStep = c.rprop_delta_max
            switch box.storage {
            case .float32(let network):
                try engine { () throws(MLPError) in try network.setOptimizer(configuration) }
            case .float64(let network):
                try engine { () throws(MLPError) in try network.setOptimizer(configuration) }
            }
        }
    }
}
