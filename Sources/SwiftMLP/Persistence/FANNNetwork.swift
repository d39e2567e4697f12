// Reading FANN 2.x network files (.net, as fann_save writes them) into a network.
//
// The file is text: a version line ("FANN_FLO_2.1" or "FANN_FLO_2.0"), then one
// "key=value" line each. The keys read here are network_type (0 layered, 1 shortcut),
// layer_sizes (neurons per layer, each counting the layer's bias neuron), the
// neurons line "(num_inputs, activation_function, activation_steepness) " once per
// neuron of every layer in order, bias neurons included, and the connections line
// "(connected_to_neuron, weight) " once per connection, grouped by receiving neuron.
// Every other key (training settings, cascade settings, scaling) is skipped.
//
// fann_run computes, for each non-bias neuron, f(s * sum_i w_i x_i) with the bias
// neuron's value 1 as one of the x_i, s its steepness and f its activation:
//   FANN_LINEAR (0)                   s*z              -> identity, weights times s
//   FANN_SIGMOID (3)                  1/(1+e^(-2 s z)) -> sigmoid,  weights times 2s
//   FANN_SIGMOID_SYMMETRIC (5)        tanh(s z)        -> tanh,     weights times s
//   FANN_LINEAR_PIECE_RECT (18)       max(0, s z)      -> relu,     weights times s
//   FANN_LINEAR_PIECE_RECT_LEAKY (19) leaky, slope 0.01 -> leaky_relu (slope 0.01)
// So the steepness folds into the weights and biases exactly in arithmetic; each
// folded value is rounded once unless the factor is a power of two (FANN's default
// steepness 0.5 gives factors 1 and 0.5). FANN also clamps s*z to +-150/s before f;
// that clamp is not reproduced (docs/interop.md says where it matters), and a
// negative steepness, for which it makes a neuron constant, is refused. The stepwise,
// threshold, Gaussian, Elliot, bounded-linear and periodic activations have no
// swiftmlp counterpart and are refused, as are shortcut (and so cascade-trained)
// networks, sparse layers, fixed-point files and the pre-2.0 format.

import CShim

/// A FANN network as swiftmlp sees it: widths (without bias neurons), one activation
/// per weight layer, and the parameters in `ParameterLayout` order with the
/// steepness folded in, in Double.
public struct FANNNetworkDescription: Sendable, Equatable {
    public var layerSizes: [Int]
    public var activations: [Activation]
    public var parameters: [Double]
}

/// FANN's activation codes (fann_data.h, enum fann_activationfunc_enum).
let fannActivationNames = [
    "FANN_LINEAR", "FANN_THRESHOLD", "FANN_THRESHOLD_SYMMETRIC", "FANN_SIGMOID",
    "FANN_SIGMOID_STEPWISE", "FANN_SIGMOID_SYMMETRIC", "FANN_SIGMOID_SYMMETRIC_STEPWISE",
    "FANN_GAUSSIAN", "FANN_GAUSSIAN_SYMMETRIC", "FANN_GAUSSIAN_STEPWISE", "FANN_ELLIOT",
    "FANN_ELLIOT_SYMMETRIC", "FANN_LINEAR_PIECE", "FANN_LINEAR_PIECE_SYMMETRIC",
    "FANN_SIN_SYMMETRIC", "FANN_COS_SYMMETRIC", "FANN_SIN", "FANN_COS",
    "FANN_LINEAR_PIECE_RECT", "FANN_LINEAR_PIECE_RECT_LEAKY",
]

/// The swiftmlp activation for a FANN code and the factor its steepness becomes, or
/// nil for an activation swiftmlp does not have.
func fannActivation(_ code: Int, steepness: Double) -> (Activation, Double)? {
    switch code {
    case 0: return (.identity, steepness)
    case 3: return (.sigmoid, 2 * steepness)
    case 5: return (.tanh, steepness)
    case 18: return (.relu, steepness)
    case 19: return (.leakyReLU, steepness)
    default: return nil
    }
}

