// Tests of Rprop.swift: iRPROP- and iRPROP+ step by step against the rules of Igel
// and Huesken (2000) written out below (PyTorch's torch.optim.Rprop for iRPROP-),
// validation, state reset, save/load of the state, the training snapshot, and that
// full-batch RPROP learns 4-bit parity. The NumPy reference in scripts/rprop_reference.py
// checks the same rules from Python (scripts/tests).

import XCTest
@testable import SwiftMLP

/// The published rules, in Double, one parameter at a time.
struct ReferenceRprop {
    let c: OptimizerConfiguration
    var previousGradient: [Double]
    var stepSize: [Double]
    var previousUpdate: [Double]
    var previousLoss = Double.infinity
    var undoCount = 0

    init(_ configuration: OptimizerConfiguration, count: Int) {
        c = configuration
        previousGradient = [Double](repeating: 0, count: count)
        stepSize = [Double](repeating: configuration.initialStep, count: count)
        previousUpdate = previousGradient
    }

    static func sign(_ v: Double) -> Double { v > 0 ? 1 : (v < 0 ? -1 : 0) }

    mutating func step(_ p: inout [Double], gradient: [Double], loss: Double) {
        let undo = loss > previousLoss
        for i in p.indices {
            var g = gradient[i]
            let s = Self.sign(g) * Self.sign(previousGradient[i])
            var d = stepSize[i]
            switch c.rpropVariant {
            case .minus:
                if s > 0 { d *= c.increaseFactor } else if s < 0 { d *= c.decreaseFactor; g = 0 }
                d = min(max(d, c.minimumStep), c.maximumStep)
                p[i] -= Self.sign(g) * d
                previousGradient[i] = g
            case .plus:
                if s < 0 {
                    d = min(max(d * c.decreaseFactor, c.minimumStep), c.maximumStep)
                    if undo { p[i] -= previousUpdate[i]; undoCount += 1 }
                    previousUpdate[i] = 0
                    previousGradient[i] = 0
                } else {
                    if s > 0 { d *= c.increaseFactor }
                    d = min(max(d, c.minimumStep), c.maximumStep)
                    previousUpdate[i] = -Self.sign(g) * d
                    p[i] += previousUpdate[i]
                    previousGradient[i] = g
                }
            }
            stepSize[i] = d
        }
        previousLoss = loss
    }
}

final class RpropTests: XCTestCase {

    func rprop(_ variant: RpropVariant, _ edit: (inout OptimizerConfiguration) -> Void = { _ in }) -> OptimizerConfiguration {
        var c = OptimizerConfiguration(kind: .rprop)
        c.rpropVariant = variant
        edit(&c)
        return c
    }

    func makeNetwork<S: MLPScalar>(_ type: S.Type, seed: UInt64 = 5) throws -> (Network<S>, [S], [S]) {
        let net = try Network<S>(NetworkConfiguration(
            layerSizes: [3, 5, 2], activations: [.tanh, .sigmoid], loss: .meanSquaredError, seed: seed))
        var random = TestRandom(seed: seed)
        let x = random.array(7 * 3, -1, 1).map { S($0) }
        let y = random.array(7 * 2, 0, 1).map { S($0) }
        return (net, x, y)
    }

    /// 40 steps against the reference, fed the engine's own gradient and loss. The
    /// engine runs the same Double operations in the same order, so the parameters
    /// must agree bit for bit (no tolerance).
    func checkAgainstReference(_ configuration: OptimizerConfiguration, name: String, expectUndo: Bool = false,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let (net, x, y) = try makeNetwork(Double.self)
        try net.setOptimizer(configuration)
        var reference = ReferenceRprop(configuration, count: net.parameterCount)
        var expected = net.parameterValues
        var signChanges = 0
        for stepIndex in 1...40 {
            let (loss, g) = try net.gradients(inputs: x, targets: y)
            signChanges += zip(g, reference.previousGradient).filter { $0 * $1 < 0 }.count
            reference.step(&expected, gradient: g, loss: loss)
            XCTAssertEqual(try net.step(inputs: x, targets: y), loss, file: file, line: line)
            XCTAssertEqual(bits(net.parameterValues), bits(expected), "\(name) step \(stepIndex)", file: file, line: line)
            if net.parameterValues != expected { return }
        }
        XCTAssertGreaterThan(signChanges, 0, "\(name): the shrinking branch ran", file: file, line: line)
        if expectUndo {
            XCTAssertGreaterThan(reference.undoCount, 0, "\(name): an update was undone", file: file, line: line)
        }
    }

