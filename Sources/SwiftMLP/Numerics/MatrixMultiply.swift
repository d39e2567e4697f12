// Matrix products for the passes: OpenBLAS for real sizes, and plain loops for tiny
// ones, where a BLAS call's fixed cost (argument checks, buffer setup, a mutex) is
// many times the arithmetic. Both paths are deterministic for a given shape, so the
// same seed still gives the same bits.

/// Products with at most this many multiply-adds (m * n * k) skip BLAS. Chosen by
/// measurement on bench configurations c and d (docs/performance.md).
let smallProductLimit = 4096

/// How the small products sum each element c_ij = sum_p a_ip b_pj, whichever loop
/// computes it (MatrixMultiplyTests checks it bit for bit): the columns j below
/// n - n % columnsSummedInOrder (whole 64 bytes of a row of C) in order of p, from 0;
/// the last n % columnsSummedInOrder, too few to keep the adds busy with one sum
/// each, in four parts (`dotProduct`). A function of the shape alone: every row,
/// batch size and CPU sums a layer alike.
@inline(__always)
func columnsSummedInOrder<Scalar>(_: Scalar.Type) -> Int { 64 / MemoryLayout<Scalar>.size }

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
    if (transposeA || transposeB) && k == 1 && sgdStep == nil && (!transposeB || ldb == 1) {
        // An outer product C = a b (k = 1, B's one row contiguous) in the backward
        // pass: the weight gradient of one row (dW = x^T dz), and the input gradient
        // through a layer of one output (dA = dz w^T). Each element is 0 + a_i b_j,
        // what every other path sums. Column blocks go outermost: a block of b is
        // loaded once and held in registers while every row of C gets a_i times it
        // (`outerProduct`), so a row costs a broadcast, the multiplies and the
        // stores, with no per-row setup. (The forward product, NN, is left out so
        // that its inlined code stays small: with this branch in it, the compiler
        // stopped inlining the bias and activation pass into inference.)
        let aRowStride = transposeA ? 1 : lda
        if n == 1 && ldc == 1 && aRowStride == 1 && m >= 4 {
            // One column, contiguous in both (the weight gradient of a layer with one
            // output): the column is a scaled a, b_0 a_i being the same product.
            scaledRow(b[0], a, into: c, n: m)
        } else {
            outerProduct(a, stride: aRowStride, b, into: c, ldc: ldc, m: m, n: n, StoreProduct())
        }
        return
    }
    if !transposeB && sgdStep == nil {
        // Forward (Z = A W) and weight gradient (dW = A^T dZ): row i of C is
        // sum_p A(i, p) B[p, :], accumulated in registers across p, a block of
        // columns at a time (`rowTimesMatrix`). Every element is still summed as
        // `columnsSummedInOrder` says: the same bits as one dot product per element.
        rowsTimesMatrix(a, rowStride: transposeA ? 1 : lda, elementStride: transposeA ? lda : 1,
                        b, ldb: ldb, into: c, ldc: ldc, m: m, n: n, k: k)
        return
    }
    if transposeA && !transposeB && k == 1, let sgdStep {
        // The plain-SGD update by the weight gradient of one row (dW = x^T dz): an
        // outer product whose elements update C (`outerProduct`). Without weight decay
        // the rate is rebuilt with a literal 0, so that the inlined loops test none.
        if sgdStep.weightDecay == 0 {
            outerProduct(a, stride: 1, b, into: c, ldc: ldc, m: m, n: n,
                         PlainSGDRate(learningRate: sgdStep.learningRate, weightDecay: 0))
        } else {
            outerProduct(a, stride: 1, b, into: c, ldc: ldc, m: m, n: n, sgdStep)
        }
        return
    }
    // Every element as one dot product kept in a register: the inner loops store
    // nothing, so the compiler needs no runtime aliasing checks or vector prologues,
    // which at these sizes cost more than the arithmetic. Operands fit in L1 here.
    // Four elements at a time: four independent sums in flight, where one sum alone
    // waits on each add before the next (each is still 0 + a_0 b_0 + a_1 b_1 + ...);
    // the last columns (`columnsSummedInOrder`) one at a time, in four parts.
    let aRowStride = transposeA ? 1 : lda, aDepthStride = transposeA ? lda : 1
    let bDepthStride = transposeB ? 1 : ldb, bColumnStride = transposeB ? ldb : 1
    let inOrderColumns = n &- n % columnsSummedInOrder(Scalar.self)
    for i in 0..<m {
        let aRow = a + i &* aRowStride, cRow = c + i &* ldc
        @inline(__always) func store(_ total: Scalar, _ j: Int) {
            if let sgdStep {
                cRow[j] = sgdStep.updated(cRow[j], gradient: total)
            } else {
                cRow[j] = total
            }
        }
        var j = 0
        while j &+ 4 <= inOrderColumns {
            let b0 = b + j &* bColumnStride, b1 = b0 + bColumnStride
            let b2 = b1 + bColumnStride, b3 = b2 + bColumnStride
            var t0: Scalar = 0, t1: Scalar = 0, t2: Scalar = 0, t3: Scalar = 0
            for p in 0..<k {
                let x = aRow[p &* aDepthStride], offset = p &* bDepthStride
                t0 += x * b0[offset]
                t1 += x * b1[offset]
                t2 += x * b2[offset]
                t3 += x * b3[offset]
            }
            store(t0, j)
            store(t1, j &+ 1)
            store(t2, j &+ 2)
            store(t3, j &+ 3)
            j &+= 4
        }
        while j < n {
            store(dotProduct(aRow, stride: aDepthStride, b + j &* bColumnStride, ldb: bDepthStride, k: k), j)
            j &+= 1
        }
    }
}

