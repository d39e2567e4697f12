// A fixed-size block of scalars on the C heap. The engine allocates its parameters,
// gradients, optimizer state and workspaces through this type so that an allocation
// that cannot be satisfied becomes an `outOfMemory` error instead of a trap.

import CShim

/// `count` scalars, zero-initialised, freed when the buffer goes away. Noncopyable,
/// so it has exactly one owner and no reference counting: reading through it on the
/// hot path costs nothing.
struct ScalarBuffer<Scalar: MLPScalar>: ~Copyable {
    /// The first scalar, at a multiple of `alignment` bytes.
    let base: UnsafeMutablePointer<Scalar>?
    let count: Int
    /// What calloc returned, for free.
    private let allocation: UnsafeMutableRawPointer?

    /// Cache-line alignment of `base`. glibc serves blocks above 128 KiB with mmap,
    /// 16 bytes past a page boundary, so without it every row of a large weight
    /// matrix or workspace matrix would start 16 bytes into a cache line, and the
    /// 64-byte loads of OpenBLAS's packing routines would each straddle two lines.
    static var alignment: Int { 64 }

    /// The scalars a rows x width matrix takes when the next one must start on a
    /// line too: rows x width rounded up to whole `alignment`-byte lines. Nil when
    /// that overflows Int.
    static func lineAlignedCount(rows: Int, width: Int) -> Int? {
        let line = alignment / MemoryLayout<Scalar>.stride
        let (size, overflow1) = rows.multipliedReportingOverflow(by: width)
        let (padded, overflow2) = size.addingReportingOverflow(line - 1)
        guard !overflow1, !overflow2 else { return nil }
        return padded / line * line
    }

    /// An empty buffer that owns nothing.
    init() {
        self.init(base: nil, count: 0, allocation: nil)
    }

    private init(base: UnsafeMutablePointer<Scalar>?, count: Int, allocation: UnsafeMutableRawPointer?) {
        self.base = base
        self.count = count
        self.allocation = allocation
    }

    /// Allocates `count` zeroed scalars.
    /// - Throws: `outOfMemory` when the byte size overflows or malloc fails.
    init(zeroedCount count: Int, purpose: StaticString) throws(MLPError) {
        precondition(count >= 0)
        if count == 0 {
            self.init()
            return
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<Scalar>.stride)
        let (padded, paddingOverflow) = bytes.addingReportingOverflow(Self.alignment)
        guard !overflow, !paddingOverflow else {
            throw MLPError(.outOfMemory, "\(purpose): \(count) scalars overflow the address space")
        }
        // calloc, not malloc + memset (or posix_memalign, which has no zeroing
        // variant): large blocks come from mmap already zeroed, so untouched
        // workspace costs no resident memory. `alignment` bytes more, to align.
        guard let memory = calloc(padded, 1) else {
            throw MLPError(.outOfMemory, "\(purpose): cannot allocate \(bytes) bytes")
        }
        let misalignment = Int(bitPattern: memory) & (Self.alignment - 1)
        let first = memory + (misalignment == 0 ? 0 : Self.alignment - misalignment)
        self.init(base: first.bindMemory(to: Scalar.self, capacity: count), count: count, allocation: memory)
    }

    /// The first element. Only valid when `count > 0`.
    @inline(__always) var pointer: UnsafeMutablePointer<Scalar> { base.unsafelyUnwrapped }

    @inline(__always) func address(_ offset: Int) -> UnsafeMutablePointer<Scalar> {
        pointer + offset
    }

    var bufferPointer: UnsafeMutableBufferPointer<Scalar> {
        UnsafeMutableBufferPointer(start: base, count: count)
    }

    func fill(with value: Scalar) {
        if count > 0 { pointer.update(repeating: value, count: count) }
    }

    func copy(from source: borrowing ScalarBuffer<Scalar>) {
        precondition(source.count == count)
        if count > 0 { copyScalars(pointer, from: source.pointer, count: count) }
    }

    deinit {
        if let allocation { free(allocation) }
    }
}

/// Copies `count` scalars (the ranges may overlap) with one memmove. Not
/// `UnsafeMutablePointer.update(from:count:)`: Embedded Swift compiles that to a loop
/// with an outlined assignment per element, several times slower on a weight matrix.
@inline(__always)
func copyScalars<Scalar: MLPScalar>(
    _ destination: UnsafeMutablePointer<Scalar>, from source: UnsafePointer<Scalar>, count: Int
) {
    UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * MemoryLayout<Scalar>.stride)
}
