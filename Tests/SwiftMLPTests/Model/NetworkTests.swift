// Tests of Network.swift (and the public operations it shares with
// Backpropagation.swift): failures leave the model untouched, shape and parameter
// checks, Float32 vs Float64 through the same generic code, and run-to-run
// determinism.

import Foundation
import XCTest
@testable import SwiftMLP

final class NetworkTests: XCTestCase {

    // MARK: 7. Failures leave state unchanged

    /// A non-finite batch (NaN or infinite inputs, NaN or infinite targets) makes `step`
    /// and `gradients` throw `nonFinite`, and leaves parameters and optimizer state as
    /// they were: the failed network and a twin that never saw the bad batch stay
    /// bit-identical through further steps. Covers a relu first layer, where relu(NaN)
    /// is 0 and only the weight gradient of that layer still carries the NaN.
    func testNonFiniteBatchThrowsAndLeavesStateUnchanged() throws {
        let architectures: [(NetworkConfiguration, (inout TestRandom, Int) -> TargetData)] = [
            (NetworkConfiguration(layerSizes: [3, 5, 2], activations: [.tanh, .sigmoid], loss: .binaryCrossEntropy, seed: 1),
             { r, rows in .dense(r.array(rows * 2, 0, 1)) }),
            (NetworkConfiguration(layerSizes: [3, 5, 4, 3], activations: [.relu, .relu, .softmax], loss: .softmaxCrossEntropy, seed: 2),
             { r, rows in .dense(TargetData.labels((0..<rows).map { _ in Int32(r.int(0...2)) }).denseRows(rows: rows, width: 3)) }),
            (NetworkConfiguration(layerSizes: [3, 4, 1], activations: [.leakyReLU, .identity], loss: .meanSquaredError, seed: 3),
             { r, rows in .dense(r.array(rows, -1, 1)) }),
        ]
        let optimizers: [OptimizerConfiguration] = [
            { var c = OptimizerConfiguration(kind: .adam); c.learningRate = 0.01; return c }(),
            { var c = OptimizerConfiguration(kind: .sgd); c.momentum = 0.9; c.nesterov = true; return c }(),
            { var c = OptimizerConfiguration(kind: .rmsProp); c.momentum = 0.5; c.clipNorm = 0.1; return c }(),
        ]
        var random = TestRandom(seed: 71)
        for (configuration, makeTargets) in architectures {
            for optimizer in optimizers {
                let a = try Network<Double>(configuration), b = try Network<Double>(configuration)
                try a.setOptimizer(optimizer); try b.setOptimizer(optimizer)
                let rows = 4
                let x = random.array(rows * 3, -1, 1)
                let targets = makeTargets(&random, rows)
                for _ in 0..<2 { try a.step(x, targets); try b.step(x, targets) }

                guard case .dense(let y) = targets else { return XCTFail() }
                var badBatches: [(String, [Double], [Double])] = []
                for value in [Double.nan, .infinity, -.infinity] {
                    var badX = x; badX[random.int(0...(x.count - 1))] = value
                    badBatches.append(("input \(value)", badX, y))
                    var badY = y; badY[random.int(0...(y.count - 1))] = value
                    badBatches.append(("target \(value)", x, badY))
                }
                var allNaN = x; allNaN[3...5] = [.nan, .nan, .nan]   // a whole row
                badBatches.append(("row of NaN", allNaN, y))
                for (name, badX, badY) in badBatches {
                    let context = "\(configuration.activations) \(optimizer.kind) \(name)"
                    assertThrowsMLP(.nonFinite, context) { () throws(MLPError) in try a.step(badX, .dense(badY)) }
                    assertThrowsMLP(.nonFinite, context) { () throws(MLPError) in try a.gradients(badX, .dense(badY)) }
                    assertThrowsMLP(.nonFinite, context) { () throws(MLPError) in try a.step(inputs: badX, targets: badY) }
                    XCTAssertEqual(bits(a.parameterValues), bits(b.parameterValues), context)
                    XCTAssertEqual(a.optimizerStepCount, b.optimizerStepCount, context)
                }
                for _ in 0..<3 {
                    let la = try a.step(x, targets), lb = try b.step(x, targets)
                    XCTAssertEqual(la.bitPattern, lb.bitPattern)
                }
                XCTAssertEqual(bits(a.parameterValues), bits(b.parameterValues),
                               "optimizer state must be untouched, \(configuration.activations) \(optimizer.kind)")
            }
        }
    }

