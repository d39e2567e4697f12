// Tests of PlainSGDStep.swift: the plain-SGD step that updates in place when norms
// prove it safe, and out of place (checked, swapped in) otherwise.
// - both ways give the same parameters bit for bit, for every activation, loss,
//   reduction and decay, in Float and Double, so a step's bits never depend on the
//   history that decided its way;
// - the in-place way is actually taken on networks big enough to be worth proving,
//   and the kept norm bounds stay above the true norms and stay usable over a long
//   run (they must not grow geometrically);
// - a step that would overflow, or a batch with a NaN, after in-place steps: refused,
//   parameters and step count unchanged bit for bit;
// - the fused update matches p - lr (g + wd p) with g from `gradients`.

import Foundation
import XCTest
@testable import SwiftMLP

final class PlainSGDStepTests: XCTestCase {

    struct Case {
        let sizes: [Int]
        let activations: [Activation]
        let loss: Loss
        let reduction: Reduction
        let weightDecay: Double
        let decayBiases: Bool
    }

    /// Every hidden activation, every loss, both reductions, decay on and off. The
    /// first layer's products go to BLAS (so does every layer's but the last of the
    /// second case, which takes the small-product loops), and a batch of 24 is worth
    /// proving (`ParameterNormBounds.worthProving`).
    let cases: [Case] = [
        Case(sizes: [30, 40, 10], activations: [.relu, .softmax], loss: .softmaxCrossEntropy,
             reduction: .mean, weightDecay: 0, decayBiases: false),
        Case(sizes: [30, 40, 35, 1], activations: [.tanh, .leakyReLU, .sigmoid], loss: .binaryCrossEntropy,
             reduction: .sum, weightDecay: 1e-3, decayBiases: false),
        Case(sizes: [30, 40, 6], activations: [.sigmoid, .identity], loss: .meanSquaredError,
             reduction: .mean, weightDecay: 0.05, decayBiases: true),
        Case(sizes: [30, 40, 6], activations: [.identity, .softmax], loss: .meanSquaredError,
             reduction: .sum, weightDecay: 0, decayBiases: false),
    ]
    let rows = 24

    func makeNetwork<Scalar: MLPScalar>(_ c: Case, _: Scalar.Type, learningRate: Double = 0.05) throws -> Network<Scalar> {
        let net = try Network<Scalar>(NetworkConfiguration(
            layerSizes: c.sizes, activations: c.activations, loss: c.loss, reduction: c.reduction,
            seed: 5, leakyReLUSlope: 0.2))
        var optimizer = OptimizerConfiguration(kind: .sgd)
        optimizer.learningRate = learningRate
        optimizer.weightDecay = c.weightDecay
        optimizer.decayBiases = c.decayBiases
        try net.setOptimizer(optimizer)
        return net
    }

    /// A batch: inputs in [-1, 1]; targets one-hot for softmax CE, in [0, 1] otherwise.
    func batch<Scalar: MLPScalar>(_ c: Case, _ random: inout TestRandom, _: Scalar.Type) -> (x: [Scalar], y: [Scalar]) {
        let outputs = c.sizes.last!
        let x = random.array(rows * c.sizes[0], -1, 1).map { Scalar($0) }
        var y = [Scalar](repeating: 0, count: rows * outputs)
        for row in 0..<rows {
            if c.loss == .softmaxCrossEntropy {
                y[row * outputs + random.int(0...(outputs - 1))] = 1
            } else {
                for j in 0..<outputs { y[row * outputs + j] = Scalar(random.uniform(0, 1)) }
            }
        }
        return (x, y)
    }

    /// Twin networks on the same batches: `inPlace` steps freely (in place from its
    /// second step), `outOfPlace` has its parameters set before every step, which
    /// forgets its bounds and forces the checked way. Parameters must agree bit for
    /// bit after every step.
    func checkBothWaysAgree<Scalar: MLPScalar>(_: Scalar.Type) throws {
        for (index, c) in cases.enumerated() {
            XCTAssertGreaterThan(rows * c.sizes[0] * c.sizes[1], smallProductLimit, "case \(index): BLAS-sized")
            let inPlace = try makeNetwork(c, Scalar.self), outOfPlace = try makeNetwork(c, Scalar.self)
            XCTAssertTrue(inPlace.normBounds.worthProving(rows: rows), "case \(index)")
            var random = TestRandom(seed: 40 + UInt64(index))
            for stepIndex in 0..<8 {
                let (x, y) = batch(c, &random, Scalar.self)
                try outOfPlace.setParameters(outOfPlace.parameterValues)
                let lossA = try inPlace.step(inputs: x, targets: y)
                let lossB = try outOfPlace.step(inputs: x, targets: y)
                XCTAssertEqual(lossA, lossB, "case \(index) step \(stepIndex): same loss")
                XCTAssertEqual(inPlace.normBounds.lastStepInPlace, stepIndex > 0,
                               "case \(index) step \(stepIndex): in place after the first step")
                XCTAssertFalse(outOfPlace.normBounds.lastStepInPlace, "case \(index) step \(stepIndex)")
                XCTAssertTrue(bitsEqual(inPlace.parameterValues, outOfPlace.parameterValues),
                    "\(Scalar.self) case \(index) step \(stepIndex): in place and out of place agree bit for bit")
                XCTAssertEqual(inPlace.optimizerStepCount, stepIndex + 1)
                XCTAssertEqual(outOfPlace.optimizerStepCount, stepIndex + 1)
            }
        }
    }

