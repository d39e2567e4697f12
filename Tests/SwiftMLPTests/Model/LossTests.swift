// Tests of Loss.swift: loss values against their definitions, the output delta, the
// reductions, numerical safety for extreme logits, labels vs one-hot rows, the
// evaluation-only `batchLoss`, and label validation.

import Foundation
import XCTest
@testable import SwiftMLP

final class LossTests: XCTestCase {

    /// A one-layer network whose pre-activation equals its input: W = I, b = 0. Feeding
    /// logits as inputs puts them straight into the loss.
    func passThrough(width: Int, activation: Activation, loss: Loss, reduction: Reduction) throws -> Network<Double> {
        let net = try Network<Double>(NetworkConfiguration(
            layerSizes: [width, width], activations: [activation], loss: loss, reduction: reduction))
        var p = [Double](repeating: 0, count: net.parameterCount)
        for j in 0..<width { p[j * width + j] = 1 }
        try net.setParameters(p)
        return net
    }

    /// Bias gradient (the column sums of dZ) of a pass-through network.
    func biasGradient(_ net: Network<Double>) -> [Double] {
        let layer = net.layout.layers[0]
        return Array(net.gradientView[layer.biasOffset..<layer.endOffset])
    }

    /// MSE: L = 1/2 sum (a - y)^2 per row, dL/dz = (a - y) for identity outputs, scaled
    /// by 1/n under mean. Simple sums of products in Float64: 1e-14 relative.
    func testMeanSquaredErrorValueAndDelta() throws {
        let x = [0.5, -1.0, 2.0, 0.25, 3.0, -0.75]   // 3 rows of 2
        let y = [1.0, 1.0, -1.0, 0.0, 2.5, -0.5]
        var expectedLoss = 0.0
        var expectedDb = [0.0, 0.0]
        for i in 0..<6 { expectedLoss += (x[i] - y[i]) * (x[i] - y[i]) / 2; expectedDb[i % 2] += x[i] - y[i] }
        for reduction in Reduction.allCases {
            let net = try passThrough(width: 2, activation: .identity, loss: .meanSquaredError, reduction: reduction)
            let n = reduction == .mean ? 3.0 : 1.0
            let loss = try net.gradients(inputs: x, targets: y).loss
            XCTAssertEqual(loss, expectedLoss / n, accuracy: 1e-14 * expectedLoss)
            assertClose(biasGradient(net), expectedDb.map { $0 / n }, tolerance: 1e-14)
        }
    }

    /// Poisson: L = e^z - y z + y log y - y per output (y log y = 0 at y = 0), and
    /// dL/dz = e^z - y, scaled by 1/n under mean; it needs an identity output. Sums of a
    /// few exponentials and logs in Float64: 1e-13 relative.
    func testPoissonMatchesDefinition() throws {
        let x = [0.5, -1.0, 2.0, 0.25, -3.0, 1.5]   // 3 rows of 2: z, the log of the mean
        let y = [1.0, 0.0, 7.0, 2.0, 0.0, 4.0]
        var expectedLoss = 0.0
        var expectedDb = [0.0, 0.0]
        for i in 0..<6 {
            expectedLoss += exp(x[i]) - y[i] * x[i] + (y[i] > 0 ? y[i] * log(y[i]) : 0) - y[i]
            expectedDb[i % 2] += exp(x[i]) - y[i]
        }
        for reduction in Reduction.allCases {
            let net = try passThrough(width: 2, activation: .identity, loss: .poisson, reduction: reduction)
            let n = reduction == .mean ? 3.0 : 1.0
            XCTAssertEqual(try net.gradients(inputs: x, targets: y).loss, expectedLoss / n,
                           accuracy: 1e-13 * expectedLoss)
            assertClose(biasGradient(net), expectedDb.map { $0 / n }, tolerance: 1e-13)
        }
        XCTAssertThrowsError(try passThrough(width: 2, activation: .sigmoid, loss: .poisson, reduction: .mean))
    }

