// Structs that grew after 0.1.0 (smlp_optimizer_config, smlp_train_options) and the
// init functions that fill them. A program built against an older header has a
// shorter struct, so an init function may write only as many bytes as the caller's
// struct has: the header's init macros pass sizeof, and the plain symbols (what
// programs built against 0.1.0 call) write 0.1.0's size.

/// Writes the first `size` bytes of `value` (all of it when `size` is larger) to
/// `destination`, whose first field is a size_t struct_size that receives the number
/// of bytes written. Nothing is written when `size` cannot hold struct_size.
func writeGrowingStruct<T>(_ value: T, to destination: UnsafeMutablePointer<T>, size: UInt) {
    let count = Int(min(size, UInt(MemoryLayout<T>.size)))
    guard count >= MemoryLayout<Int>.size else { return }
    var copy = value
    withUnsafeMutableBytes(of: &copy) { bytes in
        bytes.storeBytes(of: count, as: Int.self)
        UnsafeMutableRawPointer(destination).copyMemory(from: bytes.baseAddress!, byteCount: count)
    }
}
