// Saving and loading model files, through the path rules of FilePaths.swift (links,
// file kinds, names, permissions; the save is atomic). A save streams the file in
// chunks, so it needs one chunk of memory, not a copy of the model. Loading reads the
// whole file (its real size from fstat, never a size the file claims) and parses it
// with `deserializeNetwork`.

import CShim

/// Bytes a save buffers before each write(2).
let saveChunkSize = 64 << 10

extension Network {
    /// Writes the model to `path` atomically.
    /// - Throws: `nonFinite` (see `checkSavable`), `outOfMemory` for the chunk, `io`
    ///   with the operating system's reason; the target is untouched then.
    public func save(to path: String) throws(MLPError) {
        try checkSavable()   // before any file is created
        guard let chunk = malloc(saveChunkSize) else {
            throw MLPError(.outOfMemory, "cannot allocate \(saveChunkSize) bytes to save the model")
        }
        defer { free(chunk) }
        try writeFileAtomically(path: path) { (sink) throws(MLPError) in
            try serialize(through: UnsafeMutableRawBufferPointer(start: chunk, count: saveChunkSize), to: sink)
        }
    }
}

/// Reads a model file.
/// - Throws: `io` (missing, not a regular file, unreadable), `outOfMemory`, then what
///   `deserializeNetwork` throws.
public func loadNetwork(from path: String) throws(MLPError) -> AnyNetwork {
    try withContents(ofFile: path) { (bytes) throws(MLPError) in try deserializeNetwork(bytes) }
}
