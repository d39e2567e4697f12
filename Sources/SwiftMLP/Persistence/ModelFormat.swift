// The model file format, version 1.1 (docs/format.md has the byte-by-byte table).
//
//   header   24 bytes: magic "SMLPMODL", u16 major, u16 minor, u32 flags (0),
//            u64 payload length
//   payload  model, optimizer, training state, scaler, parameters, optimizer state,
//            metadata, then (1.1) RPROP settings and state, in that order,
//            little-endian
//   trailer  u32 CRC-32 of header + payload
//
// Enum codes in the file are the C header's values. Readers accept every major
// version up to their own, reject newer ones, and ignore payload bytes after the
// fields they know only when the file's minor version is newer than theirs.

/// The format version this library writes.
public let modelFormatMajorVersion: UInt16 = 1
public let modelFormatMinorVersion: UInt16 = 1
let modelFormatMagic: [UInt8] = Array("SMLPMODL".utf8)
let modelHeaderSize = 24
let modelTrailerSize = 4

/// A network whose dtype is known only after reading a file.
public enum AnyNetwork {
    case float32(Network<Float>)
    case float64(Network<Double>)
}

// MARK: Enum codes: each enum's raw value, which is the C header's code

/// Bytes of the 1.1 RPROP section: variant, five settings, previous loss.
let rpropSectionSize = 1 + 6 * 8

func decode<T: RawRepresentable>(_ code: UInt8, _ what: String) throws(MLPError) -> T where T.RawValue == UInt8 {
    guard let value = T(rawValue: code) else {
        throw MLPError(.badFormat, "\(what) code \(code) is not defined")
    }
    return value
}

// MARK: Limits a file must respect (checked before anything is allocated)

let maximumLayerSizeCount = 1 << 20
let maximumMetadataEntries = 1024
let maximumMetadataKeyBytes = 255
let maximumMetadataValueBytes = 65535

// MARK: Writing

extension Network {
    /// Throws `nonFinite` when a parameter or optimizer state is not finite (only
    /// an overflowed `step` leaves a model so): such a file could not be loaded, so it
    /// is never written.
    func checkSavable() throws(MLPError) {
        for index in 0..<parameterCount where !parameters.pointer[index].isFinite {
            throw MLPError(.nonFinite,
                "parameter \(index) is \(parameters.pointer[index]) (an overflowed update); a model with non-finite parameters is not saved")
        }
        do {
            try checkOptimizerState(optimizer)
        } catch {
            throw MLPError(.nonFinite, "\(error.message); the model is not saved")
        }
    }

