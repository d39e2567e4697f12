// Tests of Optimizer.swift: every update rule, step by step, against PyTorch's
// torch.optim algorithms written out independently below; gradient clipping as
// torch.nn.utils.clip_grad_norm_; learning-rate schedules as PyTorch's schedulers;
// defaults; validation; and that a rejected configuration changes nothing.

import Foundation
import XCTest
@testable import SwiftMLP

/// PyTorch's update rules (torch.optim.SGD / Adam / AdamW / RMSprop, single-tensor
/// implementations, dampening 0, amsgrad off, centered off), applied to flat arrays.
/// Weight decay is applied to weights only unless `decayBiases` (the engine's
/// documented convention: PyTorch with biases in a param group with weight_decay 0).
struct ReferenceOptimizer {
    let configuration: OptimizerConfiguration
    let isBias: [Bool]
    var t = 0
    var first: [Double]   // SGD momentum_buffer / Adam exp_avg / RMSprop square_avg
    var second: [Double]  // Adam exp_avg_sq / RMSprop momentum_buffer

    init(_ configuration: OptimizerConfiguration, isBias: [Bool]) {
        self.configuration = configuration
        self.isBias = isBias
        first = [Double](repeating: 0, count: isBias.count)
        second = first
    }

    /// torch.nn.utils.clip_grad_norm_(max_norm = c): total_norm = ||g||_2,
    /// clip_coef = c / (total_norm + 1e-6), g *= min(clip_coef, 1).
    static func clip(_ g: [Double], maxNorm: Double) -> [Double] {
        guard maxNorm > 0 else { return g }
        let norm = sqrt(g.map { $0 * $0 }.reduce(0, +))
        let coefficient = min(maxNorm / (norm + 1e-6), 1)
        return g.map { $0 * coefficient }
    }

    mutating func step(_ p: inout [Double], gradient raw: [Double], lr: Double) {
        let c = configuration
        let grad = Self.clip(raw, maxNorm: c.clipNorm)
        t += 1
        for i in p.indices {
            let wd = (isBias[i] && !c.decayBiases) ? 0 : c.weightDecay
            var g = grad[i]
            switch c.kind {
            case .sgd:
                // d_p = g + wd p; buf = d_p (t = 1) or mu buf + d_p; d_p = nesterov ? d_p + mu buf : buf
                if wd != 0 { g += wd * p[i] }
                if c.momentum != 0 {
                    first[i] = t == 1 ? g : c.momentum * first[i] + g
                    g = c.nesterov ? g + c.momentum * first[i] : first[i]
                }
                p[i] -= lr * g
            case .adam, .adamW:
                if c.kind == .adamW {
                    p[i] *= 1 - lr * wd            // decoupled: param.mul_(1 - lr * wd)
                } else if wd != 0 {
                    g += wd * p[i]                 // L2: grad.add(param, alpha=wd)
                }
                first[i] = c.beta1 * first[i] + (1 - c.beta1) * g
                second[i] = c.beta2 * second[i] + (1 - c.beta2) * g * g
                let biasCorrection1 = 1 - pow(c.beta1, Double(t))
                let biasCorrection2 = 1 - pow(c.beta2, Double(t))
                let stepSize = lr / biasCorrection1
                let denominator = sqrt(second[i]) / sqrt(biasCorrection2) + c.epsilon
                p[i] -= stepSize * first[i] / denominator
            case .rmsProp:
                if wd != 0 { g += wd * p[i] }
                first[i] = c.alpha * first[i] + (1 - c.alpha) * g * g
                let average = sqrt(first[i]) + c.epsilon
                if c.momentum > 0 {
                    second[i] = c.momentum * second[i] + g / average
                    p[i] -= lr * second[i]
                } else {
                    p[i] -= lr * g / average
                }
            case .rprop:
                break  // RpropTests.swift has its own reference
            }
        }
    }
}

final class OptimizerTests: XCTestCase {

    /// A small network with a fixed batch, so every step sees a controlled gradient.
    struct Fixture {
        let net: Network<Double>
        let x: [Double]
        let y: [Double]
        let isBias: [Bool]
    }

    func makeFixture(seed: UInt64 = 17) throws -> Fixture {
        let sizes = [3, 4, 2]
        let net = try Network<Double>(NetworkConfiguration(
            layerSizes: sizes, activations: [.tanh, .identity], loss: .meanSquaredError, seed: seed))
        // Non-zero biases, so that decaying them or not makes a difference.
        var p = net.parameterValues
        let layout = ReferenceLayout(sizes)
        for (i, bias) in layout.isBias.enumerated() where bias { p[i] = 0.1 * Double(i % 5) - 0.2 }
        try net.setParameters(p)
        var random = TestRandom(seed: seed)
        return Fixture(net: net, x: random.array(5 * 3, -1, 1), y: random.array(5 * 2, -1, 1),
                       isBias: layout.isBias)
    }