/// `rowTimesMatrix` for each of m rows of A (row i at a + i rowStride, its elements
/// elementStride apart) into the rows of C.
@inline(__always)
func rowsTimesMatrix<Scalar: MLPScalar>(
    _ a: UnsafePointer<Scalar>, rowStride: Int, elementStride: Int, _ b: UnsafePointer<Scalar>, ldb: Int,
    into c: UnsafeMutablePointer<Scalar>, ldc: Int, m: Int, n: Int, k: Int
) {
    #if SWIFTMLP_DISPATCH
    if runsWideLoops(Scalar.self, count: m &* n &* k, minimumBytes: 256) {
        wideRowsTimesMatrix(a, rowStride: rowStride, elementStride: elementStride, b, ldb: ldb, into: c, ldc: ldc,
                            m: m, n: n, k: k, double: Scalar.self == Double.self)
        return
    }
    #endif
    for i in 0..<m {
        rowTimesMatrix(a + i &* rowStride, stride: elementStride, b, ldb: ldb, into: c + i &* ldc, n: n, k: k)
    }
}

/// c[j] = sum_p a[p * stride] * b[p * ldb + j] for j < n, summed as
/// `columnsSummedInOrder` says: one row of a small product. Columns go in blocks of
/// 16, 8 and 4 held in vector registers across the whole sum over p (one broadcast,
/// one multiply and one add per block and p; C is stored once), then one at a time
/// (blocks under 64 bytes and single columns in four parts). Unlike a
/// vectorised loop over C's row per p, there is no loop prologue or run-time
/// overlap check per row of B, which at widths of 1 to 32 cost more than the
/// arithmetic (docs/performance.md, small networks).
@inline(__always)
func rowTimesMatrix<Scalar: MLPScalar>(
    _ a: UnsafePointer<Scalar>, stride: Int, _ b: UnsafePointer<Scalar>, ldb: Int,
    into c: UnsafeMutablePointer<Scalar>, n: Int, k: Int
) {
    var j = 0
    // One block of columns, then past it. (Forced inline: without it the C-ABI
    // module's specialisations of these loops ran 5-9 % more instructions.)
    @inline(__always) func block<Vector: SIMD>(_: Vector.Type) where Vector.Scalar == Scalar {
        storeVector(sumOfScaledRows(Vector.self, a, stride: stride, b + j, ldb: ldb, k: k), c + j)
        j &+= Vector.scalarCount
    }
    while j &+ 16 <= n { block(SIMD16<Scalar>.self) }
    if j &+ 8 <= n { block(SIMD8<Scalar>.self) }
    if j &+ 4 <= n { block(SIMD4<Scalar>.self) }
    while j < n {
        c[j] = dotProduct(a, stride: stride, b + j, ldb: ldb, k: k)
        j &+= 1
    }
}

