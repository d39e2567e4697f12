// Helpers shared by the SwiftMLP tests: an independent random source for test data,
// an independent reference forward pass, error assertions and comparison helpers.
// Nothing here calls engine code except the small wrappers around the public API.

import Foundation
import XCTest
@testable import SwiftMLP

// MARK: Test data randomness

/// SplitMix64 used only to draw test data (widths, batches, inputs). Deliberately
/// separate from the engine's generator so that test data never depends on the code
/// under test.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [low, high).
    mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * (Double(next() >> 11) * 0x1.0p-53)
    }

    /// Uniform integer in the closed range (modulo bias is irrelevant for test data).
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    mutating func pick<T>(_ values: [T]) -> T { values[int(0...(values.count - 1))] }

    mutating func array(_ count: Int, _ low: Double, _ high: Double) -> [Double] {
        (0..<count).map { _ in uniform(low, high) }
    }
}

// MARK: Targets

/// Owned target data for the pointer-based engine API.
enum TargetData {
    case dense([Double])
    case labels([Int32])

    var count: Int {
        switch self {
        case .dense(let y): return y.count
        case .labels(let l): return l.count
        }
    }

    /// Dense rows x width (one-hot for labels), for reference computations.
    func denseRows(rows: Int, width: Int) -> [Double] {
        switch self {
        case .dense(let y): return y
        case .labels(let labels):
            var y = [Double](repeating: 0, count: rows * width)
            for (i, label) in labels.enumerated() { y[i * width + Int(label)] = 1 }
            return y
        }
    }
}

extension Network where Scalar == Double {
    /// `gradients` through the pointer API, for dense targets or labels.
    @discardableResult
    func gradients(_ x: [Double], _ targets: TargetData) throws(MLPError) -> Double {
        let rows = x.count / inputCount
        return try withTargets(targets) { (t, count) throws(MLPError) in
            try x.withUnsafeBufferPointer { (xb) throws(MLPError) -> Double in
                try gradients(inputs: xb, targets: t, targetCount: count, rows: rows)
            }
        }
    }

    /// `step` through the pointer API, for dense targets or labels.
    @discardableResult
    func step(_ x: [Double], _ targets: TargetData) throws(MLPError) -> Double {
        let rows = x.count / inputCount
        return try withTargets(targets) { (t, count) throws(MLPError) in
            try x.withUnsafeBufferPointer { (xb) throws(MLPError) -> Double in
                try step(inputs: xb, targets: t, targetCount: count, rows: rows)
            }
        }
    }

    private func withTargets(
        _ targets: TargetData, _ body: (Targets<Double>, Int) throws(MLPError) -> Double
    ) throws(MLPError) -> Double {
        var result: Result<Double, MLPError> = .success(0)
        switch targets {
        case .dense(let y):
            y.withUnsafeBufferPointer { yb in
                do throws(MLPError) { result = .success(try body(.dense(yb.baseAddress!), yb.count)) }
                catch { result = .failure(error) }
            }
        case .labels(let labels):
            labels.withUnsafeBufferPointer { lb in
                do throws(MLPError) { result = .success(try body(.labels(lb.baseAddress!), lb.count)) }
                catch { result = .failure(error) }
            }
        }
        return try result.get()
    }
}

// MARK: Reference forward pass (independent of the engine)

/// Parameter offsets recomputed from the documented layout
/// [W_0 (n_0 x n_1 row-major) | b_0 | W_1 | b_1 | ...], independently of ParameterLayout.
struct ReferenceLayout {
    let sizes: [Int]
    var weightOffsets: [Int] = []
    var biasOffsets: [Int] = []
    var count = 0
    init(_ sizes: [Int]) {
        self.sizes = sizes
        var offset = 0
        for l in 0..<(sizes.count - 1) {
            weightOffsets.append(offset)
            offset += sizes[l] * sizes[l + 1]
            biasOffsets.append(offset)
            offset += sizes[l + 1]
        }
        count = offset
    }
    /// true for the indices of bias entries.
    var isBias: [Bool] {
        var flags = [Bool](repeating: false, count: count)
        for l in 0..<(sizes.count - 1) {
            for j in 0..<sizes[l + 1] { flags[biasOffsets[l] + j] = true }
        }
        return flags
    }
}

func referenceActivate(_ activation: Activation, _ row: [Double], slope: Double) -> [Double] {
    switch activation {
    case .identity: return row
    case .sigmoid: return row.map { 1 / (1 + Foundation.exp(-$0)) }
    case .tanh: return row.map { Foundation.tanh($0) }
    case .relu: return row.map { $0 > 0 ? $0 : 0 }
    case .leakyReLU: return row.map { $0 > 0 ? $0 : slope * $0 }
    case .softmax:
        let m = row.max()!
        let e = row.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }
}