    func testInPlaceAndOutOfPlaceStepsAgreeBitForBit() throws {
        try checkBothWaysAgree(Float.self)
        try checkBothWaysAgree(Double.self)
    }

    /// Over a long run the kept bounds stay above the true norms, and stay small
    /// enough that every step after the first keeps going in place.
    func testNormBoundsHoldAndStayUsableOverALongRun() throws {
        let c = cases[0]
        let net = try makeNetwork(c, Float.self, learningRate: 0.1)
        var random = TestRandom(seed: 77)
        let batches = (0..<10).map { _ in batch(c, &random, Float.self) }
        var worstRatio = 0.0
        for stepIndex in 0..<2000 {
            let (x, y) = batches[stepIndex % batches.count]
            try net.step(inputs: x, targets: y)
            XCTAssertEqual(net.normBounds.lastStepInPlace, stepIndex > 0, "step \(stepIndex)")
            for (l, layer) in net.layout.layers.enumerated() {
                let p = net.parameterValues.map(Double.init)
                let weights = p[layer.weightOffset..<layer.biasOffset].reduce(0) { $0 + $1 * $1 }.squareRoot()
                let biases = p[layer.biasOffset..<layer.endOffset].reduce(0) { $0 + $1 * $1 }.squareRoot()
                XCTAssertLessThanOrEqual(weights, net.normBounds.weights[l], "step \(stepIndex) layer \(l) weights")
                XCTAssertLessThanOrEqual(biases, net.normBounds.biases[l], "step \(stepIndex) layer \(l) biases")
                worstRatio = max(worstRatio, net.normBounds.weights[l] / weights)
            }
        }
        // Linear growth, by what each step can add: after 2000 steps the bound is a
        // few hundred times the norm here, nowhere near the Float limit (1e37).
        XCTAssertLessThan(worstRatio, 1e4, "bounds grow geometrically")
        print("norm bounds after 2000 in-place steps: at most \(worstRatio) x the true norms")
    }

    /// After in-place steps (bounds known), a step whose update would overflow is
    /// refused with nothing changed, and so is a batch with a NaN; then the network
    /// steps on as if neither had happened.
    func testRefusedStepsAfterInPlaceStepsChangeNothing() throws {
        try checkRefusals(Float.self)
        try checkRefusals(Double.self)
    }

    func checkRefusals<Scalar: MLPScalar>(_: Scalar.Type) throws {
        let c = Case(sizes: [30, 40, 6], activations: [.relu, .identity], loss: .meanSquaredError,
                     reduction: .sum, weightDecay: 0, decayBiases: false)
        let net = try makeNetwork(c, Scalar.self), twin = try makeNetwork(c, Scalar.self)
        var random = TestRandom(seed: 9)
        let good = batch(c, &random, Scalar.self)
        for _ in 0..<3 {
            try net.step(inputs: good.x, targets: good.y)
            try twin.step(inputs: good.x, targets: good.y)
        }
        XCTAssertTrue(net.normBounds.lastStepInPlace && net.normBounds.known)
        let before = net.parameterValues

        // A learning rate whose update overflows: targets far from the outputs, sum
        // reduction, lr near the largest finite value.
        var huge = OptimizerConfiguration(kind: .sgd)
        huge.learningRate = Double(Scalar.greatestFiniteMagnitude) / 4
        try net.setOptimizer(huge)
        let farTargets = good.y.map { $0 + 1000 }
        XCTAssertThrowsError(try net.step(inputs: good.x, targets: farTargets)) { error in
            XCTAssertEqual((error as? MLPError)?.kind, .nonFinite)
        }
        XCTAssertTrue(bitsEqual(net.parameterValues, before),
                      "\(Scalar.self): an overflowing update changes nothing")
        XCTAssertEqual(net.optimizerStepCount, 0, "the failed step is not counted")

        // A NaN input behind a relu, which maps the NaN in Z to 0 in A.
        var sgd = OptimizerConfiguration(kind: .sgd)
        sgd.learningRate = 0.05
        try net.setOptimizer(sgd)
        try twin.setOptimizer(sgd)
        var poisoned = good.x
        poisoned[7] = .nan
        XCTAssertThrowsError(try net.step(inputs: poisoned, targets: good.y)) { error in
            XCTAssertEqual((error as? MLPError)?.kind, .nonFinite)
            XCTAssertTrue((error as? MLPError)?.message.contains("input row 0 column 7") ?? false, "\(error)")
        }
        XCTAssertTrue(bitsEqual(net.parameterValues, before),
                      "\(Scalar.self): a NaN input changes nothing")

        // Both refusals left no trace: the next steps equal the twin's.
        for _ in 0..<2 {
            try net.step(inputs: good.x, targets: good.y)
            try twin.step(inputs: good.x, targets: good.y)
        }
        XCTAssertTrue(bitsEqual(net.parameterValues, twin.parameterValues),
                      "\(Scalar.self): refused steps leave no trace")
    }