/// One row of a small dense layer, with the bias and the activation fused into the
/// product's epilogue: v[j] = (sum_p a[p] * b[p * n + j]) + bias[j], the sum taken
/// as `rowTimesMatrix` takes it, then z[j] = v[j] (when z is given) and
/// out[j] = f(v[j]). The same bits as the product followed by the bias and
/// activation pass (`forwardBiasActivation`), in one pass instead of three: each
/// block of 32 (Float only), 16, 8, 4 or 2 columns gets its bias and activation
/// while in registers and L1, with no loop prologue, remainder or run-time overlap
/// check (docs/performance.md, small networks); a last odd column goes alone.
///
/// Inlined into the layer kernels (`denseRowsKernel`), one copy per activation and
/// type: a layer is one call, and its constants are loaded where a block uses them
/// (inlined into a loop over layers or rows, they were hoisted to its start and
/// loaded for every block width).
/// - Parameters:
///   - a: the row of inputs, k values.
///   - b: k x n, row-major (the layer's weights), followed by the n biases (the
///     parameter layout).
///   - z, out: n values each; `out` must not overlap `a` or `b`.
@inline(__always)
func denseRow<Scalar: MLPScalar, Function: ElementwiseFunction>(
    _ a: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>,
    z: UnsafeMutablePointer<Scalar>?, into out: UnsafeMutablePointer<Scalar>, n: Int, k: Int,
    _ f: Function
) where Function.Scalar == Scalar {
    let bias = b + k &* n
    var j = 0
    if MemoryLayout<Scalar>.size == 4 {
        // Float: blocks of 32 columns while they last, eight registers of sums (one
        // broadcast of a[p] serves 32 columns); Double's would take all sixteen.
        // (As one SIMD32 the loop compiled to element-by-element code, 60 times
        // slower.)
        while j &+ 32 <= n {
            denseBlockPair(SIMD16<Scalar>.self, a, b + j, ldb: n, bias: bias + j, z: z.map { $0 + j }, into: out + j,
                           k: k, f)
            j &+= 32
        }
    }
    @inline(__always) func block<Vector: SIMD>(_: Vector.Type) where Vector.Scalar == Scalar {
        denseBlock(Vector.self, a, b + j, ldb: n, bias: bias + j, z: z.map { $0 + j }, into: out + j, k: k, f)
        j &+= Vector.scalarCount
    }
    while j &+ 16 <= n { block(SIMD16<Scalar>.self) }
    if j &+ 8 <= n { block(SIMD8<Scalar>.self) }
    if j &+ 4 <= n { block(SIMD4<Scalar>.self) }
    if j &+ 2 <= n { block(SIMD2<Scalar>.self) }
    if j < n {
        let value = dotProduct(a, stride: 1, b + j, ldb: n, k: k) + bias[j]
        z?[j] = value
        out[j] = f(value)
    }
}

