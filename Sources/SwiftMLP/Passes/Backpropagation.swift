// The forward and backward passes, side by side (Operations.swift builds predict,
// gradients and step on them). See docs/backprop.md for the equations.
//
// forwardDense     Z_l = A_{l-1} W_l            (gemm, no transposes)
//                  Z_l += b_l; A_l = f_l(Z_l)   (one fused pass; for small layers
//                                               fused into the product, denseRow)
// backwardDense    dA_{l-1} = dZ_l W_l^T        (gemm, transpose flag on W)
//                  dZ_{l-1} = dA_{l-1} ⊙ f'(A_{l-1}),  db_{l-1} = sum_rows dZ_{l-1}
//                                               (one fused pass)
//                  dW_l = A_{l-1}^T dZ_l        (gemm, transpose flag on A), or with
//                  plain SGD W_l' = W_l - lr dW_l in the same gemm (PlainSGDStep.swift)
// The output layer's dZ comes from the loss (Loss.swift): a - y for the fused
// cross-entropies, scaled by 1/n under mean reduction.

extension Network {
    // MARK: Layer kernels

    /// Z = input · W (+ b, activation), for one layer over `rows` rows.
    /// - input: rows x fanIn; product, z, a: rows x fanOut. A product that goes
    ///   through `multiply` goes to `product`, which may equal `z` (forwardTraining
    ///   says when it does not), or `a` when there is no `z` (inference keeps no
    ///   pre-activations); a small layer with an elementwise activation never
    ///   writes it.
    @inline(__always)
    func forwardDense(
        layer l: Int, input: UnsafePointer<Scalar>, rows: Int, product: UnsafeMutablePointer<Scalar>,
        z: UnsafeMutablePointer<Scalar>?, a: UnsafeMutablePointer<Scalar>,
        sigmoidExponentials: UnsafeMutablePointer<Scalar>? = nil
    ) {
        let shape = plans[l]
        let n = shape.fanOut, k = shape.fanIn
        if sigmoidExponentials == nil && rows <= shape.smallForwardRows, let kernel = shape.denseRows {
            // A small product: bias and activation fused into it, one call of the
            // layer's kernel (`LayerPlan.denseRows`). The same bits as the product and
            // the pass below. (Softmax has no kernel: it normalises a whole row.)
            let weights = parameters.address(shape.weightOffset), slope = Double(leakySlope)
            var i = 0
            repeat {
                kernel(input + i &* k, weights, z.map { $0 + i &* n }, a + i &* n, n, k, slope)
                i &+= 1
            } while i < rows
            return
        }
        forwardDenseByPasses(layer: l, input: input, rows: rows, product: product, z: z, a: a,
                             sigmoidExponentials: sigmoidExponentials)
    }

    /// `forwardDense` as a product (OpenBLAS for large ones), then the bias and
    /// activation pass over its result. Out of line, so that the small layers'
    /// loop over layers stays small.
    @inline(never)
    func forwardDenseByPasses(
        layer l: Int, input: UnsafePointer<Scalar>, rows: Int, product: UnsafeMutablePointer<Scalar>,
        z: UnsafeMutablePointer<Scalar>?, a: UnsafeMutablePointer<Scalar>,
        sigmoidExponentials: UnsafeMutablePointer<Scalar>?
    ) {
        let shape = plans[l]
        let n = shape.fanOut, k = shape.fanIn
        multiply(
            transposeA: false, transposeB: false, m: rows, n: n, k: k,
            a: input, lda: k, b: parameters.address(shape.weightOffset), ldb: n, c: product, ldc: n)
        forwardBiasActivation(
            shape.activation, leakySlope: leakySlope, product: product, z: z, a: a,
            bias: parameters.address(shape.biasOffset), rows: rows, width: n,
            sigmoidExponentials: sigmoidExponentials)
    }

