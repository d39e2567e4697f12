// Per-thread error messages for smlp_last_error(), and the status each engine error
// maps to. A message is copied into a buffer owned by the calling thread (freed when
// the thread exits), so messages from different threads never mix.

import CSwiftMLP
import SwiftMLP
import CShim

/// Bytes kept per thread, including the terminating NUL; longer messages are cut.
let errorMessageCapacity = 1024

/// The key of each thread's message buffer; the destructor frees it at thread exit
/// (the library is linked -z nodelete, so the destructor outlives a dlclose). Nil when
/// the process has no key left (PTHREAD_KEYS_MAX): messages are then not kept, rather
/// than written through key 0, which belongs to someone else.
let errorMessageKey: pthread_key_t? = {
    var key = pthread_key_t()
    guard pthread_key_create(&key, { buffer in free(buffer) }) == 0 else { return nil }
    return key
}()

/// The empty message returned before any failure.
let emptyMessage: StaticString = ""

/// A failure on its way out of the C ABI: the status to return and what to say.
struct APIError: Error {
    let status: smlp_status
    let message: String

    init(_ status: smlp_status, _ message: String) {
        self.status = status
        self.message = message
    }

    init(_ error: MLPError) {
        self.message = error.message
        self.status = smlp_status(rawValue: .init(error.kind.rawValue))
    }
}

/// Stores "function: message" as this thread's last error.
func recordLastError(function: StaticString, message: String) {
    guard let errorMessageKey else { return }
    var buffer = pthread_getspecific(errorMessageKey)
    if buffer == nil {
        guard let fresh = malloc(errorMessageCapacity) else { return }
        guard pthread_setspecific(errorMessageKey, fresh) == 0 else {
            free(fresh)
            return
        }
        buffer = fresh
    }
    let bytes = buffer.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self)
    var length = 0
    func append<C: Collection>(_ piece: C) where C.Element == UInt8 {
        for byte in piece where length < errorMessageCapacity - 1 {
            bytes[length] = byte
            length += 1
        }
    }
    function.withUTF8Buffer { append($0) }
    append(": ".utf8)
    append(message.utf8)
    bytes[length] = 0
}

/// Runs `body` in the library's floating-point environment (`cshim_enter_default_fp`:
/// the caller's is restored after), turning a thrown error into its status and this
/// thread's message.
@inline(__always)
func runReportingErrors(
    _ function: StaticString, _ body: () throws(APIError) -> Void
) -> smlp_status {
    let callerEnvironment = cshim_enter_default_fp()
    defer { cshim_leave_default_fp(callerEnvironment) }
    return runReportingErrorsInCallersEnvironment(function, body)
}

/// `runReportingErrors` without the switch of floating-point environment: for the
/// per-row calls (smlp_predict, smlp_step, smlp_gradients), where reading the
/// environment would cost a fifth of a small network's call.
@inline(__always)
func runReportingErrorsInCallersEnvironment(
    _ function: StaticString, _ body: () throws(APIError) -> Void
) -> smlp_status {
    do {
        try body()
        return SMLP_OK
    } catch {
        recordLastError(function: function, message: error.message)
        return error.status
    }
}

/// Runs an engine call, converting its error.
@inline(__always)
func engine<Result>(_ body: () throws(MLPError) -> Result) throws(APIError) -> Result {
    do {
        return try body()
    } catch {
        throw APIError(error)
    }
}

/// Fails with NULL_ARGUMENT when `pointer` is nil.
@inline(__always)
func require<T>(_ pointer: T?, _ name: StaticString) throws(APIError) -> T {
    guard let pointer else { throw APIError(SMLP_ERR_NULL_ARGUMENT, "\(name) is NULL") }
    return pointer
}

/// This thread's message buffer, if a call has failed on it.
func pthreadMessageBuffer() -> UnsafeMutablePointer<CChar>? {
    guard let errorMessageKey else { return nil }
    return pthread_getspecific(errorMessageKey)?.assumingMemoryBound(to: CChar.self)
}