/// `denseRow` of a layer of four outputs (n = 4; Float, where two rows of b fill an
/// 8-lane register): its one block summed by `sumOfScaledRowPairs`, the same bits.
/// The kernels of such layers are their own (`denseRowsKernel`), so that the others
/// test nothing for them.
@inline(__always)
func denseRowOfFour<Scalar: MLPScalar, Function: ElementwiseFunction>(
    _ a: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>,
    z: UnsafeMutablePointer<Scalar>?, into out: UnsafeMutablePointer<Scalar>, k: Int, _ f: Function
) where Function.Scalar == Scalar {
    activateBlock(sumOfScaledRowPairs(a, b, k: k), bias: b + 4 &* k, z: z, into: out, f)
}

/// Two adjacent blocks of `denseRow` (2 Vector.scalarCount columns) summed in one
/// pass over p: one broadcast of a[p] for both. Each column's sum is as in
/// `denseBlock`.
@inline(__always)
func denseBlockPair<Scalar: MLPScalar, Vector: SIMD, Function: ElementwiseFunction>(
    _: Vector.Type, _ a: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>, ldb: Int,
    bias: UnsafePointer<Scalar>, z: UnsafeMutablePointer<Scalar>?, into out: UnsafeMutablePointer<Scalar>,
    k: Int, _ f: Function
) where Vector.Scalar == Scalar, Function.Scalar == Scalar {
    let width = Vector.scalarCount
    var first = Vector(repeating: 0), second = Vector(repeating: 0)
    var aElement = a, bRow = b
    for _ in 0..<k {
        let scale = Vector(repeating: aElement.pointee)
        first += scale * UnsafeRawPointer(bRow).loadUnaligned(as: Vector.self)
        second += scale * UnsafeRawPointer(bRow + width).loadUnaligned(as: Vector.self)
        aElement += 1
        bRow += ldb
    }
    first += UnsafeRawPointer(bias).loadUnaligned(as: Vector.self)
    second += UnsafeRawPointer(bias + width).loadUnaligned(as: Vector.self)
    if let z {
        storeVector(first, z)
        storeVector(second, z + width)
    }
    storeVector(first, out)
    storeVector(second, out + width)
    for t in 0..<(2 * width) { out[t] = f(out[t]) }
}

/// One block of `denseRow`: Vector.scalarCount columns. The activation runs in place
/// on the stored block, a loop of a constant count over one pointer, which the
/// compiler vectorises whole (applied to the lanes of the SIMD value instead, it
/// ran one lane at a time).
@inline(__always)
func denseBlock<Scalar: MLPScalar, Vector: SIMD, Function: ElementwiseFunction>(
    _: Vector.Type, _ a: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>, ldb: Int,
    bias: UnsafePointer<Scalar>, z: UnsafeMutablePointer<Scalar>?, into out: UnsafeMutablePointer<Scalar>,
    k: Int, _ f: Function
) where Vector.Scalar == Scalar, Function.Scalar == Scalar {
    activateBlock(sumOfScaledRows(Vector.self, a, stride: 1, b, ldb: ldb, k: k), bias: bias, z: z, into: out, f)
}

/// The epilogue of a block of `denseRow`: sum + bias to z (when given) and out, then
/// the activation in place on out.
@inline(__always)
func activateBlock<Scalar: MLPScalar, Vector: SIMD, Function: ElementwiseFunction>(
    _ sum: Vector, bias: UnsafePointer<Scalar>, z: UnsafeMutablePointer<Scalar>?,
    into out: UnsafeMutablePointer<Scalar>, _ f: Function
) where Vector.Scalar == Scalar, Function.Scalar == Scalar {
    let value = sum + UnsafeRawPointer(bias).loadUnaligned(as: Vector.self)
    if let z { storeVector(value, z) }
    storeVector(value, out)
    for t in 0..<Vector.scalarCount { out[t] = f(out[t]) }
}