    /// The size of the model in the file format, in bytes.
    /// - Throws: `nonFinite` (see `checkSavable`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func serializedSize() throws(MLPError) -> Int {
        try checkSavable()
        var counter = ByteWriter(into: nil)
        encode(into: &counter, payloadLength: 0)
        return counter.count + modelTrailerSize
    }

    /// Writes the model in the file format into `buffer`, which must hold at least
    /// `serializedSize()` bytes; returns the number of bytes written. Allocates nothing.
    /// - Throws: `nonFinite` (see `checkSavable`), `shapeMismatch` when the buffer is
    ///   too small.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func serialize(into buffer: UnsafeMutableRawBufferPointer) throws(MLPError) -> Int {
        let size = try serializedSize()
        guard buffer.count >= size, let base = buffer.baseAddress else {
            throw MLPError(.shapeMismatch, "the buffer holds \(buffer.count) bytes, but the model needs \(size)")
        }
        var writer = ByteWriter(into: base)
        encode(into: &writer, payloadLength: size - modelHeaderSize - modelTrailerSize)
        writer.finishWithChecksum()
        return writer.count
    }

    /// Writes the model in the file format through `chunk`, handing each filled piece
    /// to `sink` (smlp_save's streaming writer: memory is one chunk, not the file).
    /// - Throws: `nonFinite` (see `checkSavable`), or what `sink` throws.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func serialize(
        through chunk: UnsafeMutableRawBufferPointer, to sink: @escaping ByteWriter.Sink
    ) throws(MLPError) {
        let size = try serializedSize()
        var writer = ByteWriter(chunk: chunk, sink: sink)
        encode(into: &writer, payloadLength: size - modelHeaderSize - modelTrailerSize)
        writer.finishWithChecksum()
        if let failure = writer.failure { throw failure }
    }

    /// The model in the file format as a new array (a convenience for Swift callers;
    /// the C ABI uses `serialize(into:)`, which never traps on a failed allocation).
    public func serialized() throws(MLPError) -> [UInt8] {
        let size = try serializedSize()
        var bytes = [UInt8](repeating: 0, count: size)
        var failure: MLPError? = nil
        bytes.withUnsafeMutableBytes { raw in
            do throws(MLPError) { _ = try serialize(into: raw) } catch { failure = error }
        }
        if let failure { throw failure }
        return bytes
    }

    /// Header and payload (everything but the CRC trailer), the same bytes whether the
    /// writer counts or writes.
    /// `payloadLength` is what the header states (the counting pass passes 0).
    private func encode(into w: inout ByteWriter, payloadLength: Int) {
        w.raw(modelFormatMagic)
        w.u16(modelFormatMajorVersion)
        w.u16(modelFormatMinorVersion)
        w.u32(0)
        w.u64(UInt64(payloadLength))

        // model
        w.u8(Scalar.dtype.rawValue)
        w.u8(configuration.loss.rawValue)
        w.u8(configuration.reduction.rawValue)
        w.u8(configuration.initialization.rawValue)
        w.u64(configuration.seed)
        w.f64(configuration.leakyReLUSlope)
        w.u32(UInt32(configuration.layerSizes.count))
        for size in configuration.layerSizes { w.u64(size) }
        for activation in configuration.activations { w.u8(activation.rawValue) }

        // optimizer
        let o = optimizer.configuration
        w.u8(o.kind.rawValue)
        w.u8(o.nesterov ? 1 : 0)
        w.u8(o.decayBiases ? 1 : 0)
        var stepSize = 10, gamma = 0.1, period = 100, minimum = 0.0
        switch o.schedule {
        case .constant: break
        case .step(let s, let g): stepSize = s; gamma = g
        case .exponential(let g): gamma = g
        case .cosine(let p, let m): period = p; minimum = m
        case .inverseScaling(let power): gamma = power
        }
        w.u8(o.schedule.kind.rawValue)
        for value in [o.learningRate, o.momentum, o.beta1, o.beta2, o.epsilon, o.alpha,
                      o.weightDecay, o.clipNorm, gamma, minimum] {
            w.f64(value)
        }
        w.u64(stepSize)
        w.u64(period)
        w.u64(optimizer.stepCount)

        // training state
        w.u64(epoch)
        let state = generator.state
        for word in [state.0, state.1, state.2, state.3] { w.u64(word) }

        // scaler
        if let scaler {
            w.u8(1)
            for value in scaler.mean { w.f64(value) }
            for value in scaler.standardDeviation { w.f64(value) }
        } else {
            w.u8(0)
        }

        // parameters, optimizer state
        w.u64(parameterCount)
        writeScalars(parameters, into: &w)
        let buffers = optimizer.configuration.stateBufferCount
        w.u8(UInt8(buffers))
        if buffers >= 1 { writeScalars(optimizer.first, into: &w) }
        if buffers >= 2 { writeScalars(optimizer.second, into: &w) }
        if buffers >= 3 { writeScalars(optimizer.third, into: &w) }

        // metadata
        w.u32(UInt32(metadata.count))
        for entry in metadata {
            w.u16(UInt16(entry.key.utf8.count))
            w.raw(entry.key.utf8)
            w.u32(UInt32(entry.value.utf8.count))
            w.raw(entry.value.utf8)
        }

        // RPROP settings and state (1.1), written whatever the kind
        w.u8(o.rpropVariant.rawValue)
        for value in [o.increaseFactor, o.decreaseFactor, o.initialStep, o.minimumStep, o.maximumStep,
                      optimizer.previousLoss] {
            w.f64(value)
        }
    }

    private func writeScalars(_ buffer: borrowing ScalarBuffer<Scalar>, into w: inout ByteWriter) {
        guard buffer.count > 0 else { return }
        let p = buffer.pointer
        switch Scalar.dtype {
        case .float32: for index in 0..<buffer.count { w.f32(Float(p[index])) }
        case .float64: for index in 0..<buffer.count { w.f64(Double(p[index])) }
        }
    }
}

// MARK: Reading

