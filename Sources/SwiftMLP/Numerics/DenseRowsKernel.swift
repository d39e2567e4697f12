// The fused small layer as a C function pointer, chosen once per layer (LayerPlan):
// a forward pass then calls its layer's kernel without deciding the activation, the
// scalar type or the CPU again, and without an entry point into the x86-64-v3 copy
// that decides them for it (WideLoops.swift).

/// `denseRow` for one elementwise activation and scalar type: one row of a small
/// layer, v = (input W) + b, z = v when z is not nil, a = f(v). Raw pointers, so that
/// one type serves Float and Double and both copies of the loops.
///
///     let kernel = denseRowsKernel(.sigmoid, Float.self)!
///     kernel(x, parameters, nil, out, 16, 10, 0)   // a row through a 10-16 layer
typealias DenseRowsKernel = @convention(c) (
    _ input: UnsafeRawPointer, _ weights: UnsafeRawPointer, _ z: UnsafeMutableRawPointer?,
    _ a: UnsafeMutableRawPointer, _ n: Int, _ k: Int, _ leakySlope: Double
) -> Void

/// The kernel of a layer with `activation` and `outputs` outputs in `Scalar`: the
/// x86-64-v3 copy's on CPUs that run it (at every width: a kernel from either copy is
/// one call, and the copy's was as fast or faster on every network of the small
/// table), else this build's own. Nil for softmax, which normalises a whole row: the
/// product, then the pass (`forwardDenseByPasses`).
func denseRowsKernel<Scalar: MLPScalar>(
    _ activation: Activation, _: Scalar.Type, outputs: Int
) -> DenseRowsKernel? {
    let double = Scalar.self == Double.self
    #if SWIFTMLP_DISPATCH
    if cpuRunsWideLoops {
        return wideDenseRowsKernel(activation: activation.rawValue, double: double, outputs: outputs)
    }
    #endif
    return denseRowsKernel(activation, double: double, outputs: outputs)
}

/// This build's kernel of `activation` for Double or Float and a layer of `outputs`
/// outputs (nil for softmax): Float layers of four outputs have their own
/// (`denseRowOfFour`). Inlined, so that the copy's entry point refers to its kernels
/// directly (test_wide_loops.sh follows it two levels down).
@inline(__always)
func denseRowsKernel(_ activation: Activation, double: Bool, outputs: Int) -> DenseRowsKernel? {
    if !double && outputs == 4 {
        switch activation {
        case .identity: return identityFourRowsFloat
        case .sigmoid: return sigmoidFourRowsFloat
        case .tanh: return tanhFourRowsFloat
        case .relu: return reluFourRowsFloat
        case .leakyReLU: return leakyReLUFourRowsFloat
        case .softmax: return nil
        }
    }
    switch activation {
    case .identity: return double ? identityRowsDouble : identityRowsFloat
    case .sigmoid: return double ? sigmoidRowsDouble : sigmoidRowsFloat
    case .tanh: return double ? tanhRowsDouble : tanhRowsFloat
    case .relu: return double ? reluRowsDouble : reluRowsFloat
    case .leakyReLU: return double ? leakyReLURowsDouble : leakyReLURowsFloat
    case .softmax: return nil
    }
}

// The kernels, one per activation and type (and for Float layers of four outputs,
// one more per activation), named for profiles and for Tests/c/test_vectorised.sh.
let identityRowsFloat: DenseRowsKernel = { rawDenseRow(IdentityFunction<Float>(), $0, $1, $2, $3, $4, $5, $6) }
let identityRowsDouble: DenseRowsKernel = { rawDenseRow(IdentityFunction<Double>(), $0, $1, $2, $3, $4, $5, $6) }
let sigmoidRowsFloat: DenseRowsKernel = { rawDenseRow(SigmoidFunction<Float>(), $0, $1, $2, $3, $4, $5, $6) }
let sigmoidRowsDouble: DenseRowsKernel = { rawDenseRow(SigmoidFunction<Double>(), $0, $1, $2, $3, $4, $5, $6) }
let tanhRowsFloat: DenseRowsKernel = { rawDenseRow(TanhFunction<Float>(), $0, $1, $2, $3, $4, $5, $6) }
let tanhRowsDouble: DenseRowsKernel = { rawDenseRow(TanhFunction<Double>(), $0, $1, $2, $3, $4, $5, $6) }
let reluRowsFloat: DenseRowsKernel = { rawDenseRow(RectifiedFunction<Float>(), $0, $1, $2, $3, $4, $5, $6) }
let reluRowsDouble: DenseRowsKernel = { rawDenseRow(RectifiedFunction<Double>(), $0, $1, $2, $3, $4, $5, $6) }
let leakyReLURowsFloat: DenseRowsKernel = {
    rawDenseRow(LeakyRectifiedFunction(slope: Float($6)), $0, $1, $2, $3, $4, $5, $6)
}
let leakyReLURowsDouble: DenseRowsKernel = { rawDenseRow(LeakyRectifiedFunction(slope: $6), $0, $1, $2, $3, $4, $5, $6) }

let identityFourRowsFloat: DenseRowsKernel = { rawDenseRowOfFour(IdentityFunction<Float>(), $0, $1, $2, $3, $4, $5, $6) }
let sigmoidFourRowsFloat: DenseRowsKernel = { rawDenseRowOfFour(SigmoidFunction<Float>(), $0, $1, $2, $3, $4, $5, $6) }
let tanhFourRowsFloat: DenseRowsKernel = { rawDenseRowOfFour(TanhFunction<Float>(), $0, $1, $2, $3, $4, $5, $6) }
let reluFourRowsFloat: DenseRowsKernel = { rawDenseRowOfFour(RectifiedFunction<Float>(), $0, $1, $2, $3, $4, $5, $6) }
let leakyReLUFourRowsFloat: DenseRowsKernel = {
    rawDenseRowOfFour(LeakyRectifiedFunction(slope: Float($6)), $0, $1, $2, $3, $4, $5, $6)
}

/// `denseRowOfFour` with `f` over raw pointers (n is 4; the leaky slope is in `f`).
@inline(__always)
func rawDenseRowOfFour<Function: ElementwiseFunction>(
    _ f: Function, _ input: UnsafeRawPointer, _ weights: UnsafeRawPointer, _ z: UnsafeMutableRawPointer?,
    _ a: UnsafeMutableRawPointer, _: Int, _ k: Int, _: Double
) {
    typealias Scalar = Function.Scalar
    denseRowOfFour(input.assumingMemoryBound(to: Scalar.self), weights.assumingMemoryBound(to: Scalar.self),
                   z: z?.assumingMemoryBound(to: Scalar.self), into: a.assumingMemoryBound(to: Scalar.self), k: k, f)
}

/// `denseRow` with `f` over raw pointers (the leaky slope is in `f`).
@inline(__always)
func rawDenseRow<Function: ElementwiseFunction>(
    _ f: Function, _ input: UnsafeRawPointer, _ weights: UnsafeRawPointer, _ z: UnsafeMutableRawPointer?,
    _ a: UnsafeMutableRawPointer, _ n: Int, _ k: Int, _: Double
) {
    typealias Scalar = Function.Scalar
    denseRow(input.assumingMemoryBound(to: Scalar.self), weights.assumingMemoryBound(to: Scalar.self),
             z: z?.assumingMemoryBound(to: Scalar.self), into: a.assumingMemoryBound(to: Scalar.self), n: n, k: k, f)
}