    /// predict refuses non-finite inputs with `nonFinite` (a relu first layer would
    /// otherwise map a NaN row to ordinary-looking outputs), in both precisions.
    func testPredictRejectsNonFiniteInputs() throws {
        let configuration = NetworkConfiguration(layerSizes: [3, 4, 2], activations: [.relu, .identity],
                                                 loss: .meanSquaredError, seed: 2)
        let net = try Network<Double>(configuration), netF = try Network<Float>(configuration)
        for bad in [Double.nan, .infinity, -.infinity] {
            assertThrowsMLP(.nonFinite, "\(bad)") { () throws(MLPError) in try net.predict([0.1, 0.2, 0.3, 0.4, bad, 0.6]) }
            assertThrowsMLP(.nonFinite, "\(bad)") { () throws(MLPError) in try netF.predict([0.1, 0.2, 0.3, 0.4, Float(bad), 0.6]) }
        }
        XCTAssertNoThrow(try net.predict([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]))
    }

    /// With rows of 128 bytes of inputs or more, predict checks them from the first
    /// layer's pre-activations (`foldsInputCheck`). A NaN or infinity anywhere in any
    /// row is still refused, naming its row, with the outputs not written (a relu first
    /// layer, so the outputs alone would not show it; with and without a scaler).
    /// Finite inputs that overflow the first layer are not refused: the outputs carry
    /// the overflow, as the header says. Both precisions.
    func testPredictChecksWideInputsFromTheFirstLayer() throws {
        try checkFoldedInputCheck(Float.self)
        try checkFoldedInputCheck(Double.self)
    }

    func checkFoldedInputCheck<Scalar: MLPScalar>(_: Scalar.Type) throws {
        let configuration = NetworkConfiguration(layerSizes: [40, 6, 2], activations: [.relu, .identity],
                                                 loss: .meanSquaredError, seed: 3)
        let net = try Network<Scalar>(configuration)
        XCTAssertTrue(net.foldsInputCheck)
        for scaled in [false, true] {
            if scaled {
                try net.setScaler(InputScaler(mean: [Double](repeating: 0.25, count: 40),
                                              standardDeviation: [Double](repeating: 2, count: 40)))
            }
            for rows in [1, 3] {
                for column in [0, 17, 39] {
                    for bad in [Scalar.nan, .infinity, -.infinity] {
                        var x = [Scalar](repeating: 0.5, count: rows * 40)
                        x[(rows - 1) * 40 + column] = bad
                        var out = [Scalar](repeating: 7, count: rows * 2)
                        let context = "\(Scalar.self) scaled \(scaled) rows \(rows) column \(column) \(bad)"
                        do throws(MLPError) {
                            try x.withUnsafeBufferPointer { (xb) throws(MLPError) in
                                try out.withUnsafeMutableBufferPointer { (ob) throws(MLPError) in
                                    try net.predict(xb, rows: rows, into: ob)
                                }
                            }
                            XCTFail("expected nonFinite: \(context)")
                        } catch {
                            XCTAssertEqual(error.kind, .nonFinite, context)
                            XCTAssertTrue(error.message.contains("row \(rows - 1)"), "\(context): \(error.message)")
                        }
                        XCTAssertTrue(out.allSatisfy { $0 == 7 }, "outputs written: \(context)")
                    }
                }
            }
            let huge = try net.predict([Scalar](repeating: .greatestFiniteMagnitude, count: 40))
            XCTAssertTrue(huge.contains { !$0.isFinite }, "the first layer was to overflow: \(huge)")
        }
    }

    /// The error message names the offending input or target.
    func testNonFiniteMessageNamesTheValue() throws {
        let net = try Network<Double>(NetworkConfiguration(layerSizes: [2, 1], activations: [.identity], loss: .meanSquaredError))
        do {
            _ = try net.gradients(inputs: [0, 1, 2, .nan], targets: [0, 0])
            XCTFail("expected nonFinite")
        } catch {
            XCTAssertEqual(error.kind, .nonFinite)
            XCTAssertTrue(error.message.contains("row 1"), error.message)
        }
    }