/// c[j] = 0 + scale * b[j] for j < n: one row of an outer product, in blocks of 16, 8
/// and 4 columns, then one at a time (n >= 4 keeps the tail short).
@inline(__always)
func scaledRow<Scalar: MLPScalar>(
    _ scale: Scalar, _ b: UnsafePointer<Scalar>, into c: UnsafeMutablePointer<Scalar>, n: Int
) {
    var j = 0
    @inline(__always) func block<Vector: SIMD>(_: Vector.Type) where Vector.Scalar == Scalar {
        storeVector(scaledVector(Vector.self, scale, b + j), c + j)
        j &+= Vector.scalarCount
    }
    while j &+ 16 <= n { block(SIMD16<Scalar>.self) }
    if j &+ 8 <= n { block(SIMD8<Scalar>.self) }
    if j &+ 4 <= n { block(SIMD4<Scalar>.self) }
    while j < n {
        c[j] = 0 + scale * b[j]
        j &+= 1
    }
}

/// What an outer product does with each of its elements 0 + a_i b_j: store it in C
/// (`StoreProduct`) or update C by it (`PlainSGDRate`, the fused plain-SGD step).
protocol OuterProductWrite {
    associatedtype Scalar: MLPScalar
    func write<Vector: SIMD>(_ product: Vector, to c: UnsafeMutablePointer<Scalar>) where Vector.Scalar == Scalar
    func write(_ product: Scalar, to c: UnsafeMutablePointer<Scalar>)
    /// The rate of the plain-SGD update, or nil for a store: what the x86-64-v3
    /// copy's entry point is told (WideLoops.swift).
    var updateRate: PlainSGDRate<Scalar>? { get }
}

/// c = the product.
struct StoreProduct<Scalar: MLPScalar>: OuterProductWrite {
    @inline(__always)
    func write<Vector: SIMD>(_ product: Vector, to c: UnsafeMutablePointer<Scalar>) where Vector.Scalar == Scalar {
        storeVector(product, c)
    }

    @inline(__always)
    func write(_ product: Scalar, to c: UnsafeMutablePointer<Scalar>) { c.pointee = product }

    var updateRate: PlainSGDRate<Scalar>? { nil }
}

/// `write`(0 + a[i * stride] * b[j]) to c[i * ldc + j] for i < m, j < n: an outer
/// product, by blocks of 16, 8 and 4 columns of b held in registers across all m
/// rows, then the last columns one at a time.
@inline(__always)
func outerProduct<Scalar: MLPScalar, Write: OuterProductWrite>(
    _ a: UnsafePointer<Scalar>, stride: Int, _ b: UnsafePointer<Scalar>,
    into c: UnsafeMutablePointer<Scalar>, ldc: Int, m: Int, n: Int, _ write: Write
) where Write.Scalar == Scalar {
    #if SWIFTMLP_DISPATCH
    if runsWideLoops(Scalar.self, count: m &* n, minimumBytes: 256) {
        let rate = write.updateRate
        let learningRate = Double(rate?.learningRate ?? 0), weightDecay = Double(rate?.weightDecay ?? 0)
        if MemoryLayout<Scalar>.size == 4 && n == 4 && ldc == 4 && stride == 1 {
            wideOuterProductOfFourColumns(a, b, into: c, m: m, updates: rate != nil,
                                          learningRate: learningRate, weightDecay: weightDecay)
        } else {
            wideOuterProduct(a, stride: stride, b, into: c, ldc: ldc, m: m, n: n, updates: rate != nil,
                             learningRate: learningRate, weightDecay: weightDecay, double: Scalar.self == Double.self)
        }
        return
    }
    #endif
    var j = 0
    @inline(__always) func block<Vector: SIMD>(_: Vector.Type) where Vector.Scalar == Scalar {
        let columns = UnsafeRawPointer(b + j).loadUnaligned(as: Vector.self)
        var aElement = a, cRow = c + j
        for _ in 0..<m {
            write.write(Vector(repeating: 0) + Vector(repeating: aElement.pointee) * columns, to: cRow)
            aElement += stride
            cRow += ldc
        }
        j &+= Vector.scalarCount
    }
    while j &+ 16 <= n { block(SIMD16<Scalar>.self) }
    if j &+ 8 <= n { block(SIMD8<Scalar>.self) }
    if j &+ 4 <= n { block(SIMD4<Scalar>.self) }
    while j < n {
        let scale = b[j]
        var aElement = a, cElement = c + j
        for _ in 0..<m {
            write.write(0 + aElement.pointee * scale, to: cElement)
            aElement += stride
            cElement += ldc
        }
        j &+= 1
    }
}