    /// Runs `steps` steps of `configuration` on the engine and on `ReferenceOptimizer`
    /// fed with the engine's gradient at each step (read from `gradientView` after a
    /// `gradients` call on the same batch), comparing the parameters after every step.
    /// After each step, `gradientView` must hold that same gradient, except with plain
    /// SGD (no momentum), which never stores the gradient (PlainSGDStep.swift; the
    /// buffer's contents are unspecified): there the step must equal p - lr (g + wd p)
    /// bit for bit instead, which proves it used the same gradient.
    ///
    /// Tolerance 1e-12 (relative to max(1, |p|)): both sides run the same Float64
    /// formulas; they differ only by rounding order (e.g. pow vs repeated squaring for
    /// the bias corrections, p·(1 - lr wd) fused differently), i.e. a few ulps per
    /// step, and the two trajectories share the engine's gradient so errors do not grow.
    func checkAgainstReference(
        _ configuration: OptimizerConfiguration, steps: Int = 6, name: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let f = try makeFixture()
        try f.net.setOptimizer(configuration)
        var reference = ReferenceOptimizer(configuration, isBias: f.isBias)
        var expected = f.net.parameterValues
        for stepIndex in 1...steps {
            let lr = configuration.schedule.learningRate(base: configuration.learningRate, epoch: f.net.epoch)
            let g = try f.net.gradients(inputs: f.x, targets: f.y).gradient
            reference.step(&expected, gradient: g, lr: lr)
            let loss = try f.net.step(inputs: f.x, targets: f.y)
            XCTAssertTrue(loss.isFinite)
            if configuration.kind == .sgd && configuration.momentum == 0 {
                if configuration.clipNorm == 0 {
                    // Without clipping the reference evaluates the same expression,
                    // p - lr (g + wd p), in the same type: the step must match it bit
                    // for bit, which also proves it used the `gradients` gradient.
                    XCTAssertEqual(bits(f.net.parameterValues), bits(expected),
                                   "plain SGD step, \(name) step \(stepIndex)", file: file, line: line)
                }
            } else {
                XCTAssertEqual(bits(Array(f.net.gradientView)), bits(g),
                               "step must see the same gradient, \(name) step \(stepIndex)", file: file, line: line)
            }
            assertClose(f.net.parameterValues, expected, tolerance: 1e-12, "\(name) step \(stepIndex)",
                        file: file, line: line)
            XCTAssertEqual(f.net.optimizerStepCount, stepIndex, file: file, line: line)
        }
    }

    func config(_ kind: OptimizerKind, _ edit: (inout OptimizerConfiguration) -> Void = { _ in }) -> OptimizerConfiguration {
        var c = OptimizerConfiguration(kind: kind)
        edit(&c)
        return c
    }

    // MARK: SGD

    func testSGDPlain() throws {
        try checkAgainstReference(config(.sgd) { $0.learningRate = 0.1 }, name: "sgd")
    }

    func testSGDMomentum() throws {
        try checkAgainstReference(config(.sgd) { $0.learningRate = 0.05; $0.momentum = 0.9 }, name: "sgd momentum")
    }

    func testSGDNesterov() throws {
        try checkAgainstReference(config(.sgd) { $0.learningRate = 0.05; $0.momentum = 0.8; $0.nesterov = true },
                                  name: "sgd nesterov")
    }

    func testSGDWeightDecayOnWeightsOnly() throws {
        try checkAgainstReference(config(.sgd) { $0.learningRate = 0.05; $0.weightDecay = 0.1 }, name: "sgd wd")
        try checkAgainstReference(config(.sgd) { $0.learningRate = 0.05; $0.momentum = 0.9; $0.weightDecay = 0.2 },
                                  name: "sgd momentum wd")
    }

    func testSGDWeightDecayWithDecayBiases() throws {
        try checkAgainstReference(config(.sgd) { $0.learningRate = 0.05; $0.weightDecay = 0.1; $0.decayBiases = true },
                                  name: "sgd wd biases")
        try checkAgainstReference(config(.sgd) {
            $0.learningRate = 0.05; $0.momentum = 0.9; $0.nesterov = true; $0.weightDecay = 0.2; $0.decayBiases = true
        }, name: "sgd nesterov wd biases")
    }

    /// decayBiases must matter exactly for the biases: one plain SGD step with and
    /// without it differs by lr * wd * b on bias entries and not at all on weights.
    func testDecayBiasesTouchesOnlyBiases() throws {
        var results: [[Double]] = []
        var start: [Double] = []
        var isBias: [Bool] = []
        for decayBiases in [false, true] {
            let f = try makeFixture()
            start = f.net.parameterValues
            isBias = f.isBias
            try f.net.setOptimizer(config(.sgd) { $0.learningRate = 0.5; $0.weightDecay = 0.1; $0.decayBiases = decayBiases })
            try f.net.step(inputs: f.x, targets: f.y)
            results.append(f.net.parameterValues)
        }
        for i in start.indices {
            if isBias[i] {
                // (b - lr g) - (b - lr (g + wd b)) = lr wd b, up to rounding of one update.
                XCTAssertEqual(results[0][i] - results[1][i], 0.5 * 0.1 * start[i], accuracy: 1e-15)
            } else {
                XCTAssertEqual(results[0][i].bitPattern, results[1][i].bitPattern, "weight \(i)")
            }
        }
    }

