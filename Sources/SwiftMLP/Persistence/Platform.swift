// What the Glibc overlay gave the file code, over CShim, so that both builds (the
// SwiftPM one and Embedded Swift, which has no Glibc) read the same: errno, the
// variadic open(2) and fcntl(2), and the file-type constants as mode_t (Swift imports
// the S_IF* macros as Int32). The values are Linux's, as the overlay's are.

import CShim

/// The calling thread's errno.
var errno: Int32 { cshim_errno() }

func open(_ path: UnsafePointer<CChar>, _ flags: Int32) -> Int32 {
    cshim_open(path, flags, 0)
}

func open(_ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t) -> Int32 {
    cshim_open(path, flags, mode)
}

func fcntl(_ descriptor: Int32, _ command: Int32) -> Int32 {
    cshim_fcntl(descriptor, command, 0)
}

func fcntl(_ descriptor: Int32, _ command: Int32, _ argument: Int32) -> Int32 {
    cshim_fcntl(descriptor, command, argument)
}

let S_IFMT: mode_t = 0o170000
let S_IFREG: mode_t = 0o100000
let S_IFDIR: mode_t = 0o040000
let S_IFLNK: mode_t = 0o120000
