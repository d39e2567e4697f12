// The C functions for version, errors, create and free, queries, parameters,
// inference, gradients and steps, and optimizers, in header order (the rest are in
// the other *Exports.swift files). Each one checks its arguments, takes the handle
// (and its busy flag), and makes one call on the typed network (TypedNetwork.swift);
// none does any math. A failure returns a status and leaves a message for
// smlp_last_error().

import CSwiftMLP
import SwiftMLP

// MARK: Version

// Spelled once from the header's number macros (Swift does not import the stringized
// SMLP_VERSION_STRING); a NUL-terminated copy that lives as long as the process.
let versionString: UnsafePointer<CChar> = {
    let text = "\(SMLP_VERSION_MAJOR).\(SMLP_VERSION_MINOR).\(SMLP_VERSION_PATCH)"
    let bytes = Array(text.utf8CString)
    let copy = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
    copy.initialize(from: bytes, count: bytes.count)
    return UnsafePointer(copy)
}()

@_cdecl("smlp_version")
public func smlp_version() -> UInt32 {
    UInt32(SMLP_VERSION_MAJOR * 10000 + SMLP_VERSION_MINOR * 100 + SMLP_VERSION_PATCH)
}

@_cdecl("smlp_version_string")
public func smlp_version_string() -> UnsafePointer<CChar> {
    versionString
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
    case SMLP_ERR_BAD_FORMAT: text = "bad file format"  // a model file or a data file
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
        guard cSize(c.struct_size) == UInt(MemoryLayout<smlp_config>.size) else {
            throw APIError(SMLP_ERR_INVALID_ARGUMENT,
                "config.struct_size is \(cSize(c.struct_size)), expected \(MemoryLayout<smlp_config>.size); call smlp_config_init first")
        }
        let layerCount = cSize(c.n_layer_sizes)
        guard layerCount >= 2 else {
            throw APIError(SMLP_ERR_INVALID_ARGUMENT,
                "config.n_layer_sizes is \(layerCount); a network needs at least 2 (input and output)")
        }
        // More layers than this is certainly a caller bug (and bounds what we copy).
        guard layerCount <= 1 << 20 else {
            throw APIError(SMLP_ERR_INVALID_ARGUMENT, "config.n_layer_sizes is \(layerCount), more than 2^20 (1048576)")
        }
        let sizes = try require(c.layer_sizes, "config.layer_sizes")
        let codes = try require(c.activations, "config.activations")
        var layerSizes: [Int] = []
        var activations: [Activation] = []
        for index in 0..<Int(layerCount) {
            let width = cSize(sizes[index])
            // The engine checks the range too; here, so that the message prints what was passed.
            guard width >= 1, width <= UInt(Int32.max) else {
                throw APIError(SMLP_ERR_INVALID_ARGUMENT,
                    "config.layer_sizes[\(index)] is \(width); each width must be in 1...\(Int32.max)")
            }
            layerSizes.append(Int(width))
        }
        for index in 0..<(Int(layerCount) - 1) {
            activations.append(try SwiftMLPCABI.activation(from: codes[index], index: index))
        }
        let configuration = NetworkConfiguration(
            layerSizes: layerSizes, activations: activations,
            loss: try SwiftMLPCABI.loss(from: c.loss), reduction: try SwiftMLPCABI.reduction(from: c.reduction),
            initialization: try SwiftMLPCABI.initialization(from: c.`init`), seed: c.seed,
            leakyReLUSlope: c.leaky_relu_slope)
        let storage: AnyNetwork
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
        count = try handle(model).network.parameterCount
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
            let network = box.network
            let configuration = network.configuration
            out.pointee = smlp_model_info(
                dtype: box.dtype, n_layers: configuration.layerSizes.count - 1,
                n_inputs: configuration.inputCount, n_outputs: configuration.outputCount,
                param_count: network.parameterCount, loss: cValue(configuration.loss),
                reduction: cValue(configuration.reduction),
                leaky_relu_slope: configuration.leakyReLUSlope, epoch: network.epoch,
                has_scaler: network.scaler != nil ? 1 : 0)
        }
    }
}

