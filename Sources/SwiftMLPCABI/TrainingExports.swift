// The C functions for whole-data-set training, evaluation, the epoch counter and the
// input scaler. Same pattern as Exports.swift: check, take the handle, one call.

import CSwiftMLP
import SwiftMLP

@_cdecl("smlp_set_epoch")
public func smlp_set_epoch(_ model: OpaquePointer?, _ epoch: UInt) -> smlp_status {
    runReportingErrors("smlp_set_epoch") { () throws(APIError) in
        try writing(model) { (box) throws(APIError) in
            box.network.epoch = epoch.saturatingInt
        }
    }
}

@_cdecl("smlp_train_options_init_sized")
public func smlp_train_options_init_sized(_ options: UnsafeMutablePointer<smlp_train_options>?, _ size: UInt) {
    guard let options else { return }
    writeGrowingStruct(defaultTrainOptions(), to: options, size: size)
}

/// What a program built against 0.1.0's header calls: its struct ends at user_data.
@_cdecl("smlp_train_options_init")
public func smlp_train_options_init(_ options: UnsafeMutablePointer<smlp_train_options>?) {
    smlp_train_options_init_sized(options, UInt(legacyTrainOptionsSize))
}

func defaultTrainOptions() -> smlp_train_options {
    let defaults = TrainingOptions()
    return smlp_train_options(
        struct_size: MemoryLayout<smlp_train_options>.size, epochs: defaults.epochs,
        batch_size: defaults.batchSize, shuffle: defaults.shuffle ? 1 : 0,
        drop_last: defaults.dropLast ? 1 : 0, validation: nil, patience: defaults.patience,
        min_delta: defaults.minDelta, restore_best: defaults.restoreBest ? 1 : 0,
        callback: nil, user_data: nil, method: SMLP_TRAIN_MINIBATCH,
        lbfgs_history: defaults.lbfgs.historySize, tolerance_grad: defaults.lbfgs.toleranceGrad,
        tolerance_change: defaults.lbfgs.toleranceChange,
        max_function_evals: defaults.lbfgs.maxFunctionEvaluations, details: nil)
}

/// smlp_train_options up to user_data: what programs built before L-BFGS pass.
let legacyTrainOptionsSize = MemoryLayout<smlp_train_options>.offset(of: \smlp_train_options.method)!

/// The caller's options: its struct_size bytes over the defaults (a caller built
/// against the earlier header passes the shorter struct, which must not be read past).
func readTrainOptions(_ options: UnsafePointer<smlp_train_options>) throws(APIError) -> smlp_train_options {
    let size = UnsafeRawPointer(options).load(as: UInt.self)
    let full = MemoryLayout<smlp_train_options>.size
    guard size == UInt(full) || size == UInt(legacyTrainOptionsSize) else {
        throw APIError(SMLP_ERR_INVALID_ARGUMENT,
            "options.struct_size is \(size), expected \(full) (or \(legacyTrainOptionsSize) from a program built against the header before L-BFGS); call smlp_train_options_init first")
    }
    var result = defaultTrainOptions()
    withUnsafeMutableBytes(of: &result) { bytes in
        bytes.baseAddress!.copyMemory(from: UnsafeRawPointer(options), byteCount: Int(size))
    }
    return result
}

/// A C data set as an engine Dataset, after the same checks as a batch.
func dataset<Scalar: MLPScalar>(
    _ data: smlp_dataset, for network: Network<Scalar>, _ name: StaticString
) throws(APIError) -> Dataset<Scalar> {
    let b = try batch(data, for: network, name)
    return Dataset(inputs: b.inputs, targets: b.targets, targetCount: b.targetCount, rows: b.rows)
}