    /// Diverged parameters (finite data, overflowing forward pass) are also reported as
    /// `nonFinite` and not applied.
    func testOverflowingLossIsNonFiniteAndNotApplied() throws {
        let net = try Network<Double>(NetworkConfiguration(layerSizes: [1, 1], activations: [.identity], loss: .meanSquaredError))
        try net.setParameters([1e200, 0])
        assertThrowsMLP(.nonFinite) { () throws(MLPError) in try net.step(inputs: [1e200], targets: [0]) }
        XCTAssertEqual(net.parameterValues, [1e200, 0])
        XCTAssertEqual(net.optimizerStepCount, 0)
    }

    /// Wrong shapes are `shapeMismatch` and change nothing.
    func testShapeMismatches() throws {
        let net = try Network<Double>(NetworkConfiguration(
            layerSizes: [3, 4, 2], activations: [.tanh, .identity], loss: .meanSquaredError, seed: 4))
        try net.setOptimizer({ var c = OptimizerConfiguration(kind: .adam); c.learningRate = 0.1; return c }())
        let before = net.parameterValues
        let x = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]   // 2 rows
        let y = [1.0, 0.0, 0.0, 1.0]
        assertThrowsMLP(.shapeMismatch, "inputs not whole rows") { () throws(MLPError) in try net.step(inputs: [0.1, 0.2], targets: [1, 0]) }
        assertThrowsMLP(.shapeMismatch, "no rows") { () throws(MLPError) in try net.step(inputs: [], targets: [1, 0]) }
        assertThrowsMLP(.shapeMismatch, "too few targets") { () throws(MLPError) in try net.step(inputs: x, targets: [1, 0]) }
        assertThrowsMLP(.shapeMismatch, "too many targets") { () throws(MLPError) in try net.step(inputs: x, targets: y + [1]) }
        assertThrowsMLP(.shapeMismatch, "no targets") { () throws(MLPError) in try net.gradients(inputs: x, targets: []) }
        assertThrowsMLP(.shapeMismatch, "predict not whole rows") { () throws(MLPError) in try net.predict([1, 2]) }
        assertThrowsMLP(.shapeMismatch, "predict no rows") { () throws(MLPError) in try net.predict([]) }
        // Pointer API: rows disagreeing with the buffers.
        try x.withUnsafeBufferPointer { (xb) throws in
            try y.withUnsafeBufferPointer { (yb) throws in
                assertThrowsMLP(.shapeMismatch, "rows 3 for 2 rows of inputs") { () throws(MLPError) in
                    try net.step(inputs: xb, targets: .dense(yb.baseAddress!), targetCount: 4, rows: 3)
                }
                assertThrowsMLP(.shapeMismatch, "rows 0") { () throws(MLPError) in
                    try net.gradients(inputs: xb, targets: .dense(yb.baseAddress!), targetCount: 4, rows: 0)
                }
                assertThrowsMLP(.shapeMismatch, "negative rows") { () throws(MLPError) in
                    try net.gradients(inputs: xb, targets: .dense(yb.baseAddress!), targetCount: 4, rows: -2)
                }
                assertThrowsMLP(.shapeMismatch, "targetCount") { () throws(MLPError) in
                    try net.step(inputs: xb, targets: .dense(yb.baseAddress!), targetCount: 3, rows: 2)
                }
                var out = [Double](repeating: 0, count: 3)
                out.withUnsafeMutableBufferPointer { ob in
                    assertThrowsMLP(.shapeMismatch, "predict output size") { () throws(MLPError) in try net.predict(xb, rows: 2, into: ob) }
                }
                var tooMany = [Double](repeating: 0, count: 5)
                tooMany.withUnsafeMutableBufferPointer { ob in
                    assertThrowsMLP(.shapeMismatch, "predict output size") { () throws(MLPError) in try net.predict(xb, rows: 2, into: ob) }
                }
            }
        }
        assertThrowsMLP(.shapeMismatch, "parameter count") { () throws(MLPError) in try net.setParameters(before + [0]) }
        assertThrowsMLP(.shapeMismatch, "parameter count") { () throws(MLPError) in try net.setParameters(Array(before.dropLast())) }
        XCTAssertEqual(bits(net.parameterValues), bits(before))
        XCTAssertEqual(net.optimizerStepCount, 0)
    }

    /// setParameters refuses NaN and infinity (`nonFinite`) without changing anything,
    /// copies valid values exactly, and keeps the optimizer state.
    func testSetParameters() throws {
        let configuration = NetworkConfiguration(layerSizes: [2, 3, 1], activations: [.tanh, .identity], loss: .meanSquaredError, seed: 5)
        let a = try Network<Double>(configuration), b = try Network<Double>(configuration)
        let before = a.parameterValues
        for bad in [Double.nan, .infinity, -.infinity] {
            var p = before; p[4] = bad
            assertThrowsMLP(.nonFinite) { () throws(MLPError) in try a.setParameters(p) }
            XCTAssertEqual(bits(a.parameterValues), bits(before))
        }
        let values = (0..<a.parameterCount).map { Double($0) * 0.1 - 0.3 }
        try a.setParameters(values)
        XCTAssertEqual(bits(a.parameterValues), bits(values))
        XCTAssertEqual(bits(Array(a.parameterView)), bits(values))
        // Optimizer state survives setParameters: momentum continues.
        var momentum = OptimizerConfiguration(kind: .sgd); momentum.momentum = 0.9
        try a.setOptimizer(momentum); try b.setOptimizer(momentum)
        try a.setParameters(values); try b.setParameters(values)
        for _ in 0..<2 { try a.step(inputs: [1, 2], targets: [3]); try b.step(inputs: [1, 2], targets: [3]) }
        try a.setParameters(a.parameterValues)
        XCTAssertEqual(a.optimizerStepCount, 2)
        try a.step(inputs: [1, 2], targets: [3]); try b.step(inputs: [1, 2], targets: [3])
        XCTAssertEqual(bits(a.parameterValues), bits(b.parameterValues))
    }

    // MARK: 8. Float32 and Float64 through the same generic code

    /// Same configuration, seed and data: after 10 SGD-with-momentum steps the Float32
    /// loss is within 1e-4 relative of the Float64 loss. Float32 rounds at 6e-8 per
    /// operation; over a forward/backward pass of this size and 10 steps that compounds
    /// to ~1e-6 relative, so 1e-4 fails only for a real difference in the code paths.
    func testFloatAndDoubleAgreeAfterTenSteps() throws {
        var random = TestRandom(seed: 81)
        let cases: [(NetworkConfiguration, OptimizerConfiguration)] = [
            (NetworkConfiguration(layerSizes: [4, 8, 3], activations: [.tanh, .softmax], loss: .softmaxCrossEntropy, seed: 6),
             { var c = OptimizerConfiguration(kind: .sgd); c.learningRate = 0.1; c.momentum = 0.9; return c }()),
            (NetworkConfiguration(layerSizes: [4, 6, 5, 2], activations: [.relu, .sigmoid, .sigmoid], loss: .binaryCrossEntropy,
                                  reduction: .sum, seed: 7),
             { var c = OptimizerConfiguration(kind: .sgd); c.learningRate = 0.02; return c }()),
            (NetworkConfiguration(layerSizes: [4, 7, 1], activations: [.leakyReLU, .identity], loss: .meanSquaredError, seed: 8),
             { var c = OptimizerConfiguration(kind: .rmsProp); c.learningRate = 0.001; return c }()),
            // Wide enough for the OpenBLAS path (16 x 4 x 64 and 16 x 64 x 3 > smallProductLimit).
            (NetworkConfiguration(layerSizes: [4, 64, 3], activations: [.tanh, .softmax], loss: .softmaxCrossEntropy, seed: 9),
             { var c = OptimizerConfiguration(kind: .adam); c.learningRate = 0.003; return c }()),
        ]
        for (configuration, optimizer) in cases {
            let rows = 16
            let x = random.array(rows * 4, -1, 1)
            let y: [Double]
            switch configuration.loss {
            case .softmaxCrossEntropy:
                y = TargetData.labels((0..<rows).map { _ in Int32(random.int(0...2)) }).denseRows(rows: rows, width: 3)
            case .binaryCrossEntropy: y = (0..<(rows * 2)).map { _ in Double(random.int(0...1)) }
            case .meanSquaredError, .fannTanhError: y = random.array(rows, -1, 1)
            case .poisson: y = (0..<rows).map { _ in Double(random.int(0...3)) }
            }
            let d = try Network<Double>(configuration), f = try Network<Float>(configuration)
            try d.setOptimizer(optimizer); try f.setOptimizer(optimizer)
            let xf = x.map(Float.init), yf = y.map(Float.init)
            let initialLoss = try d.gradients(inputs: x, targets: y).loss
            for _ in 0..<10 {
                try d.step(inputs: x, targets: y)
                try f.step(inputs: xf, targets: yf)
            }
            let lossD = try d.gradients(inputs: x, targets: y).loss
            let lossF = try f.gradients(inputs: xf, targets: yf).loss
            XCTAssertLessThan(lossD, initialLoss, "training must make progress, \(configuration.loss)")
            XCTAssertEqual(lossF, lossD, accuracy: 1e-4 * abs(lossD), "\(configuration.loss)")
            // Predictions agree to Float precision too (outputs are O(1)): 1e-4.
            assertClose(try f.predict(xf).map(Double.init), try d.predict(x), tolerance: 1e-4)
        }
    }

    /// The same network trained twice (fresh instances, or the same instance reset)
    /// gives bit-identical losses, parameters and predictions, in both precisions.
    func testRunsAreBitIdentical() throws {
        func run<S: MLPScalar>(_ type: S.Type) throws -> (losses: [Double], parameters: [S], predictions: [S]) {
            // The 64-wide layer takes the OpenBLAS path for batches of 2+ rows, the others loops.
            let net = try Network<S>(NetworkConfiguration(
                layerSizes: [5, 64, 6, 3], activations: [.relu, .tanh, .softmax], loss: .softmaxCrossEntropy, seed: 123))
            var adam = OptimizerConfiguration(kind: .adamW); adam.learningRate = 0.01; adam.clipNorm = 1
            try net.setOptimizer(adam)
            var random = TestRandom(seed: 5)
            var losses: [Double] = []
            for stepIndex in 0..<12 {
                let rows = 1 + stepIndex % 7
                let x = random.array(rows * 5, -2, 2).map { S($0) }
                let labels = (0..<rows).map { _ in Int32(random.int(0...2)) }
                let loss = try x.withUnsafeBufferPointer { (xb) throws(MLPError) -> Double in
                    try labels.withUnsafeBufferPointer { (lb) throws(MLPError) -> Double in
                        try net.step(inputs: xb, targets: .labels(lb.baseAddress!), targetCount: rows, rows: rows)
                    }
                }
                losses.append(loss)
            }
            let probe = random.array(4 * 5, -1, 1).map { S($0) }
            return (losses, net.parameterValues, try net.predict(probe))
        }
        let d1 = try run(Double.self), d2 = try run(Double.self)
        XCTAssertEqual(bits(d1.losses), bits(d2.losses))
        XCTAssertEqual(bits(d1.parameters), bits(d2.parameters))
        XCTAssertEqual(bits(d1.predictions), bits(d2.predictions))
        let f1 = try run(Float.self), f2 = try run(Float.self)
        XCTAssertEqual(bits(f1.losses), bits(f2.losses))
        XCTAssertEqual(bits(f1.parameters), bits(f2.parameters))
        XCTAssertEqual(bits(f1.predictions), bits(f2.predictions))

        // The same instance, reset to its initial parameters and a fresh optimizer.
        let net = try Network<Double>(NetworkConfiguration(
            layerSizes: [3, 4, 1], activations: [.sigmoid, .sigmoid], loss: .binaryCrossEntropy, seed: 9))
        let start = net.parameterValues
        var trajectories: [[UInt64]] = []
        for _ in 0..<2 {
            try net.setParameters(start)
            try net.setOptimizer(OptimizerConfiguration(kind: .adam))
            var losses: [Double] = []
            for _ in 0..<5 { losses.append(try net.step(inputs: [0.1, 0.2, 0.3, -0.3, 0.2, 0.1], targets: [1, 0])) }
            trajectories.append(bits(losses) + bits(net.parameterValues))
        }
        XCTAssertEqual(trajectories[0], trajectories[1])
    }

    /// The array conveniences and the pointer API are the same computation.
    func testArrayAndPointerAPIsAgree() throws {
        let configuration = NetworkConfiguration(layerSizes: [2, 3, 2], activations: [.tanh, .sigmoid], loss: .binaryCrossEntropy, seed: 10)
        let a = try Network<Double>(configuration), b = try Network<Double>(configuration)
        let x = [0.5, -0.5, 0.25, 0.75], y = [1.0, 0.0, 0.0, 1.0]
        let la = try a.step(inputs: x, targets: y)
        let lb = try b.step(x, .dense(y))
        XCTAssertEqual(la.bitPattern, lb.bitPattern)
        XCTAssertEqual(bits(a.parameterValues), bits(b.parameterValues))
        let ga = try a.gradients(inputs: x, targets: y)
        let gl = try b.gradients(x, .dense(y))
        XCTAssertEqual(ga.loss.bitPattern, gl.bitPattern)
        XCTAssertEqual(bits(ga.gradient), bits(Array(b.gradientView)))
        var out = [Double](repeating: 0, count: 4)
        try x.withUnsafeBufferPointer { (xb) throws(MLPError) in
            try out.withUnsafeMutableBufferPointer { (ob) throws(MLPError) in try a.predict(xb, rows: 2, into: ob) }
        }
        XCTAssertEqual(bits(out), bits(try a.predict(x)))
    }

    /// Concurrent predictions on one network (allowed by the documented contract) give
    /// the same results as serial ones.
    func testConcurrentPredictions() throws {
        let net = try Network<Double>(NetworkConfiguration(
            layerSizes: [6, 16, 16, 4], activations: [.relu, .tanh, .softmax], loss: .softmaxCrossEntropy, seed: 11))
        var random = TestRandom(seed: 12)
        let inputs = (0..<8).map { k in random.array((k + 1) * 6, -1, 1) }
        let serial = try inputs.map { try net.predict($0) }
        let results = UnsafeMutableBufferPointer<[Double]>.allocate(capacity: 8 * 50)
        results.initialize(repeating: [])
        defer {
            results.deinitialize()
            results.deallocate()
        }
        DispatchQueue.concurrentPerform(iterations: 8 * 50) { i in
            results[i] = (try? net.predict(inputs[i % 8])) ?? []
        }
        for i in 0..<(8 * 50) { XCTAssertEqual(bits(results[i]), bits(serial[i % 8]), "prediction \(i)") }
    }
    /// Predictions small enough for stack scratch (rows x (2 widest + inputs) <=
    /// `stackScratchScalars`) and those that take an inference slot give the same
    /// bits as one row at a time, at the rows where the choice switches, with and
    /// without a scaler (which uses the scratch's third part), in Float and Double.
    func testStackAndSlotScratchAgreeAtTheSwitch() throws {
        try checkScratchSwitch(Float.self)
        try checkScratchSwitch(Double.self)
    }

    func checkScratchSwitch<Scalar: MLPScalar>(_: Scalar.Type) throws {
        for scaled in [false, true] {
            let net = try Network<Scalar>(NetworkConfiguration(
                layerSizes: [6, 10, 7, 4], activations: [.relu, .sigmoid, .identity], loss: .meanSquaredError, seed: 21))
            if scaled {
                try net.setScaler(InputScaler(mean: [0.1, -0.2, 0.3, 0, 0.5, -1], standardDeviation: [1, 2, 0.5, 3, 1, 0.25]))
            }
            let perRow = 2 * net.layout.widestOutput + net.inputCount   // 26 scalars
            let lastOnStack = net.stackScratchScalars / perRow
            var random = TestRandom(seed: 22)
            for rows in [1, lastOnStack, lastOnStack + 1] {
                let x = random.array(rows * 6, -2, 2).map { Scalar($0) }
                let batch = try net.predict(x)
                var single: [Scalar] = []
                for r in 0..<rows { single += try net.predict(Array(x[(r * 6)..<(r * 6 + 6)])) }
                XCTAssertTrue(bitsEqual(batch, single),
                              "\(Scalar.self) rows \(rows) scaled \(scaled) (\(rows * perRow <= net.stackScratchScalars ? "stack" : "slot"))")
            }
        }
    }
}