    /// Over a batch large enough that BLAS splits the batch dimension into blocks
    /// (each one more rounding into every new weight), the raised bounds still hold.
    func testNormBoundsHoldOnLargeBatches() throws {
        // Wide enough that a batch of 700 is worth proving (`worthProving`).
        let sizes = [800, 800, 10], rows = 700
        let net = try Network<Float>(NetworkConfiguration(
            layerSizes: sizes, activations: [.relu, .softmax], loss: .softmaxCrossEntropy, seed: 6))
        var sgd = OptimizerConfiguration(kind: .sgd)
        sgd.learningRate = 0.05
        try net.setOptimizer(sgd)
        XCTAssertTrue(net.normBounds.worthProving(rows: rows))
        var random = TestRandom(seed: 78)
        let inputs = random.array(rows * sizes[0], -1, 1).map { Float($0) }
        var targets = [Float](repeating: 0, count: rows * 10)
        for row in 0..<rows { targets[row * 10 + random.int(0...9)] = 1 }
        for stepIndex in 0..<8 {
            try net.step(inputs: inputs, targets: targets)
            XCTAssertEqual(net.normBounds.lastStepInPlace, stepIndex > 0, "step \(stepIndex)")
            let p = net.parameterValues.map(Double.init)
            for (l, layer) in net.layout.layers.enumerated() {
                let weights = p[layer.weightOffset..<layer.biasOffset].reduce(0) { $0 + $1 * $1 }.squareRoot()
                let biases = p[layer.biasOffset..<layer.endOffset].reduce(0) { $0 + $1 * $1 }.squareRoot()
                XCTAssertLessThanOrEqual(weights, net.normBounds.weights[l], "step \(stepIndex) layer \(l)")
                XCTAssertLessThanOrEqual(biases, net.normBounds.biases[l], "step \(stepIndex) layer \(l)")
            }
        }
    }

