// size_t across the C ABI. Swift imports size_t as Int, so a value above Int.max
// (SSIZE_MAX) would arrive negative and be compared and printed as such. The rule:
// every export takes its size_t arguments as UInt (the C type's own meaning), reads
// size_t struct fields through `cSize`, prints them as UInt, and turns them into Int
// only through the functions below, each with a defined rule for values above Int.max:
//   limit/capacity  `saturatingInt`: more than anything can need, so Int.max
//                   (a buffer capacity of SIZE_MAX is large enough; SIZE_MAX epochs
//                   run until stopped);
//   must equal      `requireSize(_:equals:)`: SHAPE_MISMATCH unless it equals the
//                   model's value, never true above Int.max;
//   memory claim    `elementCount`, `byteCount`: above what any buffer can hold,
//                   SHAPE_MISMATCH (a shape) or INVALID_ARGUMENT (a byte size).
// Tests/c/test_hostile.c (test_sizes) calls every export with 2^63 and SIZE_MAX in
// each size_t argument and field, and checks no message prints a negative number.

import CSwiftMLP
import SwiftMLP

/// A size_t struct field (imported as Int) as the unsigned value the caller stored.
@inline(__always)
func cSize(_ field: Int) -> UInt {
    UInt(bitPattern: field)
}

extension UInt {
    /// A limit or a capacity: values above Int.max mean "more than anything needs".
    @inline(__always)
    var saturatingInt: Int {
        self > UInt(Int.max) ? Int.max : Int(self)
    }
}

/// A size that must equal the model's `expected`; SHAPE_MISMATCH naming both otherwise.
@inline(__always)
func requireSize(
    _ value: UInt, equals expected: Int, _ message: @autoclosure () -> String
) throws(APIError) {
    guard expected >= 0, value == UInt(expected) else {
        throw APIError(SMLP_ERR_SHAPE_MISMATCH, message())
    }
}

/// rows * columns elements of memory the caller passes, or SHAPE_MISMATCH naming the
/// product when it exceeds Int.max (no buffer can be that large).
@inline(__always)
func elementCount(_ rows: UInt, _ columns: UInt, _ name: StaticString) throws(APIError) -> Int {
    let (product, overflow) = rows.multipliedReportingOverflow(by: columns)
    guard !overflow, product <= UInt(Int.max) else { throw elementCountOverflow(rows, columns, name) }
    return Int(product)
}

/// The error of `elementCount`, built out of line: the message's string code kept the
/// check from inlining, and every predict and step paid a call with a full stack frame.
@inline(never)
func elementCountOverflow(_ rows: UInt, _ columns: UInt, _ name: StaticString) -> APIError {
    APIError(SMLP_ERR_SHAPE_MISMATCH, "\(name): \(rows) x \(columns) elements overflow")
}

/// A byte size of caller memory the library reads: above Int.max no buffer can exist,
/// so it is INVALID_ARGUMENT naming the value.
@inline(__always)
func byteCount(_ value: UInt, _ name: StaticString) throws(APIError) -> Int {
    guard value <= UInt(Int.max) else {
        throw APIError(SMLP_ERR_INVALID_ARGUMENT,
            "\(name) is \(value) bytes, more than any buffer can hold (at most \(Int.max))")
    }
    return Int(value)
}

/// A 0-based index: values above Int.max are out of range like any other too-large one.
@inline(__always)
func index(_ value: UInt, below count: Int, _ message: @autoclosure () -> String) throws(APIError) -> Int {
    guard value < UInt(max(count, 0)) else {
        throw APIError(SMLP_ERR_INVALID_ARGUMENT, message())
    }
    return Int(value)
}
