// The C functions for looking inside a gradient computation, gradient checking,
// applying an outside gradient, and the BLAS thread count.

import CSwiftMLP
import SwiftMLP

@_cdecl("smlp_cached_rows")
public func smlp_cached_rows(_ model: OpaquePointer?) -> Int {
    var rows = 0
    _ = runReportingErrors("smlp_cached_rows") { () throws(APIError) in
        try reading(model) { (box) throws(APIError) in
            rows = box.network.workspaceRows
        }
    }
    return rows
}

@_cdecl("smlp_cached_rows_get")
public func smlp_cached_rows_get(_ model: OpaquePointer?, _ outRows: UnsafeMutablePointer<Int>?) -> smlp_status {
    runReportingErrors("smlp_cached_rows_get") { () throws(APIError) in
        try reading(model) { (box) throws(APIError) in
            try require(outRows, "out_rows").pointee = box.network.workspaceRows
        }
    }
}

@_cdecl("smlp_get_layer_cache")
public func smlp_get_layer_cache(
    _ model: OpaquePointer?, _ layer: UInt, _ kind: smlp_cache_kind, _ dtype: smlp_dtype,
    _ out: UnsafeMutableRawPointer?, _ nRows: UInt, _ nColumns: UInt
) -> smlp_status {
    runReportingErrors("smlp_get_layer_cache") { () throws(APIError) in
        // A writer lock: the cache lives in the workspace that changing calls reuse.
        try writing(model) { (box) throws(APIError) in
            let destination = try require(out, "out")
            try requireDType(dtype, matches: box, "out")
            let cacheKind = try SwiftMLPCABI.cacheKind(from: kind)
            try box.network.copyCache(layer: layer, kind: cacheKind, into: destination, rows: nRows, columns: nColumns)
        }
    }
}

@_cdecl("smlp_gradcheck")
public func smlp_gradcheck(
    _ model: OpaquePointer?, _ data: UnsafePointer<smlp_dataset>?, _ step: Double,
    _ weightErrors: UnsafeMutablePointer<Double>?, _ biasErrors: UnsafeMutablePointer<Double>?, _ nLayers: UInt
) -> smlp_status {
    runReportingErrors("smlp_gradcheck") { () throws(APIError) in
        try writing(model) { (box) throws(APIError) in
            let batch = try require(data, "batch").pointee
            let w = try require(weightErrors, "max_rel_error_w")
            let b = try require(biasErrors, "max_rel_error_b")
            try requireDType(batch.dtype, matches: box, "batch")
            let errors = try box.network.gradientCheck(batch, step: step, layers: nLayers)
            for (index, error) in errors.enumerated() {
                w[index] = error.weights
                b[index] = error.biases
            }
        }
    }
}

@_cdecl("smlp_apply_gradients")
public func smlp_apply_gradients(
    _ model: OpaquePointer?, _ dtype: smlp_dtype, _ grad: UnsafeRawPointer?, _ count: UInt, _ scale: Double
) -> smlp_status {
    runReportingErrors("smlp_apply_gradients") { () throws(APIError) in
        try writing(model) { (box) throws(APIError) in
            let source = try require(grad, "grad")
            try requireDType(dtype, matches: box, "grad")
            try box.network.applyGradients(source, count: count, scale: scale)
        }
    }
}

@_cdecl("smlp_set_num_threads")
public func smlp_set_num_threads(_ n: Int32) -> smlp_status {
    runReportingErrors("smlp_set_num_threads") { () throws(APIError) in
        try engine { () throws(MLPError) in try BLASThreads.set(Int(n)) }
    }
}

@_cdecl("smlp_get_num_threads")
public func smlp_get_num_threads() -> Int32 {
    Int32(BLASThreads.count)
}
