// Tests of InputScaler.swift and the scaler kept in a Network: population statistics
// computed independently here, zero-variance features, validation of hand-made
// scalers, set/clear, and that predict, gradients, step, train and evaluate all see
// (x - mean) / std - compared with an unscaled twin fed pre-standardised inputs.

import Foundation
import XCTest
@testable import SwiftMLP

/// Statistics the slow, obvious way: two passes, in Double, dividing by n.
private func populationStatistics(_ x: [Double], columns: Int) -> (mean: [Double], std: [Double]) {
    let rows = x.count / columns
    var mean = [Double](repeating: 0, count: columns), std = mean
    for j in 0..<columns {
        var s = 0.0
        for i in 0..<rows { s += x[i * columns + j] }
        mean[j] = s / Double(rows)
        var q = 0.0
        for i in 0..<rows { q += (x[i * columns + j] - mean[j]) * (x[i * columns + j] - mean[j]) }
        std[j] = (q / Double(rows)).squareRoot()
    }
    return (mean, std)
}

/// 10 rows of 4 features: two ordinary ones, one exactly constant (2.5), one with an
/// offset and scale (1000 + 10 u).
private func scalerInputs(rows: Int = 10, seed: UInt64 = 77) -> [Double] {
    var random = TestRandom(seed: seed)
    var x = random.array(rows * 4, -3, 5)
    for i in 0..<rows {
        x[i * 4 + 1] = 2.5
        x[i * 4 + 3] = 1000 + 10 * x[i * 4 + 3]
    }
    return x
}

private func scaledNetwork<S: MLPScalar>(_: S.Type, seed: UInt64) throws -> Network<S> {
    try Network<S>(NetworkConfiguration(
        layerSizes: [4, 5, 2], activations: [.tanh, .sigmoid], loss: .binaryCrossEntropy, seed: seed))
}

private func fit<S: MLPScalar>(_ n: Network<S>, _ x: [S]) throws(MLPError) {
    var failure: MLPError?
    x.withUnsafeBufferPointer { buffer in
        do throws(MLPError) { try n.fitScaler(buffer, rows: x.count / n.inputCount) } catch { failure = error }
    }
    if let failure { throw failure }
}

private func fitStatistics(_ x: [Double], rows: Int, columns: Int) throws(MLPError) -> InputScaler {
    var result: Result<InputScaler, MLPError> = .failure(MLPError(.invalidArgument, "not run"))
    x.withUnsafeBufferPointer { buffer in
        do throws(MLPError) { result = .success(try InputScaler.fit(buffer, rows: rows, columns: columns)) }
        catch { result = .failure(error) }
    }
    return try result.get()
}

/// (x - mean) * (1 / std) in S, exactly as the documented transform is evaluated with
/// the statistics rounded to S.
private func standardised<S: MLPScalar>(_ x: [S], _ scaler: InputScaler) -> [S] {
    let columns = scaler.mean.count
    return x.indices.map { k in
        let j = k % columns
        return (x[k] - S(scaler.mean[j])) * S(1 / scaler.standardDeviation[j])
    }
}

final class InputScalerTests: XCTestCase {
    // MARK: Statistics

    func testFitGivesPopulationMeanAndStd() throws {
        let x = scalerInputs()
        let scaler = try fitStatistics(x, rows: 10, columns: 4)
        let (mean, std) = populationStatistics(x, columns: 4)
        for j in 0..<4 {
            XCTAssertEqual(scaler.mean[j], mean[j], accuracy: 1e-15 * max(1, abs(mean[j])), "mean \(j)")
            if j == 1 {
                XCTAssertEqual(scaler.standardDeviation[j], 1, "constant feature: std 1")
            } else {
                XCTAssertEqual(scaler.standardDeviation[j], std[j], accuracy: 1e-14 * std[j], "population std \(j)")
                let sample = std[j] * (10.0 / 9.0).squareRoot()
                XCTAssertGreaterThan(abs(scaler.standardDeviation[j] - sample), 1e-6, "not the sample std")
            }
        }
    }

