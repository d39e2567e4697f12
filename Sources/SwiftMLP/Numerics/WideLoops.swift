// The engine's hot loops a second time, compiled for x86-64-v3 (AVX2: vectors of 8
// floats or 4 doubles, against SSE2's 4 and 2), and taken on CPUs that have it.
//
// Swift has no per-function target attribute, so build-support/build-embedded.sh
// compiles the engine's sources twice: the library itself, for baseline x86-64, with
// SWIFTMLP_DISPATCH; and a copy, module SwiftMLPWide, with SWIFTMLP_WIDE and
// -Xcc -march=x86-64-v3 (the target features Swift's code generation takes from the
// Clang importer), of which only the entry points below, and what they call, survive
// the linker's --gc-sections. The library's kernels call them where
// `runsWideLoops` says so; the fused layer's kernels are handed out once per layer
// instead (`denseRowsKernel`). The SwiftPM build defines neither flag: one copy, no
// dispatch.
//
// The same bits either way: Swift does not fuse a * b + c into one instruction, and
// the kernels' sums are in explicit lanes, so the wider code computes the same
// operations in the same order (Tests/embedded/compare.sh runs the C API's calls
// with SWIFTMLP_AVX2=0 and without, and compares).
//
// The entry points take raw pointers and `double` (Float otherwise), so that one
// symbol serves both types. The copy defines them; the library declares them with the
// same signatures (Swift's calling convention on both sides), below the definitions.

import CShim

#if SWIFTMLP_DISPATCH
/// Whether this process runs the hot loops' x86-64-v3 copy: the CPU and the OS
/// support x86-64-v3, and the environment variable SWIFTMLP_AVX2 is not "0" (which
/// keeps the baseline loops, for comparison). Decided once, at the first use.
let cpuRunsWideLoops: Bool = {
    if cshim_cpu_is_x86_64_v3() == 0 { return false }
    guard let setting = getenv("SWIFTMLP_AVX2") else { return true }
    return !(setting[0] == 0x30 && setting[1] == 0)
}()

/// Whether a loop over `count` values runs in the wide copy: on an x86-64-v3 CPU, when
/// the values take at least `minimumBytes` (below that the call into the copy costs
/// more than its wider vectors save).
@inline(__always)
func runsWideLoops<Scalar>(_: Scalar.Type, count: Int, minimumBytes: Int) -> Bool {
    count &* MemoryLayout<Scalar>.size >= minimumBytes && cpuRunsWideLoops
}
#endif

#if SWIFTMLP_WIDE

/// `denseRowsKernel(_:double:outputs:)`: the copy's kernel of a layer.
@_silgen_name("swiftmlp_wide_dense_rows_kernel")
func wideDenseRowsKernel(activation: UInt8, double: Bool, outputs: Int) -> DenseRowsKernel? {
    denseRowsKernel(Activation(rawValue: activation) ?? .identity, double: double, outputs: outputs)
}

/// `rowsTimesMatrix`.
@_silgen_name("swiftmlp_wide_rows_times_matrix")
func wideRowsTimesMatrix(
    _ a: UnsafeRawPointer, rowStride: Int, elementStride: Int, _ b: UnsafeRawPointer, ldb: Int,
    into c: UnsafeMutableRawPointer, ldc: Int, m: Int, n: Int, k: Int, double: Bool
) {
    @inline(__always) func typed<Scalar: MLPScalar>(_: Scalar.Type) {
        rowsTimesMatrix(a.assumingMemoryBound(to: Scalar.self), rowStride: rowStride, elementStride: elementStride,
                        b.assumingMemoryBound(to: Scalar.self), ldb: ldb, into: c.assumingMemoryBound(to: Scalar.self),
                        ldc: ldc, m: m, n: n, k: k)
    }
    double ? typed(Double.self) : typed(Float.self)
}

/// `outerProduct`, updating C at the rate when `updates`.
@_silgen_name("swiftmlp_wide_outer_product")
func wideOuterProduct(
    _ a: UnsafeRawPointer, stride: Int, _ b: UnsafeRawPointer, into c: UnsafeMutableRawPointer, ldc: Int,
    m: Int, n: Int, updates: Bool, learningRate: Double, weightDecay: Double, double: Bool
) {
    @inline(__always) func typed<Scalar: MLPScalar>(_: Scalar.Type) {
        let a = a.assumingMemoryBound(to: Scalar.self), b = b.assumingMemoryBound(to: Scalar.self)
        let c = c.assumingMemoryBound(to: Scalar.self)
        if !updates {
            outerProduct(a, stride: stride, b, into: c, ldc: ldc, m: m, n: n, StoreProduct())
        } else if weightDecay == 0 {
            // A literal 0, as `multiply` passes it: the loops test no decay.
            outerProduct(a, stride: stride, b, into: c, ldc: ldc, m: m, n: n,
                         PlainSGDRate(learningRate: Scalar(learningRate), weightDecay: 0))
        } else {
            outerProduct(a, stride: stride, b, into: c, ldc: ldc, m: m, n: n,
                         PlainSGDRate(learningRate: Scalar(learningRate), weightDecay: Scalar(weightDecay)))
        }
    }
    double ? typed(Double.self) : typed(Float.self)
}