/// Reads a model from the file format.
/// - Throws: `badFormat` (magic, truncation, checksum, inconsistent contents),
///   `unsupportedVersion` (a newer major version), `outOfMemory`.
public func deserializeNetwork(_ bytes: UnsafeRawBufferPointer) throws(MLPError) -> AnyNetwork {
    guard bytes.count >= modelHeaderSize + modelTrailerSize else {
        throw MLPError(.badFormat, "the data is \(bytes.count) bytes, shorter than the smallest model file (\(modelHeaderSize + modelTrailerSize))")
    }
    var header = ByteReader(bytes)
    let magic = try header.bytes(8, "magic")
    guard magic.elementsEqual(modelFormatMagic) else {
        throw MLPError(.badFormat, "not a swiftmlp model: the magic bytes are not \"SMLPMODL\"")
    }
    let major = try header.u16("major version")
    let minor = try header.u16("minor version")
    guard major >= 1 else {
        throw MLPError(.unsupportedVersion,
            "format version \(major).\(minor) does not exist (versions start at 1.0)")
    }
    guard major <= modelFormatMajorVersion else {
        throw MLPError(.unsupportedVersion,
            "format version \(major).\(minor) is newer than this library reads (up to \(modelFormatMajorVersion).x); upgrade libswiftmlp")
    }
    _ = try header.u32("flags")
    let payloadLength = try header.u64("payload length")
    let expectedTotal = UInt64(modelHeaderSize + modelTrailerSize)
    guard payloadLength <= UInt64(bytes.count), payloadLength + expectedTotal == UInt64(bytes.count) else {
        throw MLPError(.badFormat,
            "the header promises \(payloadLength) payload bytes, but the data holds \(bytes.count - modelHeaderSize - modelTrailerSize); the file is truncated or has trailing bytes")
    }
    let checked = UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - modelTrailerSize)])
    var trailer = ByteReader(bytes, offset: bytes.count - modelTrailerSize)
    let storedCRC = try trailer.u32("checksum")
    let actualCRC = CRC32.checksum(checked)
    guard storedCRC == actualCRC else {
        throw MLPError(.badFormat,
            "checksum mismatch (stored \(hex(storedCRC)), computed \(hex(actualCRC))): the file is corrupted")
    }
    var r = ByteReader(checked, offset: modelHeaderSize)
    let dtype: DType = try decode(try r.u8("dtype"), "dtype")
    let network: AnyNetwork
    do throws(MLPError) {
        switch dtype {
        case .float32: network = .float32(try readNetwork(Float.self, &r, minor: minor))
        case .float64: network = .float64(try readNetwork(Double.self, &r, minor: minor))
        }
    } catch {
        // Whatever the model's own checks reject in a file is a format error of the
        // file; only memory keeps its own status.
        switch error.kind {
        case .badFormat, .unsupportedVersion, .outOfMemory: throw error
        default: throw MLPError(.badFormat, "the stored model is invalid: \(error.message)")
        }
    }
    if r.remaining > 0 && minor <= modelFormatMinorVersion {
        throw MLPError(.badFormat, "\(r.remaining) unexpected bytes after the metadata")
    }
    return network
}

func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - digits.utf8.count)) + digits
}