/// `outerProduct` of four Float columns into a contiguous C (a contiguous too): two
/// rows of C to a register, the same elements 0 + a_i b_j written by the same `write`
/// lane by lane, with one load and two lane shuffles for four a_i instead of four
/// broadcasts, and half the multiplies, adds and writes. The x86-64-v3 copy's (where
/// the shuffles are one instruction each); in `outerProduct` itself, it kept the
/// function from being inlined into its callers.
@inline(__always)
func outerProductOfFourColumns<Scalar: MLPScalar, Write: OuterProductWrite>(
    _ a: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>, into c: UnsafeMutablePointer<Scalar>, m: Int,
    _ write: Write
) where Write.Scalar == Scalar {
    let columns = UnsafeRawPointer(b).loadUnaligned(as: SIMD4<Scalar>.self)
    let twice = SIMD8(lowHalf: columns, highHalf: columns)
    var i = 0
    while i &+ 4 <= m {
        let x = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD4<Scalar>.self)
        write.write(SIMD8(repeating: 0) + SIMD8(lowHalf: SIMD4(repeating: x[0]), highHalf: SIMD4(repeating: x[1]))
                    * twice, to: c + i &* 4)
        write.write(SIMD8(repeating: 0) + SIMD8(lowHalf: SIMD4(repeating: x[2]), highHalf: SIMD4(repeating: x[3]))
                    * twice, to: c + (i &+ 2) &* 4)
        i &+= 4
    }
    while i < m {
        write.write(scaledVector(SIMD4<Scalar>.self, a[i], b), to: c + i &* 4)
        i &+= 1
    }
}

/// 0 + scale * (the vector at b).
@inline(__always)
func scaledVector<Scalar: MLPScalar, Vector: SIMD>(
    _: Vector.Type, _ scale: Scalar, _ b: UnsafePointer<Scalar>
) -> Vector where Vector.Scalar == Scalar {
    Vector(repeating: 0) + Vector(repeating: scale) * UnsafeRawPointer(b).loadUnaligned(as: Vector.self)
}

/// sum_p a[p * stride] * (the vector at b + p * ldb): in order of p from 0 for a
/// block of 64 bytes or more, in four parts (`dotProduct`) for a narrower one, whose
/// one sum would wait on each add.
@inline(__always)
func sumOfScaledRows<Scalar: MLPScalar, Vector: SIMD>(
    _: Vector.Type, _ a: UnsafePointer<Scalar>, stride: Int, _ b: UnsafePointer<Scalar>, ldb: Int, k: Int
) -> Vector where Vector.Scalar == Scalar {
    var aElement = a, bRow = b
    @inline(__always) func term(_ p: Int) -> Vector {
        Vector(repeating: aElement[p &* stride]) * UnsafeRawPointer(bRow + p &* ldb).loadUnaligned(as: Vector.self)
    }
    if MemoryLayout<Vector>.size < 64 {
        var s0 = Vector(repeating: 0), s1 = s0, s2 = s0, s3 = s0
        for _ in 0..<(k / 4) {
            s0 += term(0)
            s1 += term(1)
            s2 += term(2)
            s3 += term(3)
            aElement += 4 &* stride
            bRow += 4 &* ldb
        }
        let left = k % 4
        if left > 0 { s0 += term(0) }
        if left > 1 { s1 += term(1) }
        if left > 2 { s2 += term(2) }
        return (s0 + s1) + (s2 + s3)
    }
    var total = Vector(repeating: 0)
    for _ in 0..<k {
        total += term(0)
        aElement += stride
        bRow += ldb
    }
    return total
}