    /// Three ways, found in review, in which an earlier version of the proof let a
    /// step update in place and leave non-finite parameters. Each step must now be
    /// refused with nothing changed (the out-of-place way sees the overflow).
    func testOverflowingIntermediatesAreRefused() throws {
        // Bounds known after one good step, then the step that must be refused.
        func check(
            _ name: String, _ net: Network<Float>, x: [Float], good: [Float], bad: [Float],
            between: () throws -> Void = {}
        ) throws {
            try net.step(inputs: x, targets: good)
            XCTAssertTrue(net.normBounds.known, "\(name): bounds known")
            try between()
            let before = net.parameterValues
            XCTAssertThrowsError(try net.step(inputs: x, targets: bad), name) { error in
                XCTAssertEqual((error as? MLPError)?.kind, .nonFinite, name)
            }
            XCTAssertTrue(bitsEqual(net.parameterValues, before), "\(name): nothing changed")
            XCTAssertTrue(net.parameterValues.allSatisfy(\.isFinite), name)
        }
        var random = TestRandom(seed: 12)

        // wd p overflows in the small-product loops: lr 1e-20, wd 1e30. The first
        // step takes the weights from 0.1 to about -1e9; then wd p is 1e39.
        do {
            let net = try Network<Float>(NetworkConfiguration(
                layerSizes: [16, 16, 16], activations: [.tanh, .identity], loss: .meanSquaredError,
                reduction: .sum, seed: 3))
            var sgd = OptimizerConfiguration(kind: .sgd)
            sgd.learningRate = 1e-20
            sgd.weightDecay = 1e30
            try net.setOptimizer(sgd)
            try net.setParameters(ReferenceLayout([16, 16, 16]).isBias.map { $0 ? 0 : 0.1 })
            let x = random.array(4 * 16, -1, 1).map { Float($0) }
            let y = random.array(4 * 16, 0, 1).map { Float($0) }
            XCTAssertTrue(net.normBounds.worthProving(rows: 4))
            XCTAssertLessThanOrEqual(4 * 16 * 16, smallProductLimit)
            try check("wd p", net, x: x, good: y, bad: y)
        }

        // 1 - lr wd overflows the type once a schedule has raised lr (BLAS beta):
        // with every parameter and every target 0, each bound is ~0, and beta =
        // -inf times a weight of 0 is NaN.
        do {
            let net = try Network<Float>(NetworkConfiguration(
                layerSizes: [64, 64, 64], activations: [.relu, .identity], loss: .meanSquaredError, seed: 4))
            var sgd = OptimizerConfiguration(kind: .sgd)
            sgd.learningRate = 1e-3
            sgd.weightDecay = 10
            sgd.schedule = .exponential(gamma: 10)
            try net.setOptimizer(sgd)
            try net.setParameters([Float](repeating: 0, count: net.parameterCount))
            let x = random.array(4 * 64, -1, 1).map { Float($0) }
            let y = [Float](repeating: 0, count: 4 * 64)
            XCTAssertGreaterThan(4 * 64 * 64, smallProductLimit)
            try check("1 - lr wd", net, x: x, good: y, bad: y) {
                net.epoch = 41
                XCTAssertTrue(Float(net.currentLearningRate).isFinite)
                XCTAssertFalse((Float(net.currentLearningRate) * 10).isFinite)
            }
        }

        // Deltas whose squares underflow: |dZ| = 1e-23 measured as 0 would hide a
        // backward pass that grows 1.6e19 times a layer through weights of 1e18.
        do {
            let sizes = [16, 16, 16, 16, 16, 16]
            let net = try Network<Float>(NetworkConfiguration(
                layerSizes: sizes, activations: Array(repeating: .identity, count: 5),
                loss: .meanSquaredError, reduction: .sum, seed: 5))
            try net.setParameters(ReferenceLayout(sizes).isBias.map { $0 ? 0 : 1e18 })
            let x = [Float](repeating: 0, count: 4 * 16)
            try check("underflow", net, x: x, good: [Float](repeating: 0, count: 4 * 16),
                      bad: [Float](repeating: 1e-23, count: 4 * 16))
        }
    }

    /// The proof measures hidden layers' Z, not A: relu turns a NaN in Z into 0 in
    /// A, and the NaN would then reach the weights through the backward pass. (With
    /// finite measured norms no product of the forward pass can overflow into such a
    /// NaN, so this is checked directly: a NaN put into the workspace's Z.)
    func testProofSeesANaNThatReluHides() throws {
        let c = Case(sizes: [30, 40, 6], activations: [.relu, .identity], loss: .meanSquaredError,
                     reduction: .mean, weightDecay: 0, decayBiases: false)
        let net = try makeNetwork(c, Double.self)
        var random = TestRandom(seed: 31)
        let (x, y) = batch(c, &random, Double.self)
        try net.step(inputs: x, targets: y)
        XCTAssertTrue(net.normBounds.known)
        _ = try net.gradients(inputs: x, targets: y)   // the workspace now holds this batch
        let rate = PlainSGDRate<Double>(learningRate: 0.05, weightDecay: 0)
        func fits() -> Bool {
            x.withUnsafeBufferPointer {
                net.stepFitsInPlace(input: $0.baseAddress!, rows: rows, weights: rate, biases: rate)
            }
        }
        XCTAssertTrue(fits(), "control: the clean batch fits in place")
        let z = net.workspace.z(0), a = net.workspace.a(0)
        z[17] = .nan
        a[17] = 0   // what relu(NaN) gives
        XCTAssertFalse(fits(), "a NaN in a hidden Z refuses the in-place way")
    }

