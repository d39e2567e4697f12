// What an smlp_model* points to: a network of either dtype, plus the flag that keeps
// two threads from changing one model at once.

import CSwiftMLP
import SwiftMLP
import Synchronization

/// The object behind an opaque `smlp_model *`. Retained once by smlp_create and
/// released by smlp_free; every other call borrows it.
final class ModelHandle {
    /// The network by dtype (what smlp_create makes and a load returns), for a call
    /// that needs its concrete type; every export in this module uses `network`.
    let storage: AnyNetwork
    /// The same network, for one call whatever its dtype.
    let network: any CNetwork
    /// The network's dtype, read by every call that takes data (no call through
    /// `network` to ask).
    let dtype: smlp_dtype
    /// 0: idle; n > 0: n readers; -1: one writer. Writers never wait: they fail busy.
    let usage = Atomic<Int>(0)

    init(_ storage: AnyNetwork) {
        self.storage = storage
        self.network = storage.typed
        self.dtype = network.cDType
    }

    /// Exclusive use for a changing call, or BUSY.
    func beginWriting() throws(APIError) {
        guard usage.compareExchange(expected: 0, desired: -1, ordering: .acquiring).exchanged else {
            throw APIError(SMLP_ERR_BUSY, "another call is using this model; nothing was changed")
        }
    }

    func endWriting() {
        usage.store(0, ordering: .releasing)
    }

    /// Shared use for a read-only call, or BUSY while a writer runs.
    func beginReading() throws(APIError) {
        var current = usage.load(ordering: .relaxed)
        while true {
            guard current >= 0 else {
                throw APIError(SMLP_ERR_BUSY, "a changing call is running on this model")
            }
            let (exchanged, original) = usage.compareExchange(
                expected: current, desired: current + 1, ordering: .acquiring)
            if exchanged { return }
            current = original
        }
    }

    func endReading() {
        // One locked subtract: the count is at least 1 here, so it cannot wrap.
        usage.wrappingSubtract(1, ordering: .releasing)
    }
}

/// The handle behind a non-NULL model pointer (borrowed, not retained).
@inline(__always)
func handle(_ model: OpaquePointer?) throws(APIError) -> ModelHandle {
    guard let model else { throw APIError(SMLP_ERR_NULL_ARGUMENT, "model is NULL") }
    return Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(model)).takeUnretainedValue()
}

/// Runs `body` with exclusive use of the model.
@inline(__always)
func writing(
    _ model: OpaquePointer?, _ body: (ModelHandle) throws(APIError) -> Void
) throws(APIError) {
    try borrowing(model) { (box) throws(APIError) in
        try box.beginWriting()
        defer { box.endWriting() }
        try body(box)
    }
}

/// Runs `body` with shared use of the model.
@inline(__always)
func reading(
    _ model: OpaquePointer?, _ body: (ModelHandle) throws(APIError) -> Void
) throws(APIError) {
    try borrowing(model) { (box) throws(APIError) in
        try box.beginReading()
        defer { box.endReading() }
        try body(box)
    }
}

/// Runs `body` with the handle behind a non-NULL model pointer, without the retain
/// and release (two locked instructions) that holding it as a reference costs: the
/// handle lives from smlp_create to smlp_free, and the header forbids smlp_free while
/// another call on the model runs.
@inline(__always)
func borrowing(
    _ model: OpaquePointer?, _ body: (ModelHandle) throws(APIError) -> Void
) throws(APIError) {
    guard let model else { throw APIError(SMLP_ERR_NULL_ARGUMENT, "model is NULL") }
    var failure: APIError? = nil
    // `_withUnsafeGuaranteedRef` rethrows untyped errors, which Embedded Swift cannot
    // carry: the closure keeps the error instead.
    Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(model))._withUnsafeGuaranteedRef { box in
        do throws(APIError) { try body(box) } catch { failure = error }
    }
    if let failure { throw failure }
}

/// Checks that data of `dtype` may be used with the model.
@inline(__always)
func requireDType(_ dtype: smlp_dtype, matches box: ModelHandle, _ name: StaticString) throws(APIError) {
    guard dtype == box.dtype else { throw dtypeMismatch(dtype, box.dtype, name) }
}

/// The error of `requireDType`, out of line so that the check inlines (CSize.swift,
/// `elementCountOverflow`).
@inline(never)
func dtypeMismatch(_ dtype: smlp_dtype, _ model: smlp_dtype, _ name: StaticString) -> APIError {
    APIError(SMLP_ERR_DTYPE_MISMATCH, "\(name) has dtype \(describe(dtype)) but the model is \(describe(model))")
}

func describe(_ dtype: smlp_dtype) -> String {
    switch dtype {
    case SMLP_FLOAT32: return "SMLP_FLOAT32"
    case SMLP_FLOAT64: return "SMLP_FLOAT64"
    default: return "unknown (\(dtype.rawValue))"
    }
}
