// One dispatch from a handle to its typed network. The generic Network conforms to
// CNetwork, whose typed entry points take what the C side has (raw pointers, size_t
// as UInt, C structs), so an export reads: check arguments, take the handle, one call.
// The entry points check shapes against the model, bind the raw memory to the
// model's scalar type, and call the engine.

import CSwiftMLP
import SwiftMLP

/// A network of either dtype, seen through the C ABI.
protocol CNetwork: AnyObject {
    // Engine members, used as they are.
    var configuration: NetworkConfiguration { get }
    var layout: ParameterLayout { get }
    var parameterCount: Int { get }
    var inputCount: Int { get }
    var outputCount: Int { get }
    var epoch: Int { get set }
    var scaler: InputScaler? { get }
    var metadata: [(key: String, value: String)] { get }
    var workspaceRows: Int { get }
    func setScaler(_ scaler: InputScaler?) throws(MLPError)
    func setOptimizer(_ configuration: OptimizerConfiguration) throws(MLPError)
    func setMetadata(key: String, value: String?) throws(MLPError)
    func serializedSize() throws(MLPError) -> Int
    func serialize(into buffer: UnsafeMutableRawBufferPointer) throws(MLPError) -> Int
    func save(to path: String) throws(MLPError)
    func exportC(to path: String, prefix: String) throws(MLPError)

    // Entry points over raw C memory.
    var cDType: smlp_dtype { get }
    func copyParameters(to destination: UnsafeMutableRawPointer, count: UInt) throws(APIError)
    func setParameters(from source: UnsafeRawPointer, count: UInt) throws(APIError)
    func predict(
        _ x: UnsafeRawPointer, rows: UInt, inputs: UInt, into out: UnsafeMutableRawPointer, outputs: UInt
    ) throws(APIError)
    func gradients(_ data: smlp_dataset, into grad: UnsafeMutableRawPointer?, count: UInt) throws(APIError) -> Double
    func step(_ data: smlp_dataset) throws(APIError) -> Double
    func train(_ data: smlp_dataset, _ c: smlp_train_options, _ options: TrainingOptions) throws(APIError)
        -> TrainingSummary
    func evaluate(_ data: smlp_dataset) throws(APIError) -> Evaluation
    func fitScaler(_ x: UnsafeRawPointer, rows: UInt, inputs: UInt) throws(APIError)
    func copyCache(
        layer: UInt, kind: CacheKind, into out: UnsafeMutableRawPointer, rows: UInt, columns: UInt
    ) throws(APIError)
    func gradientCheck(_ batch: smlp_dataset, step: Double, layers: UInt) throws(APIError) -> [LayerGradientError]
    func applyGradients(_ grad: UnsafeRawPointer, count: UInt, scale: Double) throws(APIError)
}

extension AnyNetwork {
    /// The network behind either case.
    var typed: any CNetwork {
        switch self {
        case .float32(let network): return network
        case .float64(let network): return network
        }
    }
}

extension Network: CNetwork {
    var cDType: smlp_dtype { cValue(Scalar.dtype) }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func copyParameters(to destination: UnsafeMutableRawPointer, count: UInt) throws(APIError) {
        try requireCount(count, equals: parameterCount, "count")
        if let source = parameterView.baseAddress {
            destination.assumingMemoryBound(to: Scalar.self).update(from: source, count: parameterCount)
        }
    }