@_cdecl("smlp_train")
public func smlp_train(
    _ model: OpaquePointer?, _ train: UnsafePointer<smlp_dataset>?,
    _ options: UnsafePointer<smlp_train_options>?, _ outSummary: UnsafeMutablePointer<smlp_train_summary>?
) -> smlp_status {
    runReportingErrors("smlp_train") { () throws(APIError) in
        try writing(model) { (box) throws(APIError) in
            let data = try require(train, "train").pointee
            let o = try readTrainOptions(try require(options, "options"))
            try requireDType(data.dtype, matches: box, "train")
            if let validation = o.validation {
                try requireDType(validation.pointee.dtype, matches: box, "options.validation")
            }
            var engineOptions = TrainingOptions()
            // Limits: a batch larger than the data is one batch of all rows; epochs
            // that large never end anyway.
            engineOptions.epochs = cSize(o.epochs).saturatingInt
            engineOptions.batchSize = cSize(o.batch_size).saturatingInt
            engineOptions.shuffle = o.shuffle != 0
            engineOptions.dropLast = o.drop_last != 0
            engineOptions.patience = cSize(o.patience).saturatingInt
            engineOptions.minDelta = o.min_delta
            engineOptions.restoreBest = o.restore_best != 0
            engineOptions.method = try trainingMethod(from: o.method)
            engineOptions.lbfgs.historySize = cSize(o.lbfgs_history).saturatingInt
            engineOptions.lbfgs.toleranceGrad = o.tolerance_grad
            engineOptions.lbfgs.toleranceChange = o.tolerance_change
            engineOptions.lbfgs.maxFunctionEvaluations = cSize(o.max_function_evals).saturatingInt
            if let details = o.details {
                let size = UnsafeRawPointer(details).load(as: UInt.self)
                guard size >= UInt(MemoryLayout<Int>.size) else {
                    throw APIError(SMLP_ERR_INVALID_ARGUMENT,
                        "options.details->struct_size is \(size); set it to sizeof(smlp_train_details)")
                }
            }
            let summary = try box.network.train(data, o, engineOptions)
            outSummary?.pointee = smlp_train_summary(
                epochs_run: summary.epochsRun, best_epoch: summary.bestEpoch,
                best_validation_loss: summary.bestValidationLoss,
                final_train_loss: summary.finalTrainLoss,
                final_validation_loss: summary.finalValidationLoss,
                stopped_early: summary.stoppedEarly ? 1 : 0,
                stopped_by_callback: summary.stoppedByCallback ? 1 : 0)
            if let details = o.details { writeDetails(summary, to: details) }
        }
    }
}

/// The fields of smlp_train_details that fit in the caller's struct_size.
func writeDetails(_ summary: TrainingSummary, to details: UnsafeMutablePointer<smlp_train_details>) {
    let reason = cValue(summary.stopReason)
    // Whole fields that fit in the caller's struct_size (field ends grow with their
    // offsets, so these are a prefix); struct_size becomes the end of the last one.
    let room = Int(clamping: UnsafeRawPointer(details).load(as: UInt.self))
    let raw = UnsafeMutableRawPointer(details)
    var written = MemoryLayout<Int>.size
    // Field offsets by pointer arithmetic on a local value: Embedded Swift compiles
    // MemoryLayout.offset(of:) only with its key path written out in place, not one
    // passed to a helper as a value.
    var fields = smlp_train_details()
    withUnsafeMutablePointer(to: &fields) { base in
        func offset<F>(_ field: UnsafeMutablePointer<F>) -> Int {
            UnsafeMutableRawPointer(field) - UnsafeMutableRawPointer(base)
        }
        func put<T>(_ offset: Int, _ value: T) {
            let end = offset + MemoryLayout<T>.size
            guard end <= room else { return }
            raw.storeBytes(of: value, toByteOffset: offset, as: T.self)
            written = end
        }
        put(offset(&base.pointee.iterations), summary.iterations)
        put(offset(&base.pointee.function_evals), summary.functionEvaluations)
        put(offset(&base.pointee.stop_reason), reason)
        put(offset(&base.pointee.final_objective), summary.finalObjective ?? .nan)
    }
    raw.storeBytes(of: room >= MemoryLayout<smlp_train_details>.size ? MemoryLayout<smlp_train_details>.size : written,
                   as: Int.self)
}