/// Naive forward pass in Double: per layer, Z and A as rows x width arrays.
func referenceForward(
    sizes: [Int], activations: [Activation], slope: Double, parameters p: [Double],
    inputs x: [Double], rows: Int
) -> (z: [[Double]], a: [[Double]]) {
    let layout = ReferenceLayout(sizes)
    var input = x
    var zs: [[Double]] = [], as_: [[Double]] = []
    for l in 0..<(sizes.count - 1) {
        let fanIn = sizes[l], fanOut = sizes[l + 1]
        var z = [Double](repeating: 0, count: rows * fanOut)
        var a = z
        for i in 0..<rows {
            var row = [Double](repeating: 0, count: fanOut)
            for j in 0..<fanOut {
                var s = p[layout.biasOffsets[l] + j]
                for k in 0..<fanIn { s += input[i * fanIn + k] * p[layout.weightOffsets[l] + k * fanOut + j] }
                row[j] = s
            }
            let act = referenceActivate(activations[l], row, slope: slope)
            for j in 0..<fanOut { z[i * fanOut + j] = row[j]; a[i * fanOut + j] = act[j] }
        }
        zs.append(z); as_.append(a)
        input = a
    }
    return (zs, as_)
}

// MARK: Assertions

/// Asserts that `body` throws an MLPError of `kind`.
func assertThrowsMLP<T>(
    _ kind: MLPError.Kind, _ message: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws(MLPError) -> T
) {
    do throws(MLPError) {
        _ = try body()
        XCTFail("expected MLPError .\(kind), nothing was thrown. \(message())", file: file, line: line)
    } catch {
        XCTAssertEqual(error.kind, kind, "wrong error kind (\(error.message)). \(message())", file: file, line: line)
        XCTAssertFalse(error.message.isEmpty, "error message must not be empty", file: file, line: line)
    }
}

/// max_i |a_i - b_i| / max(|a_i|, |b_i|, floor).
func maxRelativeError(_ a: [Double], _ b: [Double], floor: Double = 1e-300) -> Double {
    precondition(a.count == b.count)
    var worst = 0.0
    for i in a.indices {
        let d = abs(a[i] - b[i]) / max(abs(a[i]), abs(b[i]), floor)
        if !(d <= worst) { worst = d.isNaN ? .infinity : d }
    }
    return worst
}

/// Asserts element-wise |a - b| <= tolerance * max(1, |a|, |b|).
func assertClose(
    _ a: [Double], _ b: [Double], tolerance: Double, _ message: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(a.count, b.count, "count differs. \(message())", file: file, line: line)
    guard a.count == b.count else { return }
    for i in a.indices {
        let scale = max(1, abs(a[i]), abs(b[i]))
        if !(abs(a[i] - b[i]) <= tolerance * scale) {
            XCTFail("index \(i): \(a[i]) vs \(b[i]) (diff \(abs(a[i] - b[i]))) exceeds \(tolerance). \(message())",
                    file: file, line: line)
            return
        }
    }
}

func bits(_ values: [Double]) -> [UInt64] { values.map(\.bitPattern) }
func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

/// Equal bit for bit, for either scalar type.
func bitsEqual<S: MLPScalar>(_ a: [S], _ b: [S]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy {
        $0.sign == $1.sign && $0.exponentBitPattern == $1.exponentBitPattern
            && $0.significandBitPattern == $1.significandBitPattern
    }
}

// MARK: Reference backpropagation (independent of the engine)

/// d activation / dz evaluated from z (not from the cached output as the engine does),
/// applied to an upstream row; softmax uses its full Jacobian (diag(a) - a a^T).
func referenceActivationBackward(
    _ activation: Activation, z: [Double], a: [Double], upstream g: [Double], slope: Double
) -> [Double] {
    switch activation {
    case .identity: return g
    case .sigmoid:
        return z.indices.map { j in
            let s = 1 / (1 + Foundation.exp(-z[j]))
            return g[j] * s * (1 - s)
        }
    case .tanh:
        return z.indices.map { j in
            let c = Foundation.cosh(z[j])
            return g[j] / (c * c)
        }
    case .relu: return z.indices.map { z[$0] > 0 ? g[$0] : 0 }
    case .leakyReLU: return z.indices.map { z[$0] > 0 ? g[$0] : slope * g[$0] }
    case .softmax:
        return a.indices.map { j in
            var total = 0.0
            for k in a.indices { total += ((j == k ? a[j] : 0) - a[j] * a[k]) * g[k] }
            return total
        }
    }
}