    func testFitOnFloat32InputsUsesTheirExactValues() throws {
        let x = scalerInputs().map { Float($0) }
        let n = try scaledNetwork(Float.self, seed: 1)
        try fit(n, x)
        let (mean, std) = populationStatistics(x.map { Double($0) }, columns: 4)
        let scaler = try XCTUnwrap(n.scaler)
        for j in [0, 2, 3] {
            XCTAssertEqual(scaler.mean[j], mean[j], accuracy: 1e-15 * max(1, abs(mean[j])))
            XCTAssertEqual(scaler.standardDeviation[j], std[j], accuracy: 1e-14 * std[j])
        }
        XCTAssertEqual(scaler.standardDeviation[1], 1)
    }

    /// Counts whose product overflows Int throw, as any other mismatch does.
    func testFitRefusesOverflowingCounts() {
        let x: [Double] = [1, 2]
        x.withUnsafeBufferPointer { buffer in
            assertThrowsMLP(.shapeMismatch) { () throws(MLPError) in try InputScaler.fit(buffer, rows: Int.max, columns: 2) }
        }
    }

    func testOneRowGivesStdOneEverywhere() throws {
        let scaler = try fitStatistics([1, -2, 3.5, 0], rows: 1, columns: 4)
        XCTAssertEqual(scaler.mean, [1, -2, 3.5, 0])
        XCTAssertEqual(scaler.standardDeviation, [1, 1, 1, 1])
    }

    /// A feature equal to 0.1 in every row has zero variance, but the two-pass
    /// computation gives a mean one ulp off 0.1 and a "std" of about 1.4e-17, which is
    /// finite and > 0, so it is kept: the feature is then multiplied by ~7e16, and a
    /// later input of 0.1 standardises to 1 instead of 0. (scikit-learn, which the
    /// source cites, treats such near-constant features as constant.)
    func testConstantButInexactFeatureGetsStdOne() throws {
        for value in [0.1, 0.3, 1e-3, 123.456] {
            var x = scalerInputs()
            for i in 0..<10 { x[i * 4 + 2] = value }
            let scaler = try fitStatistics(x, rows: 10, columns: 4)
            XCTAssertEqual(scaler.standardDeviation[2], 1,
                           "feature constant at \(value): std \(scaler.standardDeviation[2]), mean \(scaler.mean[2])")
        }
    }

    /// The other side of that rule: a feature that really varies, only on a small
    /// scale (values of order 1e-17, say charges in coulombs), is not constant and
    /// keeps its own std. scikit-learn's test is relative to the data's own scale
    /// (var <= n eps var + (n mean eps)^2), so it keeps these.
    func testSmallScaleFeatureKeepsItsStd() throws {
        for scale in [1e-6, 1e-12, 1e-17, 1e-30] {
            var x = scalerInputs()
            for i in 0..<10 { x[i * 4 + 2] *= scale }
            let scaler = try fitStatistics(x, rows: 10, columns: 4)
            let (_, std) = populationStatistics(x, columns: 4)
            XCTAssertEqual(scaler.standardDeviation[2], std[2], accuracy: 1e-12 * std[2],
                           "feature of scale \(scale) (std \(std[2])) must keep its std")
        }
    }

    func testFitRejectsNonFiniteNamingTheRow() {
        var x = scalerInputs()
        x[4 * 4 + 2] = .nan
        assertThrowsMLP(.nonFinite) { () throws(MLPError) in try fitStatistics(x, rows: 10, columns: 4) }
        do throws(MLPError) {
            _ = try fitStatistics(x, rows: 10, columns: 4)
        } catch {
            XCTAssertTrue(error.message.contains("row 4"), error.message)
        }
        x[4 * 4 + 2] = .infinity
        assertThrowsMLP(.nonFinite) { () throws(MLPError) in try fitStatistics(x, rows: 10, columns: 4) }
        assertThrowsMLP(.shapeMismatch) { () throws(MLPError) in try fitStatistics(scalerInputs(), rows: 9, columns: 4) }
        assertThrowsMLP(.shapeMismatch) { () throws(MLPError) in try fitStatistics([], rows: 0, columns: 4) }
    }

