// Tests of Training.swift (Network.train, evaluate, TrainingOptions, EpochReport,
// TrainingSummary, Dataset), the learning-rate schedules of Optimizer.swift as train
// uses them, and gradient clipping in applyGradient (Backpropagation.swift):
//
// - shuffling is reproducible bit for bit, and is a Fisher-Yates pass per epoch with
//   the network's own generator (replayed here on a twin with manual steps);
// - every epoch runs ceil(n / batch) optimizer steps (floor with dropLast; one when
//   batch >= n), in row order when shuffle is off, and reports the mean per-sample
//   loss of its batches under both reductions;
// - early stopping follows patience and minDelta; restoreBest ends at the best (lowest) epoch;
// - the callback sees epochs 1...k in order with the scheduled learning rate, and
//   returning false stops the run;
// - train is all or nothing: every piece of state (parameters, optimizer moments and
//   step count, generator, epoch) is compared before and after a failing call;
// - evaluate equals the loss and accuracy of an independent reference forward pass;
// - clipping is torch.nn.utils.clip_grad_norm_'s rule.

import Foundation
import XCTest
@testable import SwiftMLP

// MARK: Helpers (file-private)

/// Inputs and targets on the heap, alive as long as the object, so a `Dataset` of
/// raw pointers can be handed to the engine without closures.
private final class TrainingData<S: MLPScalar> {
    let x: UnsafeMutableBufferPointer<S>
    let y: UnsafeMutableBufferPointer<S>?
    let labels: UnsafeMutableBufferPointer<Int32>?
    let rows: Int
    let inputWidth: Int
    let outputWidth: Int

    init(x: [S], inputWidth: Int, y: [S], outputWidth: Int) {
        rows = x.count / inputWidth
        self.inputWidth = inputWidth
        self.outputWidth = outputWidth
        self.x = .allocate(capacity: x.count)
        _ = self.x.initialize(from: x)
        let targets = UnsafeMutableBufferPointer<S>.allocate(capacity: y.count)
        _ = targets.initialize(from: y)
        self.y = targets
        labels = nil
    }

    init(x: [S], inputWidth: Int, labels: [Int32], outputWidth: Int) {
        rows = x.count / inputWidth
        self.inputWidth = inputWidth
        self.outputWidth = outputWidth
        self.x = .allocate(capacity: x.count)
        _ = self.x.initialize(from: x)
        let l = UnsafeMutableBufferPointer<Int32>.allocate(capacity: labels.count)
        _ = l.initialize(from: labels)
        self.labels = l
        y = nil
    }

    deinit {
        x.deallocate()
        y?.deallocate()
        labels?.deallocate()
    }

    var dataset: Dataset<S> {
        if let labels {
            return Dataset(inputs: UnsafeBufferPointer(x), targets: .labels(UnsafePointer(labels.baseAddress!)),
                           targetCount: labels.count, rows: rows)
        }
        return Dataset(inputs: UnsafeBufferPointer(x), targets: .dense(UnsafePointer(y!.baseAddress!)),
                       targetCount: y!.count, rows: rows)
    }

    /// A new data set of the given rows, in the given order (for replaying a shuffle).
    func gathered(_ order: ArraySlice<Int>) -> TrainingData<S> {
        var gx: [S] = []
        for r in order { gx += Array(x[(r * inputWidth)..<((r + 1) * inputWidth)]) }
        if let labels {
            return TrainingData(x: gx, inputWidth: inputWidth, labels: order.map { labels[$0] }, outputWidth: outputWidth)
        }
        var gy: [S] = []
        for r in order { gy += Array(y![(r * outputWidth)..<((r + 1) * outputWidth)]) }
        return TrainingData(x: gx, inputWidth: inputWidth, y: gy, outputWidth: outputWidth)
    }

    /// One optimizer step on all rows of this data set.
    @discardableResult
    func step(_ network: Network<S>) throws -> Double {
        let d = dataset
        return try network.step(inputs: d.inputs, targets: d.targets, targetCount: d.targetCount, rows: rows)
    }
}

extension Network {
    /// `train` on TrainingData, keeping the data alive for the whole call (a
    /// `Dataset` holds raw pointers into it).
    fileprivate func trainOn(
        _ data: TrainingData<Scalar>, validation: TrainingData<Scalar>? = nil,
        options: TrainingOptions = TrainingOptions(), onEpoch: (EpochReport) -> Bool = { _ in true }
    ) throws(MLPError) -> TrainingSummary {
        defer { withExtendedLifetime(data) {}; withExtendedLifetime(validation) {} }
        return try train(data.dataset, validation: validation?.dataset, options: options, onEpoch: onEpoch)
    }

    fileprivate func evaluateOn(_ data: TrainingData<Scalar>) throws(MLPError) -> Evaluation {
        defer { withExtendedLifetime(data) {} }
        return try evaluate(data.dataset)
    }
}

/// Every piece of state `train` may change, bit for bit.
private struct TrainingState<S: MLPScalar>: Equatable {
    let parameters: [S]
    let first: [S]
    let second: [S]
    let stepCount: Int
    let generator: Xoshiro256StarStar
    let epoch: Int

    init(_ n: Network<S>) {
        parameters = n.parameterValues
        first = Array(n.optimizer.first.bufferPointer)
        second = Array(n.optimizer.second.bufferPointer)
        stepCount = n.optimizer.stepCount
        generator = n.generator
        epoch = n.epoch
    }

    static func == (a: Self, b: Self) -> Bool {
        func same(_ u: [S], _ v: [S]) -> Bool { sameBits(u, v) }
        return same(a.parameters, b.parameters) && same(a.first, b.first) && same(a.second, b.second)
            && a.stepCount == b.stepCount && a.generator == b.generator && a.epoch == b.epoch
    }
}

/// Bit-for-bit equality of two arrays (NaN payloads and signed zeros included).
private func sameBits<S: MLPScalar>(_ a: [S], _ b: [S]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy {
        $0.sign == $1.sign && $0.exponentBitPattern == $1.exponentBitPattern
            && $0.significandBitPattern == $1.significandBitPattern
    }
}