private func readNetwork<Scalar: MLPScalar>(
    _ type: Scalar.Type, _ r: inout ByteReader, minor: UInt16
) throws(MLPError) -> Network<Scalar> {
    // model
    let loss: Loss = try decode(try r.u8("loss"), "loss")
    let reduction: Reduction = try decode(try r.u8("reduction"), "reduction")
    let initialization: Initialization = try decode(try r.u8("init"), "init")
    let seed = try r.u64("seed")
    let slope = try r.f64("leaky_relu_slope")
    let sizeCount = Int(try r.u32("layer size count"))
    guard sizeCount >= 2, sizeCount <= maximumLayerSizeCount else {
        throw MLPError(.badFormat, "layer size count \(sizeCount) is outside 2...\(maximumLayerSizeCount)")
    }
    try r.require(sizeCount * 8 + sizeCount - 1, "layer sizes and activations")
    var sizes: [Int] = []
    for index in 0..<sizeCount {
        sizes.append(try r.count("layer size \(index)", limit: Int(Int32.max)))
    }
    var activations: [Activation] = []
    for index in 0..<(sizeCount - 1) {
        activations.append(try decode(try r.u8("activation"), "activation \(index)"))
    }
    let configuration = NetworkConfiguration(
        layerSizes: sizes, activations: activations, loss: loss, reduction: reduction,
        initialization: initialization, seed: seed, leakyReLUSlope: slope)
    let layout: ParameterLayout
    do {
        layout = try configuration.validatedLayout()
    } catch {
        throw MLPError(.badFormat, "the stored configuration is invalid: \(error.message)")
    }
    // Before allocating anything, the parameters must fit in what the file holds.
    let elementBytes = Scalar.dtype == .float32 ? 4 : 8
    let (parameterBytes, overflow) = layout.parameterCount.multipliedReportingOverflow(by: elementBytes)
    guard !overflow, parameterBytes <= r.remaining else {
        throw MLPError(.badFormat,
            "the layer sizes need \(layout.parameterCount) parameters, more than the file holds")
    }

    // optimizer
    var o = OptimizerConfiguration(kind: try decode(try r.u8("optimizer"), "optimizer"))
    o.nesterov = try r.u8("nesterov") != 0
    o.decayBiases = try r.u8("decay_biases") != 0
    let scheduleKind: ScheduleKind = try decode(try r.u8("schedule"), "schedule")
    o.learningRate = try r.f64("learning_rate")
    o.momentum = try r.f64("momentum")
    o.beta1 = try r.f64("beta1")
    o.beta2 = try r.f64("beta2")
    o.epsilon = try r.f64("epsilon")
    o.alpha = try r.f64("alpha")
    o.weightDecay = try r.f64("weight_decay")
    o.clipNorm = try r.f64("clip_norm")
    let gamma = try r.f64("gamma")
    let minimum = try r.f64("min_lr")
    let stepSize = try r.count("step_size", limit: Int(Int32.max))
    let period = try r.count("t_max", limit: Int(Int32.max))
    switch scheduleKind {
    case .constant: o.schedule = .constant
    case .step: o.schedule = .step(stepSize: stepSize, gamma: gamma)
    case .exponential: o.schedule = .exponential(gamma: gamma)
    case .cosine: o.schedule = .cosine(period: period, minimum: minimum)
    case .inverseScaling: o.schedule = .inverseScaling(power: gamma)
    }
    let stepCount = try r.count("optimizer step count", limit: Int.max)

    // training state
    let epoch = try r.count("epoch", limit: Int.max)
    let words = (try r.u64("generator"), try r.u64("generator"), try r.u64("generator"), try r.u64("generator"))
    guard let generator = Xoshiro256StarStar(state: words) else {
        throw MLPError(.badFormat, "the generator state is all zero, which xoshiro256** cannot have")
    }

    // scaler
    var scaler: InputScaler? = nil
    let hasScaler = try r.u8("scaler flag")
    if hasScaler == 1 {
        let n = sizes[0]
        try r.require(16 * n, "scaler")
        var mean: [Double] = [], deviation: [Double] = []
        for _ in 0..<n { mean.append(try r.f64("scaler mean")) }
        for _ in 0..<n { deviation.append(try r.f64("scaler std")) }
        do {
            scaler = try InputScaler(mean: mean, standardDeviation: deviation)
        } catch {
            throw MLPError(.badFormat, "the stored scaler is invalid: \(error.message)")
        }
    } else if hasScaler != 0 {
        throw MLPError(.badFormat, "scaler flag is \(hasScaler), not 0 or 1")
    }

    // parameters
    let storedCount = try r.u64("parameter count")
    guard storedCount == UInt64(layout.parameterCount) else {
        throw MLPError(.badFormat,
            "the file stores \(storedCount) parameters, but its layer sizes need \(layout.parameterCount)")
    }
    // Engine errors about the stored values are format errors of this file (a value
    // can be valid in Double and not in Float); only memory stays outOfMemory.
    func asFormatError(_ error: MLPError) -> MLPError {
        error.kind == .outOfMemory ? error : MLPError(.badFormat, "the stored model is invalid: \(error.message)")
    }
    let network: Network<Scalar>
    do {
        network = try Network<Scalar>(configuration)
    } catch {
        throw asFormatError(error)
    }
    try readScalars(into: network.parameters, &r, "parameters")
    for index in 0..<network.parameterCount where !network.parameters.pointer[index].isFinite {
        throw MLPError(.badFormat, "parameter \(index) is not finite")
    }
    // The optimizer state buffers are read after the 1.1 RPROP section, which
    // decides how many an RPROP optimizer has: here they are only skipped.
    let buffers = Int(try r.u8("optimizer buffer count"))
    guard buffers <= 3 else {
        throw MLPError(.badFormat, "the file has \(buffers) optimizer state buffers; no optimizer has more than 3")
    }
    var stateReader = r
    _ = try r.bytes(buffers * parameterBytes, "optimizer state")
    network.epoch = epoch
    network.generator = generator
    do {
        try network.setScaler(scaler)
    } catch {
        throw asFormatError(error)
    }

    // metadata
    let entries = Int(try r.u32("metadata count"))
    guard entries <= maximumMetadataEntries else {
        throw MLPError(.badFormat, "metadata count \(entries) is more than \(maximumMetadataEntries)")
    }
    for _ in 0..<entries {
        let keyLength = Int(try r.u16("metadata key length"))
        let key = try r.bytes(keyLength, "metadata key")
        let valueLength = Int(try r.u32("metadata value length"))
        guard valueLength <= maximumMetadataValueBytes else {
            throw MLPError(.badFormat, "a metadata value of \(valueLength) bytes exceeds \(maximumMetadataValueBytes)")
        }
        let value = try r.bytes(valueLength, "metadata value")
        guard let keyText = validUTF8(key), let valueText = validUTF8(value) else {
            throw MLPError(.badFormat, "a metadata entry is not valid UTF-8")
        }
        do {
            try network.setMetadata(key: keyText, value: valueText)
        } catch {
            throw MLPError(.badFormat, "stored metadata is invalid: \(error.message)")
        }
    }

    // RPROP settings and state (1.1); a 1.0 file has none and cannot hold RPROP.
    var previousLoss = Double.infinity
    if minor >= 1 {
        o.rpropVariant = try decode(try r.u8("rprop_variant"), "rprop_variant")
        o.increaseFactor = try r.f64("rprop_increase")
        o.decreaseFactor = try r.f64("rprop_decrease")
        o.initialStep = try r.f64("rprop_delta0")
        o.minimumStep = try r.f64("rprop_delta_min")
        o.maximumStep = try r.f64("rprop_delta_max")
        previousLoss = try r.f64("rprop previous loss")
        guard !previousLoss.isNaN, previousLoss != -.infinity else {
            throw MLPError(.badFormat, "the RPROP previous loss is \(previousLoss), which no training run produces")
        }
    } else if o.kind == .rprop {
        throw MLPError(.badFormat, "optimizer code \(OptimizerKind.rprop.rawValue) (RPROP) needs format 1.1, but the file is 1.\(minor)")
    }
    do {
        try o.validate()
    } catch {
        throw MLPError(.badFormat, "the stored optimizer is invalid: \(error.message)")
    }
    do {
        try network.setOptimizer(o)
    } catch {
        throw asFormatError(error)
    }
    guard buffers == o.stateBufferCount else {
        throw MLPError(.badFormat, "the file has \(buffers) optimizer state buffers; its optimizer needs \(o.stateBufferCount)")
    }
    if buffers >= 1 { try readScalars(into: network.optimizer.first, &stateReader, "optimizer state") }
    if buffers >= 2 { try readScalars(into: network.optimizer.second, &stateReader, "optimizer state") }
    if buffers >= 3 { try readScalars(into: network.optimizer.third, &stateReader, "optimizer state") }
    try checkOptimizerState(network.optimizer)
    network.optimizer.stepCount = stepCount
    network.optimizer.previousLoss = previousLoss
    return network
}

