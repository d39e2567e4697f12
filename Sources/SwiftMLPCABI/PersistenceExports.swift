// The C functions for saving, loading, metadata and C-source export.

import CSwiftMLP
import SwiftMLP

/// A C string as a Swift String, or INVALID_ARGUMENT when it is not UTF-8.
func text(_ pointer: UnsafePointer<CChar>, _ name: StaticString) throws(APIError) -> String {
    guard let value = String(validatingCString: pointer) else {
        throw APIError(SMLP_ERR_INVALID_ARGUMENT, "\(name) is not valid UTF-8")
    }
    return value
}

/// A handle for a network read from a file or buffer.
func handle(for network: AnyNetwork) -> OpaquePointer {
    let storage: NetworkStorage
    switch network {
    case .float32(let n): storage = .float32(n)
    case .float64(let n): storage = .float64(n)
    }
    return OpaquePointer(Unmanaged.passRetained(ModelHandle(storage)).toOpaque())
}

func serializedSize(_ box: ModelHandle) throws(APIError) -> Int {
    switch box.storage {
    case .float32(let network): return try engine { () throws(MLPError) in try network.serializedSize() }
    case .float64(let network): return try engine { () throws(MLPError) in try network.serializedSize() }
    }
}

func serialize(_ box: ModelHandle, into buffer: UnsafeMutableRawBufferPointer) throws(APIError) {
    switch box.storage {
    case .float32(let network): _ = try engine { () throws(MLPError) in try network.serialize(into: buffer) }
    case .float64(let network): _ = try engine { () throws(MLPError) in try network.serialize(into: buffer) }
    }
}