private let regressionSizes = [3, 5, 2]
private let regressionActivations: [Activation] = [.tanh, .identity]

private func regressionNetwork<S: MLPScalar>(
    _: S.Type = Double.self, reduction: Reduction = .mean, seed: UInt64, hidden: Int = 5
) throws -> Network<S> {
    try Network<S>(NetworkConfiguration(
        layerSizes: [3, hidden, 2], activations: regressionActivations, loss: .meanSquaredError,
        reduction: reduction, seed: seed))
}

/// 23 rows (not a multiple of any batch size used) of inputs in (-1, 1) and targets.
private func regressionData<S: MLPScalar>(_: S.Type = Double.self, rows: Int = 23, seed: UInt64 = 1) -> TrainingData<S> {
    var random = TestRandom(seed: seed)
    let x = random.array(rows * 3, -1, 1).map { S($0) }
    let y = random.array(rows * 2, -1, 1).map { S($0) }
    return TrainingData(x: x, inputWidth: 3, y: y, outputWidth: 2)
}

private func adam(_ lr: Double, schedule: LearningRateSchedule = .constant) -> OptimizerConfiguration {
    var c = OptimizerConfiguration(kind: .adam)
    c.learningRate = lr
    c.schedule = schedule
    return c
}

private func options(epochs: Int, batch: Int, shuffle: Bool = true, dropLast: Bool = false) -> TrainingOptions {
    var o = TrainingOptions()
    o.epochs = epochs
    o.batchSize = batch
    o.shuffle = shuffle
    o.dropLast = dropLast
    return o
}

final class TrainingTests: XCTestCase {
    // MARK: Defaults

    func testDefaultOptionsMatchTheHeader() {
        let o = TrainingOptions()
        XCTAssertEqual(o.epochs, 10)
        XCTAssertEqual(o.batchSize, 32)
        XCTAssertTrue(o.shuffle)
        XCTAssertFalse(o.dropLast)
        XCTAssertEqual(o.patience, 0)
        XCTAssertEqual(o.minDelta, 0)
        XCTAssertTrue(o.restoreBest)
    }

    // MARK: Shuffling

    private func checkReproducible<S: MLPScalar>(_ type: S.Type) throws {
        let data = regressionData(S.self)
        let a: Network<S> = try regressionNetwork(S.self, seed: 7)
        let b: Network<S> = try regressionNetwork(S.self, seed: 7)
        let c: Network<S> = try regressionNetwork(S.self, seed: 8)
        try c.setParameters(a.parameterValues)  // same start, another generator
        for n in [a, b, c] { try n.setOptimizer(adam(0.01)) }
        var ra: [EpochReport] = [], rb: [EpochReport] = [], rc: [EpochReport] = []
        let o = options(epochs: 6, batch: 4)
        let sa = try a.trainOn(data, options: o) { ra.append($0); return true }
        let sb = try b.trainOn(data, options: o) { rb.append($0); return true }
        let sc = try c.trainOn(data, options: o) { rc.append($0); return true }
        XCTAssertTrue(sameBits(a.parameterValues, b.parameterValues), "\(S.self): same seed, same parameters")
        XCTAssertEqual(ra.map(\.trainLoss.bitPattern), rb.map(\.trainLoss.bitPattern), "\(S.self): same loss curve")
        XCTAssertEqual(sa.finalTrainLoss.bitPattern, sb.finalTrainLoss.bitPattern)
        XCTAssertEqual(sa.epochsRun, sb.epochsRun)
        XCTAssertEqual(a.generator, b.generator, "\(S.self): generators advance alike")
        XCTAssertFalse(sameBits(a.parameterValues, c.parameterValues), "\(S.self): another generator, another run")
        XCTAssertNotEqual(ra.map(\.trainLoss), rc.map(\.trainLoss))
        XCTAssertEqual(sc.epochsRun, 6)
    }

    func testSameSeedSameRunBitForBitDouble() throws { try checkReproducible(Double.self) }
    func testSameSeedSameRunBitForBitFloat() throws { try checkReproducible(Float.self) }

    /// White box: each epoch is a Fisher-Yates pass over the previous order, drawing
    /// `nextIndex(below: i + 1)` from the network's generator for i = n-1 down to 1,
    /// then consecutive batches of that order. Replayed on a twin with manual steps.
    private func checkShuffleReplay(data: TrainingData<Double>, make: () throws -> Network<Double>,
                                    batch: Int, epochs: Int, dropLast: Bool) throws {
        let trained = try make(), twin = try make()
        try trained.setOptimizer(adam(0.02, schedule: .exponential(gamma: 0.7)))
        try twin.setOptimizer(adam(0.02, schedule: .exponential(gamma: 0.7)))
        var reports: [EpochReport] = []
        _ = try trained.trainOn(data, options: options(epochs: epochs, batch: batch, dropLast: dropLast)) {
            reports.append($0); return true
        }
        var generator = twin.generator
        let reduction = twin.configuration.reduction
        var expectedLosses: [Double] = []
        for epoch in 0..<epochs {
            XCTAssertEqual(reports[epoch].learningRate, twin.currentLearningRate, "epoch \(epoch + 1) rate")
            var order = Array(0..<data.rows)  // a permutation of the rows, afresh each epoch
            for i in stride(from: data.rows - 1, to: 0, by: -1) {
                order.swapAt(i, generator.nextIndex(below: i + 1))
            }
            var total = 0.0, seen = 0, start = 0
            while start < data.rows {
                let count = min(batch, data.rows - start)
                if count < batch && dropLast && start > 0 { break }
                let loss = try data.gathered(order[start..<(start + count)]).step(twin)
                total += reduction == .mean ? loss * Double(count) : loss
                seen += count
                start += count
            }
            expectedLosses.append(total / Double(seen))
            twin.epoch += 1
        }
        XCTAssertTrue(sameBits(trained.parameterValues, twin.parameterValues),
                      "train = Fisher-Yates shuffle + manual steps, bit for bit (batch \(batch))")
        XCTAssertEqual(trained.generator, generator, "the generator advanced exactly by the shuffles")
        XCTAssertEqual(reports.map(\.trainLoss), expectedLosses, "train loss = mean per-sample loss of the batches")
        XCTAssertEqual(trained.optimizerStepCount, twin.optimizerStepCount)
    }