/// `sumOfScaledRows` of a layer of four Float outputs (b's rows 4 apart, a
/// contiguous), two rows of b to a register: s0 and s1 are the halves of one 8-lane
/// sum, s2 and s3 of another, each lane summed as before (the same bits), with one
/// load and two lane shuffles for four a[p] instead of four broadcasts, and half the
/// multiplies and adds.
@inline(__always)
func sumOfScaledRowPairs<Scalar: MLPScalar>(
    _ a: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>, k: Int
) -> SIMD4<Scalar> {
    var s01 = SIMD8<Scalar>(repeating: 0), s23 = s01
    var p = 0
    while p &+ 4 <= k {
        let x = UnsafeRawPointer(a + p).loadUnaligned(as: SIMD4<Scalar>.self)
        let rows = UnsafeRawPointer(b + p &* 4)
        s01 += SIMD8(lowHalf: SIMD4(repeating: x[0]), highHalf: SIMD4(repeating: x[1]))
            * rows.loadUnaligned(as: SIMD8<Scalar>.self)
        s23 += SIMD8(lowHalf: SIMD4(repeating: x[2]), highHalf: SIMD4(repeating: x[3]))
            * rows.loadUnaligned(fromByteOffset: 8 &* MemoryLayout<Scalar>.stride, as: SIMD8<Scalar>.self)
        p &+= 4
    }
    var s0 = s01.lowHalf, s1 = s01.highHalf, s2 = s23.lowHalf
    let s3 = s23.highHalf
    let left = k &- p
    if left > 0 { s0 += scaledRowOfFour(a[p], b + p &* 4) }
    if left > 1 { s1 += scaledRowOfFour(a[p &+ 1], b + (p &+ 1) &* 4) }
    if left > 2 { s2 += scaledRowOfFour(a[p &+ 2], b + (p &+ 2) &* 4) }
    return (s0 + s1) + (s2 + s3)
}

/// scale * (the four values at row), as `sumOfScaledRows` forms a term.
@inline(__always)
func scaledRowOfFour<Scalar: MLPScalar>(_ scale: Scalar, _ row: UnsafePointer<Scalar>) -> SIMD4<Scalar> {
    SIMD4(repeating: scale) * UnsafeRawPointer(row).loadUnaligned(as: SIMD4<Scalar>.self)
}

/// sum_p a[p * stride] * b[p * ldb] in four parts: (s_0 + s_1) + (s_2 + s_3), where
/// s_r is the sum from 0, in order of p, of the terms with p = r (mod 4). Four adds
/// in flight, where one sum of k terms is k adds one after another.
@inline(__always)
func dotProduct<Scalar: MLPScalar>(
    _ a: UnsafePointer<Scalar>, stride: Int, _ b: UnsafePointer<Scalar>, ldb: Int, k: Int
) -> Scalar {
    var aElement = a, bElement = b
    @inline(__always) func term(_ p: Int) -> Scalar { aElement[p &* stride] * bElement[p &* ldb] }
    var s0: Scalar = 0, s1: Scalar = 0, s2: Scalar = 0, s3: Scalar = 0
    for _ in 0..<(k / 4) {
        s0 += term(0)
        s1 += term(1)
        s2 += term(2)
        s3 += term(3)
        aElement += 4 &* stride
        bElement += 4 &* ldb
    }
    let left = k % 4
    if left > 0 { s0 += term(0) }
    if left > 1 { s1 += term(1) }
    if left > 2 { s2 += term(2) }
    return (s0 + s1) + (s2 + s3)
}

@inline(__always)
func storeVector<Vector: SIMD>(_ vector: Vector, _ destination: UnsafeMutablePointer<Vector.Scalar>) {
    UnsafeMutableRawPointer(destination).storeBytes(of: vector, as: Vector.self)
}
