// Matrix products for the passes: OpenBLAS for real sizes, and plain loops for tiny
// ones, where a BLAS call's fixed cost (argument checks, buffer setup, a mutex) is
// many times the arithmetic. Both paths are deterministic for a given shape, so the
// same seed still gives the same bits.

/// Products with at most this many multiply-adds (m * n * k) skip BLAS. Chosen by
/// measurement on bench configurations c and d (docs/performance.md).
let smallProductLimit = 4096

/// Whether `multiply` hands an m x k by k x n product to OpenBLAS: m * n * k >
/// smallProductLimit, without forming a product that might not fit an Int (each
/// pairwise product of the three is the size of a matrix that exists, but all three
/// together need not fit, and a trap would kill the host). Dimensions are >= 1, so
/// one above the limit decides; below it, m * n * k <= limit^3 < 2^37.
@inline(__always)
func productGoesToBLAS(m: Int, n: Int, k: Int) -> Bool {
    m > smallProductLimit || n > smallProductLimit || k > smallProductLimit || m * n * k > smallProductLimit
}

/// Row-major C = op(A) · op(B), with op(A) m x k and op(B) k x n (beta = 0).
/// The transposes used by the passes: NN (forward), TN (weight gradient), NT (input
/// gradient).
///
/// With `sgdStep`, C holds parameters on entry and the product is their gradient,
/// which is not stored: C = C - lr (op(A) · op(B) + wd C), a plain-SGD update fused
/// into the product. BLAS does it as alpha = -lr, beta = 1 - lr wd (no pass of its
/// own over C; with beta = 0 OpenBLAS even zeroes C first); the small-product loops
/// evaluate `PlainSGDRate.updated` (PlainSGDStep.swift).
@inline(__always)
func multiply<Scalar: MLPScalar>(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    a: UnsafePointer<Scalar>, lda: Int, b: UnsafePointer<Scalar>, ldb: Int,
    c: UnsafeMutablePointer<Scalar>, ldc: Int, sgdStep: PlainSGDRate<Scalar>? = nil
) {
    if productGoesToBLAS(m: m, n: n, k: k) {
        var alpha: Scalar = 1, beta: Scalar = 0
        if let sgdStep {
            alpha = -sgdStep.learningRate
            beta = sgdStep.retained
        }
        Scalar.gemm(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
            alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    if !transposeA && !transposeB {
        // Forward (Z = A W): each row of C accumulates k scaled rows of B, a
        // contiguous loop over C's row that the compiler vectorises (a dot product
        // down a column of B would be strided and scalar). Every element is still
        // the sum 0 + a_0 b_0 + a_1 b_1 + ... in that order: the same bits as one
        // dot product per element. Rows narrower than 8 keep the dot products: a
        // vectorised loop over 1 to 7 elements is mostly its prologue.
        if sgdStep == nil && n >= 8 {
            for i in 0..<m {
                let aRow = a + i * lda, cRow = c + i * ldc
                cRow.update(repeating: 0, count: n)
                for p in 0..<k { accumulateScaledRow(aRow[p], b + p * ldb, into: cRow, count: n) }
            }
            return
        }
    } else if transposeA && !transposeB && k == 1 {
        // Weight gradient of one row (dW = x^T dz): an outer product, one contiguous
        // (vectorised) loop per row of C; 0 + a_i b_j is what the general loop sums.
        for i in 0..<m {
            let scale = a[i], cRow = c + i * ldc   // A is stored k x m = 1 x m
            if let sgdStep {
                updateWithOuterProductRow(scale, b, into: cRow, count: n, rate: sgdStep)
            } else {
                for j in 0..<n { cRow[j] = 0 + scale * b[j] }
            }
        }
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
            if let sgdStep {
                cRow[j] = sgdStep.updated(cRow[j], gradient: total)
            } else {
                cRow[j] = total
            }
        }
    }
}

/// c[j] += scale * row[j] for j < count (vectorised; c and row are distinct matrices).
@inline(__always)
func accumulateScaledRow<Scalar: MLPScalar>(
    _ scale: Scalar, _ row: UnsafePointer<Scalar>, into c: UnsafeMutablePointer<Scalar>, count: Int
) {
    for j in 0..<count { c[j] += scale * row[j] }
}

/// c[j] = rate.updated(c[j], 0 + scale * row[j]) for j < count: one row of a plain-SGD
/// update by an outer-product gradient. The weight-decay test is outside the loop so
/// that each variant is one vectorised loop.
@inline(__always)
func updateWithOuterProductRow<Scalar: MLPScalar>(
    _ scale: Scalar, _ row: UnsafePointer<Scalar>, into c: UnsafeMutablePointer<Scalar>, count: Int,
    rate: PlainSGDRate<Scalar>
) {
    let lr = rate.learningRate, wd = rate.weightDecay
    if wd == 0 {
        for j in 0..<count { c[j] = c[j] - lr * (0 + scale * row[j]) }
    } else {
        for j in 0..<count { c[j] = c[j] - lr * ((0 + scale * row[j]) + wd * c[j]) }
    }
}