    // MARK: Adam, AdamW

    func testAdam() throws {
        try checkAgainstReference(config(.adam), name: "adam defaults")
        try checkAgainstReference(config(.adam) { $0.learningRate = 0.01; $0.beta1 = 0.8; $0.beta2 = 0.99; $0.epsilon = 1e-6 },
                                  steps: 8, name: "adam custom")
    }

    func testAdamL2WeightDecay() throws {
        try checkAgainstReference(config(.adam) { $0.learningRate = 0.01; $0.weightDecay = 0.1 }, name: "adam wd")
        try checkAgainstReference(config(.adam) { $0.learningRate = 0.01; $0.weightDecay = 0.1; $0.decayBiases = true },
                                  name: "adam wd biases")
    }

    func testAdamW() throws {
        try checkAgainstReference(config(.adamW) { $0.learningRate = 0.01 }, name: "adamw default wd")
        try checkAgainstReference(config(.adamW) { $0.learningRate = 0.02; $0.weightDecay = 0.3; $0.decayBiases = true },
                                  name: "adamw wd biases")
    }

    // MARK: RMSprop

    func testRMSprop() throws {
        try checkAgainstReference(config(.rmsProp), name: "rmsprop defaults")
        try checkAgainstReference(config(.rmsProp) { $0.alpha = 0.9; $0.epsilon = 1e-6; $0.weightDecay = 0.05 },
                                  name: "rmsprop alpha wd")
    }

    func testRMSpropWithMomentum() throws {
        try checkAgainstReference(config(.rmsProp) { $0.learningRate = 0.005; $0.momentum = 0.9 }, name: "rmsprop momentum")
        try checkAgainstReference(config(.rmsProp) { $0.learningRate = 0.005; $0.momentum = 0.5; $0.weightDecay = 0.1; $0.decayBiases = true },
                                  name: "rmsprop momentum wd biases")
    }

    // MARK: Clipping

    /// clip_grad_norm_: the fixture's gradient norm is well above these limits, so the
    /// clip is active (asserted), then the rule runs on the scaled gradient.
    func testGradientClippingByGlobalNorm() throws {
        let f = try makeFixture()
        let g = try f.net.gradients(inputs: f.x, targets: f.y).gradient
        let norm = sqrt(g.map { $0 * $0 }.reduce(0, +))
        XCTAssertGreaterThan(norm, 0.2, "fixture must have a gradient the clip limits below act on")
        try checkAgainstReference(config(.sgd) { $0.learningRate = 0.1; $0.clipNorm = 0.05 }, name: "sgd clip")
        try checkAgainstReference(config(.sgd) { $0.learningRate = 0.1; $0.momentum = 0.9; $0.clipNorm = 0.1 },
                                  name: "sgd momentum clip")
        try checkAgainstReference(config(.adam) { $0.learningRate = 0.01; $0.clipNorm = 0.01; $0.weightDecay = 0.1 },
                                  name: "adam clip wd")
        try checkAgainstReference(config(.rmsProp) { $0.clipNorm = 0.02; $0.momentum = 0.3 }, name: "rmsprop clip")
        // A limit above the norm leaves the gradient alone (coefficient capped at 1).
        try checkAgainstReference(config(.sgd) { $0.learningRate = 0.1; $0.clipNorm = 1e3 }, name: "sgd clip inactive")
    }

    // MARK: Failed updates

    /// Plain SGD computes its update out of place (Optimizer.swift), so a step whose
    /// new parameters would not be finite changes nothing: not the parameters, not
    /// the step count. Both ways there: an update that overflows a finite gradient
    /// (learning rate 1e308), and a gradient that is NaN while the loss is finite
    /// (a NaN input that relu maps to 0 in the forward pass, but X^T dZ carries).
    /// Then a sane step still trains. Float and Double.
    func testPlainSGDFailedUpdateChangesNothing() throws {
        try plainSGDFailedUpdateChangesNothing(Float.self)
        try plainSGDFailedUpdateChangesNothing(Double.self)
    }

    func plainSGDFailedUpdateChangesNothing<Scalar: MLPScalar>(_: Scalar.Type) throws {
        let net = try Network<Scalar>(NetworkConfiguration(
            layerSizes: [2, 3, 1], activations: [.relu, .identity], loss: .meanSquaredError, seed: 5))
        // Targets far from the outputs, so that some gradient entries exceed 1 and
        // the largest finite learning rate overflows them.
        let x: [Scalar] = [0.5, -0.25, 1, 0.75], y: [Scalar] = [1000, -1000]
        try net.setOptimizer(config(.sgd) { $0.learningRate = 0.001 })
        try net.step(inputs: x, targets: y)
        let before = bits(net.parameterValues.map(Double.init))
        XCTAssertEqual(net.optimizerStepCount, 1)

        try net.setOptimizer(config(.sgd) { $0.learningRate = Double(Scalar.greatestFiniteMagnitude) })
        assertThrowsMLP(.nonFinite, "an update that overflows") { () throws(MLPError) in
            try net.step(inputs: x, targets: y)
        }
        XCTAssertEqual(bits(net.parameterValues.map(Double.init)), before, "overflowing update: parameters unchanged")
        XCTAssertEqual(net.optimizerStepCount, 0, "overflowing update: step count as set_optimizer left it")

        try net.setOptimizer(config(.sgd) { $0.learningRate = 0.001 })
        var nanInput = x
        nanInput[0] = .nan
        assertThrowsMLP(.nonFinite, "a NaN input") { () throws(MLPError) in
            try net.step(inputs: nanInput, targets: y)
        }
        XCTAssertEqual(bits(net.parameterValues.map(Double.init)), before, "NaN gradient: parameters unchanged")
        XCTAssertEqual(net.optimizerStepCount, 0, "NaN gradient: step count unchanged")

        try net.step(inputs: x, targets: y)
        XCTAssertNotEqual(bits(net.parameterValues.map(Double.init)), before, "a sane step trains again")
        XCTAssertTrue(net.parameterValues.allSatisfy(\.isFinite))
        XCTAssertEqual(net.optimizerStepCount, 1)
    }