    /// From dZ_l (already in the workspace): dW_l, and for l > 0 also dZ_{l-1} and
    /// db_{l-1}. db_l was written by whoever produced dZ_l.
    /// With `sgdStep`, dW_l and db_l are not kept: they update W_l and b_l into
    /// `sgdStep.newParameters` instead (PlainSGDStep.swift).
    /// - layerInput: rows x fanIn, the A_{l-1} (or X) the forward pass used.
    @inline(__always)
    func backwardDense(
        layer l: Int, layerInput: UnsafePointer<Scalar>, rows: Int, sgdStep: PlainSGDDestination?
    ) {
        let shape = plans[l]
        let dz = workspace.dz(l)
        if l > 0 {
            // dA_{l-1} (rows x fanIn) = dZ_l (rows x fanOut) · W_l^T (fanOut x fanIn)
            let upstream = workspace.upstream
            multiply(
                transposeA: false, transposeB: true, m: rows, n: shape.fanIn, k: shape.fanOut,
                a: dz, lda: shape.fanOut,
                b: parameters.address(shape.weightOffset), ldb: shape.fanOut,
                c: upstream, ldc: shape.fanIn)
            let previous = plans[l - 1]
            backwardActivationBiasGradient(
                previous.activation, leakySlope: leakySlope,
                upstream: upstream, a: workspace.a(l - 1), dz: workspace.dz(l - 1),
                biasGradient: gradient.address(previous.biasOffset), rows: rows, width: shape.fanIn)
        }
        guard let sgdStep else {
            // dW_l (fanIn x fanOut) = A_{l-1}^T (fanIn x rows) · dZ_l (rows x fanOut)
            multiply(
                transposeA: true, transposeB: false, m: shape.fanIn, n: shape.fanOut, k: rows,
                a: layerInput, lda: shape.fanIn, b: dz, ldb: shape.fanOut,
                c: gradient.address(shape.weightOffset), ldc: shape.fanOut)
            return
        }
        // W_l' = W_l - lr (A_{l-1}^T dZ_l + wd W_l), in the destination.
        let newWeights = sgdStep.newParameters + shape.weightOffset
        copyScalars(newWeights, from: parameters.address(shape.weightOffset), count: shape.fanIn * shape.fanOut)
        multiply(
            transposeA: true, transposeB: false, m: shape.fanIn, n: shape.fanOut, k: rows,
            a: layerInput, lda: shape.fanIn, b: dz, ldb: shape.fanOut,
            c: newWeights, ldc: shape.fanOut, sgdStep: sgdStep.weights)
        // b_l' = b_l - lr (db_l + wd b_l); db_l is in the gradient buffer, which is
        // also the destination (each element is read before it is written).
        let oldBiases = parameters.address(shape.biasOffset)
        let biasGradient = gradient.address(shape.biasOffset)
        let newBiases = sgdStep.newParameters + shape.biasOffset
        for j in 0..<shape.fanOut {
            newBiases[j] = sgdStep.biases.updated(oldBiases[j], gradient: biasGradient[j])
        }
    }

    // MARK: Passes

    /// The forward pass over the training workspace (keeps Z and A of every layer).
    /// Under binary cross-entropy the output layer's dZ buffer receives e^-|Z| for
    /// the loss (`lossAndOutputDelta`), which overwrites it with dZ.
    ///
    /// Where the products go: with one BLAS thread, into Z, which the bias pass then
    /// updates in place. With more, each product OpenBLAS computes goes into the
    /// workspace's `product` buffer and the pass writes Z (the small products the
    /// engine's own loops compute still go into Z). OpenBLAS's other thread writes
    /// part of every large product. For this thread, a line the other one wrote is a
    /// fetch from the other core's cache; writing Z in place over it is a second
    /// round trip (invalidating the other core's copy), and the next step's product
    /// fetches the line back. Into a buffer that only products write, the pass's
    /// share is the one fetch. On a (784-128-10, batch 64) in float32 at two threads
    /// the bias + relu pass went from 3-21 us to 2-5 us a step (perf,
    /// docs/performance.md entry 17). At one thread the in-place update is the
    /// cheaper: it reads and writes one matrix where the other way reads one and
    /// writes another. The values are the same bits either way.
    func forwardTraining(inputs: UnsafePointer<Scalar>, rows: Int) {
        var input = inputs
        let last = layerCount - 1
        // One check a step, and no BLAS query (6 ns) when every product of this
        // batch is small (2-4-1 at batch 4). Two loops, so that the usual one stays
        // as lean as before: one loop choosing the product layer by layer counted
        // ~30 instructions more in a 2-4-1 step of ~5 200 (callgrind, float64).
        let productsApart = productGoesToBLAS(m: rows, n: largestLayerWeights, k: 1) && BLASThreads.count > 1
        for l in 0..<layerCount {
            let z = workspace.z(l), a = workspace.a(l)
            let exponentials = l == last && configuration.loss == .binaryCrossEntropy ? workspace.dz(l) : nil
            if productsApart {
                let shape = plans[l]
                let product = productGoesToBLAS(m: rows, n: shape.fanOut, k: shape.fanIn) ? workspace.product : z
                forwardDense(layer: l, input: input, rows: rows, product: product,
                             z: z, a: a, sigmoidExponentials: exponentials)
            } else {
                forwardDense(layer: l, input: input, rows: rows, product: z,
                             z: z, a: a, sigmoidExponentials: exponentials)
            }
            input = UnsafePointer(a)
        }
    }

    /// The loss, then the backward pass; fills `gradient`. Returns the reduced loss.
    func backwardTraining(inputs: UnsafePointer<Scalar>, targets: Targets<Scalar>, rows: Int) -> Double {
        let loss = outputLossAndDelta(targets: targets, rows: rows)
        backwardLayers(inputs: inputs, rows: rows, sgdStep: nil)
        return loss
    }