    /// FANN's tanh error function against FANN's own statement of it (fann_compute_MSE:
    /// the error y - a, halved for a symmetric output, becomes log((1 + e)/(1 - e)), or
    /// +-17 beyond 0.9999999), as dL/dz of identity outputs (dL/da) and, for a tanh
    /// output, times 1 - a^2; the loss is the function with that slope,
    /// s [2 e atanh(e) + log(1 - e^2)], linear beyond the clip. A few logs in Float64:
    /// 1e-13 relative. The value of one output is also checked by hand: e = 0.5 gives
    /// slope log 3 and loss 0.5 log 3 + log 0.75.
    func testFannTanhErrorMatchesDefinition() throws {
        let one = fannTanhError(output: 0.5, target: 0.0, halved: false)
        XCTAssertEqual(Double(one.slope), Foundation.log(3.0), accuracy: 1e-15)
        XCTAssertEqual(one.loss, 0.5 * Foundation.log(3.0) + Foundation.log(0.75), accuracy: 1e-15)
        let x = [0.5, -1.0, 2.0, 0.25, -3.0, 0.999]   // 3 rows of 2; -1, 2 and -3 pass the clip
        let y = [0.0, 0.5, 0.0, 0.9, 0.0, 0.0]
        let c = 0.9999999
        for activation in [Activation.identity, .tanh] {
            let s: Double = activation == .tanh ? 2 : 1
            var expectedLoss = 0.0
            var expectedDb = [0.0, 0.0]
            for i in 0..<6 {
                let a = activation == .tanh ? Foundation.tanh(x[i]) : x[i]
                let e = (a - y[i]) / s
                // FANN works on y - a; its delta is the activation's derivative times it.
                let fannError = -e
                let transformed = fannError < -c ? -17 : (fannError > c ? 17 : Foundation.log((1 + fannError) / (1 - fannError)))
                expectedDb[i % 2] += -transformed * (activation == .tanh ? 1 - a * a : 1)
                expectedLoss += abs(e) > c
                    ? s * (2 * c * Foundation.atanh(c) + Foundation.log((1 - c) * (1 + c)) + 17 * (abs(e) - c))
                    : s * (2 * e * Foundation.atanh(e) + Foundation.log((1 - e) * (1 + e)))
            }
            for reduction in Reduction.allCases {
                let net = try passThrough(width: 2, activation: activation, loss: .fannTanhError, reduction: reduction)
                let n = reduction == .mean ? 3.0 : 1.0
                XCTAssertEqual(try net.gradients(inputs: x, targets: y).loss, expectedLoss / n,
                               accuracy: 1e-13 * expectedLoss, "\(activation)")
                assertClose(biasGradient(net), expectedDb.map { $0 / n }, tolerance: 1e-13)
            }
        }
        // The loss is continuous at the clip, and NaN stays NaN.
        let inside = fannTanhError(output: c, target: 0.0, halved: false).loss
        let outside = fannTanhError(output: c.nextUp, target: 0.0, halved: false).loss
        XCTAssertEqual(inside, outside, accuracy: 1e-12)
        XCTAssertTrue(fannTanhError(output: Double.nan, target: 0, halved: false).slope.isNaN)
    }

    /// BCE with a sigmoid output against -[y log a + (1 - y) log(1 - a)] for moderate
    /// logits (where the naive form is accurate to ~1e-15 relative; 1e-13 allows for the
    /// log near 1), and dL/dz = a - y.
    func testBinaryCrossEntropyMatchesDefinition() throws {
        var random = TestRandom(seed: 21)
        let rows = 5, width = 3
        let x = random.array(rows * width, -6, 6)
        let y = (0..<(rows * width)).map { _ in random.pick([0.0, 1.0, random.uniform(0, 1)]) }
        var expectedLoss = 0.0
        var expectedDb = [Double](repeating: 0, count: width)
        for i in 0..<(rows * width) {
            let a = 1 / (1 + exp(-x[i]))
            expectedLoss += -y[i] * log(a) - (1 - y[i]) * log(1 - a)
            expectedDb[i % width] += a - y[i]
        }
        for reduction in Reduction.allCases {
            let net = try passThrough(width: width, activation: .sigmoid, loss: .binaryCrossEntropy, reduction: reduction)
            let n = reduction == .mean ? Double(rows) : 1
            let loss = try net.gradients(inputs: x, targets: y).loss
            XCTAssertEqual(loss, expectedLoss / n, accuracy: 1e-13 * expectedLoss)
            assertClose(biasGradient(net), expectedDb.map { $0 / n }, tolerance: 1e-13)
        }
    }

