// A fixed-size block of scalars on the C heap. The engine allocates its parameters,
// gradients, optimizer state and workspaces through this type so that an allocation
// that cannot be satisfied becomes an `outOfMemory` error instead of a trap.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `count` scalars, zero-initialised, owned by whoever created it and released with
/// `deallocate()` exactly once. A value type with no reference counting, so reading
/// through it on the hot path costs nothing.
struct ScalarBuffer<Scalar: MLPScalar> {
    let base: UnsafeMutablePointer<Scalar>?
    let count: Int

    /// An empty buffer that owns nothing.
    init() {
        self.init(base: nil, count: 0)
    }

    private init(base: UnsafeMutablePointer<Scalar>?, count: Int) {
        self.base = base
        self.count = count
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
        guard !overflow else {
            throw MLPError(.outOfMemory, "\(purpose): \(count) scalars overflow the address space")
        }
        // calloc, not malloc + memset: large blocks come from mmap already zeroed, so
        // untouched workspace costs no resident memory.
        guard let memory = calloc(count, MemoryLayout<Scalar>.stride) else {
            throw MLPError(.outOfMemory, "\(purpose): cannot allocate \(bytes) bytes")
        }
        self.init(base: memory.bindMemory(to: Scalar.self, capacity: count), count: count)
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

    func copy(from source: ScalarBuffer<Scalar>) {
        precondition(source.count == count)
        if count > 0 { pointer.update(from: source.pointer, count: count) }
    }

    func deallocate() {
        if let base { free(base) }
    }
}