    func testShuffleIsFisherYatesWithTheNetworkGeneratorDenseTargets() throws {
        for reduction in Reduction.allCases {
            try checkShuffleReplay(data: regressionData(), make: { try regressionNetwork(reduction: reduction, seed: 3) },
                                   batch: 5, epochs: 4, dropLast: false)
            try checkShuffleReplay(data: regressionData(), make: { try regressionNetwork(reduction: reduction, seed: 3) },
                                   batch: 5, epochs: 3, dropLast: true)
        }
    }

    func testShuffleIsFisherYatesWithTheNetworkGeneratorLabels() throws {
        var random = TestRandom(seed: 4)
        let rows = 19
        let data = TrainingData<Double>(
            x: random.array(rows * 3, -1, 1), inputWidth: 3,
            labels: (0..<rows).map { _ in Int32(random.int(0...3)) }, outputWidth: 4)
        try checkShuffleReplay(
            data: data,
            make: { try Network<Double>(NetworkConfiguration(layerSizes: [3, 6, 4], activations: [.relu, .softmax],
                                                             loss: .softmaxCrossEntropy, seed: 5)) },
            batch: 4, epochs: 3, dropLast: false)
    }

    // MARK: Batches

    func testOptimizerStepsPerEpochAreCeilRowsOverBatch() throws {
        for rows in [1, 7, 23, 32] {
            let data = regressionData(rows: rows)
            for batch in [1, 3, 5, 8, 23, 32, 100] {
                for dropLast in [false, true] {
                    let n = try regressionNetwork(seed: 1)
                    try n.setOptimizer(adam(0.01))
                    let summary = try n.trainOn(data, options: options(epochs: 3, batch: batch, dropLast: dropLast))
                    let full = rows / batch, partial = rows % batch > 0 ? 1 : 0
                    // Batch >= rows is one batch of all rows, also with dropLast.
                    let perEpoch = batch >= rows ? 1 : (dropLast ? full : full + partial)
                    XCTAssertEqual(n.optimizerStepCount, 3 * perEpoch,
                                   "rows \(rows), batch \(batch), dropLast \(dropLast)")
                    XCTAssertEqual(summary.epochsRun, 3)
                    XCTAssertEqual(n.epoch, 3)
                }
            }
        }
    }

    /// The C header: "batch_size >= 1; a larger value means one batch of all rows".
    /// TrainingOptions.validate rejects anything above Int32.max instead (with the
    /// message "batch_size is ...; it must be >= 1").
    func testBatchSizeBeyondInt32IsOneBatch() throws {
        let data = regressionData()
        for batch in [Int(Int32.max) + 1, Int.max] {
            let n = try regressionNetwork(seed: 1)
            do throws(MLPError) {
                _ = try n.trainOn(data, options: options(epochs: 1, batch: batch))
                XCTAssertEqual(n.optimizerStepCount, 1, "batch \(batch): one batch of all rows")
            } catch {
                XCTFail("batch size \(batch) (larger than the data) must mean one batch, not: \(error)")
            }
        }
    }

    func testShuffleOffIsManualStepsOnConsecutiveBatches() throws {
        for reduction in Reduction.allCases {
            for (batch, dropLast) in [(5, false), (5, true), (1, false), (23, false), (100, true)] {
                let data = regressionData()
                let trained = try regressionNetwork(reduction: reduction, seed: 9)
                let twin = try regressionNetwork(reduction: reduction, seed: 9)
                try trained.setOptimizer(adam(0.02, schedule: .step(stepSize: 1, gamma: 0.5)))
                try twin.setOptimizer(adam(0.02, schedule: .step(stepSize: 1, gamma: 0.5)))
                var reports: [EpochReport] = []
                let summary = try trained.trainOn(
                    data, options: options(epochs: 3, batch: batch, shuffle: false, dropLast: dropLast)
                ) { reports.append($0); return true }
                var expected: [Double] = []
                for epoch in 0..<3 {
                    twin.epoch = epoch
                    var total = 0.0, seen = 0, start = 0
                    while start < data.rows {
                        let count = min(batch, data.rows - start)
                        if count < batch && dropLast && start > 0 { break }
                        let loss = try data.gathered(Array(0..<data.rows)[start..<(start + count)]).step(twin)
                        total += reduction == .mean ? loss * Double(count) : loss
                        seen += count
                        start += count
                    }
                    expected.append(total / Double(seen))
                }
                let label = "\(reduction), batch \(batch), dropLast \(dropLast)"
                XCTAssertTrue(sameBits(trained.parameterValues, twin.parameterValues), "\(label): rows in order")
                XCTAssertEqual(reports.map(\.trainLoss), expected, "\(label): mean per-sample train loss")
                XCTAssertEqual(summary.finalTrainLoss, expected.last)
                XCTAssertEqual(reports.map(\.epoch), [1, 2, 3])
            }
        }
    }

    // MARK: Early stopping