    func testIRpropMinus() throws {
        try checkAgainstReference(rprop(.minus), name: "iRPROP- defaults")
        try checkAgainstReference(rprop(.minus) {
            $0.increaseFactor = 1.5; $0.decreaseFactor = 0.3; $0.initialStep = 0.05
            $0.minimumStep = 0.01; $0.maximumStep = 0.2
        }, name: "iRPROP- tight bounds")
        try checkAgainstReference(rprop(.minus) { $0.minimumStep = 0; $0.clipNorm = 1e-3 }, name: "iRPROP- clipped")
    }

    func testIRpropPlus() throws {
        try checkAgainstReference(rprop(.plus), name: "iRPROP+ defaults")
        try checkAgainstReference(rprop(.plus) { $0.initialStep = 1; $0.increaseFactor = 2 },
                                  name: "iRPROP+ large steps", expectUndo: true)
    }

    func testDefaultsAndValidation() {
        let c = OptimizerConfiguration(kind: .rprop)
        XCTAssertEqual(c.rpropVariant, .minus)
        XCTAssertEqual([c.increaseFactor, c.decreaseFactor, c.initialStep, c.minimumStep, c.maximumStep],
                       [1.2, 0.5, 0.1, 1e-6, 50])
        XCTAssertEqual(c.stateBufferCount, 2)
        XCTAssertEqual(rprop(.plus).stateBufferCount, 3)
        XCTAssertNoThrow(try c.validate())
        let bad: [(String, OptimizerConfiguration)] = [
            ("increase 1", rprop(.minus) { $0.increaseFactor = 1 }),
            ("increase NaN", rprop(.minus) { $0.increaseFactor = .nan }),
            ("decrease 1", rprop(.minus) { $0.decreaseFactor = 1 }),
            ("decrease 0", rprop(.plus) { $0.decreaseFactor = 0 }),
            ("delta0 0", rprop(.minus) { $0.initialStep = 0 }),
            ("delta0 above max", rprop(.minus) { $0.initialStep = 51 }),
            ("delta0 below min", rprop(.minus) { $0.minimumStep = 0.5; $0.initialStep = 0.4 }),
            ("min < 0", rprop(.minus) { $0.minimumStep = -1 }),
            ("min > max", rprop(.minus) { $0.minimumStep = 60 }),
            ("max inf", rprop(.minus) { $0.maximumStep = .infinity }),
            ("weight decay", rprop(.minus) { $0.weightDecay = 0.1 }),
        ]
        for (name, configuration) in bad {
            assertThrowsMLP(.invalidArgument, name) { () throws(MLPError) in try configuration.validate() }
        }
    }

    /// setOptimizer resets the step sizes to delta0 and forgets the previous gradient.
    func testResetRestartsFromDelta0() throws {
        let (a, x, y) = try makeNetwork(Double.self)
        let (b, _, _) = try makeNetwork(Double.self)
        let c = rprop(.plus)
        try a.setOptimizer(c)
        for _ in 0..<5 { try a.step(inputs: x, targets: y) }
        try a.setOptimizer(c)
        try b.setParameters(a.parameterValues)
        try b.setOptimizer(c)
        for _ in 0..<5 {
            try a.step(inputs: x, targets: y)
            try b.step(inputs: x, targets: y)
        }
        XCTAssertEqual(bits(a.parameterValues), bits(b.parameterValues))
    }