    /// BCE written in the logit never takes log 0: z = +-800 with the wrong label costs
    /// |z| (exactly, since log1p(e^-800) = 0 in Float64), with the right label ~0, and
    /// the delta stays a - y in [-1, 1]. Float too, where e^88 already overflows.
    func testBinaryCrossEntropyIsStableForExtremeLogits() throws {
        let net = try passThrough(width: 4, activation: .sigmoid, loss: .binaryCrossEntropy, reduction: .sum)
        let result = try net.gradients(inputs: [800, -800, 800, -800], targets: [0, 1, 1, 0])
        XCTAssertEqual(result.loss, 1600)
        XCTAssertEqual(biasGradient(net), [1, -1, 0, 0])

        let netF = try Network<Float>(NetworkConfiguration(
            layerSizes: [2, 2], activations: [.sigmoid], loss: .binaryCrossEntropy, reduction: .sum))
        try netF.setParameters([1, 0, 0, 1, 0, 0])
        let resultF = try netF.gradients(inputs: [200, -200], targets: [0, 0])
        XCTAssertEqual(resultF.loss, 200, accuracy: 1e-4)  // Float logit 200, rounding of log1p terms.
        XCTAssertTrue(resultF.gradient.allSatisfy(\.isFinite))
    }

    /// Softmax CE against -sum y log softmax(z), including non-normalised targets
    /// (dL/dz = a sum(y) - y), 1e-13 relative (log-sum-exp vs log of a quotient).
    func testSoftmaxCrossEntropyMatchesDefinition() throws {
        var random = TestRandom(seed: 22)
        let rows = 4, width = 5
        let x = random.array(rows * width, -5, 5)
        let y = random.array(rows * width, 0, 1)
        var expectedLoss = 0.0
        var expectedDb = [Double](repeating: 0, count: width)
        for i in 0..<rows {
            let r = (i * width)..<((i + 1) * width)
            let a = referenceActivate(.softmax, Array(x[r]), slope: 0)
            let mass = y[r].reduce(0, +)
            for j in 0..<width {
                expectedLoss += -y[i * width + j] * log(a[j])
                expectedDb[j] += a[j] * mass - y[i * width + j]
            }
        }
        for reduction in Reduction.allCases {
            let net = try passThrough(width: width, activation: .softmax, loss: .softmaxCrossEntropy, reduction: reduction)
            let n = reduction == .mean ? Double(rows) : 1
            let loss = try net.gradients(inputs: x, targets: y).loss
            XCTAssertEqual(loss, expectedLoss / n, accuracy: 1e-13 * expectedLoss)
            assertClose(biasGradient(net), expectedDb.map { $0 / n }, tolerance: 1e-13)
        }
    }

    /// Huge logits: the log-sum-exp form gives the exact answer (0 or the logit gap)
    /// where log(softmax) would be log 0.
    func testSoftmaxCrossEntropyIsStableForLargeLogits() throws {
        let net = try passThrough(width: 3, activation: .softmax, loss: .softmaxCrossEntropy, reduction: .sum)
        let x = [1000.0, 0, -1000, 1000, 0, -1000]
        let loss = try net.gradients(x, .labels([0, 2]))
        XCTAssertEqual(loss, 2000)
        XCTAssertEqual(biasGradient(net), [1, 0, -1])
        XCTAssertTrue(net.gradientView.allSatisfy(\.isFinite))
    }

