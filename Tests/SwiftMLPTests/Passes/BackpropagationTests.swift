// Tests of Backpropagation.swift: the analytic gradient against central finite
// differences, batch/per-sample consistency, the online SGD update, and predict
// against the training forward pass.

import Foundation
import XCTest
@testable import SwiftMLP

/// One output configuration a finite-difference case can use.
enum OutputCase: CaseIterable, CustomStringConvertible {
    case mse(Activation)
    /// FANN's tanh error function: halved errors for tanh; identity and sigmoid reach
    /// its clip at +-17 with targets in [-1, 1].
    case fannTanh(Activation)
    case bceSigmoid
    case softmaxOneHot
    case softmaxLabels
    case softmaxSoftTargets

    static var allCases: [OutputCase] {
        Activation.allCases.map { .mse($0) } + [.identity, .tanh, .sigmoid].map { .fannTanh($0) }
            + [.bceSigmoid, .softmaxOneHot, .softmaxLabels, .softmaxSoftTargets]
    }

    var loss: Loss {
        switch self {
        case .mse: return .meanSquaredError
        case .fannTanh: return .fannTanhError
        case .bceSigmoid: return .binaryCrossEntropy
        default: return .softmaxCrossEntropy
        }
    }

    var activation: Activation {
        switch self {
        case .mse(let a), .fannTanh(let a): return a
        case .bceSigmoid: return .sigmoid
        default: return .softmax
        }
    }

    var description: String {
        switch self {
        case .mse(let a): return "MSE/\(a)"
        case .fannTanh(let a): return "FANN tanh error/\(a)"
        case .bceSigmoid: return "BCE/sigmoid"
        case .softmaxOneHot: return "SCE/one-hot"
        case .softmaxLabels: return "SCE/labels"
        case .softmaxSoftTargets: return "SCE/soft"
        }
    }

    /// Targets for `rows` rows of `width` outputs.
    func targets(rows: Int, width: Int, random: inout TestRandom) -> TargetData {
        switch self {
        case .mse, .fannTanh:
            return .dense(random.array(rows * width, -1, 1))
        case .bceSigmoid:
            // Soft targets in [0, 1] with some exact 0s and 1s.
            return .dense((0..<(rows * width)).map { _ in
                let r = random.uniform(0, 1)
                return r < 0.2 ? 0 : (r > 0.8 ? 1 : random.uniform(0, 1))
            })
        case .softmaxOneHot:
            var y = [Double](repeating: 0, count: rows * width)
            for i in 0..<rows { y[i * width + random.int(0...(width - 1))] = 1 }
            return .dense(y)
        case .softmaxLabels:
            return .labels((0..<rows).map { _ in Int32(random.int(0...(width - 1))) })
        case .softmaxSoftTargets:
            // Non-negative rows that need not sum to 1: the engine's dL/dz = a sum(y) - y
            // covers that case, so the check covers it too.
            return .dense(random.array(rows * width, 0, 1))
        }
    }
}

/// A random network, batch and targets, drawn away from relu kinks.
struct RandomCase {
    let sizes: [Int]
    let activations: [Activation]
    let slope: Double
    let loss: Loss
    let reduction: Reduction
    let rows: Int
    let net: Network<Double>
    let parameters: [Double]
    let inputs: [Double]
    let targets: TargetData
    var outputs: Int { sizes[sizes.count - 1] }
    var denseTargets: [Double] { targets.denseRows(rows: rows, width: outputs) }
    var description: String {
        "\(loss) \(reduction) sizes \(sizes) activations \(activations) slope \(slope) rows \(rows)"
    }

