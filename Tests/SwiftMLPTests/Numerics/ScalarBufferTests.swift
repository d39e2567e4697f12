// Tests of ScalarBuffer.swift: the engine's heap blocks are zeroed, aligned to a
// cache line whatever size malloc serves them at, and refuse sizes that overflow.

import XCTest
@testable import SwiftMLP

final class ScalarBufferTests: XCTestCase {
    /// Small blocks come from malloc's arenas and blocks above 128 KiB from mmap (16
    /// bytes past a page boundary in glibc); both must start on a 64-byte boundary,
    /// and every scalar must read 0.
    func testBlocksAreZeroedAndCacheLineAligned() throws {
        for count in [1, 3, 17, 1000, 40_000, 100_480, 1 << 20] {
            try checkBlock(Float.self, count: count)
            try checkBlock(Double.self, count: count)
        }
    }

    func checkBlock<Scalar: MLPScalar>(_: Scalar.Type, count: Int) throws {
        let buffer = try ScalarBuffer<Scalar>(zeroedCount: count, purpose: "test")
        XCTAssertEqual(Int(bitPattern: buffer.pointer) % 64, 0, "\(Scalar.self) x \(count)")
        XCTAssertEqual(buffer.count, count)
        XCTAssertTrue(buffer.bufferPointer.allSatisfy { $0 == 0 }, "\(Scalar.self) x \(count)")
        // The whole block is writable (ASan and valgrind runs would see an overrun).
        buffer.fill(with: 1)
        XCTAssertEqual(buffer.pointer[count - 1], 1)
    }

    /// A byte size past the address space is an `outOfMemory` error saying so, not
    /// a trap and not a failed calloc, including when only the alignment padding
    /// overflows (`largest`: its bytes fit, bytes + 64 do not).
    func testOverflowingSizesAreRefused() {
        let largest = Int.max / MemoryLayout<Double>.stride
        for count in [Int.max, largest, largest - 1] {
            do {
                _ = try ScalarBuffer<Double>(zeroedCount: count, purpose: "test")
                XCTFail("\(count) doubles: nothing was thrown")
            } catch {
                XCTAssertEqual(error.kind, .outOfMemory, "\(count) doubles")
                XCTAssertTrue(error.message.contains("overflow the address space"),
                              "\(count) doubles: \(error.message)")
            }
        }
    }
}