    /// Targets: a smooth function plus noise (training only): validation improves,
    /// then worsens as the network memorises the noise.
    private func earlyStoppingData() -> (TrainingData<Double>, TrainingData<Double>) {
        func targets(_ x: [Double], noise: Double, random: inout TestRandom) -> [Double] {
            var y: [Double] = []
            for i in 0..<(x.count / 3) {
                let r = Array(x[(3 * i)..<(3 * i + 3)])
                y.append(Foundation.tanh(1.5 * r[0] + r[1]) + noise * random.uniform(-1, 1))
                y.append(r[1] * r[2] - 0.5 * r[0] + noise * random.uniform(-1, 1))
            }
            return y
        }
        var random = TestRandom(seed: 12)
        let tx = random.array(23 * 3, -1, 1), vx = random.array(23 * 3, -1, 1)
        let ty = targets(tx, noise: 0.5, random: &random), vy = targets(vx, noise: 0, random: &random)
        return (TrainingData(x: tx, inputWidth: 3, y: ty, outputWidth: 2),
                TrainingData(x: vx, inputWidth: 3, y: vy, outputWidth: 2))
    }

    private let earlyStoppingRate = 0.005

    func testEarlyStoppingPatienceMinDeltaAndRestoreBest() throws {
        let (train, validation) = earlyStoppingData()
        for (patience, minDelta) in [(5, 0.0), (3, 1e-2), (8, 0.0)] {
            let label = "patience \(patience), minDelta \(minDelta)"
            let n = try regressionNetwork(seed: 5, hidden: 32)
            try n.setOptimizer(adam(earlyStoppingRate))
            var o = options(epochs: 400, batch: 5)
            o.patience = patience
            o.minDelta = minDelta
            var reports: [EpochReport] = []
            let s = try n.trainOn(train, validation: validation, options: o) {
                reports.append($0); return true
            }
            // Replay the documented rule on the reported validation losses: patience
            // counts epochs not below the best so far by more than minDelta; the best
            // epoch is the lowest loss whatever minDelta says.
            var best = Double.nan, bestEpoch = 0, wait = 0, stop = 0, lastImprovement = 0
            for r in reports {
                let improved = bestEpoch == 0 || r.validationLoss < best - minDelta
                if bestEpoch == 0 || r.validationLoss < best { best = r.validationLoss; bestEpoch = r.epoch }
                if improved {
                    wait = 0; lastImprovement = r.epoch
                } else {
                    wait += 1
                    if wait >= patience { stop = r.epoch; break }
                }
            }
            XCTAssertGreaterThan(stop, 0, "\(label): stops")
            XCTAssertGreaterThan(bestEpoch, 1, "\(label): the best epoch is not trivially the first")
            XCTAssertTrue(s.stoppedEarly, label)
            XCTAssertFalse(s.stoppedByCallback, label)
            XCTAssertEqual(s.epochsRun, stop, label)
            XCTAssertEqual(reports.count, stop, label)
            XCTAssertEqual(s.bestEpoch, bestEpoch, label)
            XCTAssertEqual(s.epochsRun - lastImprovement, patience, label)
            XCTAssertEqual(s.bestValidationLoss, best, label)
            XCTAssertEqual(s.bestValidationLoss, reports.map(\.validationLoss).min(), "\(label): the lowest loss")
            if minDelta > 0 {
                // The case exercises minDelta: a later epoch was lower than the best but
                // not by more than minDelta; it did not reset patience, yet it is the best.
                XCTAssertGreaterThan(s.bestEpoch, lastImprovement,
                                     "\(label): an improvement smaller than minDelta is still the best epoch")
            }
            XCTAssertEqual(s.finalValidationLoss, reports.last?.validationLoss, label)
            XCTAssertTrue(reports.allSatisfy { $0.validationAccuracy.isNaN }, "\(label): NaN accuracy for MSE")
            XCTAssertEqual(n.epoch, s.epochsRun, "\(label): the epoch counter counts every epoch run")

            // restoreBest: the validation loss now is the best, and a twin trained for
            // bestEpoch epochs without validation has the same parameters.
            XCTAssertEqual(try n.evaluateOn(validation).loss, s.bestValidationLoss, label)
            let twin = try regressionNetwork(seed: 5, hidden: 32)
            try twin.setOptimizer(adam(earlyStoppingRate))
            _ = try twin.trainOn(train, options: options(epochs: s.bestEpoch, batch: 5))
            XCTAssertTrue(sameBits(n.parameterValues, twin.parameterValues), "\(label): best parameters restored")

            // restoreBest off: the last epoch's parameters.
            let last = try regressionNetwork(seed: 5, hidden: 32)
            try last.setOptimizer(adam(earlyStoppingRate))
            o.restoreBest = false
            let s2 = try last.trainOn(train, validation: validation, options: o)
            XCTAssertEqual(s2.epochsRun, s.epochsRun)
            let lastTwin = try regressionNetwork(seed: 5, hidden: 32)
            try lastTwin.setOptimizer(adam(earlyStoppingRate))
            _ = try lastTwin.trainOn(train, options: options(epochs: s2.epochsRun, batch: 5))
            XCTAssertTrue(sameBits(last.parameterValues, lastTwin.parameterValues), "\(label): last parameters kept")
        }
    }

    func testPatienceZeroNeverStopsAndNoValidationMeansLastEpoch() throws {
        let (train, validation) = earlyStoppingData()
        let n = try regressionNetwork(seed: 5)
        var o = options(epochs: 15, batch: 5)
        o.minDelta = 1e300  // nothing ever counts as an improvement for patience
        var reports: [EpochReport] = []
        let s = try n.trainOn(train, validation: validation, options: o) { reports.append($0); return true }
        XCTAssertEqual(s.epochsRun, 15)
        XCTAssertFalse(s.stoppedEarly)
        // ... but the best epoch is still the lowest validation loss
        let lowest = reports.map(\.validationLoss).min()
        XCTAssertEqual(s.bestValidationLoss, lowest)
        XCTAssertEqual(s.bestEpoch, reports.first { $0.validationLoss == lowest }?.epoch)
        o.patience = 4
        let s2 = try n.trainOn(train, validation: validation, options: o)
        XCTAssertEqual(s2.epochsRun, 5, "epoch 1 resets patience, then 4 more")
        XCTAssertTrue(s2.stoppedEarly)
        let s3 = try n.trainOn(train, options: o)
        XCTAssertEqual(s3.epochsRun, 15, "patience needs validation data")
        XCTAssertEqual(s3.bestEpoch, 15)
        XCTAssertTrue(s3.bestValidationLoss.isNaN)
        XCTAssertTrue(s3.finalValidationLoss.isNaN)
    }