    /// Draws widths 1...6 (>= 2 outputs for softmax CE), batches of 1...7 rows (by
    /// default; larger ranges reach the BLAS path of `multiply`), the
    /// engine's seeded weights plus random biases in [-0.5, 0.5], inputs in [-1.5, 1.5].
    /// The first hidden layer uses `hidden`, deeper ones a random non-softmax activation.
    /// Redraws while any relu/leaky-relu pre-activation (the engine's own Z) is within
    /// 1e-3 of zero, where the function is not differentiable, and, for FANN's tanh
    /// error, while any output error e is within 0.02 of +-1: its slope jumps at the
    /// clip there, and its third derivative 4e/(1 - e^2)^2, which central differences
    /// truncate, is unbounded as |e| -> 1.
    static func draw(
        output: OutputCase, reduction: Reduction, hidden: Activation, layerCount: Int,
        widths: ClosedRange<Int> = 1...6, batch: ClosedRange<Int> = 1...7, random: inout TestRandom
    ) throws -> RandomCase {
        for _ in 0..<500 {
            var sizes = [random.int(widths)]
            for _ in 0..<layerCount { sizes.append(random.int(widths)) }
            if output.loss == .softmaxCrossEntropy { sizes[layerCount] = max(2, sizes[layerCount]) }
            var activations: [Activation] = []
            for l in 0..<(layerCount - 1) {
                activations.append(l == 0 ? hidden : random.pick([.identity, .sigmoid, .tanh, .relu, .leakyReLU]))
            }
            activations.append(output.activation)
            let slope = random.pick([0.01, 0.2, 0.5])
            let rows = random.int(batch)
            let net = try Network<Double>(NetworkConfiguration(
                layerSizes: sizes, activations: activations, loss: output.loss, reduction: reduction,
                seed: random.next(), leakyReLUSlope: slope))
            var p = net.parameterValues
            let ref = ReferenceLayout(sizes)
            for l in 0..<layerCount {
                for j in 0..<sizes[l + 1] { p[ref.biasOffsets[l] + j] = random.uniform(-0.5, 0.5) }
            }
            try net.setParameters(p)
            let x = random.array(rows * sizes[0], -1.5, 1.5)
            let targets = output.targets(rows: rows, width: sizes[layerCount], random: &random)
            try net.gradients(x, targets)
            var nearKink = false
            for l in 0..<layerCount where activations[l] == .relu || activations[l] == .leakyReLU {
                let z = UnsafeBufferPointer(start: net.workspace.z(l), count: rows * sizes[l + 1])
                if z.contains(where: { abs($0) < 1e-3 }) { nearKink = true }
            }
            if output.loss == .fannTanhError {
                let s: Double = output.activation == .tanh ? 2 : 1
                let a = UnsafeBufferPointer(start: net.workspace.a(layerCount - 1), count: rows * sizes[layerCount])
                let y = targets.denseRows(rows: rows, width: sizes[layerCount])
                if zip(a, y).contains(where: { abs(abs($0 - $1) / s - 1) < 0.02 }) { nearKink = true }
            }
            if nearKink { continue }
            return RandomCase(sizes: sizes, activations: activations, slope: slope, loss: output.loss,
                              reduction: reduction, rows: rows, net: net, parameters: p, inputs: x,
                              targets: targets)
        }
        throw XCTSkip("could not draw a network away from relu kinks")
    }
}

final class BackpropagationTests: XCTestCase {

    static let hiddenActivations: [Activation] = [.identity, .sigmoid, .tanh, .relu, .leakyReLU]

    /// Calls `body` for every output case x reduction x hidden activation x 1...4 layers.
    func forEveryCombination(seed: UInt64, _ body: (RandomCase) throws -> Void) throws -> Int {
        var random = TestRandom(seed: seed)
        var count = 0
        for output in OutputCase.allCases {
            for reduction in Reduction.allCases {
                for hidden in Self.hiddenActivations {
                    for layerCount in 1...4 {
                        let c = try RandomCase.draw(output: output, reduction: reduction, hidden: hidden,
                                                    layerCount: layerCount, random: &random)
                        try body(c)
                        count += 1
                    }
                }
            }
        }
        return count
    }

    // MARK: 1. Finite differences

    /// Every activation (hidden: identity, sigmoid, tanh, relu, leaky relu; output: all
    /// six under MSE, identity, tanh and sigmoid under FANN's tanh error, sigmoid under
    /// BCE, softmax under CE with one-hot, label and non-normalised soft targets) x both
    /// reductions x 1-4 weight layers: 520 random
    /// networks (widths 1-6, batches 1-7). Every gradient entry is compared with the
    /// central difference (L(p + h e_i) - L(p - h e_i)) / 2h, L being the loss the
    /// `gradients` call returns.
    ///
    /// Step: the central difference has truncation error ~ h^2/6 |L'''| and rounding
    /// error ~ c eps |L| / h (eps = 2.2e-16; measured c <= ~4 here). h = 1e-5 roughly
    /// minimises the sum for O(1) losses: both terms ~1e-11 absolute.
    ///
    /// Tolerance: relative error < 1e-7 with denominator max(|a|, |b|, floor). A pure
    /// relative test cannot work for entries below ~1e-4 |L| (the rounding error of the
    /// difference is absolute, ~1e-11 |L|), and entries of 1e-7 occur (saturated
    /// sigmoids, dead relus, long products). So floor = 50 eps max(1, |L|) / (h 1e-7)
    /// (~1.1e-2 max(1, |L|)): entries above it are held to 1e-7 relative, and those
    /// below to an absolute 1e-7 floor (~1.1e-9 max(1, |L|)), 50 times the rounding noise
    /// of L. An actual backprop mistake (a missing factor, a derivative taken at z
    /// instead of a, a wrong reduction) is orders of magnitude larger. The floor 1e-8
    /// of the brief is kept as a lower bound. Small entries are in addition held to
    /// 1e-10 against an exact reference in testGradientMatchesReferenceBackpropagation.
    ///
    /// ReLU and leaky ReLU are not differentiable at 0: draws where any relu/leaky
    /// pre-activation is within 1e-3 of zero are rejected, so a +-h step (which moves
    /// a pre-activation by ~h |x| |W| <= ~1e-4) never crosses the kink.
    func testAnalyticGradientMatchesCentralDifferences() throws {
        let h = 1e-5
        let tolerance = 1e-7
        var worstOverall = 0.0
        let count = try forEveryCombination(seed: 0xF1D1_7E0D_1FF) { c in
            let net = c.net
            let p = c.parameters
            try net.setParameters(p)
            let loss = try net.gradients(c.inputs, c.targets)
            let analytic = Array(net.gradientView)
            var numeric = [Double](repeating: 0, count: p.count)
            for i in p.indices {
                var q = p
                q[i] = p[i] + h
                let up = q[i]
                try net.setParameters(q)
                let lossUp = try net.gradients(c.inputs, c.targets)
                q[i] = p[i] - h
                let down = q[i]
                try net.setParameters(q)
                let lossDown = try net.gradients(c.inputs, c.targets)
                // Divide by the step actually taken (p +- h is rounded).
                numeric[i] = (lossUp - lossDown) / (up - down)
            }
            let floor = max(1e-8, 50 * Double.ulpOfOne * max(1, abs(loss)) / (h * tolerance))
            let worst = maxRelativeError(analytic, numeric, floor: floor)
            worstOverall = max(worstOverall, worst)
            XCTAssertLessThan(worst, tolerance,
                "\(c.description) loss \(loss)\nanalytic \(analytic)\nnumeric  \(numeric)")
        }
        XCTAssertEqual(count, OutputCase.allCases.count * 2 * 5 * 4)
        print("finite differences: \(count) networks, worst relative error \(worstOverall)")
    }