    /// SGD with momentum on one row, on networks that check their gradient from its
    /// factors (`oneRowGradientIsFinite`) and take the update loop without scaling or
    /// decay: the bits of the gradient of a `gradients` call on the same row, then
    /// v = mu v + g, p = p - lr v in the network's type, evaluated here element by
    /// element. `gradientView` must hold that gradient afterwards. Then an update
    /// that overflows (learning rate 1e36 in
    /// float, 1e300 in double, against targets of 1e8 / 1e20) keeps the documented
    /// exception: non-finite parameters left, state reset. Float and Double.
    func testOneRowMomentumStepMatchesGeneralPath() throws {
        try oneRowMomentumMatchesGeneralPath(Float.self, overflowRate: 1e36, farTarget: 1e8)
        try oneRowMomentumMatchesGeneralPath(Double.self, overflowRate: 1e300, farTarget: 1e20)
    }

    func oneRowMomentumMatchesGeneralPath<Scalar: MLPScalar>(
        _: Scalar.Type, overflowRate: Double, farTarget: Double
    ) throws {
        var random = TestRandom(seed: 31)
        for (sizes, activations) in [([32, 16, 1], [Activation.sigmoid, .sigmoid]),
                                     ([21, 16, 8, 3], [.relu, .tanh, .identity]),
                                     ([125, 32, 2], [.leakyReLU, .sigmoid])] {
            let net = try Network<Scalar>(NetworkConfiguration(
                layerSizes: sizes, activations: activations, loss: .meanSquaredError, seed: 3))
            try net.setOptimizer(config(.sgd) { $0.learningRate = 0.1; $0.momentum = 0.4 })
            XCTAssertTrue(net.checksFactors, "\(sizes) must check its gradient from factors")
            let mu = Scalar(0.4), lr = Scalar(0.1)
            var velocity = [Scalar](repeating: 0, count: net.parameterCount)
            for stepIndex in 0..<5 {
                let x = random.array(sizes[0], -1, 1).map { Scalar($0) }
                let y = random.array(sizes.last!, 0, 1).map { Scalar($0) }
                let g = try net.gradients(inputs: x, targets: y).gradient
                var expected = net.parameterValues
                for i in expected.indices {
                    velocity[i] = mu * velocity[i] + g[i]
                    expected[i] = expected[i] - lr * velocity[i]
                }
                try net.step(inputs: x, targets: y)
                XCTAssertTrue(bitsEqual(net.parameterValues, expected), "\(sizes) step \(stepIndex)")
                XCTAssertTrue(bitsEqual(Array(net.gradientView), g), "\(sizes) gradient view, step \(stepIndex)")
                XCTAssertEqual(net.optimizerStepCount, stepIndex + 1)
            }
            try net.setOptimizer(config(.sgd) { $0.learningRate = overflowRate; $0.momentum = 0.4 })
            let x = random.array(sizes[0], -1, 1).map { Scalar($0) }
            let y = [Scalar](repeating: Scalar(farTarget), count: sizes.last!)
            assertThrowsMLP(.nonFinite, "\(sizes): an update that overflows") { () throws(MLPError) in
                try net.step(inputs: x, targets: y)
            }
            XCTAssertFalse(net.parameterValues.allSatisfy(\.isFinite), "the overflowed values are left (documented)")
            XCTAssertEqual(net.optimizerStepCount, 0, "the state was reset")
        }
    }

    /// A one-row step with momentum on a network wide enough that the step checks
    /// its gradient from the factors of dW = x^T dz (`oneRowGradientIsFinite`): an
    /// input that meets the deltas only there (its weights are 0) and overflows them
    /// makes a non-finite gradient with a finite loss; a NaN input likewise. Either
    /// step must throw and change nothing: the parameters, the step count, and the
    /// velocity (the next sane step equals that of a twin that never saw the failed
    /// ones). Float and Double.
    func testOneRowMomentumStepWithNonFiniteGradientChangesNothing() throws {
        try oneRowMomentumFailureChangesNothing(Float.self)
        try oneRowMomentumFailureChangesNothing(Double.self)
    }

