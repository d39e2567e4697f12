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
    OpaquePointer(Unmanaged.passRetained(ModelHandle(network)).toOpaque())
}

@_cdecl("smlp_save")
public func smlp_save(_ model: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> smlp_status {
    runReportingErrors("smlp_save") { () throws(APIError) in
        try reading(model) { (box) throws(APIError) in
            let target = try text(try require(path, "path"), "path")
            try engine { () throws(MLPError) in try box.network.save(to: target) }
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
            let needed = try engine { () throws(MLPError) in try box.network.serializedSize() }
            size.pointee = needed
            guard let buffer else { return }
            guard capacity.saturatingInt >= needed else {
                throw APIError(SMLP_ERR_SHAPE_MISMATCH, "capacity is \(capacity) bytes, but the model needs \(needed)")
            }
            _ = try engine { () throws(MLPError) in
                try box.network.serialize(into: UnsafeMutableRawBufferPointer(start: buffer, count: needed))
            }
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
        try writing(model) { (box) throws(APIError) in
            let keyText = try text(try require(key, "key"), "key")
            let valueText: String? = value == nil ? nil : try text(value!, "value")
            try engine { () throws(MLPError) in try box.network.setMetadata(key: keyText, value: valueText) }
        }
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
            // Byte for byte, as the engine's setMetadata compares keys (no Unicode
            // normalisation).
            guard let entry = box.network.metadata.first(where: { $0.key.utf8.elementsEqual(keyText.utf8) }) else {
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
        try reading(model) { (box) throws(APIError) in count = box.network.metadata.count }
    }
    return count
}

@_cdecl("smlp_metadata_count_get")
public func smlp_metadata_count_get(_ model: OpaquePointer?, _ outCount: UnsafeMutablePointer<Int>?) -> smlp_status {
    runReportingErrors("smlp_metadata_count_get") { () throws(APIError) in
        try reading(model) { (box) throws(APIError) in
            try require(outCount, "out_count").pointee = box.network.metadata.count
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
            let entries = box.network.metadata
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
            try engine { () throws(MLPError) in try box.network.exportC(to: target, prefix: name) }
        }
    }
}
