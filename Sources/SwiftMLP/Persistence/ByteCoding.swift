// Little-endian byte writing and bounds-checked reading, and CRC-32, for the model
// file format (docs/format.md). The reader never trusts a length it reads: every
// read checks the bytes that remain first, so a hostile file cannot make it read out
// of bounds or allocate more than the file holds.

/// Writes little-endian values into caller memory, or, with no memory, only counts
/// the bytes (the first of the two passes of a save: size, then bytes). With a sink,
/// the memory is a chunk handed to the sink each time it fills, so a file is written
/// in pieces without a copy of the whole model. Keeps the CRC-32 of what it wrote.
/// Never allocates, so serialising a model can fail only where its memory is allocated
/// or where the sink fails.
struct ByteWriter {
    typealias Sink = (UnsafeRawBufferPointer) throws(MLPError) -> Void
    private let base: UnsafeMutableRawPointer?
    private let capacity: Int
    private let sink: Sink?
    /// Bytes written so far (the file offset of the next byte).
    private(set) var count = 0
    /// Bytes in `base` not yet handed to the sink, and how many of those the CRC covers.
    private var buffered = 0, checksummed = 0
    private var crc: UInt32 = 0xFFFF_FFFF
    /// The sink's first failure; later bytes are dropped.
    private(set) var failure: MLPError? = nil

    /// A writer into `base` (which must hold every byte written), or a counter.
    init(into base: UnsafeMutableRawPointer?) {
        self.base = base
        self.capacity = Int.max
        self.sink = nil
    }

    /// A writer that hands `chunk` to `sink` whenever it is full, and at `finish`.
    init(chunk: UnsafeMutableRawBufferPointer, sink: @escaping Sink) {
        self.base = chunk.baseAddress
        self.capacity = chunk.count
        self.sink = sink
    }

    @inline(__always) mutating func u8(_ value: UInt8) {
        if let base {
            if buffered == capacity { flush() }
            base.storeBytes(of: value, toByteOffset: buffered, as: UInt8.self)
            buffered += 1
        }
        count += 1
    }

    private mutating func updateChecksum() {
        guard let base, checksummed < buffered else { return }
        crc = CRC32.update(crc, UnsafeRawBufferPointer(start: base + checksummed, count: buffered - checksummed))
        checksummed = buffered
    }

    private mutating func flush() {
        updateChecksum()
        if let sink, let base, failure == nil {
            do throws(MLPError) {
                try sink(UnsafeRawBufferPointer(start: base, count: buffered))
            } catch {
                failure = error
            }
        }
        buffered = 0
        checksummed = 0
    }

    /// Appends the CRC-32 of everything written so far (the file's trailer) and hands
    /// the rest to the sink.
    mutating func finishWithChecksum() {
        updateChecksum()
        u32(crc ^ 0xFFFF_FFFF)
        checksummed = buffered      // the trailer is not part of the checksum
        if sink != nil { flush() }
    }
    mutating func u16(_ value: UInt16) { integer(value) }
    mutating func u32(_ value: UInt32) { integer(value) }
    mutating func u64(_ value: UInt64) { integer(value) }
    mutating func u64(_ value: Int) { integer(UInt64(value)) }
    mutating func f64(_ value: Double) { integer(value.bitPattern) }
    mutating func f32(_ value: Float) { integer(value.bitPattern) }

    @inline(__always) mutating func integer<T: FixedWidthInteger>(_ value: T) {
        for index in 0..<MemoryLayout<T>.size {
            u8(UInt8(truncatingIfNeeded: value >> (8 * index)))
        }
    }

    mutating func raw<C: Collection>(_ data: C) where C.Element == UInt8 {
        for byte in data { u8(byte) }
    }

}

/// Reads little-endian values from a byte buffer, throwing `badFormat` past its end.
struct ByteReader {
    let buffer: UnsafeRawBufferPointer
    private(set) var offset: Int

    init(_ buffer: UnsafeRawBufferPointer, offset: Int = 0) {
        self.buffer = buffer
        self.offset = offset
    }

    var remaining: Int { buffer.count - offset }

    mutating func require(_ count: Int, _ what: String) throws(MLPError) {
        guard count >= 0, count <= remaining else {
            throw MLPError(.badFormat,
                "the file is truncated: \(what) needs \(count) bytes at offset \(offset), but \(remaining) remain")
        }
    }

    mutating func integer<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws(MLPError) -> T {
        try require(MemoryLayout<T>.size, what)
        var value: T = 0
        for index in 0..<MemoryLayout<T>.size {
            value |= T(buffer[offset + index]) << (8 * index)
        }
        offset += MemoryLayout<T>.size
        return value
    }

    mutating func u8(_ what: String) throws(MLPError) -> UInt8 { try integer(UInt8.self, what) }
    mutating func u16(_ what: String) throws(MLPError) -> UInt16 { try integer(UInt16.self, what) }
    mutating func u32(_ what: String) throws(MLPError) -> UInt32 { try integer(UInt32.self, what) }
    mutating func u64(_ what: String) throws(MLPError) -> UInt64 { try integer(UInt64.self, what) }
    mutating func f64(_ what: String) throws(MLPError) -> Double {
        Double(bitPattern: try integer(UInt64.self, what))
    }
    mutating func f32(_ what: String) throws(MLPError) -> Float {
        Float(bitPattern: try integer(UInt32.self, what))
    }

    /// A u64 that must fit in `0...limit` (and so in Int).
    mutating func count(_ what: String, limit: Int) throws(MLPError) -> Int {
        let value = try u64(what)
        guard value <= UInt64(limit) else {
            throw MLPError(.badFormat, "\(what) is \(value), more than the \(limit) allowed")
        }
        return Int(value)
    }

    mutating func bytes(_ count: Int, _ what: String) throws(MLPError) -> UnsafeRawBufferPointer {
        try require(count, what)
        let slice = UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + count)])
        offset += count
        return slice
    }
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, initial and final XOR
/// 0xFFFFFFFF): the checksum of zlib, PNG and gzip, so any language can verify it.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index -> UInt32 in
        var c = UInt32(index)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        update(0xFFFF_FFFF, bytes) ^ 0xFFFF_FFFF
    }

    /// The running register after `bytes` (start at 0xFFFFFFFF, end with ^ 0xFFFFFFFF).
    static func update(_ register: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = register
        table.withUnsafeBufferPointer { t in
            for byte in bytes {
                crc = t[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
            }
        }
        return crc
    }
}