    /// The same kinds of networks against `referenceGradient` (textbook loops, in
    /// this test target): loss and every gradient entry. Both are exact-arithmetic
    /// computations of the same quantity in Float64 that differ only in summation
    /// order (BLAS vs loops) and in evaluating derivatives from z instead of a, so they
    /// agree to ~1e-14 relative; 1e-10 leaves room for cancellation. Differences are
    /// measured against max(|a|, |b|, 1e-3 max_k |g_k|) so entries that are sums of
    /// cancelling terms are held to 1e-13 of the gradient's scale.
    func testGradientMatchesReferenceBackpropagation() throws {
        let count = try forEveryCombination(seed: 0x5EED_0F_BAC4) { c in
            try checkAgainstReference(c)
        }
        XCTAssertEqual(count, OutputCase.allCases.count * 2 * 5 * 4)
    }

    /// The case's loss and gradient against the reference backprop: loss within 1e-10
    /// relative, every gradient entry within 1e-10 of max(|a|, |b|, 1e-3 max_k |g_k|)
    /// (testGradientMatchesReferenceBackpropagation says why).
    func checkAgainstReference(_ c: RandomCase) throws {
        try c.net.setParameters(c.parameters)
        let loss = try c.net.gradients(c.inputs, c.targets)
        let engine = Array(c.net.gradientView)
        let reference = referenceGradient(
            sizes: c.sizes, activations: c.activations, slope: c.slope, loss: c.loss,
            reduction: c.reduction, parameters: c.parameters, inputs: c.inputs,
            targets: c.denseTargets, rows: c.rows)
        XCTAssertEqual(loss, reference.loss, accuracy: 1e-10 * max(1, abs(loss)), c.description)
        let scale = engine.map(abs).max() ?? 0
        let worst = maxRelativeError(engine, reference.gradient, floor: max(1e-300, 1e-3 * scale))
        XCTAssertLessThan(worst, 1e-10, "\(c.description)\nengine    \(engine)\nreference \(reference.gradient)")
    }

    // MARK: The BLAS path

    /// The networks above are small enough that every product takes the plain-loop
    /// path of `multiply` (m n k <= smallProductLimit). These draw widths 12-40 and
    /// batches 10-48 so that products go through OpenBLAS (asserted), with some layers
    /// on each path, for every output case and reduction, against the reference
    /// backprop. Tolerance as in testGradientMatchesReferenceBackpropagation (longer
    /// sums: still ~1e-14 relative).
    func testGradientMatchesReferenceOnBLASSizedNetworks() throws {
        var random = TestRandom(seed: 0xB1A5)
        var blasLayers = 0, loopLayers = 0
        for output in OutputCase.allCases {
            for reduction in Reduction.allCases {
                let c = try RandomCase.draw(output: output, reduction: reduction,
                                            hidden: random.pick(Self.hiddenActivations), layerCount: random.int(2...3),
                                            widths: 2...40, batch: 10...48, random: &random)
                for l in 0..<(c.sizes.count - 1) {
                    if c.rows * c.sizes[l] * c.sizes[l + 1] > smallProductLimit { blasLayers += 1 } else { loopLayers += 1 }
                }
                try checkAgainstReference(c)
                // predict (BLAS path in place) equals the training forward pass.
                let last = c.sizes.count - 2
                let trained = Array(UnsafeBufferPointer(start: c.net.workspace.a(last), count: c.rows * c.outputs))
                XCTAssertEqual(bits(try c.net.predict(c.inputs)), bits(trained), c.description)
            }
        }
        XCTAssertGreaterThan(blasLayers, 10, "the draw must exercise the BLAS path")
        XCTAssertGreaterThan(loopLayers, 3, "and mix in loop-path layers")
    }