    /// Bounds are measured afresh every 1024 in-place steps, so that the raised
    /// bounds (which only grow) stay close to the norms.
    func testBoundsAreMeasuredAfreshEvery1024Steps() throws {
        let c = cases[0]
        let net = try makeNetwork(c, Float.self, learningRate: 0.1)
        var random = TestRandom(seed: 32)
        let (x, y) = batch(c, &random, Float.self)
        for _ in 0..<1025 { try net.step(inputs: x, targets: y) }   // 1 out of place, 1024 in place
        XCTAssertTrue(net.normBounds.lastStepInPlace)
        XCTAssertEqual(net.normBounds.stepsSinceMeasured, 0, "measured after the 1024th in-place step")
        let p = net.parameterValues.map(Double.init)
        for (l, layer) in net.layout.layers.enumerated() {
            let weights = p[layer.weightOffset..<layer.biasOffset].reduce(0) { $0 + $1 * $1 }.squareRoot()
            XCTAssertGreaterThanOrEqual(net.normBounds.weights[l], weights)
            XCTAssertLessThanOrEqual(net.normBounds.weights[l], 1.5 * weights, "layer \(l): a fresh measurement")
        }
    }

    /// Under rounding toward -infinity an overflowing square is the largest finite
    /// value, not infinity: parameters whose squares overflow must still leave the
    /// bounds unknown (never proved), and every step stays checked.
    func testHugeParametersAreNotProvedUnderDirectedRounding() throws {
        let saved = fegetround()
        defer { fesetround(saved) }
        XCTAssertEqual(fesetround(FE_DOWNWARD), 0)
        let sizes = [16, 16, 16]
        let net = try Network<Float>(NetworkConfiguration(
            layerSizes: sizes, activations: [.identity, .identity], loss: .meanSquaredError, seed: 7))
        try net.setParameters(ReferenceLayout(sizes).isBias.map { $0 ? 0 : 1e20 })
        XCTAssertTrue(net.normBounds.worthProving(rows: 4))
        var random = TestRandom(seed: 33)
        let x = random.array(4 * 16, -1e-30, 1e-30).map { Float($0) }
        let y = [Float](repeating: 0, count: 4 * 16)
        for _ in 0..<3 {
            _ = try? net.step(inputs: x, targets: y)
            XCTAssertFalse(net.normBounds.known, "squares of 1e20 overflow: no bounds")
            XCTAssertFalse(net.normBounds.lastStepInPlace)
            XCTAssertTrue(net.parameterValues.allSatisfy(\.isFinite))
        }
    }

    /// The fused update against p - lr (g + wd p), with g from `gradients` on the
    /// same parameters. Not bit for bit on BLAS-sized layers: the GEMM computes
    /// W + (-lr)(A^T dZ) (and scales W by 1 - lr wd) in its own order. Tolerance,
    /// relative to max(1, |p|): Float 1e-5 and Double 1e-12, a few roundings of
    /// each of the ~25-term sums and of the update, with margin.
    func testFusedUpdateMatchesGradientUpdate() throws {
        try checkFusedUpdate(Float.self, tolerance: 1e-5)
        try checkFusedUpdate(Double.self, tolerance: 1e-12)
    }

    func checkFusedUpdate<Scalar: MLPScalar>(_: Scalar.Type, tolerance: Double) throws {
        for (index, c) in cases.enumerated() {
            let net = try makeNetwork(c, Scalar.self, learningRate: 0.3)
            var random = TestRandom(seed: 300 + UInt64(index))
            for stepIndex in 0..<3 {
                let (x, y) = batch(c, &random, Scalar.self)
                let p = net.parameterValues.map(Double.init)
                let g = try net.gradients(inputs: x, targets: y).gradient.map(Double.init)
                try net.step(inputs: x, targets: y)
                let isBias = ReferenceLayout(c.sizes).isBias
                var worst = 0.0
                for i in p.indices {
                    let decay = isBias[i] && !c.decayBiases ? 0 : c.weightDecay
                    let expected = p[i] - 0.3 * (g[i] + decay * p[i])
                    worst = max(worst, abs(Double(net.parameterValues[i]) - expected) / max(1, abs(expected)))
                }
                XCTAssertLessThan(worst, tolerance, "\(Scalar.self) case \(index) step \(stepIndex)")
            }
        }
    }

    /// Networks too small to be worth proving never take the in-place way, and
    /// do not spend a pass measuring bounds they will not use.
    func testTinyNetworksStayOutOfPlace() throws {
        let net = try Network<Double>(NetworkConfiguration(
            layerSizes: [2, 4, 1], activations: [.tanh, .sigmoid], loss: .binaryCrossEntropy, seed: 1))
        XCTAssertFalse(net.normBounds.worthProving(rows: 4))
        let x: [Double] = [0, 0, 0, 1, 1, 0, 1, 1], y: [Double] = [0, 1, 1, 0]
        for _ in 0..<3 {
            try net.step(inputs: x, targets: y)
            XCTAssertFalse(net.normBounds.lastStepInPlace)
            XCTAssertFalse(net.normBounds.known)
        }
    }
}