    // MARK: Validation

    func testHandMadeScalersAreValidated() {
        XCTAssertNoThrow(try InputScaler(mean: [0, 1], standardDeviation: [1, 2]))
        assertThrowsMLP(.shapeMismatch) { () throws(MLPError) in try InputScaler(mean: [0, 1], standardDeviation: [1]) }
        assertThrowsMLP(.shapeMismatch) { () throws(MLPError) in try InputScaler(mean: [], standardDeviation: []) }
        for bad in [Double.nan, .infinity, -.infinity] {
            assertThrowsMLP(.invalidArgument, "mean \(bad)") { () throws(MLPError) in try InputScaler(mean: [0, bad], standardDeviation: [1, 1]) }
        }
        for bad in [0, -1, Double.nan, .infinity, -0.0] {
            assertThrowsMLP(.invalidArgument, "std \(bad)") { () throws(MLPError) in try InputScaler(mean: [0, 0], standardDeviation: [1, bad]) }
        }
        XCTAssertNoThrow(try InputScaler(mean: [0], standardDeviation: [Double.leastNonzeroMagnitude]))
    }

    func testSetScalerOfWrongWidthKeepsTheOldOne() throws {
        let n = try scaledNetwork(Double.self, seed: 2)
        let good = try InputScaler(mean: [1, 2, 3, 4], standardDeviation: [1, 2, 3, 4])
        try n.setScaler(good)
        let x = scalerInputs()
        let before = try n.predict(x)
        assertThrowsMLP(.shapeMismatch) { () throws(MLPError) in try n.setScaler(try InputScaler(mean: [1, 2, 3], standardDeviation: [1, 1, 1])) }
        XCTAssertEqual(n.scaler, good)
        XCTAssertTrue(bitsEqual(try n.predict(x), before), "predictions unchanged")
        var failure: MLPError?
        x.withUnsafeBufferPointer { buffer in
            do throws(MLPError) { try n.fitScaler(UnsafeBufferPointer(rebasing: buffer[0..<38]), rows: 10) }
            catch { failure = error }
        }
        XCTAssertEqual(failure?.kind, .shapeMismatch, "fitScaler with a count that is not rows x inputs")
        XCTAssertEqual(n.scaler, good)
    }

    // MARK: The scaler in every operation

    func testPredictWithScalerEqualsPredictOnStandardisedInputs() throws {
        let x = scalerInputs(rows: 30, seed: 9)
        let scaled = try scaledNetwork(Double.self, seed: 3), plain = try scaledNetwork(Double.self, seed: 3)
        try fit(scaled, x)
        let scaler = try XCTUnwrap(scaled.scaler)
        let out = try scaled.predict(x)
        // (x - mean) / std, as the documentation writes it: equal within 1e-12
        // relative, not bit for bit, because the library multiplies by 1/std (one more
        // rounding than a division).
        let divided = x.indices.map { k in (x[k] - scaler.mean[k % 4]) / scaler.standardDeviation[k % 4] }
        XCTAssertLessThanOrEqual(maxRelativeError(out, try plain.predict(divided)), 1e-12)
        // The same transform evaluated the library's way gives identical inputs, so
        // identical outputs.
        XCTAssertTrue(bitsEqual(out, try plain.predict(standardised(x, scaler))))
    }

    func testFloat32ScalerIsEvaluatedInFloat() throws {
        let x = scalerInputs(rows: 30, seed: 9).map { Float($0) }
        let scaled = try scaledNetwork(Float.self, seed: 3), plain = try scaledNetwork(Float.self, seed: 3)
        try fit(scaled, x)
        let scaler = try XCTUnwrap(scaled.scaler)
        XCTAssertTrue(bitsEqual(try scaled.predict(x), try plain.predict(standardised(x, scaler))))
    }

