// Tests of PlainSGDStep.swift: the plain-SGD step with its update fused into the
// backward pass, written aside and swapped in only when every new value is finite.
// - a step that would overflow, or a batch with a NaN: refused, parameters and step
//   count unchanged bit for bit, and the network steps on as if neither happened;
// - updates whose intermediates overflow (wd p, 1 - lr wd, tiny deltas through huge
//   weights) are refused;
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
    /// second case, which takes the small-product loops).
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

    /// After good steps, a step whose update would overflow is refused with nothing
    /// changed, and so is a batch with a NaN; then the network steps on as if
    /// neither had happened.
    func testRefusedStepsChangeNothing() throws {
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

    /// Updates whose intermediates overflow though the gradient is finite (found
    /// in review of an earlier design): each step is refused with nothing changed.
    func testOverflowingIntermediatesAreRefused() throws {
        // One good step, then the step that must be refused.
        func check(
            _ name: String, _ net: Network<Float>, x: [Float], good: [Float], bad: [Float],
            between: () throws -> Void = {}
        ) throws {
            try net.step(inputs: x, targets: good)
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
}