    /// A small loss is accurate to its own precision, not to that of the largest logit:
    /// logits (30, 10, 10) with label 0 lose log(1 + 2 e^-20) = 4.1e-9. In training and in
    /// `batchLoss`, from logits of both signs, in Double and Float. The result goes through
    /// e^(z_j - m) (2 ulp), the softmax's division (0.5), the ratio to a_k (0.5) and log1p
    /// (1): a few ulp, so 1e-14 relative in Double (~45 ulp) and 4 ulp in Float. Taking
    /// m - log(a_k) first lost an ulp of m: 3e-7 relative here.
    func testSoftmaxCrossEntropyIsAccurateForSmallLosses() throws {
        let cases: [([Double], Double)] = [
            ([30, 10, 10], 4.1223072363804075e-09),    // log1p(2 e^-20), from Python's math
            ([40, 10, 10], 1.8715245937678598e-13),    // log1p(2 e^-30)
            ([-800, -800, -800], 1.0986122886681098),  // log 3
        ]
        for (logits, expected) in cases {
            let net = try passThrough(width: 3, activation: .softmax, loss: .softmaxCrossEntropy, reduction: .sum)
            let training = try net.gradients(logits, .labels([0]))
            let labels: [Int32] = [0]
            let evaluation = labels.withUnsafeBufferPointer { lb in
                batchLoss(loss: .softmaxCrossEntropy, outputActivation: .softmax, z: net.workspace.z(0),
                          a: net.workspace.a(0), targets: Targets<Double>.labels(lb.baseAddress!), rows: 1, width: 3)
            }
            XCTAssertEqual(training, expected, accuracy: 1e-14 * expected, "\(logits)")
            XCTAssertEqual(evaluation, expected, accuracy: 1e-14 * expected, "\(logits)")
        }
        let netF = try Network<Float>(NetworkConfiguration(
            layerSizes: [3, 3], activations: [.softmax], loss: .softmaxCrossEntropy, reduction: .sum))
        try netF.setParameters([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0])
        for (logits, expected) in [([Float(-300), -300, -300], Float(1.0986123)), ([30, 20, 20], Float(9.079574e-05))] {
            let loss = try netF.gradients(inputs: logits, targets: [1, 0, 0]).loss
            XCTAssertEqual(Float(loss), expected, accuracy: 4 * expected.ulp, "\(logits)")
        }
    }

    /// Class labels and the equivalent one-hot rows give the same loss and gradient.
    /// Adding exact zeros and multiplying by a target mass of exactly 1 changes nothing,
    /// so bit-identical results are required.
    func testLabelsEqualOneHotRows() throws {
        var random = TestRandom(seed: 23)
        for reduction in Reduction.allCases {
            let configuration = NetworkConfiguration(
                layerSizes: [3, 4, 4], activations: [.tanh, .softmax], loss: .softmaxCrossEntropy,
                reduction: reduction, seed: 3)
            let net = try Network<Double>(configuration)
            let rows = 6
            let x = random.array(rows * 3, -2, 2)
            let labels: [Int32] = (0..<rows).map { _ in Int32(random.int(0...3)) }
            let lossLabels = try net.gradients(x, .labels(labels))
            let gradientLabels = Array(net.gradientView)
            let oneHot = TargetData.labels(labels).denseRows(rows: rows, width: 4)
            let lossDense = try net.gradients(x, .dense(oneHot))
            XCTAssertEqual(lossLabels.bitPattern, lossDense.bitPattern)
            XCTAssertEqual(bits(gradientLabels), bits(Array(net.gradientView)))
        }
    }

    /// Mean reduction is the sum reduction divided by the batch size, for the loss and
    /// for the whole gradient. The scale is applied per row (1/n) vs once at the end:
    /// a couple of roundings, 1e-14 relative to the gradient's scale.
    func testMeanIsSumDividedByBatchSize() throws {
        var random = TestRandom(seed: 24)
        for (activation, loss) in [(Activation.tanh, Loss.meanSquaredError), (.softmax, .meanSquaredError),
                                   (.sigmoid, .binaryCrossEntropy), (.softmax, .softmaxCrossEntropy)] {
            let rows = 7
            let x = random.array(rows * 3, -1, 1)
            let y = random.array(rows * 3, 0, 1)
            var results: [(Double, [Double])] = []
            for reduction in Reduction.allCases {
                let net = try Network<Double>(NetworkConfiguration(
                    layerSizes: [3, 5, 3], activations: [.sigmoid, activation], loss: loss, reduction: reduction, seed: 4))
                let r = try net.gradients(inputs: x, targets: y)
                results.append((r.loss, r.gradient))
            }
            let (meanLoss, meanGradient) = results[0], (sumLoss, sumGradient) = results[1]
            XCTAssertEqual(meanLoss, sumLoss / Double(rows), accuracy: 1e-14 * sumLoss)
            let scale = sumGradient.map(abs).max()! / Double(rows)
            XCTAssertLessThan(maxRelativeError(meanGradient, sumGradient.map { $0 / Double(rows) }, floor: scale), 1e-14,
                              "\(loss) \(activation)")
        }
    }

