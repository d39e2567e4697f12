// The C functions for data files: FANN's training data format, read into a data set
// the library owns (one malloc'd block: the struct, then x, then y) and written from
// any smlp_dataset. Parsing and formatting are the engine's (FANNData.swift). The
// block is 64-byte aligned (posix_memalign), so x and y are too.

import CShim
import CSwiftMLP
import SwiftMLP

/// Bytes before x in an owned data set's block: the struct, rounded up to 64 so that
/// x and y are aligned for any vector load.
private let ownedHeaderBytes = (MemoryLayout<smlp_owned_dataset>.size + 63) / 64 * 64

@_cdecl("smlp_data_load_fann")
public func smlp_data_load_fann(
    _ path: UnsafePointer<CChar>?, _ dtype: smlp_dtype,
    _ outData: UnsafeMutablePointer<UnsafeMutablePointer<smlp_owned_dataset>?>?
) -> smlp_status {
    runReportingErrors("smlp_data_load_fann") { () throws(APIError) in
        let out = try require(outData, "out_data")
        out.pointee = nil
        let source = try text(try require(path, "path"), "path")
        let owned: UnsafeMutablePointer<smlp_owned_dataset>
        switch dtype {
        case SMLP_FLOAT32: owned = try loadFANN(source, Float.self)
        case SMLP_FLOAT64: owned = try loadFANN(source, Double.self)
        default: throw APIError(SMLP_ERR_INVALID_ARGUMENT, "dtype is \(dtype.rawValue), not an smlp_dtype")
        }
        out.pointee = owned
    }
}

/// Reads and parses the file into a new block; nothing stays allocated on failure.
private func loadFANN<Scalar: MLPScalar>(
    _ path: String, _ type: Scalar.Type
) throws(APIError) -> UnsafeMutablePointer<smlp_owned_dataset> {
    try engine { () throws(MLPError) in
        try withContents(ofFile: path) { (bytes) throws(MLPError) -> UnsafeMutablePointer<smlp_owned_dataset> in
            let shape = try readFANNDataShape(bytes)
            let size = MemoryLayout<Scalar>.size
            // readFANNDataShape bounds rows x (inputs + outputs) by the file size, so
            // these products cannot overflow.
            let xCount = shape.rows * shape.inputs, yCount = shape.rows * shape.outputs
            let total = ownedHeaderBytes + (xCount + yCount) * size
            var memory: UnsafeMutableRawPointer? = nil
            guard posix_memalign(&memory, 64, total) == 0, let block = memory else {
                throw MLPError(.outOfMemory, "cannot allocate \(total) bytes for \(shape.rows) rows")
            }
            let x = (block + ownedHeaderBytes).bindMemory(to: Scalar.self, capacity: xCount)
            let y = (block + ownedHeaderBytes + xCount * size).bindMemory(to: Scalar.self, capacity: yCount)
            do throws(MLPError) {
                try readFANNData(bytes, shape: shape, inputs: x, outputs: y)
            } catch {
                free(block)
                throw error
            }
            let owned = block.bindMemory(to: smlp_owned_dataset.self, capacity: 1)
            owned.initialize(to: smlp_owned_dataset(data: smlp_dataset(
                dtype: Scalar.dtype == .float32 ? SMLP_FLOAT32 : SMLP_FLOAT64, n_rows: shape.rows,
                n_inputs: shape.inputs, x: UnsafeRawPointer(x), n_outputs: shape.outputs,
                y: UnsafeRawPointer(y), labels: nil)))
            return owned
        }
    }
}

@_cdecl("smlp_data_save_fann")
public func smlp_data_save_fann(_ path: UnsafePointer<CChar>?, _ data: UnsafePointer<smlp_dataset>?) -> smlp_status {
    runReportingErrors("smlp_data_save_fann") { () throws(APIError) in
        let d = try require(data, "data").pointee
        let target = try text(try require(path, "path"), "path")
        switch d.dtype {
        case SMLP_FLOAT32: try saveFANN(target, d, Float.self)
        case SMLP_FLOAT64: try saveFANN(target, d, Double.self)
        default: throw APIError(SMLP_ERR_INVALID_ARGUMENT, "data.dtype is \(d.dtype.rawValue), not an smlp_dtype")
        }
    }
}

private func saveFANN<Scalar: MLPScalar>(_ path: String, _ d: smlp_dataset, _ type: Scalar.Type) throws(APIError) {
    for (value, name) in [(cSize(d.n_rows), "n_rows"), (cSize(d.n_inputs), "n_inputs"), (cSize(d.n_outputs), "n_outputs")]
    where value < 1 || value > UInt(Int32.max) {
        throw APIError(SMLP_ERR_INVALID_ARGUMENT, "data.\(name) is \(value); it must be in 1...\(Int32.max)")
    }
    let x = try require(d.x, "data.x").assumingMemoryBound(to: Scalar.self)
    let xCount = try elementCount(cSize(d.n_rows), cSize(d.n_inputs), "x")
    let yCount = try elementCount(cSize(d.n_rows), cSize(d.n_outputs), "y")
    for index in 0..<xCount where !x[index].isFinite {
        throw APIError(SMLP_ERR_NON_FINITE,
            "x row \(index / d.n_inputs) column \(index % d.n_inputs) is \(x[index]); nothing was written")
    }
    let targets: Targets<Scalar>
    switch (d.y, d.labels) {
    case (let y?, nil):
        let values = y.assumingMemoryBound(to: Scalar.self)
        for index in 0..<yCount where !values[index].isFinite {
            throw APIError(SMLP_ERR_NON_FINITE,
                "y row \(index / d.n_outputs) column \(index % d.n_outputs) is \(values[index]); nothing was written")
        }
        targets = .dense(UnsafePointer(values))
    case (nil, let labels?):
        for row in 0..<d.n_rows where labels[row] < 0 || Int(labels[row]) >= d.n_outputs {
            throw APIError(SMLP_ERR_INVALID_ARGUMENT,
                "label of row \(row) is \(labels[row]); it must be from 0 to \(d.n_outputs - 1) (written one-hot)")
        }
        targets = .labels(labels)
    case (nil, nil):
        throw APIError(SMLP_ERR_NULL_ARGUMENT, "data has neither y nor labels; give one")
    default:
        throw APIError(SMLP_ERR_INVALID_ARGUMENT, "data has both y and labels; give one")
    }
    try engine { () throws(MLPError) in
        try saveFANNData(to: path, rows: d.n_rows, inputCount: d.n_inputs, outputCount: d.n_outputs,
                         inputs: UnsafePointer(x), targets: targets)
    }
}

@_cdecl("smlp_data_free")
public func smlp_data_free(_ data: UnsafeMutablePointer<smlp_owned_dataset>?) {
    guard let data else { return }
    free(UnsafeMutableRawPointer(data))
}