@_cdecl("smlp_layer_info_get")
public func smlp_layer_info_get(
    _ model: OpaquePointer?, _ layer: UInt, _ outInfo: UnsafeMutablePointer<smlp_layer_info>?
) -> smlp_status {
    runReportingErrors("smlp_layer_info_get") { () throws(APIError) in
        let box = try handle(model)
        let out = try require(outInfo, "out_info")
        let layout = box.network.layout
        let activations = box.network.configuration.activations
        let layer = try index(layer, below: layout.layers.count,
            "layer is \(layer), but the model has \(layout.layers.count) layers (0-based)")
        let shape = layout.layers[layer]
        out.pointee = smlp_layer_info(
            n_inputs: shape.fanIn, n_outputs: shape.fanOut, activation: cValue(activations[layer]),
            weight_offset: shape.weightOffset, bias_offset: shape.biasOffset)
    }
}

// MARK: Parameters

@_cdecl("smlp_get_params")
public func smlp_get_params(
    _ model: OpaquePointer?, _ dtype: smlp_dtype, _ out: UnsafeMutableRawPointer?, _ count: UInt
) -> smlp_status {
    runReportingErrors("smlp_get_params") { () throws(APIError) in
        try reading(model) { (box) throws(APIError) in
            let destination = try require(out, "out")
            try requireDType(dtype, matches: box, "out")
            try box.network.copyParameters(to: destination, count: count)
        }
    }
}

@inline(__always)
func requireCount(_ count: UInt, equals expected: Int, _ name: StaticString) throws(APIError) {
    try requireSize(count, equals: expected, "\(name) is \(count), but the model has \(expected) parameters")
}

@_cdecl("smlp_set_params")
public func smlp_set_params(
    _ model: OpaquePointer?, _ dtype: smlp_dtype, _ params: UnsafeRawPointer?, _ count: UInt
) -> smlp_status {
    runReportingErrors("smlp_set_params") { () throws(APIError) in
        try writing(model) { (box) throws(APIError) in
            let source = try require(params, "params")
            try requireDType(dtype, matches: box, "params")
            try box.network.setParameters(from: source, count: count)
        }
    }
}

// MARK: Inference

@_cdecl("smlp_predict")
public func smlp_predict(
    _ model: OpaquePointer?, _ dtype: smlp_dtype, _ x: UnsafeRawPointer?, _ nRows: UInt,
    _ nInputs: UInt, _ out: UnsafeMutableRawPointer?, _ nOutputs: UInt
) -> smlp_status {
    runReportingErrorsInCallersEnvironment("smlp_predict") { () throws(APIError) in
        try reading(model) { (box) throws(APIError) in
            let input = try require(x, "x")
            let output = try require(out, "out")
            try requireDType(dtype, matches: box, "x")
            try box.network.predict(input, rows: nRows, inputs: nInputs, into: output, outputs: nOutputs)
        }
    }
}

@inline(__always)
func requireWidths<Scalar: MLPScalar>(
    _ network: Network<Scalar>, inputs: UInt, outputs: UInt, rows: UInt
) throws(APIError) {
    guard rows >= 1 else {
        throw APIError(SMLP_ERR_SHAPE_MISMATCH, "n_rows is \(rows); it must be at least 1")
    }
    try requireSize(inputs, equals: network.inputCount,
        "n_inputs is \(inputs) but the model's n_inputs is \(network.inputCount)")
    try requireSize(outputs, equals: network.outputCount,
        "n_outputs is \(outputs) but the model's n_outputs is \(network.outputCount)")
    // Rows times the widest layer must fit (the rows themselves fit once both products do).
    _ = try elementCount(rows, UInt(max(network.inputCount, network.outputCount)), "n_rows")
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
    let rowCount = cSize(data.n_rows), inputCount = cSize(data.n_inputs), outputCount = cSize(data.n_outputs)
    try requireWidths(network, inputs: inputCount, outputs: outputCount, rows: rowCount)
    guard let x = data.x else { throw APIError(SMLP_ERR_NULL_ARGUMENT, "\(name).x is NULL") }
    let inputs = UnsafeBufferPointer(
        start: x.assumingMemoryBound(to: Scalar.self),
        count: try elementCount(rowCount, inputCount, "x"))
    let rows = Int(rowCount)  // requireWidths checked rows x widths fits Int
    switch (data.y, data.labels) {
    case (let y?, nil):
        return Batch(
            inputs: inputs, targets: .dense(y.assumingMemoryBound(to: Scalar.self)),
            targetCount: try elementCount(rowCount, outputCount, "y"), rows: rows)
    case (nil, let labels?):
        return Batch(inputs: inputs, targets: .labels(labels), targetCount: rows, rows: rows)
    case (nil, nil):
        throw APIError(SMLP_ERR_INVALID_ARGUMENT, "\(name) has neither y nor labels; give one")
    default:
        throw APIError(SMLP_ERR_INVALID_ARGUMENT, "\(name) has both y and labels; give one")
    }
}