    /// The evaluation-only `batchLoss` (sum over rows) agrees with the loss the training
    /// pass returns (sum reduction) on the same Z and A: same formulas, and halving is
    /// exact, so 1e-15 relative.
    func testBatchLossAgreesWithTrainingLoss() throws {
        var random = TestRandom(seed: 25)
        for output in OutputCase.allCases {
            let c = try RandomCase.draw(output: output, reduction: .sum, hidden: .tanh, layerCount: 2, random: &random)
            try c.net.setParameters(c.parameters)
            let trainingLoss = try c.net.gradients(c.inputs, c.targets)
            let last = c.sizes.count - 2
            let evaluation: Double
            switch c.targets {
            case .dense(let y):
                evaluation = y.withUnsafeBufferPointer { yb in
                    batchLoss(loss: c.loss, outputActivation: c.activations[last], z: c.net.workspace.z(last), a: c.net.workspace.a(last),
                              targets: .dense(yb.baseAddress!), rows: c.rows, width: c.outputs)
                }
            case .labels(let l):
                evaluation = l.withUnsafeBufferPointer { lb in
                    batchLoss(loss: c.loss, outputActivation: c.activations[last], z: c.net.workspace.z(last), a: c.net.workspace.a(last),
                              targets: Targets<Double>.labels(lb.baseAddress!), rows: c.rows, width: c.outputs)
                }
            }
            XCTAssertEqual(evaluation, trainingLoss, accuracy: 1e-15 * max(1, abs(trainingLoss)), "\(output)")
        }
    }

    /// Labels outside 0..<outputs are `invalidArgument`; labels on a non-softmax-CE
    /// model are `invalidArgument`; a label count that is not the row count is
    /// `shapeMismatch`. Nothing changes in the model.
    func testLabelValidation() throws {
        let net = try Network<Double>(NetworkConfiguration(
            layerSizes: [2, 3], activations: [.softmax], loss: .softmaxCrossEntropy, seed: 1))
        let before = net.parameterValues
        let x = [0.1, 0.2, 0.3, 0.4]
        assertThrowsMLP(.invalidArgument, "label == outputs") { () throws(MLPError) in try net.step(x, .labels([0, 3])) }
        assertThrowsMLP(.invalidArgument, "negative label") { () throws(MLPError) in try net.step(x, .labels([-1, 0])) }
        assertThrowsMLP(.invalidArgument, "huge label") { () throws(MLPError) in try net.gradients(x, .labels([0, Int32.max])) }
        assertThrowsMLP(.shapeMismatch, "3 labels for 2 rows") { () throws(MLPError) in try net.step(x, .labels([0, 1, 2])) }
        assertThrowsMLP(.shapeMismatch, "1 label for 2 rows") { () throws(MLPError) in try net.step(x, .labels([0])) }
        XCTAssertEqual(bits(net.parameterValues), bits(before))
        XCTAssertEqual(net.optimizerStepCount, 0)
        XCTAssertNoThrow(try net.step(x, .labels([2, 0])))

        let mse = try Network<Double>(NetworkConfiguration(
            layerSizes: [2, 3], activations: [.softmax], loss: .meanSquaredError, seed: 1))
        assertThrowsMLP(.invalidArgument, "labels need softmax CE") { () throws(MLPError) in try mse.step(x, .labels([0, 1])) }
    }
}