/// Optimizer state a real run can produce: finite everywhere, and the running
/// averages of squared gradients (Adam's v, RMSprop's s) and RPROP's step sizes
/// never negative. Anything else would turn into NaN parameters at the next step
/// (or, for a negative step size, walk uphill).
func checkOptimizerState<Scalar: MLPScalar>(_ state: borrowing OptimizerState<Scalar>) throws(MLPError) {
    let squaresBuffer: Int
    switch state.configuration.kind {
    case .sgd: squaresBuffer = -1
    case .adam, .adamW: squaresBuffer = 2
    case .rmsProp: squaresBuffer = 1
    case .rprop: squaresBuffer = 2
    }
    for number in 1...3 {
        let buffer = number == 1 ? state.first.bufferPointer
            : number == 2 ? state.second.bufferPointer : state.third.bufferPointer
        for index in 0..<buffer.count {
            let value = buffer[index]
            guard value.isFinite, number != squaresBuffer || value >= 0 else {
                throw MLPError(.badFormat,
                    "optimizer state buffer \(number) entry \(index) is \(value), which no training run produces")
            }
        }
    }
}

private func readScalars<Scalar: MLPScalar>(
    into buffer: borrowing ScalarBuffer<Scalar>, _ r: inout ByteReader, _ what: String
) throws(MLPError) {
    guard buffer.count > 0 else { return }
    let p = buffer.pointer
    switch Scalar.dtype {
    case .float32:
        try r.require(4 * buffer.count, what)
        for index in 0..<buffer.count { p[index] = Scalar(try r.f32(what)) }
    case .float64:
        try r.require(8 * buffer.count, what)
        for index in 0..<buffer.count { p[index] = Scalar(try r.f64(what)) }
    }
}

/// The bytes as a String when they are valid UTF-8 (and contain no NUL).
func validUTF8(_ bytes: UnsafeRawBufferPointer) -> String? {
    let units = bytes.bindMemory(to: UInt8.self)
    guard !units.contains(0) else { return nil }
    var text = ""
    var iterator = units.makeIterator()
    var decoder = UTF8()
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue(let scalar): text.unicodeScalars.append(scalar)
        case .emptyInput: return text
        case .error: return nil
        }
    }
}