@_cdecl("smlp_save")
public func smlp_save(_ model: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> smlp_status {
    runReportingErrors("smlp_save") { () throws(APIError) in
        try reading(model) { (box) throws(APIError) in
            let target = try text(try require(path, "path"), "path")
            switch box.storage {
            case .float32(let network): try engine { () throws(MLPError) in try network.save(to: target) }
            case .float64(let network): try engine { () throws(MLPError) in try network.save(to: target) }
            }
        }
    }
}

@_cdecl("smlp_load")
public func smlp_load(_ path: UnsafePointer<CChar>?, _ outModel: UnsafeMutablePointer<OpaquePointer?>?) -> smlp_status {
    runReportingErrors("smlp_load") { () throws(APIError) in
        let out = try require(outModel, "out_model")
        out.pointee = nil
        let source = try text(try require(path, "path"), "path")
        let network = try engine { () throws(MLPError) in try loadNetwork(from: source) }
        out.pointee = handle(for: network)
    }
}

@_cdecl("smlp_save_to_buffer")
public func smlp_save_to_buffer(
    _ model: OpaquePointer?, _ buffer: UnsafeMutableRawPointer?, _ capacity: UInt,
    _ outSize: UnsafeMutablePointer<Int>?
) -> smlp_status {
    runReportingErrors("smlp_save_to_buffer") { () throws(APIError) in
        try reading(model) { (box) throws(APIError) in
            let size = try require(outSize, "out_size")
            let needed = try serializedSize(box)
            size.pointee = needed
            guard let buffer else { return }
            guard capacity.saturatingInt >= needed else {
                throw APIError(SMLP_ERR_SHAPE_MISMATCH, "capacity is \(capacity) bytes, but the model needs \(needed)")
            }
            try serialize(box, into: UnsafeMutableRawBufferPointer(start: buffer, count: needed))
        }
    }
}

@_cdecl("smlp_load_from_buffer")
public func smlp_load_from_buffer(
    _ buffer: UnsafeRawPointer?, _ size: UInt, _ outModel: UnsafeMutablePointer<OpaquePointer?>?
) -> smlp_status {
    runReportingErrors("smlp_load_from_buffer") { () throws(APIError) in
        let out = try require(outModel, "out_model")
        out.pointee = nil
        let bytes = try require(buffer, "buffer")
        let byteSize = try byteCount(size, "size")
        let network = try engine { () throws(MLPError) in
            try deserializeNetwork(UnsafeRawBufferPointer(start: bytes, count: byteSize))
        }
        out.pointee = handle(for: network)
    }
}

@_cdecl("smlp_set_metadata")
public func smlp_set_metadata(
    _ model: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?
) -> smlp_status {
    runReportingErrors("smlp_set_metadata") { () throws(APIError) in
        try writing(model, "smlp_set_metadata") { (box) throws(APIError) in
            let keyText = try text(try require(key, "key"), "key")
            let valueText: String? = value == nil ? nil : try text(value!, "value")
            switch box.storage {
            case .float32(let n): try engine { () throws(MLPError) in try n.setMetadata(key: keyText, value: valueText) }
            case .float64(let n): try engine { () throws(MLPError) in try n.setMetadata(key: keyText, value: valueText) }
            }
        }
    }
}

func metadata(_ box: ModelHandle) -> [(key: String, value: String)] {
    switch box.storage {
    case .float32(let network): return network.metadata
    case .float64(let network): return network.metadata
    }
}

/// Copies `value` NUL-terminated into buffer (capacity bytes), reporting its length.
func copyText(
    _ value: String, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: UInt,
    _ outLength: UnsafeMutablePointer<Int>
) throws(APIError) {
    let bytes = Array(value.utf8)
    outLength.pointee = bytes.count
    guard let buffer else { return }
    guard capacity.saturatingInt > bytes.count else {
        throw APIError(SMLP_ERR_SHAPE_MISMATCH, "capacity is \(capacity) bytes, but the text needs \(bytes.count + 1) with its NUL")
    }
    for (index, byte) in bytes.enumerated() { buffer[index] = CChar(bitPattern: byte) }
    buffer[bytes.count] = 0
}

@_cdecl("smlp_get_metadata")
public func smlp_get_metadata(
    _ model: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ buffer: UnsafeMutablePointer<CChar>?,
    _ capacity: UInt, _ outLength: UnsafeMutablePointer<Int>?
) -> smlp_status {
    runReportingErrors("smlp_get_metadata") { () throws(APIError) in
        try reading(model) { (box) throws(APIError) in
            let keyText = try text(try require(key, "key"), "key")
            let length = try require(outLength, "out_length")
            guard let entry = metadata(box).first(where: { $0.key == keyText }) else {
                throw APIError(SMLP_ERR_INVALID_ARGUMENT, "no metadata key \"\(keyText)\"")
            }
            try copyText(entry.value, buffer, capacity, length)
        }
    }
}

@_cdecl("smlp_metadata_count")
public func smlp_metadata_count(_ model: OpaquePointer?) -> Int {
    var count = 0
    _ = runReportingErrors("smlp_metadata_count") { () throws(APIError) in
        try reading(model) { (box) throws(APIError) in count = metadata(box).count }
    }
    return count
}

@_cdecl("smlp_metadata_count_get")
public func smlp_metadata_count_get(_ model: OpaquePointer?, _ outCount: UnsafeMutablePointer<Int>?) -> smlp_status {
    runReportingErrors("smlp_metadata_count_get") { () throws(APIError) in
        try reading(model) { (box) throws(APIError) in
            try require(outCount, "out_count").pointee = metadata(box).count
        }
    }
}

@_cdecl("smlp_metadata_key")
public func smlp_metadata_key(
    _ model: OpaquePointer?, _ index: UInt, _ buffer: UnsafeMutablePointer<CChar>?,
    _ capacity: UInt, _ outLength: UnsafeMutablePointer<Int>?
) -> smlp_status {
    runReportingErrors("smlp_metadata_key") { () throws(APIError) in
        try reading(model) { (box) throws(APIError) in
            let length = try require(outLength, "out_length")
            let entries = metadata(box)
            let position = try SwiftMLPCABI.index(index, below: entries.count,
                "index is \(index), but the model has \(entries.count) metadata keys")
            try copyText(entries[position].key, buffer, capacity, length)
        }
    }
}

@_cdecl("smlp_export_c")
public func smlp_export_c(
    _ model: OpaquePointer?, _ path: UnsafePointer<CChar>?, _ prefix: UnsafePointer<CChar>?
) -> smlp_status {
    runReportingErrors("smlp_export_c") { () throws(APIError) in
        try reading(model) { (box) throws(APIError) in
            let target = try text(try require(path, "path"), "path")
            let name = prefix == nil ? "smlp_model" : try text(prefix!, "prefix")
            switch box.storage {
            case .float32(let n): try engine { () throws(MLPError) in try n.exportC(to: target, prefix: name) }
            case .float64(let n): try engine { () throws(MLPError) in try n.exportC(to: target, prefix: name) }
            }
        }
    }
}