/// Loss and gradient by textbook loops: per row, the loss from its definition and the
/// output delta, then dW = A^T dZ, db = sum dZ, dA = dZ W^T layer by layer. Targets are
/// dense rows (one-hot for labels). Also returns every layer's dZ (rows x width).
func referenceGradient(
    sizes: [Int], activations: [Activation], slope: Double, loss: Loss, reduction: Reduction,
    parameters p: [Double], inputs x: [Double], targets y: [Double], rows: Int
) -> (loss: Double, gradient: [Double], dz: [[Double]]) {
    let layout = ReferenceLayout(sizes)
    let (zs, as_) = referenceForward(sizes: sizes, activations: activations, slope: slope,
                                     parameters: p, inputs: x, rows: rows)
    let layers = sizes.count - 1
    let width = sizes[layers]
    let scale = reduction == .mean ? 1 / Double(rows) : 1
    var total = 0.0
    var dzs = [[Double]](repeating: [], count: layers)
    var dzLast = [Double](repeating: 0, count: rows * width)
    for i in 0..<rows {
        let z = Array(zs[layers - 1][(i * width)..<((i + 1) * width)])
        let a = Array(as_[layers - 1][(i * width)..<((i + 1) * width)])
        let t = Array(y[(i * width)..<((i + 1) * width)])
        var delta = [Double](repeating: 0, count: width)
        switch loss {
        case .meanSquaredError:
            total += zip(a, t).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 2
            delta = referenceActivationBackward(
                activations[layers - 1], z: z, a: a, upstream: zip(a, t).map { $0 - $1 }, slope: slope)
        case .binaryCrossEntropy:
            for j in 0..<width {
                total += -t[j] * Foundation.log(a[j]) - (1 - t[j]) * Foundation.log(1 - a[j])
                delta[j] = a[j] - t[j]
            }
        case .softmaxCrossEntropy:
            let mass = t.reduce(0, +)
            for j in 0..<width {
                total += -t[j] * Foundation.log(a[j])
                delta[j] = a[j] * mass - t[j]
            }
        case .fannTanhError:  // FANN's 2 atanh(e) of the (halved, for tanh) error, clipped
            let s: Double = activations[layers - 1] == .tanh ? 2 : 1, c = 0.9999999
            var upstream = [Double](repeating: 0, count: width)
            for j in 0..<width {
                let e = (a[j] - t[j]) / s
                if abs(e) > c {
                    upstream[j] = e > 0 ? 17 : -17
                    total += s * (2 * c * Foundation.atanh(c) + Foundation.log((1 - c) * (1 + c)) + 17 * (abs(e) - c))
                } else {
                    upstream[j] = 2 * Foundation.atanh(e)
                    total += s * (2 * e * Foundation.atanh(e) + Foundation.log((1 - e) * (1 + e)))
                }
            }
            delta = referenceActivationBackward(activations[layers - 1], z: z, a: a, upstream: upstream, slope: slope)
        case .poisson:  // identity output: a = z, the log of the mean
            for j in 0..<width {
                total += Foundation.exp(z[j]) - t[j] * z[j] + (t[j] > 0 ? t[j] * Foundation.log(t[j]) : 0) - t[j]
                delta[j] = Foundation.exp(z[j]) - t[j]
            }
        }
        for j in 0..<width { dzLast[i * width + j] = delta[j] * scale }
    }
    dzs[layers - 1] = dzLast
    var gradient = [Double](repeating: 0, count: layout.count)
    for l in stride(from: layers - 1, through: 0, by: -1) {
        let fanIn = sizes[l], fanOut = sizes[l + 1]
        let input = l == 0 ? x : as_[l - 1]
        let dz = dzs[l]
        for k in 0..<fanIn {
            for j in 0..<fanOut {
                var s = 0.0
                for i in 0..<rows { s += input[i * fanIn + k] * dz[i * fanOut + j] }
                gradient[layout.weightOffsets[l] + k * fanOut + j] = s
            }
        }
        for j in 0..<fanOut {
            var s = 0.0
            for i in 0..<rows { s += dz[i * fanOut + j] }
            gradient[layout.biasOffsets[l] + j] = s
        }
        if l > 0 {
            var previous = [Double](repeating: 0, count: rows * fanIn)
            for i in 0..<rows {
                var dA = [Double](repeating: 0, count: fanIn)
                for k in 0..<fanIn {
                    for j in 0..<fanOut { dA[k] += dz[i * fanOut + j] * p[layout.weightOffsets[l] + k * fanOut + j] }
                }
                let zRow = Array(zs[l - 1][(i * fanIn)..<((i + 1) * fanIn)])
                let aRow = Array(as_[l - 1][(i * fanIn)..<((i + 1) * fanIn)])
                let d = referenceActivationBackward(activations[l - 1], z: zRow, a: aRow, upstream: dA, slope: slope)
                for k in 0..<fanIn { previous[i * fanIn + k] = d[k] }
            }
            dzs[l - 1] = previous
        }
    }
    return (reduction == .mean ? total / Double(rows) : total, gradient, dzs)
}
