// The one place where the library touches the file system by name: every file it
// writes (smlp_save, smlp_export_c) goes through `writeFileAtomically`, every file it
// reads (smlp_load) through `openRegularFileForReading`. The rules, which
// include/swiftmlp.h states under "Files":
//   Links        A symbolic link is followed, link by link (at most 40, as Linux's
//                own limit), to its final target, which is replaced, or created when
//                the link dangles into an existing folder; the link itself is never
//                replaced. A loop, a chain of more than 40 links, or a target folder
//                that does not exist is an IO error, and the link stays as it was.
//   Kinds        Only regular files are read or replaced: a folder, FIFO, socket or
//                device is refused (IO). The check never blocks: a save looks with
//                lstat and opens nothing it did not create; a load opens with
//                O_NONBLOCK | O_NOCTTY and checks with fstat before reading.
//   Names        The temporary file is ".smlp-" plus 12 random characters (18 bytes)
//                in the target's folder, so every name up to NAME_MAX can be saved.
//   Permissions  A replaced file keeps its mode; a new file gets 0666 & ~umask (the
//                temporary file is created with mode 0666 and the kernel applies the
//                umask and the folder's default ACL), as cp or a text editor would.
// A save is atomic: the bytes go to the temporary file, which is fsynced, renamed
// over the target, and the folder fsynced; on any failure the temporary is removed
// and the target is untouched.

import CShim

/// The text of errno, e.g. "No such file or directory".
func systemErrorText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}

/// The most symbolic links followed for one path (Linux's MAXSYMLINKS).
let maximumLinkHops = 40

/// Where a save of `path` writes: its final target after following symbolic links,
/// and the mode to give the file (nil: a new file, created 0666 & ~umask).
/// - Throws: `io` for a loop, too many links, a target that is not a regular file,
///   or a path the system refuses (the message has the OS error).
func resolveSaveTarget(_ requestedPath: String) throws(MLPError) -> (path: String, mode: mode_t?) {
    guard !requestedPath.isEmpty, !requestedPath.utf8.contains(0) else {
        throw MLPError(.io, "the path is empty or contains NUL")
    }
    var path = requestedPath
    var hops = 0
    while true {
        var info = stat()
        if lstat(path, &info) != 0 {
            let code = errno
            if code == ENOENT { return (path, nil) }   // a new file (its folder is checked on create)
            throw MLPError(.io, "\(path): \(systemErrorText(code))")
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            return (path, info.st_mode & 0o7777)
        case S_IFLNK:
            hops += 1
            guard hops <= maximumLinkHops else {
                throw MLPError(.io,
                    "\(requestedPath): \(systemErrorText(ELOOP)) (a loop, or more than \(maximumLinkHops) links); nothing was written")
            }
            var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = readlink(path, &target, Int(PATH_MAX))
            guard length > 0 else {
                throw MLPError(.io, "cannot read the symbolic link \(path): \(systemErrorText(errno))")
            }
            let link = String(decoding: target[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // A relative link is relative to the folder that holds the link.
            path = link.utf8.first == UInt8(ascii: "/") ? link : folder(of: path) + "/" + link
        case S_IFDIR:
            throw MLPError(.io, "\(path): Is a directory; not replacing it")
        default:
            throw MLPError(.io, "\(path): not a regular file (a FIFO, socket or device); not replacing it")
        }
    }
}

/// The folder part of `path` ("." when it has none).
func folder(of path: String) -> String {
    let bytes = path.utf8
    guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return "." }
    return slash == bytes.startIndex ? "/" : String(decoding: bytes[..<slash], as: UTF8.self)
}

/// Creates a new temporary file in `folder` with mode 0666 (less the umask), named
/// ".smlp-" plus 12 random characters. (Without random bits the names still differ
/// from try to try, and O_EXCL makes a taken one a retry.)
func createTemporaryFile(in folder: String) throws(MLPError) -> (descriptor: Int32, path: String) {
    let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
    for attempt in 0..<100 {
        var name = ".smlp-"
        var bits = kernelRandomBits() ^ (UInt64(attempt) &* 0x9E37_79B9_7F4A_7C15)
        for _ in 0..<12 {
            name.unicodeScalars.append(Unicode.Scalar(alphabet[Int(bits % 36)]))
            bits /= 36
        }
        let path = folder + "/" + name
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o666)
        if descriptor >= 0 { return (descriptor, path) }
        if errno != EEXIST {
            throw MLPError(.io, "cannot create a temporary file in \(folder): \(systemErrorText(errno)); nothing was written")
        }
    }
    throw MLPError(.io, "cannot create a temporary file in \(folder): every name tried exists")
}