@_cdecl("smlp_gradients")
public func smlp_gradients(
    _ model: OpaquePointer?, _ data: UnsafePointer<smlp_dataset>?, _ outLoss: UnsafeMutablePointer<Double>?,
    _ grad: UnsafeMutableRawPointer?, _ count: UInt
) -> smlp_status {
    runReportingErrorsInCallersEnvironment("smlp_gradients") { () throws(APIError) in
        try writing(model) { (box) throws(APIError) in
            let dataset = try require(data, "batch").pointee
            try requireDType(dataset.dtype, matches: box, "batch")
            if grad == nil, count != 0 {
                throw APIError(SMLP_ERR_NULL_ARGUMENT, "grad is NULL but count is \(count)")
            }
            let loss = try box.network.gradients(dataset, into: grad, count: count)
            outLoss?.pointee = loss
        }
    }
}

@_cdecl("smlp_step")
public func smlp_step(
    _ model: OpaquePointer?, _ data: UnsafePointer<smlp_dataset>?, _ outLoss: UnsafeMutablePointer<Double>?
) -> smlp_status {
    runReportingErrorsInCallersEnvironment("smlp_step") { () throws(APIError) in
        try writing(model) { (box) throws(APIError) in
            let dataset = try require(data, "batch").pointee
            try requireDType(dataset.dtype, matches: box, "batch")
            let loss = try box.network.step(dataset)
            outLoss?.pointee = loss
        }
    }
}

// MARK: Optimizers

@_cdecl("smlp_optimizer_config_init_sized")
public func smlp_optimizer_config_init_sized(
    _ config: UnsafeMutablePointer<smlp_optimizer_config>?, _ kind: smlp_optimizer, _ size: UInt
) {
    guard let config else { return }
    writeGrowingStruct(defaultOptimizerConfig(kind), to: config, size: size)
}

/// What a program built against 0.1.0's header calls: its struct ends before the
/// RPROP fields.
@_cdecl("smlp_optimizer_config_init")
public func smlp_optimizer_config_init(
    _ config: UnsafeMutablePointer<smlp_optimizer_config>?, _ kind: smlp_optimizer
) {
    smlp_optimizer_config_init_sized(config, kind, UInt(legacyOptimizerConfigSize))
}

/// PyTorch's defaults for `kind` (SGD's with `kind` kept for an unknown one).
func defaultOptimizerConfig(_ kind: smlp_optimizer) -> smlp_optimizer_config {
    let engineKind = (try? optimizerKind(from: kind)) ?? .sgd
    let defaults = OptimizerConfiguration(kind: engineKind)
    return smlp_optimizer_config(
        struct_size: MemoryLayout<smlp_optimizer_config>.size, kind: kind,
        learning_rate: defaults.learningRate, momentum: defaults.momentum,
        nesterov: defaults.nesterov ? 1 : 0, beta1: defaults.beta1, beta2: defaults.beta2,
        epsilon: defaults.epsilon, alpha: defaults.alpha, weight_decay: defaults.weightDecay,
        decay_biases: defaults.decayBiases ? 1 : 0, clip_norm: defaults.clipNorm,
        schedule: cValue(defaults.schedule.kind), step_size: 10, gamma: 0.1, t_max: 100, min_lr: 0,
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
        try writing(model) { (box) throws(APIError) in
            let given = try require(config, "config")
            // struct_size comes first: read it alone, then only as many bytes as the
            // caller's struct has; a 0.1.0-sized config keeps the newer fields' defaults.
            let size = UnsafeRawPointer(given).load(as: UInt.self)
            let fullSize = MemoryLayout<smlp_optimizer_config>.size
            guard size == UInt(fullSize) || size == UInt(legacyOptimizerConfigSize) else {
                throw APIError(SMLP_ERR_INVALID_ARGUMENT,
                    "config.struct_size is \(size), expected \(fullSize) (or \(legacyOptimizerConfigSize), the size before the RPROP fields); call smlp_optimizer_config_init first")
            }
            var c = defaultOptimizerConfig(SMLP_SGD)
            withUnsafeMutableBytes(of: &c) { bytes in
                bytes.baseAddress!.copyMemory(from: UnsafeRawPointer(given), byteCount: Int(size))
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
            try engine { () throws(MLPError) in try box.network.setOptimizer(configuration) }
        }
    }
}