    func oneRowMomentumFailureChangesNothing<Scalar: MLPScalar>(_: Scalar.Type) throws {
        let sizes = [40, 20, 3]
        func make() throws -> Network<Scalar> {
            let net = try Network<Scalar>(NetworkConfiguration(
                layerSizes: sizes, activations: [.tanh, .identity], loss: .meanSquaredError, seed: 9))
            var p = net.parameterValues
            for j in 0..<sizes[1] { p[j] = 0 }   // input 0 reaches only dW
            try net.setParameters(p)
            try net.setOptimizer(config(.sgd) { $0.learningRate = 0.01; $0.momentum = 0.5 })
            return net
        }
        let net = try make(), twin = try make()
        XCTAssertTrue(net.checksFactors, "the network must take the factor check")
        var random = TestRandom(seed: 4)
        // Input 0 is 0 in the sane steps, so its weights stay 0.
        var x = random.array(sizes[0], -1, 1).map { Scalar($0) }
        x[0] = 0
        let y = random.array(sizes[2], -1, 1).map { Scalar($0) }
        try net.step(inputs: x, targets: y)
        try twin.step(inputs: x, targets: y)
        let before = net.parameterValues

        // Targets of 1e3 make deltas of ~1e3; an input of half the largest finite
        // value times them overflows, while the loss (~1e6) stays finite.
        var overflowing = x
        overflowing[0] = Scalar.greatestFiniteMagnitude / 2
        let farTargets = y.map { $0 * 1000 }
        assertThrowsMLP(.nonFinite, "an overflowing weight gradient") { () throws(MLPError) in
            try net.step(inputs: overflowing, targets: farTargets)
        }
        var nanInput = x
        nanInput[0] = .nan
        assertThrowsMLP(.nonFinite, "a NaN input") { () throws(MLPError) in
            try net.step(inputs: nanInput, targets: y)
        }
        XCTAssertTrue(bitsEqual(net.parameterValues, before), "parameters unchanged")
        XCTAssertEqual(net.optimizerStepCount, 1, "step count unchanged")

        // The same input 1e6 times smaller is fine: the check is not merely cautious.
        var large = x
        large[0] = Scalar.greatestFiniteMagnitude / 2e6
        try net.step(inputs: x, targets: y)
        try twin.step(inputs: x, targets: y)
        XCTAssertTrue(bitsEqual(net.parameterValues, twin.parameterValues), "velocity unchanged: same next step")
        try net.step(inputs: large, targets: farTargets)
        XCTAssertTrue(net.parameterValues.allSatisfy(\.isFinite))
    }

    /// With an optimizer that keeps state, the documented exception stays: an update
    /// that overflows leaves the overflowed parameters and resets the state.
    func testStatefulOptimizerOverflowResetsState() throws {
        let net = try Network<Double>(NetworkConfiguration(
            layerSizes: [2, 3, 1], activations: [.relu, .identity], loss: .meanSquaredError, seed: 5))
        let x: [Double] = [0.5, -0.25, 1, 0.75], y: [Double] = [1000, -1000]
        try net.setOptimizer(config(.sgd) { $0.learningRate = 1e308; $0.momentum = 0.5 })
        assertThrowsMLP(.nonFinite, "momentum SGD update that overflows") { () throws(MLPError) in
            try net.step(inputs: x, targets: y)
        }
        XCTAssertFalse(net.parameterValues.allSatisfy(\.isFinite), "the overflowed values are left (documented)")
        XCTAssertEqual(net.optimizerStepCount, 0, "the state was reset")
    }

    /// One plain SGD step with clipping moves the parameters by exactly c/(norm + 1e-6)
    /// of the unclipped step, so the update's norm is ~c * lr.
    func testClippedStepHasClippedNorm() throws {
        let f = try makeFixture()
        try f.net.setOptimizer(config(.sgd) { $0.learningRate = 1; $0.clipNorm = 0.01 })
        let before = f.net.parameterValues
        let g = try f.net.gradients(inputs: f.x, targets: f.y).gradient
        let norm = sqrt(g.map { $0 * $0 }.reduce(0, +))
        try f.net.step(inputs: f.x, targets: f.y)
        let moved = sqrt(zip(before, f.net.parameterValues).map { ($0 - $1) * ($0 - $1) }.reduce(0, +))
        // ||lr g c / (norm + 1e-6)|| = c norm / (norm + 1e-6); p - g rounds at ~1e-16 |p|,
        // so the difference of the parameters is good to ~1e-13 absolute.
        XCTAssertEqual(moved, 0.01 * norm / (norm + 1e-6), accuracy: 1e-13)
        XCTAssertLessThan(moved, 0.01)
    }

    // MARK: Learning-rate schedules