    func testScalerAppliesToGradientsStepTrainAndEvaluate() throws {
        var random = TestRandom(seed: 10)
        let rows = 12
        let x = scalerInputs(rows: rows, seed: 11)
        let y = (0..<(rows * 2)).map { _ in random.uniform(0, 1) < 0.5 ? 0.0 : 1.0 }
        let scaled = try scaledNetwork(Double.self, seed: 4), plain = try scaledNetwork(Double.self, seed: 4)
        try fit(scaled, x)
        let xs = standardised(x, try XCTUnwrap(scaled.scaler))

        let (l1, g1) = try scaled.gradients(inputs: x, targets: y)
        let (l2, g2) = try plain.gradients(inputs: xs, targets: y)
        XCTAssertEqual(l1.bitPattern, l2.bitPattern, "gradients: loss")
        XCTAssertTrue(bitsEqual(g1, g2), "gradients: gradient")

        try scaled.step(inputs: x, targets: y)
        try plain.step(inputs: xs, targets: y)
        XCTAssertTrue(bitsEqual(scaled.parameterValues, plain.parameterValues), "step")

        let raw = UnsafeMutableBufferPointer<Double>.allocate(capacity: x.count)
        let pre = UnsafeMutableBufferPointer<Double>.allocate(capacity: xs.count)
        let targets = UnsafeMutableBufferPointer<Double>.allocate(capacity: y.count)
        defer { raw.deallocate(); pre.deallocate(); targets.deallocate() }
        _ = raw.initialize(from: x)
        _ = pre.initialize(from: xs)
        _ = targets.initialize(from: y)
        let rawSet = Dataset(inputs: UnsafeBufferPointer(raw), targets: .dense(UnsafePointer(targets.baseAddress!)),
                             targetCount: y.count, rows: rows)
        let preSet = Dataset(inputs: UnsafeBufferPointer(pre), targets: .dense(UnsafePointer(targets.baseAddress!)),
                             targetCount: y.count, rows: rows)
        var o = TrainingOptions()
        o.epochs = 4
        o.batchSize = 5
        o.restoreBest = false
        let s1 = try scaled.train(rawSet, validation: rawSet, options: o)
        let s2 = try plain.train(preSet, validation: preSet, options: o)
        XCTAssertTrue(bitsEqual(scaled.parameterValues, plain.parameterValues), "train")
        XCTAssertEqual(s1, s2, "train summaries (validation went through the scaler too)")
        XCTAssertEqual(try scaled.evaluate(rawSet), try plain.evaluate(preSet), "evaluate")
    }

    func testClearingTheScalerRestoresRawInputs() throws {
        let x = scalerInputs()
        let n = try scaledNetwork(Double.self, seed: 5), plain = try scaledNetwork(Double.self, seed: 5)
        try fit(n, x)
        XCTAssertNotNil(n.scaler)
        XCTAssertFalse(bitsEqual(try n.predict(x), try plain.predict(x)), "the scaler makes a difference")
        try n.setScaler(nil)
        XCTAssertNil(n.scaler)
        switch n.scalerCoefficients {
        case .none: break
        case .some: XCTFail("setScaler(nil) keeps no coefficients")
        }
        XCTAssertTrue(bitsEqual(try n.predict(x), try plain.predict(x)))
        try n.setScaler(nil)  // twice is fine
        let manual = try InputScaler(mean: [0.5, -1, 2, 1000], standardDeviation: [2, 0.25, 1, 10])
        try n.setScaler(manual)
        XCTAssertEqual(n.scaler, manual, "set/get round trip")
        XCTAssertTrue(bitsEqual(try n.predict(x), try plain.predict(standardised(x, manual))))
    }
}