    // MARK: Callback and schedules

    func testCallbackSeesEveryEpochWithTheScheduledRate() throws {
        let data = regressionData()
        let base = 0.2
        let cases: [(LearningRateSchedule, (Int) -> Double)] = [
            (.constant, { _ in base }),
            (.step(stepSize: 3, gamma: 0.5), { e in base * Foundation.pow(0.5, Double(e / 3)) }),
            (.exponential(gamma: 0.8), { e in base * Foundation.pow(0.8, Double(e)) }),
            (.cosine(period: 4, minimum: 0.01), { e in
                0.01 + (base - 0.01) * (1 + Foundation.cos(Double.pi * Double(min(e, 4)) / 4)) / 2
            }),
        ]
        for (schedule, formula) in cases {
            for firstEpoch in [0, 2, 9] {
                let n = try regressionNetwork(seed: 2)
                var c = OptimizerConfiguration(kind: .sgd)
                c.learningRate = base
                c.schedule = schedule
                try n.setOptimizer(c)
                n.epoch = firstEpoch
                var reports: [EpochReport] = []
                let s = try n.trainOn(data, options: options(epochs: 7, batch: 5)) {
                    reports.append($0); return true
                }
                XCTAssertEqual(reports.map(\.epoch), Array(1...7), "\(schedule): epochs in order")
                for (k, r) in reports.enumerated() {
                    let want = formula(firstEpoch + k)
                    XCTAssertEqual(r.learningRate, want, accuracy: 1e-14 * want,
                                   "\(schedule) from epoch \(firstEpoch): report \(k + 1)")
                    XCTAssertTrue(r.validationLoss.isNaN && r.validationAccuracy.isNaN)
                    XCTAssertTrue(r.trainLoss.isFinite)
                }
                XCTAssertEqual(n.epoch, firstEpoch + 7)
                XCTAssertEqual(s.epochsRun, 7)
                XCTAssertFalse(s.stoppedByCallback)
            }
        }
    }

    func testScheduleFormulasForManyEpochs() {
        for e in 0..<60 {
            XCTAssertEqual(LearningRateSchedule.constant.learningRate(base: 0.3, epoch: e), 0.3)
            let step = LearningRateSchedule.step(stepSize: 7, gamma: 0.3).learningRate(base: 0.3, epoch: e)
            let stepWant = 0.3 * Foundation.pow(0.3, Double(e / 7))
            XCTAssertEqual(step, stepWant, accuracy: 1e-15 * stepWant, "StepLR at \(e)")
            let exp = LearningRateSchedule.exponential(gamma: 0.93).learningRate(base: 0.3, epoch: e)
            let expWant = 0.3 * Foundation.pow(0.93, Double(e))
            XCTAssertEqual(exp, expWant, accuracy: 1e-14 * expWant, "ExponentialLR at \(e)")
            let cos = LearningRateSchedule.cosine(period: 25, minimum: 1e-3).learningRate(base: 0.3, epoch: e)
            let cosWant = 1e-3 + (0.3 - 1e-3) * (1 + Foundation.cos(Double.pi * Double(min(e, 25)) / 25)) / 2
            XCTAssertEqual(cos, cosWant, accuracy: 1e-15, "CosineAnnealingLR at \(e)")
        }
        XCTAssertEqual(LearningRateSchedule.cosine(period: 25, minimum: 1e-3).learningRate(base: 0.3, epoch: 25), 1e-3,
                       accuracy: 1e-18, "cosine reaches the floor at t_max")
    }

    func testCallbackReturningFalseStopsAfterThatEpoch() throws {
        let data = regressionData()
        let n = try regressionNetwork(seed: 4), twin = try regressionNetwork(seed: 4)
        var seen: [Int] = []
        let s = try n.trainOn(data, options: options(epochs: 10, batch: 5)) { r in
            seen.append(r.epoch)
            return r.epoch < 3
        }
        XCTAssertEqual(seen, [1, 2, 3])
        XCTAssertEqual(s.epochsRun, 3)
        XCTAssertTrue(s.stoppedByCallback)
        XCTAssertFalse(s.stoppedEarly)
        XCTAssertEqual(s.bestEpoch, 3)
        XCTAssertEqual(n.epoch, 3)
        _ = try twin.trainOn(data, options: options(epochs: 3, batch: 5))
        XCTAssertTrue(sameBits(n.parameterValues, twin.parameterValues), "the stopping epoch's update was kept")
    }

    // MARK: All or nothing

    /// A network with non-trivial optimizer state, generator and epoch.
    private func warmedUp(seed: UInt64 = 21) throws -> Network<Double> {
        let n = try regressionNetwork(seed: seed)
        try n.setOptimizer(adam(0.01, schedule: .exponential(gamma: 0.7)))
        _ = try n.trainOn(regressionData(), options: options(epochs: 2, batch: 6))
        return n
    }

    func testNonFiniteDataIsRejectedUpFrontNamingTheRow() throws {
        let clean = regressionData()
        for (column, isInput, value) in [(1, true, Double.nan), (0, false, .infinity), (2, true, -.infinity)] {
            for inValidation in [false, true] {
                var x = Array(clean.x), y = Array(clean.y!)
                if isInput { x[7 * 3 + column] = value } else { y[7 * 2 + column] = value }
                let bad = TrainingData(x: x, inputWidth: 3, y: y, outputWidth: 2)
                let n = try warmedUp()
                let before = TrainingState(n)
                var calls = 0
                let label = "\(value) in \(isInput ? "x" : "y") row 7 of the \(inValidation ? "validation" : "training") set"
                do throws(MLPError) {
                    _ = try n.trainOn(inValidation ? clean : bad,
                                    validation: inValidation ? bad : nil,
                                    options: options(epochs: 3, batch: 4)) { _ in calls += 1; return true }
                    XCTFail("\(label): accepted")
                } catch {
                    XCTAssertEqual(error.kind, .nonFinite, label)
                    XCTAssertTrue(error.message.contains("row 7 "), "\(label): \(error.message)")
                    XCTAssertTrue(error.message.contains(inValidation ? "validation" : "training"), error.message)
                }
                XCTAssertEqual(calls, 0, "\(label): no epoch ran")
                XCTAssertTrue(TrainingState(n) == before, "\(label): nothing changed")
            }
        }
    }