/// `outerProductOfFourColumns` (Float), updating C at the rate when `updates`.
@_silgen_name("swiftmlp_wide_outer_product_of_four_columns")
func wideOuterProductOfFourColumns(
    _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, into c: UnsafeMutableRawPointer, m: Int,
    updates: Bool, learningRate: Double, weightDecay: Double
) {
    let a = a.assumingMemoryBound(to: Float.self), b = b.assumingMemoryBound(to: Float.self)
    let c = c.assumingMemoryBound(to: Float.self)
    if !updates {
        outerProductOfFourColumns(a, b, into: c, m: m, StoreProduct())
    } else if weightDecay == 0 {
        outerProductOfFourColumns(a, b, into: c, m: m, PlainSGDRate(learningRate: Float(learningRate), weightDecay: 0))
    } else {
        outerProductOfFourColumns(a, b, into: c, m: m,
                                  PlainSGDRate(learningRate: Float(learningRate), weightDecay: Float(weightDecay)))
    }
}

/// `momentumSGD`; the OR of `nonFiniteBits`, widened.
@_silgen_name("swiftmlp_wide_momentum_sgd")
func wideMomentumSGD(
    parameters: UnsafeMutableRawPointer, velocity: UnsafeMutableRawPointer, gradient: UnsafeRawPointer,
    count: Int, gradientScale: Double, weightDecay: Double, learningRate: Double, momentum: Double,
    nesterov: Bool, double: Bool
) -> UInt64 {
    @inline(__always) func typed<Scalar: MLPScalar>(_: Scalar.Type) -> UInt64 {
        UInt64(momentumSGD(
            parameters: parameters.assumingMemoryBound(to: Scalar.self),
            velocity: velocity.assumingMemoryBound(to: Scalar.self),
            gradient: gradient.assumingMemoryBound(to: Scalar.self), count: count,
            gradientScale: Scalar(gradientScale), weightDecay: Scalar(weightDecay),
            learningRate: Scalar(learningRate), momentum: Scalar(momentum), nesterov: nesterov))
    }
    return double ? typed(Double.self) : typed(Float.self)
}

/// `adamUpdate`; the OR of `nonFiniteBits`, widened.
@_silgen_name("swiftmlp_wide_adam_update")
func wideAdamUpdate(
    parameters: UnsafeMutableRawPointer, m: UnsafeMutableRawPointer, v: UnsafeMutableRawPointer,
    gradient: UnsafeRawPointer, count: Int, gradientScale: Double, weightDecay: Double, decoupled: Bool,
    beta1: Double, beta2: Double, epsilon: Double, stepSize: Double, root2: Double, shrink: Double, double: Bool
) -> UInt64 {
    @inline(__always) func typed<Scalar: MLPScalar>(_: Scalar.Type) -> UInt64 {
        UInt64(adamUpdate(
            parameters: parameters.assumingMemoryBound(to: Scalar.self), m: m.assumingMemoryBound(to: Scalar.self),
            v: v.assumingMemoryBound(to: Scalar.self), gradient: gradient.assumingMemoryBound(to: Scalar.self),
            count: count, gradientScale: Scalar(gradientScale), weightDecay: Scalar(weightDecay),
            decoupled: decoupled, beta1: Scalar(beta1), beta2: Scalar(beta2), epsilon: Scalar(epsilon),
            stepSize: Scalar(stepSize), root2: Scalar(root2), shrink: Scalar(shrink)))
    }
    return double ? typed(Double.self) : typed(Float.self)
}

/// `MLPScalar.allFinite`.
@_silgen_name("swiftmlp_wide_all_finite")
func wideAllFinite(_ values: UnsafeRawPointer, count: Int, double: Bool) -> Bool {
    double ? Double.allFinite(values.assumingMemoryBound(to: Double.self), count: count)
        : Float.allFinite(values.assumingMemoryBound(to: Float.self), count: count)
}

#elseif SWIFTMLP_DISPATCH

@_silgen_name("swiftmlp_wide_dense_rows_kernel")
func wideDenseRowsKernel(activation: UInt8, double: Bool, outputs: Int) -> DenseRowsKernel?

@_silgen_name("swiftmlp_wide_rows_times_matrix")
func wideRowsTimesMatrix(
    _ a: UnsafeRawPointer, rowStride: Int, elementStride: Int, _ b: UnsafeRawPointer, ldb: Int,
    into c: UnsafeMutableRawPointer, ldc: Int, m: Int, n: Int, k: Int, double: Bool)

@_silgen_name("swiftmlp_wide_outer_product")
func wideOuterProduct(
    _ a: UnsafeRawPointer, stride: Int, _ b: UnsafeRawPointer, into c: UnsafeMutableRawPointer, ldc: Int,
    m: Int, n: Int, updates: Bool, learningRate: Double, weightDecay: Double, double: Bool)

@_silgen_name("swiftmlp_wide_outer_product_of_four_columns")
func wideOuterProductOfFourColumns(
    _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, into c: UnsafeMutableRawPointer, m: Int,
    updates: Bool, learningRate: Double, weightDecay: Double)

@_silgen_name("swiftmlp_wide_momentum_sgd")
func wideMomentumSGD(
    parameters: UnsafeMutableRawPointer, velocity: UnsafeMutableRawPointer, gradient: UnsafeRawPointer,
    count: Int, gradientScale: Double, weightDecay: Double, learningRate: Double, momentum: Double,
    nesterov: Bool, double: Bool) -> UInt64

@_silgen_name("swiftmlp_wide_adam_update")
func wideAdamUpdate(
    parameters: UnsafeMutableRawPointer, m: UnsafeMutableRawPointer, v: UnsafeMutableRawPointer,
    gradient: UnsafeRawPointer, count: Int, gradientScale: Double, weightDecay: Double, decoupled: Bool,
    beta1: Double, beta2: Double, epsilon: Double, stepSize: Double, root2: Double, shrink: Double, double: Bool
) -> UInt64

@_silgen_name("swiftmlp_wide_all_finite")
func wideAllFinite(_ values: UnsafeRawPointer, count: Int, double: Bool) -> Bool

#endif