    /// Values against PyTorch's schedulers stepped once per epoch: StepLR
    /// lr gamma^floor(e / step), ExponentialLR lr gamma^e, CosineAnnealingLR
    /// eta_min + (lr - eta_min)(1 + cos(pi e / T)) / 2 for e <= T. After T the engine
    /// documents holding eta_min (PyTorch's closed form would rise again). Tolerance
    /// 1e-14 relative: pow vs repeated squaring, a few ulps.
    func testLearningRateScheduleValues() {
        let base = 0.1
        for e in [0, 1, 5, 100] {
            XCTAssertEqual(LearningRateSchedule.constant.learningRate(base: base, epoch: e), base)
        }
        let step = LearningRateSchedule.step(stepSize: 3, gamma: 0.5)
        for (e, expected) in [(0, 0.1), (1, 0.1), (2, 0.1), (3, 0.05), (5, 0.05), (6, 0.025), (10, 0.0125)] {
            XCTAssertEqual(step.learningRate(base: base, epoch: e), expected, accuracy: 1e-14 * expected, "step e=\(e)")
        }
        let exponential = LearningRateSchedule.exponential(gamma: 0.9)
        for e in [0, 1, 2, 7, 20, 63] {
            let expected = base * pow(0.9, Double(e))
            XCTAssertEqual(exponential.learningRate(base: base, epoch: e), expected, accuracy: 1e-14 * expected, "exp e=\(e)")
        }
        let minimum = 0.001
        let cosine = LearningRateSchedule.cosine(period: 10, minimum: minimum)
        for e in [0, 1, 3, 5, 9, 10] {
            let expected = minimum + (base - minimum) * (1 + cos(Double.pi * Double(e) / 10)) / 2
            XCTAssertEqual(cosine.learningRate(base: base, epoch: e), expected, accuracy: 1e-14 * expected, "cos e=\(e)")
        }
        XCTAssertEqual(cosine.learningRate(base: base, epoch: 0), base, accuracy: 1e-17)
        XCTAssertEqual(cosine.learningRate(base: base, epoch: 5), (base + minimum) / 2, accuracy: 1e-16)
        for e in [10, 11, 15, 1000] {
            XCTAssertEqual(cosine.learningRate(base: base, epoch: e), minimum, accuracy: 1e-18, "held at min, e=\(e)")
        }
        // A step size or period below 1 (refused by the configuration, but the schedule
        // is public on its own) counts as 1: no division by zero, no NaN.
        XCTAssertEqual(LearningRateSchedule.step(stepSize: 0, gamma: 0.5).learningRate(base: base, epoch: 2), 0.025)
        XCTAssertEqual(LearningRateSchedule.step(stepSize: -4, gamma: 0.5).learningRate(base: base, epoch: 1), 0.05)
        XCTAssertEqual(LearningRateSchedule.cosine(period: 0, minimum: minimum).learningRate(base: base, epoch: 0), base)
        XCTAssertEqual(LearningRateSchedule.cosine(period: 0, minimum: minimum).learningRate(base: base, epoch: 3), minimum)
    }

    /// The network's current learning rate follows its epoch, and a step uses it.
    func testStepUsesScheduledLearningRate() throws {
        let f = try makeFixture()
        let schedule = LearningRateSchedule.step(stepSize: 2, gamma: 0.1)
        try f.net.setOptimizer(config(.sgd) { $0.learningRate = 0.5; $0.schedule = schedule })
        XCTAssertEqual(f.net.currentLearningRate, 0.5)
        for epoch in [1, 2, 5] {
            f.net.epoch = epoch
            let lr = 0.5 * pow(0.1, Double(epoch / 2))
            XCTAssertEqual(f.net.currentLearningRate, lr, accuracy: 1e-15 * lr)
            let before = f.net.parameterValues
            let g = try f.net.gradients(inputs: f.x, targets: f.y).gradient
            try f.net.step(inputs: f.x, targets: f.y)
            // One multiply-subtract per entry, as in the engine: 1e-15 of max(1, |p|).
            assertClose(f.net.parameterValues, zip(before, g).map { $0 - lr * $1 }, tolerance: 1e-15, "epoch \(epoch)")
        }
        // Adam with a cosine schedule, reference fed the scheduled rate, epoch moving.
        let cosine = config(.adam) { $0.learningRate = 0.01; $0.schedule = .cosine(period: 4, minimum: 0.001) }
        let g2 = try makeFixture()
        try g2.net.setOptimizer(cosine)
        var reference = ReferenceOptimizer(cosine, isBias: g2.isBias)
        var expected = g2.net.parameterValues
        for epoch in 0..<6 {
            g2.net.epoch = epoch
            let lr = 0.001 + 0.009 * (1 + cos(Double.pi * Double(min(epoch, 4)) / 4)) / 2
            let g = try g2.net.gradients(inputs: g2.x, targets: g2.y).gradient
            reference.step(&expected, gradient: g, lr: lr)
            try g2.net.step(inputs: g2.x, targets: g2.y)
            assertClose(g2.net.parameterValues, expected, tolerance: 1e-12, "adam cosine epoch \(epoch)")
        }
    }

    // MARK: Defaults, reset, validation