    /// The data check is one flat vectorised pass; the row-by-row scan only names the
    /// value. A bad value anywhere (every position of x and y, so the vector body and
    /// the tail of both passes) must be caught and named, in Float and in Double, by
    /// train and by evaluate; extreme finite values must pass.
    func testNonFiniteAnywhereIsFoundAndNamed() throws {
        try nonFiniteAnywhere(Float.self)
        try nonFiniteAnywhere(Double.self)
    }

    private func nonFiniteAnywhere<S: MLPScalar>(_: S.Type) throws {
        let clean: TrainingData<S> = regressionData(S.self, rows: 13)   // 39 inputs, 26 targets
        let n = try regressionNetwork(S.self, seed: 5)
        let before = n.parameterValues
        for isInput in [true, false] {
            let width = isInput ? 3 : 2
            for position in 0..<(13 * width) {
                for value in [S.nan, .infinity, -.infinity] {
                    var x = Array(clean.x), y = Array(clean.y!)
                    if isInput { x[position] = value } else { y[position] = value }
                    let bad = TrainingData(x: x, inputWidth: 3, y: y, outputWidth: 2)
                    let expected = "\(isInput ? "input" : "target") row \(position / width) column \(position % width) is "
                    for evaluating in [false, true] {
                        let label = "\(S.self) \(value) at \(isInput ? "x" : "y")[\(position)], \(evaluating ? "evaluate" : "train")"
                        do throws(MLPError) {
                            if evaluating { _ = try n.evaluateOn(bad) } else { _ = try n.trainOn(bad, options: options(epochs: 1, batch: 4)) }
                            XCTFail("\(label): accepted")
                        } catch {
                            XCTAssertEqual(error.kind, .nonFinite, label)
                            XCTAssertTrue(error.message.contains(expected), "\(label): \(error.message)")
                        }
                    }
                }
            }
        }
        XCTAssertTrue(sameBits(n.parameterValues, before), "rejected data changed nothing")
        // Finite extremes are data, not errors: the largest magnitudes and subnormals.
        var x = Array(clean.x)
        x[0] = S.greatestFiniteMagnitude
        x[1] = -S.greatestFiniteMagnitude
        x[37] = S.leastNonzeroMagnitude
        x[38] = -S.leastNormalMagnitude
        let extreme = TrainingData(x: x, inputWidth: 3, y: Array(clean.y!), outputWidth: 2)
        do throws(MLPError) {
            _ = try n.evaluateOn(extreme)
        } catch {
            XCTAssertNotEqual(error.kind, .nonFinite, "finite extremes rejected: \(error.message)")
        }
    }

    /// The rate doubles every epoch (exponential schedule, gamma 2) on targets in the
    /// thousands: the first epochs are fine, then the loss overflows.
    func testDivergenceMidRunRestoresEverything() throws {
        let data = regressionData()
        let big = TrainingData(x: Array(data.x), inputWidth: 3, y: data.y!.map { $0 * 1000 }, outputWidth: 2)
        for kind in [OptimizerKind.sgd, .adam] {
            let n = try regressionNetwork(seed: 31)
            var c = OptimizerConfiguration(kind: kind)
            c.learningRate = kind == .sgd ? 0.001 : 0.5
            c.momentum = kind == .sgd ? 0.5 : 0
            c.schedule = .exponential(gamma: 2)
            try n.setOptimizer(c)
            _ = try n.trainOn(data, options: options(epochs: 2, batch: 5))
            n.epoch = 0
            let before = TrainingState(n)
            var epochs = 0
            do throws(MLPError) {
                _ = try n.trainOn(big, options: options(epochs: 2000, batch: 5)) { _ in epochs += 1; return true }
                XCTFail("\(kind): training with a doubling learning rate did not diverge")
            } catch {
                XCTAssertEqual(error.kind, .nonFinite, "\(kind): \(error.message)")
            }
            XCTAssertGreaterThanOrEqual(epochs, 2, "\(kind): it failed mid-run")
            XCTAssertTrue(TrainingState(n) == before, "\(kind): parameters, moments, step count, generator, epoch restored")
        }
    }

    /// What a run whose very last update overflows leaves behind: the loss and
    /// gradient were finite, but the parameters are not. The header promises that
    /// train is all or nothing for "a loss that turns non-finite mid-run"; a model
    /// left with infinite parameters (which setParameters would refuse) after a
    /// successful train breaks that promise in spirit.
    func testSuccessfulTrainLeavesFiniteParameters() throws {
        let n = try Network<Double>(NetworkConfiguration(
            layerSizes: [1, 1], activations: [.identity], loss: .meanSquaredError, seed: 1))
        var c = OptimizerConfiguration(kind: .sgd)
        c.learningRate = 1e300
        try n.setOptimizer(c)
        let data = TrainingData<Double>(x: [1e5], inputWidth: 1, y: [-1e5], outputWidth: 1)
        let before = n.parameterValues
        do throws(MLPError) {
            _ = try n.trainOn(data, options: options(epochs: 1, batch: 1))
            XCTAssertTrue(n.parameterValues.allSatisfy(\.isFinite),
                          "train succeeded but left parameters \(n.parameterValues) (started at \(before))")
        } catch {
            XCTAssertEqual(error.kind, .nonFinite)
            XCTAssertTrue(sameBits(n.parameterValues, before))
        }
    }