@_cdecl("smlp_evaluate")
public func smlp_evaluate(
    _ model: OpaquePointer?, _ data: UnsafePointer<smlp_dataset>?,
    _ outLoss: UnsafeMutablePointer<Double>?, _ outAccuracy: UnsafeMutablePointer<Double>?
) -> smlp_status {
    runReportingErrors("smlp_evaluate") { () throws(APIError) in
        try writing(model) { (box) throws(APIError) in
            let d = try require(data, "data").pointee
            try requireDType(d.dtype, matches: box, "data")
            let result = try box.network.evaluate(d)
            outLoss?.pointee = result.loss
            outAccuracy?.pointee = result.accuracy
        }
    }
}

@_cdecl("smlp_fit_scaler")
public func smlp_fit_scaler(
    _ model: OpaquePointer?, _ dtype: smlp_dtype, _ x: UnsafeRawPointer?, _ nRows: UInt, _ nInputs: UInt
) -> smlp_status {
    runReportingErrors("smlp_fit_scaler") { () throws(APIError) in
        try writing(model) { (box) throws(APIError) in
            let input = try require(x, "x")
            try requireDType(dtype, matches: box, "x")
            try box.network.fitScaler(input, rows: nRows, inputs: nInputs)
        }
    }
}

@_cdecl("smlp_set_scaler")
public func smlp_set_scaler(
    _ model: OpaquePointer?, _ mean: UnsafePointer<Double>?, _ std: UnsafePointer<Double>?, _ nInputs: UInt
) -> smlp_status {
    runReportingErrors("smlp_set_scaler") { () throws(APIError) in
        try writing(model) { (box) throws(APIError) in
            let meanValues = try require(mean, "mean")
            let stdValues = try require(std, "std")
            let inputCount = box.network.inputCount
            try requireSize(nInputs, equals: inputCount, "n_inputs is \(nInputs) but the model's n_inputs is \(inputCount)")
            let scaler = try engine { () throws(MLPError) in
                try InputScaler(
                    mean: Array(UnsafeBufferPointer(start: meanValues, count: inputCount)),
                    standardDeviation: Array(UnsafeBufferPointer(start: stdValues, count: inputCount)))
            }
            try engine { () throws(MLPError) in try box.network.setScaler(scaler) }
        }
    }
}

@_cdecl("smlp_get_scaler")
public func smlp_get_scaler(
    _ model: OpaquePointer?, _ mean: UnsafeMutablePointer<Double>?, _ std: UnsafeMutablePointer<Double>?,
    _ nInputs: UInt, _ outHasScaler: UnsafeMutablePointer<Int32>?
) -> smlp_status {
    runReportingErrors("smlp_get_scaler") { () throws(APIError) in
        try reading(model) { (box) throws(APIError) in
            let hasScaler = try require(outHasScaler, "out_has_scaler")
            guard let scaler = box.network.scaler else {
                hasScaler.pointee = 0
                return
            }
            if mean != nil || std != nil {
                try requireSize(nInputs, equals: scaler.mean.count,
                    "n_inputs is \(nInputs) but the scaler has \(scaler.mean.count) features")
                if let mean { for i in scaler.mean.indices { mean[i] = scaler.mean[i] } }
                if let std { for i in scaler.mean.indices { std[i] = scaler.standardDeviation[i] } }
            }
            hasScaler.pointee = 1
        }
    }
}

@_cdecl("smlp_clear_scaler")
public func smlp_clear_scaler(_ model: OpaquePointer?) -> smlp_status {
    runReportingErrors("smlp_clear_scaler") { () throws(APIError) in
        try writing(model) { (box) throws(APIError) in
            try engine { () throws(MLPError) in try box.network.setScaler(nil) }
        }
    }
}