    func testDefaultsArePyTorchs() {
        let sgd = OptimizerConfiguration(kind: .sgd)
        XCTAssertEqual(sgd.learningRate, 0.01); XCTAssertEqual(sgd.momentum, 0); XCTAssertFalse(sgd.nesterov)
        XCTAssertEqual(sgd.weightDecay, 0); XCTAssertEqual(sgd.clipNorm, 0); XCTAssertEqual(sgd.schedule, .constant)
        let adam = OptimizerConfiguration(kind: .adam)
        XCTAssertEqual(adam.learningRate, 0.001); XCTAssertEqual(adam.beta1, 0.9); XCTAssertEqual(adam.beta2, 0.999)
        XCTAssertEqual(adam.epsilon, 1e-8); XCTAssertEqual(adam.weightDecay, 0)
        let adamW = OptimizerConfiguration(kind: .adamW)
        XCTAssertEqual(adamW.learningRate, 0.001); XCTAssertEqual(adamW.weightDecay, 0.01)
        let rms = OptimizerConfiguration(kind: .rmsProp)
        XCTAssertEqual(rms.learningRate, 0.01); XCTAssertEqual(rms.alpha, 0.99); XCTAssertEqual(rms.epsilon, 1e-8)
        XCTAssertEqual(rms.momentum, 0)
        for kind in OptimizerKind.allCases { XCTAssertNoThrow(try OptimizerConfiguration(kind: kind).validate()) }
        // A new network starts with default SGD and no steps.
        let net = try? Network<Double>(NetworkConfiguration(layerSizes: [1, 1], activations: [.identity], loss: .meanSquaredError))
        XCTAssertEqual(net?.optimizerConfiguration, OptimizerConfiguration(kind: .sgd))
        XCTAssertEqual(net?.optimizerStepCount, 0)
    }

    /// setOptimizer resets the state: after momentum steps, setting the same
    /// configuration again behaves like a fresh optimizer from the same parameters.
    func testSetOptimizerResetsState() throws {
        let momentum = config(.sgd) { $0.learningRate = 0.05; $0.momentum = 0.9 }
        let a = try makeFixture()
        try a.net.setOptimizer(momentum)
        for _ in 0..<3 { try a.net.step(inputs: a.x, targets: a.y) }
        try a.net.setOptimizer(momentum)
        XCTAssertEqual(a.net.optimizerStepCount, 0)
        let b = try makeFixture()
        try b.net.setParameters(a.net.parameterValues)
        try b.net.setOptimizer(momentum)
        for _ in 0..<3 {
            try a.net.step(inputs: a.x, targets: a.y)
            try b.net.step(inputs: b.x, targets: b.y)
        }
        XCTAssertEqual(bits(a.net.parameterValues), bits(b.net.parameterValues))
    }

    /// Every malformed field is `invalidArgument`, both from validate() and setOptimizer.
    func testInvalidConfigurationsAreRejected() {
        let bad: [(String, OptimizerConfiguration)] = [
            ("lr 0", config(.sgd) { $0.learningRate = 0 }),
            ("lr < 0", config(.adam) { $0.learningRate = -0.1 }),
            ("lr NaN", config(.sgd) { $0.learningRate = .nan }),
            ("lr inf", config(.rmsProp) { $0.learningRate = .infinity }),
            ("momentum 1", config(.sgd) { $0.momentum = 1 }),
            ("momentum > 1", config(.rmsProp) { $0.momentum = 1.5 }),
            ("momentum < 0", config(.sgd) { $0.momentum = -0.1 }),
            ("momentum NaN", config(.sgd) { $0.momentum = .nan }),
            ("nesterov without momentum", config(.sgd) { $0.nesterov = true }),
            ("nesterov with adam", config(.adam) { $0.nesterov = true; $0.momentum = 0.9 }),
            ("nesterov with rmsprop", config(.rmsProp) { $0.nesterov = true; $0.momentum = 0.9 }),
            ("beta1 1", config(.adam) { $0.beta1 = 1 }),
            ("beta1 < 0", config(.adam) { $0.beta1 = -0.5 }),
            ("beta2 1", config(.adamW) { $0.beta2 = 1 }),
            ("beta2 NaN", config(.adam) { $0.beta2 = .nan }),
            ("epsilon 0", config(.adam) { $0.epsilon = 0 }),
            ("epsilon < 0", config(.rmsProp) { $0.epsilon = -1e-8 }),
            ("alpha 1", config(.rmsProp) { $0.alpha = 1 }),
            ("alpha < 0", config(.rmsProp) { $0.alpha = -0.1 }),
            ("weight decay < 0", config(.sgd) { $0.weightDecay = -0.01 }),
            ("weight decay inf", config(.adamW) { $0.weightDecay = .infinity }),
            ("clip < 0", config(.sgd) { $0.clipNorm = -1 }),
            ("clip NaN", config(.sgd) { $0.clipNorm = .nan }),
            ("step size 0", config(.sgd) { $0.schedule = .step(stepSize: 0, gamma: 0.5) }),
            ("step gamma 0", config(.sgd) { $0.schedule = .step(stepSize: 2, gamma: 0) }),
            ("step gamma NaN", config(.sgd) { $0.schedule = .step(stepSize: 2, gamma: .nan) }),
            ("exponential gamma < 0", config(.sgd) { $0.schedule = .exponential(gamma: -0.9) }),
            ("cosine period 0", config(.sgd) { $0.schedule = .cosine(period: 0, minimum: 0) }),
            ("cosine min < 0", config(.sgd) { $0.schedule = .cosine(period: 5, minimum: -0.001) }),
            ("cosine min inf", config(.sgd) { $0.schedule = .cosine(period: 5, minimum: .infinity) }),
        ]
        let net = try? Network<Double>(NetworkConfiguration(layerSizes: [1, 1], activations: [.identity], loss: .meanSquaredError))
        for (name, configuration) in bad {
            assertThrowsMLP(.invalidArgument, name) { () throws(MLPError) in try configuration.validate() }
            assertThrowsMLP(.invalidArgument, name) { () throws(MLPError) in try net!.setOptimizer(configuration) }
        }
        // Edge values that are valid.
        for configuration in [config(.sgd) { $0.momentum = 0.999_999 }, config(.rmsProp) { $0.alpha = 0 },
                              config(.adam) { $0.beta1 = 0; $0.beta2 = 0 }, config(.sgd) { $0.schedule = .cosine(period: 1, minimum: 0) }] {
            XCTAssertNoThrow(try configuration.validate())
        }
    }