/// Writes all of `bytes` to `descriptor`, retrying short writes and EINTR.
func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, _ path: String) throws(MLPError) {
    var written = 0
    while written < bytes.count, let start = bytes.baseAddress {
        let result = write(descriptor, start + written, bytes.count - written)
        if result < 0 {
            if errno == EINTR { continue }
            throw MLPError(.io, "cannot write \(path): \(systemErrorText(errno))")
        }
        written += result
    }
}

/// Writes a file at `path` atomically (see the rules at the top of this file).
/// `produce` receives the sink for the file's bytes and may call it any number of
/// times, so a file is written in pieces without being held whole in memory.
/// - Throws: `io` with the operating system's reason, or what `produce` throws; the
///   target is untouched then.
func writeFileAtomically(
    path requestedPath: String, _ produce: (@escaping ByteWriter.Sink) throws(MLPError) -> Void
) throws(MLPError) {
    let (path, mode) = try resolveSaveTarget(requestedPath)
    let folderPath = folder(of: path)
    let (descriptor, temporaryPath) = try createTemporaryFile(in: folderPath)
    var failure: MLPError? = nil
    if let mode, fchmod(descriptor, mode) != 0 {
        failure = MLPError(.io, "cannot set the permissions of \(path): \(systemErrorText(errno))")
    }
    if failure == nil {
        do throws(MLPError) {
            try produce { (bytes) throws(MLPError) in try writeAll(descriptor, bytes, path) }
        } catch {
            failure = error
        }
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
    let folderDescriptor = open(folderPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if folderDescriptor >= 0 {
        _ = fsync(folderDescriptor)
        close(folderDescriptor)
    }
}

/// Opens `path` for reading, refusing anything but a regular file without blocking
/// (a FIFO with no writer would block a plain open for ever). Returns the descriptor
/// (blocking again) and the file's size.
/// - Throws: `io` with the operating system's reason.
func openRegularFileForReading(_ path: String) throws(MLPError) -> (descriptor: Int32, size: Int) {
    guard !path.isEmpty, !path.utf8.contains(0) else {
        throw MLPError(.io, "the path is empty or contains NUL")
    }
    let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
    guard descriptor >= 0 else {
        throw MLPError(.io, "cannot open \(path): \(systemErrorText(errno))")
    }
    var info = stat()
    guard fstat(descriptor, &info) == 0 else {
        let code = errno
        close(descriptor)
        throw MLPError(.io, "cannot stat \(path): \(systemErrorText(code))")
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
        close(descriptor)
        let kind = (info.st_mode & S_IFMT) == S_IFDIR ? "a directory" : "a FIFO, socket or device"
        throw MLPError(.io, "\(path) is not a regular file (\(kind))")
    }
    let flags = fcntl(descriptor, F_GETFL)
    if flags >= 0 { _ = fcntl(descriptor, F_SETFL, flags & ~O_NONBLOCK) }
    return (descriptor, Int(info.st_size))
}

/// Calls `body` with the whole contents of the regular file at `path` (opened as
/// `openRegularFileForReading` does, its real size from fstat).
/// - Throws: `io` (missing, not a regular file, unreadable), `outOfMemory`, or what
///   `body` throws.
public func withContents<T>(
    ofFile path: String, _ body: (UnsafeRawBufferPointer) throws(MLPError) -> T
) throws(MLPError) -> T {
    let (descriptor, size) = try openRegularFileForReading(path)
    defer { close(descriptor) }
    guard let memory = malloc(max(size, 1)) else {
        throw MLPError(.outOfMemory, "cannot allocate \(size) bytes to read \(path)")
    }
    defer { free(memory) }
    var done = 0
    while done < size {
        let result = read(descriptor, memory + done, size - done)
        if result < 0 {
            if errno == EINTR { continue }
            throw MLPError(.io, "cannot read \(path): \(systemErrorText(errno))")
        }
        if result == 0 { break }
        done += result
    }
    return try body(UnsafeRawBufferPointer(start: memory, count: done))
}
