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
    switch (transposeA, transposeB) {
    case (false, false):
        // C[i][j] = sum_p A[i][p] B[p][j], accumulated row by row of B.
        for i in 0..<m {
            let cRow = c + i * ldc
            cRow.update(repeating: 0, count: n)
            for p in 0..<k {
                let scale = a[i * lda + p], bRow = b + p * ldb
                for j in 0..<n { cRow[j] += scale * bRow[j] }
            }
        }
    case (true, false):
        // C[i][j] = sum_p A[p][i] B[p][j]  (A stored k x m)
        for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
        for p in 0..<k {
            let aRow = a + p * lda, bRow = b + p * ldb
            for i in 0..<m {
                let scale = aRow[i], cRow = c + i * ldc
                for j in 0..<n { cRow[j] += scale * bRow[j] }
            }
        }
    case (false, true):
        // C[i][j] = sum_p A[i][p] B[j][p]  (B stored n x k): dot products.
        for i in 0..<m {
            let aRow = a + i * lda, cRow = c + i * ldc
            for j in 0..<n {
                let bRow = b + j * ldb
                var total: Scalar = 0
                for p in 0..<k { total += aRow[p] * bRow[p] }
                cRow[j] = total
            }
        }
    case (true, true):
        // Not used by the passes; kept correct for completeness.
        for i in 0..<m {
            for j in 0..<n {
                var total: Scalar = 0
                for p in 0..<k { total += a[p * lda + i] * b[j * ldb + p] }
                c[i * ldc + j] = total
            }
        }
    }
}