    /// Central differences on networks whose products all go through BLAS; same h,
    /// tolerance and floor as testAnalyticGradientMatchesCentralDifferences.
    func testCentralDifferencesOnBLASSizedNetworks() throws {
        let h = 1e-5, tolerance = 1e-7
        let cases: [([Int], [Activation], Loss, TargetData, Int)] = [
            ([20, 24, 10], [.tanh, .softmax], .softmaxCrossEntropy, .labels((0..<20).map { Int32($0 % 10) }), 20),
            ([16, 18, 17, 16], [.leakyReLU, .sigmoid, .sigmoid], .binaryCrossEntropy, .dense([]), 16),
            ([18, 15, 20], [.relu, .identity], .meanSquaredError, .dense([]), 18),
        ]
        var random = TestRandom(seed: 0xB1A6)
        for (sizes, activations, loss, labelTargets, rows) in cases {
            for l in 0..<(sizes.count - 1) { XCTAssertGreaterThan(rows * sizes[l] * sizes[l + 1], smallProductLimit) }
            let net = try Network<Double>(NetworkConfiguration(
                layerSizes: sizes, activations: activations, loss: loss, reduction: .mean, seed: 99, leakyReLUSlope: 0.1))
            var p = net.parameterValues
            let layout = ReferenceLayout(sizes)
            for (i, bias) in layout.isBias.enumerated() where bias { p[i] = random.uniform(-0.5, 0.5) }
            try net.setParameters(p)
            var x: [Double] = [], targets = labelTargets
            var ok = false
            for _ in 0..<200 {
                x = random.array(rows * sizes[0], -1.5, 1.5)
                if case .dense = labelTargets { targets = .dense(random.array(rows * sizes.last!, 0, 1)) }
                try net.gradients(x, targets)
                ok = true
                for l in 0..<(sizes.count - 1) where activations[l] == .relu || activations[l] == .leakyReLU {
                    let z = UnsafeBufferPointer(start: net.workspace.z(l), count: rows * sizes[l + 1])
                    if z.contains(where: { abs($0) < 1e-3 }) { ok = false }
                }
                if ok { break }
            }
            XCTAssertTrue(ok, "no kink-free draw")
            let lossValue = try net.gradients(x, targets)
            let analytic = Array(net.gradientView)
            var numeric = [Double](repeating: 0, count: p.count)
            for i in p.indices {
                var q = p
                q[i] = p[i] + h; let up = q[i]
                try net.setParameters(q)
                let lossUp = try net.gradients(x, targets)
                q[i] = p[i] - h; let down = q[i]
                try net.setParameters(q)
                let lossDown = try net.gradients(x, targets)
                numeric[i] = (lossUp - lossDown) / (up - down)
            }
            let floor = max(1e-8, 50 * Double.ulpOfOne * max(1, abs(lossValue)) / (h * tolerance))
            XCTAssertLessThan(maxRelativeError(analytic, numeric, floor: floor), tolerance, "\(sizes) \(activations)")
        }
    }

    // MARK: 2. Batch = sum of samples

    /// Under sum reduction the batch gradient (biases in particular) is the sum of the
    /// per-sample gradients, and the batch loss the sum of per-sample losses; under mean
    /// reduction both are that sum / n. Same exact quantities in a different summation
    /// order: 1e-12 relative to the gradient's largest entry.
    func testBatchGradientIsSumOfPerSampleGradients() throws {
        var random = TestRandom(seed: 77)
        for output in OutputCase.allCases {
            let c = try RandomCase.draw(output: output, reduction: .sum, hidden: random.pick(Self.hiddenActivations),
                                        layerCount: random.int(1...4), random: &random)
            let sumNet = c.net
            try sumNet.setParameters(c.parameters)
            var configuration = sumNet.configuration
            configuration.reduction = .mean
            let meanNet = try Network<Double>(configuration)
            try meanNet.setParameters(c.parameters)

            let batchLoss = try sumNet.gradients(c.inputs, c.targets)
            let batchGradient = Array(sumNet.gradientView)
            let meanLoss = try meanNet.gradients(c.inputs, c.targets)
            let meanGradient = Array(meanNet.gradientView)

            var summed = [Double](repeating: 0, count: batchGradient.count)
            var summedLoss = 0.0
            let nIn = c.sizes[0]
            for i in 0..<c.rows {
                let x = Array(c.inputs[(i * nIn)..<((i + 1) * nIn)])
                let t: TargetData
                switch c.targets {
                case .dense(let y): t = .dense(Array(y[(i * c.outputs)..<((i + 1) * c.outputs)]))
                case .labels(let l): t = .labels([l[i]])
                }
                summedLoss += try sumNet.gradients(x, t)
                for k in summed.indices { summed[k] += sumNet.gradientView[k] }
            }
            let scale = max(1e-300, batchGradient.map(abs).max()!)
            let layout = ReferenceLayout(c.sizes)
            let biasIndices = layout.isBias.indices.filter { layout.isBias[$0] }
            XCTAssertLessThan(maxRelativeError(biasIndices.map { batchGradient[$0] }, biasIndices.map { summed[$0] },
                                               floor: 1e-12 * scale), 1e-12, "bias gradient, \(c.description)")
            XCTAssertLessThan(maxRelativeError(batchGradient, summed, floor: scale), 1e-12, c.description)
            XCTAssertEqual(batchLoss, summedLoss, accuracy: 1e-12 * max(1, abs(summedLoss)))
            XCTAssertEqual(meanLoss, summedLoss / Double(c.rows), accuracy: 1e-12 * max(1, abs(meanLoss)))
            let expectedMean = summed.map { $0 / Double(c.rows) }
            XCTAssertLessThan(maxRelativeError(meanGradient, expectedMean, floor: scale / Double(c.rows)), 1e-12,
                              "mean = sum / n, \(c.description)")
        }
    }