    func setParameters(from source: UnsafeRawPointer, count: UInt) throws(APIError) {
        try requireCount(count, equals: parameterCount, "count")
        let values = UnsafeBufferPointer(start: source.assumingMemoryBound(to: Scalar.self), count: parameterCount)
        try engine { () throws(MLPError) in try setParameters(values) }
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func predict(
        _ x: UnsafeRawPointer, rows: UInt, inputs: UInt, into out: UnsafeMutableRawPointer, outputs: UInt
    ) throws(APIError) {
        try requireWidths(self, inputs: inputs, outputs: outputs, rows: rows)
        let inputBuffer = UnsafeBufferPointer(
            start: x.assumingMemoryBound(to: Scalar.self), count: try elementCount(rows, inputs, "x"))
        let outputBuffer = UnsafeMutableBufferPointer(
            start: out.assumingMemoryBound(to: Scalar.self), count: try elementCount(rows, outputs, "out"))
        try engine { () throws(MLPError) in try predict(inputBuffer, rows: Int(rows), into: outputBuffer) }
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func gradients(_ data: smlp_dataset, into grad: UnsafeMutableRawPointer?, count: UInt) throws(APIError) -> Double {
        if grad != nil { try requireCount(count, equals: parameterCount, "count") }
        let b = try batch(data, for: self, "batch")
        let loss = try engine { () throws(MLPError) in
            try gradients(inputs: b.inputs, targets: b.targets, targetCount: b.targetCount, rows: b.rows)
        }
        if let grad, let source = gradientView.baseAddress {
            grad.assumingMemoryBound(to: Scalar.self).update(from: source, count: parameterCount)
        }
        return loss
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func step(_ data: smlp_dataset) throws(APIError) -> Double {
        let b = try batch(data, for: self, "batch")
        return try engine { () throws(MLPError) in
            try step(inputs: b.inputs, targets: b.targets, targetCount: b.targetCount, rows: b.rows)
        }
    }

    func train(_ data: smlp_dataset, _ c: smlp_train_options, _ options: TrainingOptions) throws(APIError)
        -> TrainingSummary
    {
        let trainSet = try dataset(data, for: self, "train")
        let validationSet: Dataset<Scalar>?
        if let validation = c.validation {
            validationSet = try dataset(validation.pointee, for: self, "options.validation")
        } else {
            validationSet = nil
        }
        let callback = c.callback
        let userData = c.user_data
        return try engine { () throws(MLPError) in
            try train(trainSet, validation: validationSet, options: options) { report in
                guard let callback else { return true }
                var cReport = smlp_epoch_report(
                    epoch: report.epoch, train_loss: report.trainLoss,
                    validation_loss: report.validationLoss,
                    validation_accuracy: report.validationAccuracy, learning_rate: report.learningRate)
                return callback(&cReport, userData) == 0
            }
        }
    }

    func evaluate(_ d: smlp_dataset) throws(APIError) -> Evaluation {
        let data = try dataset(d, for: self, "data")
        return try engine { () throws(MLPError) in try evaluate(data) }
    }

    func fitScaler(_ x: UnsafeRawPointer, rows: UInt, inputs: UInt) throws(APIError) {
        try requireWidths(self, inputs: inputs, outputs: UInt(outputCount), rows: rows)
        let buffer = UnsafeBufferPointer(
            start: x.assumingMemoryBound(to: Scalar.self), count: try elementCount(rows, inputs, "x"))
        try engine { () throws(MLPError) in try fitScaler(buffer, rows: Int(rows)) }
    }

    func copyCache(
        layer layerIndex: UInt, kind: CacheKind, into out: UnsafeMutableRawPointer, rows: UInt, columns: UInt
    ) throws(APIError) {
        let layer = try index(layerIndex, below: layout.layers.count,
            "layer is \(layerIndex), but the model has \(layout.layers.count) layers")
        let matrix = try engine { () throws(MLPError) in try cachedMatrix(layer: layer, kind: kind) }
        let width = layout.layers[layer].fanOut
        guard rows == UInt(workspaceRows), columns == UInt(width) else {
            throw APIError(SMLP_ERR_SHAPE_MISMATCH,
                "the cache of layer \(layer) is \(workspaceRows) x \(width), but out is \(rows) x \(columns)")
        }
        if let source = matrix.baseAddress {
            out.assumingMemoryBound(to: Scalar.self).update(from: source, count: matrix.count)
        }
    }

    func gradientCheck(_ batch: smlp_dataset, step: Double, layers: UInt) throws(APIError) -> [LayerGradientError] {
        try requireSize(layers, equals: layout.layers.count,
            "n_layers is \(layers) but the model has \(layout.layers.count)")
        let data = try dataset(batch, for: self, "batch")
        return try engine { () throws(MLPError) in try gradientCheck(data, step: step) }
    }

    func applyGradients(_ grad: UnsafeRawPointer, count: UInt, scale: Double) throws(APIError) {
        try requireCount(count, equals: parameterCount, "count")
        let values = UnsafeBufferPointer(start: grad.assumingMemoryBound(to: Scalar.self), count: parameterCount)
        try engine { () throws(MLPError) in try applyGradients(values, scale: scale) }
    }
}