    func testInvalidOptionsAreRejectedAndChangeNothing() throws {
        let data = regressionData()
        let n = try warmedUp()
        let before = TrainingState(n)
        var cases: [(String, TrainingOptions, String)] = []
        var o = TrainingOptions(); o.epochs = 0; cases.append(("epochs 0", o, "epochs"))
        o = TrainingOptions(); o.epochs = -1; cases.append(("epochs -1", o, "epochs"))
        o = TrainingOptions(); o.batchSize = 0; cases.append(("batchSize 0", o, "batch_size"))
        o = TrainingOptions(); o.batchSize = -3; cases.append(("batchSize -3", o, "batch_size"))
        o = TrainingOptions(); o.patience = -1; cases.append(("patience -1", o, "patience"))
        o = TrainingOptions(); o.minDelta = .nan; cases.append(("minDelta NaN", o, "min_delta"))
        o = TrainingOptions(); o.minDelta = -1e-9; cases.append(("minDelta < 0", o, "min_delta"))
        o = TrainingOptions(); o.minDelta = .infinity; cases.append(("minDelta inf", o, "min_delta"))
        for (label, options, word) in cases {
            var calls = 0
            do throws(MLPError) {
                _ = try n.trainOn(data, options: options) { _ in calls += 1; return true }
                XCTFail("\(label): accepted")
            } catch {
                XCTAssertEqual(error.kind, .invalidArgument, label)
                XCTAssertTrue(error.message.contains(word), "\(label): \(error.message)")
            }
            XCTAssertEqual(calls, 0)
            XCTAssertTrue(TrainingState(n) == before, "\(label): nothing changed")
        }
        // Validation data of the wrong shape.
        let wrong = Dataset(inputs: data.dataset.inputs, targets: data.dataset.targets, targetCount: 5, rows: 23)
        assertThrowsMLP(.shapeMismatch) { () throws(MLPError) in try n.train(data.dataset, validation: wrong) }
        XCTAssertTrue(TrainingState(n) == before, "bad validation shape: nothing changed")
        withExtendedLifetime(data) {}  // `wrong` points into it
    }

    func testLabelsOutOfRangeAreRejectedNamingTheRow() throws {
        let n = try Network<Double>(NetworkConfiguration(
            layerSizes: [3, 4, 3], activations: [.tanh, .softmax], loss: .softmaxCrossEntropy, seed: 3))
        var random = TestRandom(seed: 2)
        let x = random.array(10 * 3, -1, 1)
        for bad in [Int32(3), -1] {
            var labels: [Int32] = (0..<10).map { Int32($0 % 3) }
            labels[6] = bad
            let data = TrainingData(x: x, inputWidth: 3, labels: labels, outputWidth: 3)
            let good = TrainingData(x: x, inputWidth: 3, labels: (0..<10).map { Int32($0 % 3) }, outputWidth: 3)
            let before = TrainingState(n)
            for (train, validation) in [(data, nil), (good, data)] as [(TrainingData<Double>, TrainingData<Double>?)] {
                do throws(MLPError) {
                    _ = try n.trainOn(train, validation: validation)
                    XCTFail("label \(bad) accepted")
                } catch {
                    XCTAssertEqual(error.kind, .invalidArgument)
                    XCTAssertTrue(error.message.contains("row 6"), error.message)
                }
                XCTAssertTrue(TrainingState(n) == before)
            }
            assertThrowsMLP(.invalidArgument) { () throws(MLPError) in try n.evaluateOn(data) }
        }
    }

    // MARK: evaluate

    private func checkEvaluate(sizes: [Int], activations: [Activation], loss: Loss, reduction: Reduction,
                               labels useLabels: Bool, rows: Int) throws {
        let label = "\(loss) \(reduction) labels \(useLabels) rows \(rows)"
        var random = TestRandom(seed: UInt64(rows) &* 31 &+ UInt64(sizes[2]))
        let k = sizes[2]
        let x = random.array(rows * sizes[0], -2, 2)
        var y = [Double](repeating: 0, count: rows * k)
        var labels = [Int32](repeating: 0, count: rows)
        for i in 0..<rows {
            labels[i] = Int32(random.int(0...(k - 1)))
            for j in 0..<k {
                switch loss {
                case .meanSquaredError, .fannTanhError: y[i * k + j] = random.uniform(-1, 1)
                case .binaryCrossEntropy: y[i * k + j] = random.uniform(0, 1) < 0.5 ? 0 : 1
                case .softmaxCrossEntropy: y[i * k + j] = Int32(j) == labels[i] ? 1 : 0
                case .poisson: y[i * k + j] = Double(random.int(0...3))
                }
            }
        }
        let data = useLabels ? TrainingData(x: x, inputWidth: sizes[0], labels: labels, outputWidth: k)
                             : TrainingData(x: x, inputWidth: sizes[0], y: y, outputWidth: k)
        let n = try Network<Double>(NetworkConfiguration(
            layerSizes: sizes, activations: activations, loss: loss, reduction: reduction, seed: 17))
        _ = try n.trainOn(data, options: options(epochs: 2, batch: 32))
        let before = n.parameterValues
        let result = try n.evaluateOn(data)
        XCTAssertTrue(sameBits(before, n.parameterValues), "\(label): evaluate changes nothing")
        XCTAssertEqual(n.workspaceRows, 0, "\(label): evaluate invalidates the layer cache")

        let a = referenceForward(sizes: sizes, activations: activations, slope: 0.01,
                                 parameters: before, inputs: x, rows: rows).a.last!
        var total = 0.0, correct = 0
        for i in 0..<rows {
            var l = 0.0, right = true, best = 0, target = 0
            for j in 0..<k {
                let p = a[i * k + j], t = y[i * k + j]
                switch loss {
                case .meanSquaredError: l += (p - t) * (p - t) / 2
                case .binaryCrossEntropy:
                    l -= t * Foundation.log(p) + (1 - t) * Foundation.log(1 - p)
                    if (p > 0.5) != (t > 0.5) { right = false }
                case .softmaxCrossEntropy:
                    l -= t * Foundation.log(p)
                    if p > a[i * k + best] { best = j }
                    if t > y[i * k + target] { target = j }
                case .poisson:  // p is z, the log of the mean
                    l += Foundation.exp(p) - t * p + (t > 0 ? t * Foundation.log(t) : 0) - t
                case .fannTanhError:  // tanh output: the error halved; |e| < 1 here
                    let e = (p - t) / 2
                    l += 2 * (2 * e * Foundation.atanh(e) + Foundation.log((1 - e) * (1 + e)))
                }
            }
            if loss == .softmaxCrossEntropy { right = best == target }
            total += l
            if right { correct += 1 }
        }
        let want = total / Double(rows)
        XCTAssertEqual(result.loss, want, accuracy: 1e-12 * max(1, abs(want)), "\(label): mean per-sample loss")
        if loss == .meanSquaredError || loss == .poisson || loss == .fannTanhError {
            XCTAssertTrue(result.accuracy.isNaN, "\(label): NaN accuracy for the regression losses")
        } else {
            XCTAssertEqual(result.accuracy, Double(correct) / Double(rows), "\(label): accuracy")
            XCTAssertTrue(correct > 0 && correct < rows, "\(label): informative accuracy \(correct)/\(rows)")
        }
    }