    // MARK: 3. Online SGD update

    /// A batch of one with plain SGD: b_l -= lr dz_l and W_l -= lr x_l^T dz_l (x_l the
    /// layer's input row), with dz_l computed by the reference backprop in this target.
    /// Float64, one multiply-subtract per entry after the exact dz: 1e-12.
    func testBatchOfOneSGDStepEqualsOnlineUpdate() throws {
        var random = TestRandom(seed: 3)
        for (sizes, activations, loss) in [
            ([3, 4, 2], [Activation.tanh, .sigmoid], Loss.binaryCrossEntropy),
            ([2, 5, 3, 3], [.relu, .leakyReLU, .softmax], .softmaxCrossEntropy),
            ([4, 3], [.identity], .meanSquaredError),
            ([3, 6, 4, 5, 2], [.sigmoid, .tanh, .leakyReLU, .identity], .meanSquaredError),
        ] {
            for reduction in Reduction.allCases {
                let net = try Network<Double>(NetworkConfiguration(
                    layerSizes: sizes, activations: activations, loss: loss, reduction: reduction, seed: 11))
                let lr = 0.05
                var sgd = OptimizerConfiguration(kind: .sgd)
                sgd.learningRate = lr
                try net.setOptimizer(sgd)
                let x = random.array(sizes[0], -1, 1)
                var y = random.array(sizes.last!, 0, 1)
                if loss == .softmaxCrossEntropy { y = y.map { _ in 0 }; y[1] = 1 }
                let p = net.parameterValues
                let as_ = referenceForward(sizes: sizes, activations: activations, slope: 0.01,
                                           parameters: p, inputs: x, rows: 1).a
                let dz = referenceGradient(sizes: sizes, activations: activations, slope: 0.01, loss: loss,
                                           reduction: reduction, parameters: p, inputs: x, targets: y, rows: 1).dz
                let layout = ReferenceLayout(sizes)
                var expected = p
                for l in 0..<(sizes.count - 1) {
                    let input = l == 0 ? x : as_[l - 1]
                    for j in 0..<sizes[l + 1] {
                        expected[layout.biasOffsets[l] + j] -= lr * dz[l][j]
                        for k in 0..<sizes[l] {
                            expected[layout.weightOffsets[l] + k * sizes[l + 1] + j] -= lr * input[k] * dz[l][j]
                        }
                    }
                }
                try net.step(x, .dense(y))
                assertClose(net.parameterValues, expected, tolerance: 1e-12, "\(sizes) \(loss) \(reduction)")
            }
        }
    }

    // MARK: 9. predict vs the training forward pass

    /// predict's output equals the last layer's activation the training pass keeps
    /// (workspace.a(last)) and the reference forward pass. Same operations on the same
    /// data in the same order: bit-identical is expected from the engine and asserted
    /// for the workspace; the reference (loops, libm) gets 1e-12.
    func testPredictEqualsTrainingForwardOutput() throws {
        var random = TestRandom(seed: 9)
        for output in OutputCase.allCases {
            for layerCount in 1...4 {
                let c = try RandomCase.draw(output: output, reduction: .mean,
                                            hidden: random.pick(Self.hiddenActivations),
                                            layerCount: layerCount, random: &random)
                try c.net.setParameters(c.parameters)
                try c.net.gradients(c.inputs, c.targets)
                let last = c.sizes.count - 2
                let trained = Array(UnsafeBufferPointer(start: c.net.workspace.a(last), count: c.rows * c.outputs))
                let predicted = try c.net.predict(c.inputs)
                XCTAssertEqual(bits(predicted), bits(trained), "predict vs training forward, \(c.description)")
                let reference = referenceForward(sizes: c.sizes, activations: c.activations, slope: c.slope,
                                                 parameters: c.parameters, inputs: c.inputs, rows: c.rows).a[last]
                assertClose(predicted, reference, tolerance: 1e-12, c.description)
                if c.activations[last] == .softmax {
                    for i in 0..<c.rows {
                        // A sum of <= 6 terms each within 1 ulp: 1e-14.
                        XCTAssertEqual(predicted[(i * c.outputs)..<((i + 1) * c.outputs)].reduce(0, +), 1, accuracy: 1e-14)
                    }
                }
            }
        }
    }