/// FANN's fixed leaky-relu slope (fann_activation.h).
public let fannLeakyReLUSlope = 0.01

private func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D }

private func trimmed(_ text: Substring) -> Substring {
    let bytes = text.utf8
    var start = bytes.startIndex, end = bytes.endIndex
    while start < end, isBlank(bytes[start]) { start = bytes.index(after: start) }
    while end > start, isBlank(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
    return Substring(bytes[start..<end])
}

/// The fields of the "(a, b, c) (d, e, f) " groups of a value, flat: group g's
/// field k is at g * arity + k. Works on the UTF-8 bytes and allocates one array: a
/// large network's connections line holds millions of characters.
private func groups(_ value: Substring, arity: Int, key: String, line: Int) throws(MLPError) -> [Substring] {
    var result: [Substring] = []
    var count = 0
    let bytes = value.utf8
    var index = bytes.startIndex
    while true {
        while index < bytes.endIndex, isBlank(bytes[index]) { index = bytes.index(after: index) }
        guard index < bytes.endIndex else { break }
        guard bytes[index] == UInt8(ascii: "(") else {
            throw MLPError(.badFormat, "line \(line): \(key): expected \"(...)\" groups, found \(quoted(Substring(bytes[index...])))")
        }
        index = bytes.index(after: index)
        var start = index, fields = 0
        while true {
            guard index < bytes.endIndex else {
                throw MLPError(.badFormat, "line \(line): \(key): group \(count) has no closing \")\"")
            }
            let byte = bytes[index]
            if byte == UInt8(ascii: ",") || byte == UInt8(ascii: ")") {
                if fields < arity { result.append(trimmed(Substring(bytes[start..<index]))) }
                fields += 1
                index = bytes.index(after: index)
                start = index
                if byte == UInt8(ascii: ")") { break }
            } else {
                index = bytes.index(after: index)
            }
        }
        guard fields == arity else {
            throw MLPError(.badFormat, "line \(line): \(key): group \(count) has \(fields) fields, expected \(arity)")
        }
        count += 1
    }
    return result
}

/// `what` names the field in the message; built only on failure.
private func integer(_ text: Substring, _ what: @autoclosure () -> String, line: Int) throws(MLPError) -> Int {
    guard let value = Int(text), value >= 0 else {
        throw MLPError(.badFormat, "line \(line): \(what()) is \"\(text)\", not a non-negative integer")
    }
    return value
}

/// A NUL byte would end strtod's C string early (`parseScalar`): refused.
private func real(_ text: Substring, _ what: @autoclosure () -> String, line: Int) throws(MLPError) -> Double {
    guard !text.utf8.contains(0), let value = Double(text), value.isFinite else {
        throw MLPError(.badFormat, "line \(line): \(what()) is \"\(text)\", not a finite number")
    }
    return value
}

/// Parses the text of a FANN .net file.
/// - Throws: `badFormat` for a file that is not a FANN 2.x network or is malformed,
///   `unsupportedVersion` for fixed-point and FANN 1.x files, `invalidArgument` for
///   a valid network swiftmlp cannot represent (shortcut or cascade networks, sparse
///   layers, an activation it lacks, mixed activations in a layer); the message names
///   the line.
public func parseFANNNetwork(_ bytes: UnsafeRawBufferPointer) throws(MLPError) -> FANNNetworkDescription {
    let text = String(decoding: bytes, as: UTF8.self)
    // Lines, keys and values are compared and cut as bytes: "\r\n" would be one
    // Character (a Windows file's trailing "\r" is trimmed from each line's values
    // instead), and String's Character operations and == need Unicode tables that
    // a byte format does not (ByteText.swift).
    let lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { Substring($0) }
    let version = lines.first.map(trimmed) ?? ""
    if version.utf8.starts(with: "FANN_FIX_".utf8) {
        throw MLPError(.unsupportedVersion,
            "line 1: \(version) is a fixed-point network (fann_save_to_fixed); only floating-point files (FANN_FLO_2.x) are read")
    }
    if version.utf8.starts(with: "FANN_FLO_1.".utf8) {
        throw MLPError(.unsupportedVersion,
            "line 1: \(version) is the FANN 1.x format; load it with FANN 2 and fann_save it again")
    }
    guard version.hasSameBytes(as: "FANN_FLO_2.0") || version.hasSameBytes(as: "FANN_FLO_2.1") else {
        throw MLPError(.badFormat, "line 1: \(quoted(version)) is not a FANN network header (FANN_FLO_2.0 or FANN_FLO_2.1)")
    }
    // (key, value, 1-based line) for each key=value line; a lookup takes the first
    // occurrence, as FANN's sequential read does. The handful of lookups scan the
    // fifty-odd keys.
    var entries: [(key: Substring, value: Substring, line: Int)] = []
    for (index, line) in lines.enumerated().dropFirst() {
        let bytes = line.utf8
        guard let equals = bytes.firstIndex(of: UInt8(ascii: "=")) else {
            guard trimmed(line).isEmpty else {
                throw MLPError(.badFormat, "line \(index + 1): expected key=value, found \(quoted(line))")
            }
            continue
        }
        entries.append((trimmed(Substring(bytes[..<equals])), Substring(bytes[bytes.index(after: equals)...]), index + 1))
    }
    func lookup(_ key: String) -> (Substring, Int)? {
        guard let entry = entries.first(where: { $0.key.hasSameBytes(as: key) }) else { return nil }
        return (entry.value, entry.line)
    }
    func field(_ key: String) throws(MLPError) -> (Substring, Int) {
        guard let entry = lookup(key) else { throw MLPError(.badFormat, "the file has no \(key)= line") }
        return entry
    }

    let (typeText, typeLine) = try field("network_type")
    let networkType = try integer(trimmed(typeText), "network_type", line: typeLine)
    guard networkType == 0 else {
        throw MLPError(.invalidArgument,
            "line \(typeLine): network_type=\(networkType) is a shortcut network (FANN_NETTYPE_SHORTCUT, as cascade training builds), where every layer connects to all earlier ones; only layered networks (network_type=0) map to a multilayer perceptron")
    }
    let (sizesText, sizesLine) = try field("layer_sizes")
    var counts: [Int] = []   // neurons per layer, bias neuron included
    for token in sizesText.utf8.split(whereSeparator: isBlank) {
        let count = try integer(Substring(token), "a layer size", line: sizesLine)
        guard count >= 2, count - 1 <= Int(Int32.max) else {
            throw MLPError(.badFormat, "line \(sizesLine): layer size \(count) must be 2 (one neuron and the bias) to \(Int(Int32.max) + 1)")
        }
        counts.append(count)
    }
    guard counts.count >= 2 else {
        throw MLPError(.badFormat, "line \(sizesLine): layer_sizes lists \(counts.count) layers; a network has at least 2")
    }
    if let (layersText, layersLine) = lookup("num_layers") {
        let declared = try integer(trimmed(layersText), "num_layers", line: layersLine)
        guard declared == counts.count else {
            throw MLPError(.badFormat, "line \(layersLine): num_layers is \(declared) but layer_sizes lists \(counts.count)")
        }
    }
    let neuronsKey = "neurons (num_inputs, activation_function, activation_steepness)"
    let (neuronsText, neuronsLine) = try field(neuronsKey)
    let neurons = try groups(neuronsText, arity: 3, key: "neurons", line: neuronsLine)
    let totalNeurons = counts.reduce(0, +)
    guard neurons.count / 3 == totalNeurons else {
        throw MLPError(.badFormat, "line \(neuronsLine): \(neurons.count / 3) neurons listed, but layer_sizes adds up to \(totalNeurons)")
    }
    let connectionsKey = "connections (connected_to_neuron, weight)"
    let (connectionsText, connectionsLine) = try field(connectionsKey)
    let connections = try groups(connectionsText, arity: 2, key: "connections", line: connectionsLine)

    // First neuron index of each layer.
    var firstNeuron = [0]
    for count in counts { firstNeuron.append(firstNeuron[firstNeuron.count - 1] + count) }
    for neuron in 0..<counts[0] {
        let inputs = try integer(neurons[3 * neuron], "num_inputs of neuron \(neuron)", line: neuronsLine)
        guard inputs == 0 else {
            throw MLPError(.badFormat, "line \(neuronsLine): input neuron \(neuron) has \(inputs) connections; input neurons have none")
        }
    }
    // Pass 1, the neurons: full connectivity, one supported activation per layer, and
    // each neuron's steepness factor.
    var factors = [Double](repeating: 0, count: totalNeurons)
    var activations: [Activation] = []
    for layer in 1..<counts.count {
        let previousCount = counts[layer - 1]
        var layerActivation: (activation: Activation, code: Int, neuron: Int)? = nil
        for unit in 0..<counts[layer] {
            let neuron = firstNeuron[layer] + unit
            let inputs = try integer(neurons[3 * neuron], "num_inputs of neuron \(neuron)", line: neuronsLine)
            let code = try integer(neurons[3 * neuron + 1], "activation_function of neuron \(neuron)", line: neuronsLine)
            let steepness = try real(neurons[3 * neuron + 2], "activation_steepness of neuron \(neuron)", line: neuronsLine)
            if unit == counts[layer] - 1 {
                // The bias neuron: its value is always 1.
                guard inputs == 0 else {
                    throw MLPError(.badFormat, "line \(neuronsLine): neuron \(neuron), the bias of layer \(layer), has \(inputs) connections; a bias neuron has none")
                }
                continue
            }
            guard inputs == previousCount else {
                throw MLPError(.invalidArgument,
                    "line \(neuronsLine): neuron \(neuron) (layer \(layer)) has \(inputs) connections, but the \(previousCount) neurons of layer \(layer - 1) (bias included) would fully connect it: a sparse network (connection_rate < 1) has no multilayer-perceptron equivalent")
            }
            // fann_run clamps s*z to +-150/s: for s < 0 that bound is negative and the
            // neuron's output is f(+-150/s) whatever its inputs, which no folding gives.
            guard steepness >= 0 else {
                throw MLPError(.invalidArgument,
                    "line \(neuronsLine): neuron \(neuron) (layer \(layer)) has steepness \(steepness); with a negative steepness fann_run's clamp of s*z to +-150/s makes the neuron constant, which swiftmlp does not reproduce")
            }
            let name = code < fannActivationNames.count ? fannActivationNames[code] : "unknown"
            guard let (activation, factor) = fannActivation(code, steepness: steepness) else {
                throw MLPError(.invalidArgument,
                    "line \(neuronsLine): neuron \(neuron) (layer \(layer)) uses activation \(code) (\(name)), which swiftmlp does not have; supported: FANN_LINEAR, FANN_SIGMOID, FANN_SIGMOID_SYMMETRIC, FANN_LINEAR_PIECE_RECT, FANN_LINEAR_PIECE_RECT_LEAKY")
            }
            if let first = layerActivation, first.activation != activation {
                throw MLPError(.invalidArgument,
                    "line \(neuronsLine): layer \(layer) mixes activations: neuron \(first.neuron) uses \(first.code) (\(fannActivationNames[first.code])) and neuron \(neuron) \(code) (\(name)); swiftmlp has one activation per layer")
            }
            layerActivation = (activation, code, neuron)
            factors[neuron] = factor
        }
        guard let layerActivation else {
            throw MLPError(.badFormat, "line \(sizesLine): layer \(layer) has no neurons besides its bias")
        }
        activations.append(layerActivation.activation)
    }
    // Fully connected layers have exactly the parameter count's connections, so the
    // parameters are allocated only for a file that lists that many.
    let layerSizes = counts.map { $0 - 1 }
    let layout = try ParameterLayout(layerSizes: layerSizes)
    guard connections.count / 2 == layout.parameterCount else {
        throw MLPError(.badFormat, "line \(connectionsLine): \(connections.count / 2) connections listed, but the neurons need \(layout.parameterCount)")
    }
    // Pass 2, the connections, grouped by receiving neuron in neuron order.
    var parameters = [Double](repeating: 0, count: layout.parameterCount)
    var connection = 0
    for layer in 1..<counts.count {
        let shape = layout.layers[layer - 1]
        let previous = firstNeuron[layer - 1], previousCount = counts[layer - 1]
        var seen = [Bool](repeating: false, count: previousCount)
        for unit in 0..<(counts[layer] - 1) {
            let neuron = firstNeuron[layer] + unit
            for slot in 0..<previousCount { seen[slot] = false }
            for _ in 0..<previousCount {
                let source = try integer(connections[2 * connection], "connected_to_neuron of connection \(connection)", line: connectionsLine)
                let weight = try real(connections[2 * connection + 1], "weight of connection \(connection)", line: connectionsLine)
                guard source >= previous, source < previous + previousCount, !seen[source - previous] else {
                    throw MLPError(.invalidArgument,
                        "line \(connectionsLine): connection \(connection) links neuron \(neuron) (layer \(layer)) to neuron \(source), which is not a neuron of layer \(layer - 1) it is not yet connected to: not a fully connected layered network")
                }
                seen[source - previous] = true
                let folded = factors[neuron] * weight
                guard folded.isFinite else {
                    throw MLPError(.invalidArgument,
                        "line \(connectionsLine): weight \(weight) of connection \(connection) times its steepness factor \(factors[neuron]) overflows")
                }
                // Row previousCount - 1 is the bias neuron: it becomes b.
                let row = source - previous
                let index = row == previousCount - 1
                    ? shape.biasOffset + unit
                    : shape.weightOffset + row * shape.fanOut + unit
                parameters[index] = folded
                connection += 1
            }
        }
    }
    return FANNNetworkDescription(layerSizes: layerSizes, activations: activations, parameters: parameters)
}

extension Network {
    /// A network computing what fann_run computes for `description` (loss mean
    /// squared error, as FANN trains).
    /// - Throws: `invalidArgument` when a folded parameter overflows `Scalar`.
    public convenience init(fann description: FANNNetworkDescription) throws(MLPError) {
        try self.init(NetworkConfiguration(
            layerSizes: description.layerSizes, activations: description.activations,
            loss: .meanSquaredError, leakyReLUSlope: fannLeakyReLUSlope))
        let values = description.parameters.map { Scalar($0) }
        for (index, value) in values.enumerated() where !value.isFinite {
            throw MLPError(.invalidArgument,
                "parameter \(index) (\(description.parameters[index]) with the steepness folded in) overflows \(Scalar.dtype == .float32 ? "float" : "double")")
        }
        try setParameters(values)
    }
}

/// Reads a FANN .net file into a network of `dtype`.
/// - Throws: `io` (missing, not a regular file, unreadable), then what `parseFANNNetwork`
///   and `Network.init(fann:)` throw.
public func loadFANNNetwork(from path: String, dtype: DType) throws(MLPError) -> AnyNetwork {
    let description = try withContents(ofFile: path) { (bytes) throws(MLPError) in try parseFANNNetwork(bytes) }
    switch dtype {
    case .float32: return .float32(try Network<Float>(fann: description))
    case .float64: return .float64(try Network<Double>(fann: description))
    }
}