    /// The loss of the batch in the workspace; writes the output layer's dZ and db.
    @inline(__always)
    func outputLossAndDelta(targets: Targets<Scalar>, rows: Int) -> Double {
        let last = layerCount - 1
        let lastShape = plans[last]
        return lossAndOutputDelta(
            loss: configuration.loss, reduction: configuration.reduction,
            outputActivation: lastShape.activation, leakySlope: leakySlope,
            z: workspace.z(last), a: workspace.a(last), targets: targets,
            upstream: workspace.upstream, dz: workspace.dz(last),
            biasGradient: gradient.address(lastShape.biasOffset),
            rows: rows, width: lastShape.fanOut)
    }

    /// `backwardDense` from the last layer to the first.
    @inline(__always)
    func backwardLayers(inputs: UnsafePointer<Scalar>, rows: Int, sgdStep: PlainSGDDestination?) {
        for l in stride(from: layerCount - 1, through: 0, by: -1) {
            let layerInput = l == 0 ? inputs : UnsafePointer(workspace.a(l - 1))
            backwardDense(layer: l, layerInput: layerInput, rows: rows, sgdStep: sgdStep)
        }
    }

    /// What the step needs to know about the gradient: with clipping on, its L2 norm
    /// (`euclideanNorm`); otherwise only whether it is finite (0, or NaN when an entry
    /// is not), by an integer OR that vectorises (`nonFiniteBits`), or for one row from
    /// the factors of the gradient (`oneRowGradientIsFinite`). Either way a non-finite
    /// gradient gives a non-finite result. `firstInput` is what the first layer saw
    /// (`checkedForward`).
    func gradientSummary(needsNorm: Bool, rows: Int, firstInput: UnsafePointer<Scalar>) -> Double {
        if !needsNorm && rows == 1 && checksFactors {
            return oneRowGradientIsFinite(firstInput: firstInput) ? 0 : .nan
        }
        let g = gradient.pointer, count = parameterCount
        if needsNorm { return euclideanNorm(g, count: count) }
        return Scalar.allFinite(g, count: count) ? 0 : .nan
    }

    /// Whether the gradient of a batch of one row (in `gradient`) is finite, from its
    /// factors instead of its entries: each weight gradient is an outer product,
    /// dW_l[i][j] = x_i dz_j (x the layer's input, every product path computes the one
    /// rounded product), and each bias gradient is 0 + dz_l. A NaN or infinite x_i
    /// or dz_j makes a row or column of dW_l non-finite (inf x 0 is NaN); otherwise
    /// the largest |dW_l[i][j]| is the rounded product of the largest |x_i| and
    /// |dz_j| (rounding is monotonic), so every entry is finite exactly when that
    /// one is. The same verdict as a pass over every parameter, for fanIn + fanOut
    /// values a layer instead of fanIn x fanOut.
    func oneRowGradientIsFinite(firstInput: UnsafePointer<Scalar>) -> Bool {
        let infinity = Scalar.magnitudeBits(.infinity)
        for l in 0..<layerCount {
            let shape = plans[l]
            let x = Scalar.largestMagnitudeBits(
                l == 0 ? firstInput : UnsafePointer(workspace.a(l - 1)), count: shape.fanIn)
            let dz = Scalar.largestMagnitudeBits(workspace.dz(l), count: shape.fanOut)
            guard x < infinity, dz < infinity,
                  (Scalar(magnitudeBits: x) * Scalar(magnitudeBits: dz)).isFinite
            else { return false }
        }
        return true
    }
}

/// The L2 norm of `count` values, in Double: the square root of their sum of squares
/// (`dot`, four partial sums). When those squares overflow (a norm above about 1e154)
/// though every value is finite, the sum is taken again scaled by the largest
/// magnitude (`maxAbs`), as LAPACK's dnrm2 avoids the overflow. NaN if a value is not
/// finite.
func euclideanNorm<Scalar: MLPScalar>(_ values: UnsafePointer<Scalar>, count: Int) -> Double {
    let sum = dot(values, values, count: count)
    if sum.isFinite { return sum.squareRoot() }
    let largest = maxAbs(values, count: count)
    guard largest.isFinite else { return .nan }
    var scaled = 0.0
    for i in 0..<count {
        let ratio = Double(values[i]) / largest
        scaled += ratio * ratio
    }
    return largest * scaled.squareRoot()
}

/// Whether `oneRowGradientIsFinite` is the cheaper check for `layout` (the network's
/// `checksFactors`): its maxima cost about six times as much a value as the pass's
/// OR a parameter (callgrind, float32: 10-16-1 ~360 instructions against ~300 for
/// the pass over its 193 parameters, 32-16-1 ~420 against ~790), and about eleven
/// times where the pass runs in the x86-64-v3 copy (32-10-1: 404 for its 53 factors
/// against ~0.7 a parameter).
func oneRowFactorCheckIsCheaper<Scalar: MLPScalar>(_ layout: ParameterLayout, _: Scalar.Type) -> Bool {
    let factors = layout.layers.reduce(0) { $0 + $1.fanIn + $1.fanOut }
    #if SWIFTMLP_DISPATCH
    if Scalar.allFiniteRunsWide(count: layout.parameterCount) {
        return 11 * factors < layout.parameterCount
    }
    #endif
    return 6 * factors < layout.parameterCount
}