    /// With more than one BLAS thread the forward products OpenBLAS computes go to the
    /// workspace's own product buffer and the bias pass writes Z (`forwardTraining`);
    /// the loss, the gradient and every cached Z, A and dZ have the same bits as with
    /// one thread, where the pass updates Z in place. Widths and batches reach both
    /// kinds of product (above and below `smallProductLimit`) but stay below the size
    /// at which OpenBLAS splits a product over threads, so both runs multiply alike.
    func testProductBufferAtTwoBLASThreadsGivesTheSameBits() throws {
        let saved = BLASThreads.count
        defer { try? BLASThreads.set(saved) }
        var random = TestRandom(seed: 21)
        var checkedProductApart = 0, checkedInPlace = 0, checkedSmallLast = 0
        for output in OutputCase.allCases {
            for layerCount in 1...3 {
                let c = try RandomCase.draw(output: output, reduction: .mean,
                                            hidden: random.pick(Self.hiddenActivations), layerCount: layerCount,
                                            widths: 4...40, batch: 8...60, random: &random)
                let last = layerCount - 1
                let lastGoesToBLAS = productGoesToBLAS(m: c.rows, n: c.outputs, k: c.sizes[last])
                let noneGoesToBLAS = (0...last).allSatisfy { !productGoesToBLAS(m: c.rows, n: c.sizes[$0 + 1], k: c.sizes[$0]) }
                let bias = Array(c.parameters[ReferenceLayout(c.sizes).biasOffsets[last]...].prefix(c.outputs))
                var runs: [[UInt64]] = []
                for threads in [1, 2] {
                    try BLASThreads.set(threads)
                    try c.net.setParameters(c.parameters)
                    // A sentinel: which way did the last layer's pass go?
                    UnsafeMutableBufferPointer(start: c.net.workspace.product, count: c.rows * c.outputs)
                        .update(repeating: .nan)
                    let loss = try c.net.gradients(c.inputs, c.targets)
                    var run = [loss.bitPattern] + bits(Array(c.net.gradientView))
                    for l in 0...last {
                        for kind in [CacheKind.preActivation, .activation, .delta] {
                            run += bits(Array(try c.net.cachedMatrix(layer: l, kind: kind)))
                        }
                    }
                    runs.append(run)
                    // The product buffer is untouched at one thread, and holds the
                    // last layer's product (Z minus the bias) when OpenBLAS computed
                    // it at two. (Else it may hold an earlier layer's.)
                    let product = Array(UnsafeBufferPointer(start: c.net.workspace.product, count: c.rows * c.outputs))
                    if threads == 1 || noneGoesToBLAS {
                        XCTAssertTrue(product.allSatisfy(\.isNaN),
                                      "\(threads) threads: the product buffer was written, \(c.description)")
                        checkedInPlace += threads - 1
                    } else {
                        // The last layer's product is in the buffer exactly when
                        // OpenBLAS computed it (else an earlier layer's may be).
                        let z = try c.net.cachedMatrix(layer: last, kind: .preActivation)
                        let productPlusBias = product.indices.map { product[$0] + bias[$0 % c.outputs] }
                        if lastGoesToBLAS {
                            XCTAssertEqual(bits(productPlusBias), bits(Array(z)), "product buffer, \(c.description)")
                            checkedProductApart += 1
                        } else {
                            XCTAssertNotEqual(bits(productPlusBias), bits(Array(z)),
                                              "a small last product went to the buffer, \(c.description)")
                            checkedSmallLast += 1
                        }
                    }
                }
                XCTAssertEqual(runs[0], runs[1], "one vs two BLAS threads, \(c.description)")
            }
        }
        XCTAssertGreaterThanOrEqual(checkedProductApart, 5, "too few cases reached the product buffer")
        XCTAssertGreaterThanOrEqual(checkedInPlace, 1, "no case had only small products at two threads")
        XCTAssertGreaterThanOrEqual(checkedSmallLast, 1, "no case had a small last product after a large one")
        // Float too, on a network whose every product goes to OpenBLAS.
        let configuration = NetworkConfiguration(
            layerSizes: [30, 40, 25, 10], activations: [.relu, .leakyReLU, .softmax],
            loss: .softmaxCrossEntropy, seed: 3)
        let x = random.array(50 * 30, -1, 1).map { Float($0) }
        let y = (0..<(50 * 10)).map { index in index % 10 == (index / 10) % 10 ? Float(1) : 0 }
        var results: [[UInt32]] = []
        for threads in [1, 2] {
            try BLASThreads.set(threads)
            let net = try Network<Float>(configuration)
            let (loss, gradient) = try net.gradients(inputs: x, targets: y)
            var run = [Float(loss).bitPattern] + bits(gradient)
            for l in 0..<3 {
                for kind in [CacheKind.preActivation, .activation, .delta] {
                    run += bits(Array(try net.cachedMatrix(layer: l, kind: kind)))
                }
            }
            results.append(run)
        }
        XCTAssertEqual(results[0], results[1], "Float, one vs two BLAS threads")
    }

    // MARK: The fused small layers

