// Matrix products for the passes: OpenBLAS for real sizes, and plain loops for tiny
// ones, where a BLAS call's fixed cost (argument checks, buffer setup, a mutex) is
// many times the arithmetic. Both paths are deterministic for a given shape, so the
// same seed still gives the same bits.

/// Products with at most this many multiply-adds (m * n * k) skip BLAS. Chosen by
/// measurement on bench configurations c and d (docs/performance.md).
let smallProductLimit = 4096

/// Row-major C = op(A) · op(B), with op(A) m x k and op(B) k x n (beta = 0).
/// The transposes used by the passes: NN (forward), TN (weight gradient), NT (input
/// gradient).
@inline(__always)
func multiply<Scalar: MLPScalar>(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    a: UnsafePointer<Scalar>, lda: Int, b: UnsafePointer<Scalar>, ldb: Int,
    c: UnsafeMutablePointer<Scalar>, ldc: Int
) {
    if m * n * k > smallProductLimit {
        Scalar.gemm(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
            alpha: 1, a: a, lda: lda, b: b, ldb: ldb, beta: 0, c: c, ldc: ldc)
        return
    }
    // Every element as one dot product kept in a register: the inner loops store
    // nothing, so the compiler needs no runtime aliasing checks or vector prologues,
    // which at these sizes cost more than the arithmetic. Operands fit in L1 here.
    let aRowStride = transposeA ? 1 : lda, aDepthStride = transposeA ? lda : 1
    let bDepthStride = transposeB ? 1 : ldb, bColumnStride = transposeB ? ldb : 1
    for i in 0..<m {
        let aRow = a + i * aRowStride, cRow = c + i * ldc
        for j in 0..<n {
            let bColumn = b + j * bColumnStride
            var total: Scalar = 0
            for p in 0..<k { total += aRow[p * aDepthStride] * bColumn[p * bDepthStride] }
            cRow[j] = total
        }
    }
}
