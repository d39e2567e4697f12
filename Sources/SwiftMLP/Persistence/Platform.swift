// What the Glibc overlay gave the file code, over CShim, so that both builds (the
// SwiftPM one and Embedded Swift, which has no Glibc) read the same: errno, the
// variadic open(2) and fcntl(2), and the file-type constants as mode_t (Swift imports
// the S_IF* macros as Int32). The values are Linux's, as the overlay's are. And
// random bits from getrandom(2), which Swift's SystemRandomNumberGenerator would take
// from arc4random_buf: a glibc 2.36 symbol, which would raise the glibc the library
// needs from 2.34 (docs/install.md).

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

/// 64 bits from the kernel's random source (getrandom(2), without blocking), or 0
/// when it has none to give.
func kernelRandomBits() -> UInt64 {
    var bits: UInt64 = 0
    let count = withUnsafeMutableBytes(of: &bits) { getrandom($0.baseAddress, $0.count, UInt32(GRND_NONBLOCK)) }
    return count == MemoryLayout<UInt64>.size ? bits : 0
}
