// The C functions that bring models from other libraries in: FANN .net files.

import CSwiftMLP
import SwiftMLP

@_cdecl("smlp_load_fann")
public func smlp_load_fann(
    _ path: UnsafePointer<CChar>?, _ dtype: smlp_dtype, _ outModel: UnsafeMutablePointer<OpaquePointer?>?
) -> smlp_status {
    runReportingErrors("smlp_load_fann") { () throws(APIError) in
        let out = try require(outModel, "out_model")
        out.pointee = nil
        let source = try text(try require(path, "path"), "path")
        let type = try SwiftMLPCABI.dtype(from: dtype)
        let network = try engine { () throws(MLPError) in try loadFANNNetwork(from: source, dtype: type) }
        out.pointee = handle(for: network)
    }
}
