// The C functions for looking inside a gradient computation, gradient checking,
// applying an outside gradient, and the BLAS thread count.

import CSwiftMLP
import SwiftMLP

@_cdecl("smlp_cached_rows")
public func smlp_cached_rows(_ model: OpaquePointer?) -> Int {
    var rows = 0
    _ = runReportingErrors("smlp_cached_rows") { () throws(APIError) in
        try reading(model) { (box) throws(APIError) in
            switch box.storage {
            case .float32(let network): rows = network.workspaceRows
            case .float64(let network): rows = network.workspaceRows
            }
        }
    }
    return rows
}

@_cdecl("smlp_cached_rows_get")
public func smlp_cached_rows_get(_ model: OpaquePointer?, _ outRows: UnsafeMutablePointer<Int>?) -> smlp_status {
    runReportingErrors("smlp_cached_rows_get") { () throws(APIError) in
        try reading(model) { (box) throws(APIError) in
            let out = try require(outRows, "out_rows")
            switch box.storage {
            case .float32(let network): out.pointee = network.workspaceRows
            case .float64(let network): out.pointee = network.workspaceRows
            }
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
        try writing(model, "smlp_get_layer_cache") { (box) throws(APIError) in
            let destination = try require(out, "out")
            try requireDType(dtype, matches: box, "out")
            let cacheKind: CacheKind
            switch kind {
            case SMLP_CACHE_Z: cacheKind = .preActivation
            case SMLP_CACHE_A: cacheKind = .activation
            case SMLP_CACHE_DZ: cacheKind = .delta
            default: throw APIError(SMLP_ERR_INVALID_ARGUMENT, "kind is \(kind.rawValue), not an smlp_cache_kind")
            }
            switch box.storage {
            case .float32(let network): try copyCache(network, layer, cacheKind, destination, nRows, nColumns)
            case .float64(let network): try copyCache(network, layer, cacheKind, destination, nRows, nColumns)
            }
        }
    }
}

func copyCache<Scalar: MLPScalar>(
    _ network: Network<Scalar>, _ layerIndex: UInt, _ kind: CacheKind, _ out: UnsafeMutableRawPointer,
    _ rows: UInt, _ columns: UInt
) throws(APIError) {
    let layer = try index(layerIndex, below: network.layout.layers.count,
        "layer is \(layerIndex), but the model has \(network.layout.layers.count) layers")
    let matrix = try engine { () throws(MLPError) in try network.cachedMatrix(layer: layer, kind: kind) }
    let width = network.layout.layers[layer].fanOut
    guard rows == UInt(network.workspaceRows), columns == UInt(width) else {
        throw APIError(SMLP_ERR_SHAPE_MISMATCH,
            "the cache of layer \(layer) is \(network.workspaceRows) x \(width), but out is \(rows) x \(columns)")
    }
    if let source = matrix.baseAddress {
        out.assumingMemoryBound(to: Scalar.self).update(from: source, count: matrix.count)
    }
}

@_cdecl("smlp_gradcheck")
public func smlp_gradcheck(
    _ model: OpaquePointer?, _ data: UnsafePointer<smlp_dataset>?, _ step: Double,
    _ weightErrors: UnsafeMutablePointer<Double>?, _ biasErrors: UnsafeMutablePointer<Double>?, _ nLayers: UInt
) -> smlp_status {
    runReportingErrors("smlp_gradcheck") { () throws(APIError) in
        try writing(model, "smlp_gradcheck") { (box) throws(APIError) in
            let batch = try require(data, "batch").pointee
            let w = try require(weightErrors, "max_rel_error_w")
            let b = try require(biasErrors, "max_rel_error_b")
            try requireDType(batch.dtype, matches: box, "batch")
            let errors: [LayerGradientError]
            switch box.storage {
            case .float32(let network): errors = try gradientCheck(network, batch, step, nLayers)
            case .float64(let network): errors = try gradientCheck(network, batch, step, nLayers)
            }
            for (index, error) in errors.enumerated() {
                w[index] = error.weights
                b[index] = error.biases
            }
        }
    }
}

func gradientCheck<Scalar: MLPScalar>(
    _ network: Network<Scalar>, _ batch: smlp_dataset, _ step: Double, _ layers: UInt
) throws(APIError) -> [LayerGradientError] {
    try requireSize(layers, equals: network.layout.layers.count,
        "n_layers is \(layers) but the model has \(network.layout.layers.count)")
    let data = try dataset(batch, for: network, "batch")
    return try engine { () throws(MLPError) in try network.gradientCheck(data, step: step) }
}

@_cdecl("smlp_apply_gradients")
public func smlp_apply_gradients(
    _ model: OpaquePointer?, _ dtype: smlp_dtype, _ grad: UnsafeRawPointer?, _ count: UInt, _ scale: Double
) -> smlp_status {
    runReportingErrors("smlp_apply_gradients") { () throws(APIError) in
        try writing(model, "smlp_apply_gradients") { (box) throws(APIError) in
            let source = try require(grad, "grad")
            try requireDType(dtype, matches: box, "grad")
            switch box.storage {
            case .float32(let network): try applyGradients(network, source, count, scale)
            case .float64(let network): try applyGradients(network, source, count, scale)
            }
        }
    }
}

func applyGradients<Scalar: MLPScalar>(
    _ network: Network<Scalar>, _ grad: UnsafeRawPointer, _ count: UInt, _ scale: Double
) throws(APIError) {
    try requireCount(count, equals: network.parameterCount, "count")
    let values = UnsafeBufferPointer(start: grad.assumingMemoryBound(to: Scalar.self), count: network.parameterCount)
    try engine { () throws(MLPError) in try network.applyGradients(values, scale: scale) }
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
