// The OpenBLAS thread count: a process-wide setting of the BLAS library, exposed so
// that callers embedding the library can fit it to their own threading.

import COpenBLAS

/// OpenBLAS's thread pool size (process-wide).
public enum BLASThreads {
    /// Threads OpenBLAS uses inside each matrix product.
    public static var count: Int { Int(openblas_get_num_threads()) }

    /// Sets the thread count; `n` must be in 1...1024.
    public static func set(_ n: Int) throws(MLPError) {
        guard n >= 1, n <= 1024 else {
            throw MLPError(.invalidArgument, "thread count is \(n); it must be in 1...1024")
        }
        openblas_set_num_threads(Int32(n))
    }
}
