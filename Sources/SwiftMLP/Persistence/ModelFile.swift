// Saving and loading model files. A save is atomic: the bytes go to a temporary file
// in the same folder, which is flushed and fsynced, then renamed over the target, and
// the folder is fsynced, so a crash or a full disk mid-save never leaves a half-written
// file where a good model used to be. Loading reads the whole file (its real size from
// fstat, never a size the file claims) and parses it with `deserializeNetwork`.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The text of errno, e.g. "No such file or directory".
func systemErrorText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}

extension Network {
    /// Writes the model to `path` atomically.
    /// - Throws: `io` with the operating system's reason; the target is untouched then.
    public func save(to path: String) throws(MLPError) {
        let size = try serializedSize()
        guard let memory = malloc(size) else {
            throw MLPError(.outOfMemory, "cannot allocate \(size) bytes to save the model")
        }
        defer { free(memory) }
        let written = try serialize(into: UnsafeMutableRawBufferPointer(start: memory, count: size))
        try writeFileAtomically(path: path, bytes: UnsafeRawBufferPointer(start: memory, count: written))
    }
}

/// Writes `bytes` to a temporary file next to `path`, fsyncs it, renames it onto
/// `path`, and fsyncs the folder.
func writeFileAtomically(path requestedPath: String, bytes: UnsafeRawBufferPointer) throws(MLPError) {
    guard !requestedPath.isEmpty, !requestedPath.utf8.contains(0) else {
        throw MLPError(.io, "the path is empty or contains NUL")
    }
    // An existing target must be a regular file (or a link to one, which is then
    // replaced at its real location, so the link survives); its permissions are kept.
    var path = requestedPath
    var mode: mode_t = 0o644
    var existing = stat()
    if stat(requestedPath, &existing) == 0 {
        guard (existing.st_mode & S_IFMT) == S_IFREG else {
            let kind = (existing.st_mode & S_IFMT) == S_IFDIR ? "Is a directory" : "not a regular file"
            throw MLPError(.io, "\(requestedPath): \(kind); not replacing it")
        }
        mode = existing.st_mode & 0o7777
        if let resolved = realpath(requestedPath, nil) {
            path = String(cString: resolved)
            free(resolved)
        }
    }
    let folder: String
    if let slash = path.lastIndex(of: "/") {
        folder = slash == path.startIndex ? "/" : String(path[path.startIndex..<slash])
    } else {
        folder = "."
    }
    // mkstemp replaces the XXXXXX in place; it needs a mutable, NUL-terminated copy.
    var template = Array((path + ".tmp-XXXXXX").utf8CString)
    let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard descriptor >= 0 else {
        throw MLPError(.io, "cannot create a temporary file next to \(path): \(systemErrorText(errno))")
    }
    let temporaryPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    var failure: MLPError? = nil
    // mkstemp creates 0600; give the file the old file's mode, or 0644 for a new one.
    if fchmod(descriptor, mode) != 0 {
        failure = MLPError(.io, "cannot set the permissions of \(path): \(systemErrorText(errno))")
    }
    var written = 0
    while failure == nil, written < bytes.count, let start = bytes.baseAddress {
        let result = write(descriptor, start + written, bytes.count - written)
        if result < 0 {
            if errno == EINTR { continue }
            failure = MLPError(.io, "cannot write \(path): \(systemErrorText(errno))")
            break
        }
        written += result
    }
    if failure == nil, fsync(descriptor) != 0 {
        failure = MLPError(.io, "cannot flush \(path) to disk: \(systemErrorText(errno))")
    }
    if close(descriptor) != 0, failure == nil {
        failure = MLPError(.io, "cannot close \(path): \(systemErrorText(errno))")
    }
    if failure == nil, rename(temporaryPath, path) != 0 {
        failure = MLPError(.io, "cannot rename the temporary file onto \(path): \(systemErrorText(errno))")
    }
    if let failure {
        unlink(temporaryPath)
        throw failure
    }
    // Make the rename itself durable. A folder that cannot be opened for fsync
    // (some filesystems) leaves the file written and renamed, which is still atomic.
    let folderDescriptor = open(folder, O_RDONLY | O_DIRECTORY)
    if folderDescriptor >= 0 {
        _ = fsync(folderDescriptor)
        close(folderDescriptor)
    }
}

/// Reads a model file.
/// - Throws: `io` (missing, a directory, unreadable), then what `deserializeNetwork`
///   throws.
public func loadNetwork(from path: String) throws(MLPError) -> AnyNetwork {
    try withContents(ofFile: path) { (bytes) throws(MLPError) in try deserializeNetwork(bytes) }
}