    /// `forwardDense` at the sizes where its path switches, for every activation, in
    /// Float and Double: up to m n k = smallProductLimit (batch 1: 64-64; batch 4:
    /// 32-32) and on narrow layers (widths 1-3, no vector block) an elementwise
    /// activation is fused into the product (`denseRow`) and the product buffer is
    /// never written; one past the limit (64-65; 4 x 32-33), and for softmax at any
    /// size, the product goes to `multiply` (OpenBLAS past the limit) and then the
    /// bias and activation pass. Checked: the path, by the product buffer; Z and A
    /// against the reference forward pass in Double on the same rounded values; A
    /// alike with and without Z (inference keeps none); and below the limit, the
    /// same bits as the product and the pass (`forwardDenseByPasses`).
    /// Tolerance for Z: a sum of k products and a bias in any order is within
    /// (k + 1) u (sum_p |x_p w_pj| + |b_j|) (u = unit roundoff of the type), taken
    /// 4 (k + 2) u as in MatrixMultiplyTests; A: every activation's slope is at most
    /// 1 (softmax's change is at most 2 max |dz| over the row), and each function is
    /// within 4 ulp (VectorExponential.swift, VectorHyperbolicTangent.swift): 2 max
    /// bound_Z + 16 u |a| + the least normal. A wrong index or path is off by O(1).
    func testFusedSmallLayersAtTheSwitchInFloatAndDouble() throws {
        try checkFusedSwitch(Float.self)
        try checkFusedSwitch(Double.self)
    }

    func checkFusedSwitch<S: MLPScalar>(_: S.Type) throws {
        var random = TestRandom(seed: 0xF05E)
        let limit = smallProductLimit
        // (rows, fanIn, fanOut, fused for elementwise activations)
        let shapes = [(1, 64, 64, true), (1, 64, 65, false), (4, 32, 32, true), (4, 32, 33, false),
                      (1, 2, 4, true), (1, 4, 1, true), (3, 8, 2, true), (2, 5, 3, true), (1, 100, 41, false)]
        let u = Double(S.ulpOfOne) / 2
        for (rows, fanIn, fanOut, fusedSize) in shapes {
            XCTAssertEqual(rows * fanIn * fanOut <= limit, fusedSize, "shape \(rows) x \(fanIn)-\(fanOut)")
            for activation in Activation.allCases {
                let net = try Network<S>(NetworkConfiguration(
                    layerSizes: [fanIn, fanOut], activations: [activation], loss: .meanSquaredError,
                    seed: random.next(), leakyReLUSlope: 0.2))
                var p = net.parameterValues
                for j in 0..<fanOut { p[fanIn * fanOut + j] = S(random.uniform(-0.5, 0.5)) }
                try net.setParameters(p)
                let x = random.array(rows * fanIn, -1, 1).map { S($0) }
                let count = rows * fanOut
                var product = [S](repeating: .nan, count: count), z = product, a = product, aAlone = product
                var passZ = product, passA = product
                x.withUnsafeBufferPointer { xb in
                    let input = xb.baseAddress!
                    product.withUnsafeMutableBufferPointer { pb in
                        z.withUnsafeMutableBufferPointer { zb in
                            a.withUnsafeMutableBufferPointer { ab in
                                net.forwardDense(layer: 0, input: input, rows: rows, product: pb.baseAddress!,
                                                 z: zb.baseAddress!, a: ab.baseAddress!)
                            }
                        }
                    }
                    aAlone.withUnsafeMutableBufferPointer { ab in
                        net.forwardDense(layer: 0, input: input, rows: rows, product: ab.baseAddress!,
                                         z: nil, a: ab.baseAddress!)
                    }
                    passZ.withUnsafeMutableBufferPointer { zb in
                        passA.withUnsafeMutableBufferPointer { ab in
                            net.forwardDenseByPasses(layer: 0, input: input, rows: rows, product: zb.baseAddress!,
                                                     z: zb.baseAddress!, a: ab.baseAddress!, sigmoidExponentials: nil)
                        }
                    }
                }
                let context = "\(S.self) \(activation) \(rows) x \(fanIn)-\(fanOut)"
                let fused = fusedSize && activation != .softmax
                XCTAssertEqual(product.allSatisfy(\.isNaN), fused, "\(context): which path wrote the product")
                XCTAssertTrue(bitsEqual(aAlone, a), "\(context): A without Z")
                if fusedSize {
                    XCTAssertTrue(bitsEqual(z, passZ) && bitsEqual(a, passA), "\(context): fused vs product and pass")
                }
                let pD = p.map { Double($0) }, xD = x.map { Double($0) }
                let reference = referenceForward(sizes: [fanIn, fanOut], activations: [activation], slope: 0.2,
                                                 parameters: pD, inputs: xD, rows: rows)
                for i in 0..<rows {
                    var boundZ = [Double](repeating: 0, count: fanOut)
                    for j in 0..<fanOut {
                        var magnitude = abs(pD[fanIn * fanOut + j])
                        for q in 0..<fanIn { magnitude += abs(xD[i * fanIn + q] * pD[q * fanOut + j]) }
                        boundZ[j] = 4 * Double(fanIn + 2) * u * magnitude
                    }
                    let worstZ = boundZ.max()!
                    for j in 0..<fanOut {
                        let e = i * fanOut + j
                        XCTAssertEqual(Double(z[e]), reference.z[0][e], accuracy: boundZ[j], "\(context): Z[\(i)][\(j)]")
                        let boundA = 2 * worstZ + 16 * u * abs(reference.a[0][e]) + Double(S.leastNormalMagnitude)
                        XCTAssertEqual(Double(a[e]), reference.a[0][e], accuracy: boundA, "\(context): A[\(i)][\(j)]")
                    }
                }
            }
        }
    }