    /// The state (previous gradient, step sizes, previous update and loss) travels
    /// with the file: a loaded model goes on exactly as the original.
    func testSaveLoadResumesExactly() throws {
        func resume<S: MLPScalar>(_ type: S.Type, _ variant: RpropVariant) throws {
            let (net, x, y) = try makeNetwork(S.self)
            try net.setOptimizer(rprop(variant) { $0.initialStep = 0.5 })
            for _ in 0..<6 { try net.step(inputs: x, targets: y) }
            let bytes = try net.serialized()
            let loaded: Network<S>
            switch try bytes.withUnsafeBytes({ raw throws(MLPError) in try deserializeNetwork(raw) }) {
            case .float32(let n): loaded = n as! Network<S>
            case .float64(let n): loaded = n as! Network<S>
            }
            XCTAssertEqual(loaded.optimizerConfiguration, net.optimizerConfiguration)
            XCTAssertEqual(loaded.optimizer.previousLoss, net.optimizer.previousLoss)
            for _ in 0..<10 {
                try net.step(inputs: x, targets: y)
                try loaded.step(inputs: x, targets: y)
            }
            XCTAssertTrue(bitsEqual(net.parameterValues, loaded.parameterValues), "\(S.self) \(variant)")
        }
        try resume(Double.self, .minus)
        try resume(Double.self, .plus)
        try resume(Float.self, .minus)
        try resume(Float.self, .plus)
    }

    /// A gradient applied without a loss: iRPROP- takes it, iRPROP+ refuses it and
    /// changes nothing.
    func testApplyGradients() throws {
        let (net, _, _) = try makeNetwork(Double.self)
        let g = (0..<net.parameterCount).map { Double($0 % 3) - 1 }
        let before = net.parameterValues
        try net.setOptimizer(rprop(.plus))
        assertThrowsMLP(.invalidArgument) { () throws(MLPError) in
            try g.withUnsafeBufferPointer { buffer throws(MLPError) in try net.applyGradients(buffer) }
        }
        XCTAssertEqual(net.optimizerStepCount, 0)
        XCTAssertEqual(bits(net.parameterValues), bits(before))
        try net.setOptimizer(rprop(.minus))
        try g.withUnsafeBufferPointer { buffer throws(MLPError) in try net.applyGradients(buffer) }
        let expected = zip(before, g).map { p, gi in p - ReferenceRprop.sign(gi) * 0.1 }
        XCTAssertEqual(bits(net.parameterValues), bits(expected))
    }

    /// Full-batch RPROP learns 4-bit parity (16 patterns, 4-8-1), in both types and
    /// variants, within 300 epochs.
    func testLearnsParity4() throws {
        func learn<S: MLPScalar>(_ type: S.Type, _ variant: RpropVariant) throws {
            var x: [S] = [], y: [S] = []
            for pattern in 0..<16 {
                var ones = 0
                for bit in 0..<4 { let b = (pattern >> bit) & 1; ones += b; x.append(S(Double(b))) }
                y.append(S(Double(ones % 2)))
            }
            let net = try Network<S>(NetworkConfiguration(
                layerSizes: [4, 8, 1], activations: [.tanh, .sigmoid], loss: .binaryCrossEntropy, seed: 2))
            try net.setOptimizer(rprop(variant))
            var options = TrainingOptions()
            options.epochs = 300
            options.batchSize = 16
            try x.withUnsafeBufferPointer { xs throws(MLPError) in
                try y.withUnsafeBufferPointer { ys throws(MLPError) in
                    let data = Dataset(inputs: xs, targets: .dense(ys.baseAddress!), targetCount: 16, rows: 16)
                    _ = try net.train(data, validation: nil, options: options)
                }
            }
            let out = try net.predict(x)
            let correct = zip(out, y).filter { ($0 > 0.5) == ($1 > 0.5) }.count
            XCTAssertEqual(correct, 16, "\(S.self) \(variant)")
        }
        try learn(Double.self, .minus)
        try learn(Double.self, .plus)
        try learn(Float.self, .minus)
        try learn(Float.self, .plus)
    }
}