    func testEvaluateMatchesAnIndependentForwardPass() throws {
        for rows in [40, 2500] {  // 2500: more than one 1024-row chunk
            for reduction in Reduction.allCases {
                try checkEvaluate(sizes: [3, 5, 2], activations: [.tanh, .identity], loss: .meanSquaredError,
                                  reduction: reduction, labels: false, rows: rows)
                try checkEvaluate(sizes: [3, 5, 2], activations: [.tanh, .sigmoid], loss: .binaryCrossEntropy,
                                  reduction: reduction, labels: false, rows: rows)
                try checkEvaluate(sizes: [3, 5, 2], activations: [.tanh, .identity], loss: .poisson,
                                  reduction: reduction, labels: false, rows: rows)
                try checkEvaluate(sizes: [3, 5, 2], activations: [.tanh, .tanh], loss: .fannTanhError,
                                  reduction: reduction, labels: false, rows: rows)
                try checkEvaluate(sizes: [3, 6, 4], activations: [.relu, .softmax], loss: .softmaxCrossEntropy,
                                  reduction: reduction, labels: true, rows: rows)
                try checkEvaluate(sizes: [3, 6, 4], activations: [.relu, .softmax], loss: .softmaxCrossEntropy,
                                  reduction: reduction, labels: false, rows: rows)
            }
        }
    }

    func testEvaluateFloat32AgreesWithDouble() throws {
        var random = TestRandom(seed: 8)
        let rows = 50
        let x = random.array(rows * 3, -1, 1)
        let labels = (0..<rows).map { _ in Int32(random.int(0...3)) }
        let config = NetworkConfiguration(layerSizes: [3, 6, 4], activations: [.tanh, .softmax],
                                          loss: .softmaxCrossEntropy, seed: 6)
        let d = try Network<Double>(config), f = try Network<Float>(config)
        let rd = try d.evaluateOn(TrainingData(x: x, inputWidth: 3, labels: labels, outputWidth: 4))
        let rf = try f.evaluateOn(TrainingData(x: x.map { Float($0) }, inputWidth: 3, labels: labels, outputWidth: 4))
        XCTAssertEqual(rf.loss, rd.loss, accuracy: 1e-5 * rd.loss)
        XCTAssertEqual(rf.accuracy, rd.accuracy)
    }

    // MARK: Clipping

    func testClippingIsClipGradNormRule() throws {
        var random = TestRandom(seed: 3)
        let x = random.array(8 * 3, -1, 1), y = random.array(8 * 2, -1, 1)
        for clip in [0.0, 0.01, 0.2, 1e6] {
            let n = try regressionNetwork(seed: 41)
            var c = OptimizerConfiguration(kind: .sgd)
            c.learningRate = 0.3
            c.clipNorm = clip
            try n.setOptimizer(c)
            let p = n.parameterValues
            let (_, g) = try n.gradients(inputs: x, targets: y)
            let norm = g.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let scale = clip > 0 ? min(1, clip / (norm + 1e-6)) : 1
            try n.step(inputs: x, targets: y)
            let want = zip(p, g).map { $0 - 0.3 * ($1 * scale) }
            XCTAssertLessThanOrEqual(maxRelativeError(n.parameterValues, want), 1e-14,
                                     "clip \(clip): norm \(norm), scale \(scale)")
            if clip == 0.01 { XCTAssertLessThan(scale, 0.1, "the case really clips") }
        }
    }

    /// Clipping happens before the update rule: SGD with momentum accumulates the
    /// clipped gradient, step after step.
    func testClippingFeedsTheOptimizerTheScaledGradient() throws {
        var random = TestRandom(seed: 5)
        let x = random.array(8 * 3, -1, 1), y = random.array(8 * 2, -1, 1).map { $0 * 50 }
        let n = try regressionNetwork(seed: 2)
        var c = OptimizerConfiguration(kind: .sgd)
        c.learningRate = 0.1
        c.momentum = 0.9
        c.clipNorm = 0.5
        try n.setOptimizer(c)
        var p = n.parameterValues
        var velocity = [Double](repeating: 0, count: p.count)
        for _ in 0..<3 {
            let (_, g) = try n.gradients(inputs: x, targets: y)
            let norm = g.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let scale = min(1, 0.5 / (norm + 1e-6))
            XCTAssertLessThan(scale, 1)
            try n.step(inputs: x, targets: y)
            for i in p.indices {
                velocity[i] = 0.9 * velocity[i] + g[i] * scale
                p[i] -= 0.1 * velocity[i]
            }
            XCTAssertLessThanOrEqual(maxRelativeError(n.parameterValues, p), 1e-13)
        }
    }
}