    /// A batch larger than before grows the workspace; a smaller one afterwards must give
    /// exactly what a fresh network gives (no stale rows, offsets right at any capacity).
    func testWorkspaceReuseAcrossBatchSizes() throws {
        var random = TestRandom(seed: 12)
        let configuration = NetworkConfiguration(
            layerSizes: [3, 5, 4, 3], activations: [.tanh, .relu, .softmax], loss: .softmaxCrossEntropy, seed: 5)
        let used = try Network<Double>(configuration)
        let fresh = try Network<Double>(configuration)
        let big = random.array(7 * 3, -1, 1)
        try used.gradients(big, .labels([0, 1, 2, 0, 1, 2, 0]))
        _ = try used.predict(big)
        let small = random.array(2 * 3, -1, 1)
        let lossUsed = try used.gradients(small, .labels([2, 1]))
        let lossFresh = try fresh.gradients(small, .labels([2, 1]))
        XCTAssertEqual(lossUsed.bitPattern, lossFresh.bitPattern)
        XCTAssertEqual(bits(Array(used.gradientView)), bits(Array(fresh.gradientView)))
        XCTAssertEqual(bits(try used.predict(small)), bits(try fresh.predict(small)))
        XCTAssertEqual(used.workspaceRows, 2)
    }

    /// `gradients` never moves the parameters or the optimizer.
    func testGradientsDoesNotChangeParametersOrOptimizer() throws {
        let net = try Network<Double>(NetworkConfiguration(
            layerSizes: [2, 3, 1], activations: [.tanh, .sigmoid], loss: .binaryCrossEntropy, seed: 1))
        try net.setOptimizer(OptimizerConfiguration(kind: .adam))
        let before = net.parameterValues
        let result = try net.gradients(inputs: [0.1, 0.2, -0.3, 0.4], targets: [1, 0])
        XCTAssertEqual(bits(net.parameterValues), bits(before))
        XCTAssertEqual(net.optimizerStepCount, 0)
        XCTAssertEqual(bits(result.gradient), bits(Array(net.gradientView)))
        XCTAssertTrue(result.gradient.contains { $0 != 0 })
    }

    /// At batch 1 the step decides whether the gradient is finite from its factors
    /// (`oneRowGradientIsFinite`: the largest |x_i| and |dz_j| of every layer) instead
    /// of a pass over every entry. The verdict must be the pass's exactly: random
    /// networks, with inputs and targets scaled from ordinary to past overflow (and
    /// NaN or infinite inputs), in both types, compared against `allFinite` over the
    /// gradient the same call produced, on the engine's products and OpenBLAS's.
    /// Both verdicts occur.
    func testOneRowFiniteGradientFromFactorsMatchesFullPass() throws {
        try oneRowFactorsMatchFullPass(Float.self)
        try oneRowFactorsMatchFullPass(Double.self)
    }

    func oneRowFactorsMatchFullPass<Scalar: MLPScalar>(_: Scalar.Type) throws {
        var random = TestRandom(seed: 0xFAC7)
        let big = Double(Scalar.greatestFiniteMagnitude)
        var verdicts = Set<Bool>()
        for trial in 0..<300 {
            // Every tenth network has a first layer past smallProductLimit, whose
            // weight gradient OpenBLAS computes.
            let sizes = trial % 10 == 0
                ? [random.int(70...100), 64, random.int(1...5)]
                : [random.int(1...40), random.int(1...24), random.int(1...5)]
            let activation = random.pick([Activation.relu, .identity, .tanh, .leakyReLU])
            let net = try Network<Scalar>(NetworkConfiguration(
                layerSizes: sizes, activations: [activation, .identity],
                loss: .meanSquaredError, seed: UInt64(trial)))
            // Scales spread over the whole exponent range, so that some products of
            // an input and a delta overflow and most do not.
            let inputScale = Foundation.pow(big, random.uniform(-0.2, 0.8))
            let targetScale = Foundation.pow(big, random.uniform(-0.2, 0.5))
            var x = random.array(sizes[0], -1, 1).map { Scalar($0 * inputScale) }
            // The first input may skip the forward pass (zero weights) and only meet
            // the deltas in dW = x^T dz, where it alone decides the verdict.
            if random.int(0...1) == 0 {
                var p = net.parameterValues
                for j in 0..<sizes[1] { p[j] = 0 }
                try net.setParameters(p)
                x[0] = Scalar(random.pick([big / 2, 1e10, .nan, .infinity]))
            }
            let y = random.array(sizes[2], -1, 1).map { Scalar($0 * targetScale) }
            let (fromFactors, full) = try x.withUnsafeBufferPointer { xs in
                try y.withUnsafeBufferPointer { ys in
                    let (_, firstInput) = try net.lossAndGradient(
                        inputs: xs, targets: .dense(ys.baseAddress!), targetCount: ys.count, rows: 1)
                    return (net.oneRowGradientIsFinite(firstInput: firstInput),
                            Scalar.allFinite(net.gradient.pointer, count: net.parameterCount))
                }
            }
            XCTAssertEqual(fromFactors, full, "trial \(trial): sizes \(sizes), \(activation), x scale \(inputScale)")
            verdicts.insert(full)
        }
        XCTAssertEqual(verdicts, [true, false], "both verdicts must occur")
    }
}