    /// A rejected setOptimizer keeps the previous optimizer, its configuration and its
    /// state: later steps match a twin that never saw the bad call, bit for bit.
    func testRejectedOptimizerLeavesStateUnchanged() throws {
        let adam = config(.adam) { $0.learningRate = 0.01 }
        let a = try makeFixture(), b = try makeFixture()
        try a.net.setOptimizer(adam); try b.net.setOptimizer(adam)
        for _ in 0..<2 {
            try a.net.step(inputs: a.x, targets: a.y)
            try b.net.step(inputs: b.x, targets: b.y)
        }
        assertThrowsMLP(.invalidArgument) { () throws(MLPError) in try a.net.setOptimizer(self.config(.sgd) { $0.momentum = 1 }) }
        assertThrowsMLP(.invalidArgument) { () throws(MLPError) in try a.net.setOptimizer(self.config(.adam) { $0.learningRate = .nan }) }
        XCTAssertEqual(a.net.optimizerConfiguration, adam)
        XCTAssertEqual(a.net.optimizerStepCount, 2)
        for _ in 0..<3 {
            try a.net.step(inputs: a.x, targets: a.y)
            try b.net.step(inputs: b.x, targets: b.y)
        }
        XCTAssertEqual(bits(a.net.parameterValues), bits(b.net.parameterValues))
    }

    /// KNOWN ENGINE BUG (fails at the time of writing): OptimizerConfiguration.validate
    /// checks its Double fields ("epsilon finite and > 0", "learning_rate finite and
    /// > 0"), but a Network<Float> applies Float(value): epsilon 1e-50 becomes 0 and
    /// learning rate 1e39 becomes +inf. setOptimizer accepts both, and the next step
    /// succeeds (returns a finite loss, throws nothing) while writing NaN (Adam: 0/0 for
    /// a parameter whose gradient is 0) or -inf (SGD) into the parameters: exactly the
    /// state `step` promises never to produce from finite data. Expected: setOptimizer
    /// on a Float network throws invalidArgument for such values, or the step leaves
    /// finite parameters.
    func testFloatNetworkOptimizerValuesMustBeRepresentableInFloat() throws {
        // Adam, epsilon 1e-50, on a network whose relu units are all dead (zero gradient).
        let net = try Network<Float>(NetworkConfiguration(
            layerSizes: [2, 3, 1], activations: [.relu, .identity], loss: .meanSquaredError, seed: 1))
        try net.setParameters([1, 1, 1, 1, 1, 1, -5, -5, -5, 1, 1, 1, 0])
        var adam = OptimizerConfiguration(kind: .adam)
        adam.epsilon = 1e-50
        var accepted = true
        do { try net.setOptimizer(adam) } catch { XCTAssertEqual(error.kind, .invalidArgument); accepted = false }
        if accepted {
            do { try net.step(inputs: [0.1, 0.1], targets: [1]) } catch { XCTAssertEqual(error.kind, .nonFinite) }
            XCTAssertTrue(net.parameterValues.allSatisfy(\.isFinite),
                          "Adam epsilon 1e-50 (0 in Float) accepted; parameters after one step: \(net.parameterValues)")
        }
        // SGD, learning rate 1e39.
        let sgdNet = try Network<Float>(NetworkConfiguration(layerSizes: [1, 1], activations: [.identity], loss: .meanSquaredError))
        try sgdNet.setParameters([1, 0])
        var sgd = OptimizerConfiguration(kind: .sgd)
        sgd.learningRate = 1e39
        accepted = true
        do { try sgdNet.setOptimizer(sgd) } catch { XCTAssertEqual(error.kind, .invalidArgument); accepted = false }
        if accepted {
            do { try sgdNet.step(inputs: [1], targets: [0]) } catch { XCTAssertEqual(error.kind, .nonFinite) }
            XCTAssertTrue(sgdNet.parameterValues.allSatisfy(\.isFinite),
                          "SGD learning rate 1e39 (inf in Float) accepted; parameters after one step: \(sgdNet.parameterValues)")
        }
    }
}
