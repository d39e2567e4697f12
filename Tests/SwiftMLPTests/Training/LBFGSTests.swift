// Tests of LineSearch.swift and LBFGS.swift:
//
// - the line search returns points that satisfy both strong Wolfe conditions,
//   checked by re-evaluating the function, on Rosenbrock's function from many points
//   and directions (steepest descent and a Newton direction), with initial steps far
//   too small and far too large; the cubic step is the exact minimiser of a cubic;
// - the two-loop recursion with an exact line search minimises an n-dimensional
//   convex quadratic in n iterations (the finite termination of BFGS on quadratics,
//   Nocedal & Wright thm. 6.4), which an error in any coefficient breaks;
// - train(.lbfgs) on a network: the objective falls every iteration, it stops for
//   the reason it reports, respects the evaluation budget and the iteration limit,
//   the callback stops it, weight decay is the documented L2 term, Float and Double
//   agree, and a failing call changes nothing.

import XCTest
@testable import SwiftMLP

/// Rosenbrock's function along x0 + t d, counting evaluations.
private struct RosenbrockLine: LineSearchObjective {
    var x0: (Double, Double)
    var d: (Double, Double)
    var evaluations = 0

    static func value(_ x: Double, _ y: Double) -> Double { 100 * (y - x * x) * (y - x * x) + (1 - x) * (1 - x) }
    static func gradient(_ x: Double, _ y: Double) -> (Double, Double) {
        (-400 * x * (y - x * x) - 2 * (1 - x), 200 * (y - x * x))
    }

    func point(_ t: Double) -> (Double, Double) { (x0.0 + t * d.0, x0.1 + t * d.1) }

    func phi(_ t: Double) -> (value: Double, slope: Double) {
        let (x, y) = point(t)
        let g = Self.gradient(x, y)
        return (Self.value(x, y), g.0 * d.0 + g.1 * d.1)
    }

    mutating func evaluate(at step: Double) -> (value: Double, slope: Double) {
        evaluations += 1
        return phi(step)
    }

    mutating func keepLast() {}
}

final class LineSearchTests: XCTestCase {
    func testStrongWolfeHoldsOnRosenbrock() {
        var random = TestRandom(seed: 7)
        var searched = 0
        for _ in 0..<200 {
            let x = random.uniform(-2, 2), y = random.uniform(-1, 3)
            let g = RosenbrockLine.gradient(x, y)
            // Steepest descent, or Newton's direction where the Hessian is positive definite.
            let hxx = 1200 * x * x - 400 * y + 2, hxy = -400 * x, hyy = 200.0
            let det = hxx * hyy - hxy * hxy
            var directions = [(-g.0, -g.1)]
            if hxx > 0 && det > 0 { directions.append((-(hyy * g.0 - hxy * g.1) / det, -(hxx * g.1 - hxy * g.0) / det)) }
            for d in directions {
                for initial in [1e-6, 1.0, 1e3] {
                    var line = RosenbrockLine(x0: (x, y), d: d)
                    let origin = line.phi(0)
                    guard origin.slope < 0 else { continue }
                    let result = strongWolfeSearch(
                        &line, value: origin.value, slope: origin.slope, initialStep: initial,
                        maxEvaluations: 100, minimumWidth: 1e-14)
                    XCTAssertTrue(result.satisfied, "from (\(x), \(y)) along \(d), t0 \(initial)")
                    XCTAssertEqual(result.evaluations, line.evaluations)
                    let end = line.phi(result.point.step)
                    XCTAssertEqual(end.value, result.point.value)
                    XCTAssertGreaterThan(result.point.step, 0)
                    // Sufficient decrease and strong curvature, c1 = 1e-4, c2 = 0.9.
                    XCTAssertLessThanOrEqual(end.value, origin.value + 1e-4 * result.point.step * origin.slope)
                    XCTAssertLessThanOrEqual(abs(end.slope), 0.9 * abs(origin.slope))
                    searched += 1
                }
            }
        }
        XCTAssertGreaterThan(searched, 600)
    }

    func testBudgetIsNeverExceededAndTheBestPointIsReturned() {
        var line = RosenbrockLine(x0: (-1.2, 1), d: (1e-3, 0))   // a nearly useless direction
        let origin = line.phi(0)
        let result = strongWolfeSearch(
            &line, value: origin.value, slope: origin.slope, initialStep: 1e-9, maxEvaluations: 3, minimumWidth: 0)
        XCTAssertEqual(line.evaluations, 3)
        XCTAssertFalse(result.satisfied)
        XCTAssertLessThan(result.point.value, origin.value)
    }

    /// A line along which the rounded objective no longer changes (as float32 near a
    /// minimum: the steps move no parameter enough to change the loss) while its
    /// slope still says "down": the search stops once both ends of the bracket have
    /// phi(0)'s very value, after one evaluation, with no step, instead of shrinking
    /// the bracket to `minimumWidth`. A line that changes only far along still gets
    /// searched (the rule needs both ends equal).
    func testAFlatLineEndsTheSearchAtOnce() {
        struct StepLine: LineSearchObjective {
            var flatUntil: Double   // phi(t) = 1 for t < flatUntil, then 1 - (t - flatUntil)
            var evaluations = 0
            mutating func evaluate(at step: Double) -> (value: Double, slope: Double) {
                evaluations += 1
                return step < flatUntil ? (1, -1) : (1 - (step - flatUntil), -1)
            }
            mutating func keepLast() {}
        }
        var flat = StepLine(flatUntil: .infinity)
        let stopped = strongWolfeSearch(
            &flat, value: 1, slope: -1, initialStep: 1, maxEvaluations: 25, minimumWidth: 1e-300)
        XCTAssertEqual(stopped.evaluations, 1)
        XCTAssertFalse(stopped.satisfied)
        XCTAssertEqual(stopped.point.step, 0)
        // Flat only near 0, then falling: the bracket grows out of the flat part.
        var falling = StepLine(flatUntil: 0.5)
        let searched = strongWolfeSearch(
            &falling, value: 1, slope: -1, initialStep: 1, maxEvaluations: 25, minimumWidth: 1e-300)
        XCTAssertGreaterThan(searched.point.step, 0)
        XCTAssertLessThan(searched.point.value, 1)
    }

    func testCubicStepIsTheMinimiserOfACubic() {
        // p(t) = (t - 1)^3 - 3 (t - 1) + 5 has its local minimum at t = 2.
        func p(_ t: Double) -> Double { (t - 1) * (t - 1) * (t - 1) - 3 * (t - 1) + 5 }
        func dp(_ t: Double) -> Double { 3 * (t - 1) * (t - 1) - 3 }
        for (a, b) in [(0.5, 3.0), (3.0, 0.5), (1.5, 2.5)] {
            let t = cubicMinimizer(a, p(a), dp(a), b, p(b), dp(b), lower: min(a, b), upper: max(a, b))
            XCTAssertEqual(t, 2, accuracy: 1e-12)
        }
        // No minimiser (a pure linear function): the midpoint of the bounds.
        XCTAssertEqual(cubicMinimizer(0, 0, -1, 1, -1, -1, lower: 0, upper: 4), 2)
    }
}

final class LBFGSTests: XCTestCase {
    /// f(x) = x^T A x / 2 - b^T x with exact line searches: n iterations reach the minimum.
    func testTwoLoopRecursionFinishesAQuadraticInNSteps() throws {
        let n = 8
        var random = TestRandom(seed: 3)
        let q = random.array(n * n, -1, 1)
        var a = [Double](repeating: 0, count: n * n)   // A = Q^T Q + I
        for i in 0..<n { for j in 0..<n {
            var s = i == j ? 1.0 : 0
            for k in 0..<n { s += q[k * n + i] * q[k * n + j] }
            a[i * n + j] = s
        } }
        let b = random.array(n, -1, 1)
        func gradient(_ x: UnsafePointer<Double>, _ g: UnsafeMutablePointer<Double>) {
            for i in 0..<n { var s = -b[i]; for j in 0..<n { s += a[i * n + j] * x[j] }; g[i] = s }
        }
        let buffers = try LBFGSBuffers<Double>(parameterCount: n, history: n)
        let x = buffers.start.pointer, g = buffers.current.pointer, d = buffers.direction.pointer
        gradient(x, g)
        var pairs = 0, newest = n - 1, gamma = 1.0
        for iteration in 0..<n {
            buffers.computeDirection(count: pairs, newest: newest, gamma: gamma)
            var ad = [Double](repeating: 0, count: n)
            for i in 0..<n { for j in 0..<n { ad[i] += a[i * n + j] * d[j] } }
            let t = -dot(g, d, count: n) / ad.indices.reduce(0.0) { $0 + d[$1] * ad[$1] }
            let slot = newest == n - 1 ? 0 : newest + 1
            let s = buffers.s.address(slot * n), y = buffers.y.address(slot * n)
            let old = buffers.kept.pointer
            for i in 0..<n { old[i] = g[i]; s[i] = t * d[i]; x[i] += t * d[i] }
            gradient(x, g)
            for i in 0..<n { y[i] = g[i] - old[i] }
            let sy = dot(s, y, count: n)
            buffers.rho.base[slot] = 1 / sy
            gamma = sy / dot(y, y, count: n)
            newest = slot
            pairs += 1
            if iteration < n - 2 { XCTAssertGreaterThan(maxAbs(g, count: n), 1e-6, "not done before n steps") }
        }
        // Rounding only: the conditioning of A is modest (entries of Q in (-1, 1)).
        XCTAssertLessThan(maxAbs(g, count: n), 1e-10)
    }

    /// A linear network under MSE is a least-squares problem: train(.lbfgs) must end at
    /// the normal equations' solution, in few iterations (a convex quadratic).
    func testLinearLeastSquaresReachesTheNormalEquationsSolution() throws {
        let rows = 30, inputs = 3, outputs = 2
        var random = TestRandom(seed: 17)
        let x = random.array(rows * inputs, -1, 1)
        // Targets: a linear function of x plus noise of 0.01, so F at the solution is
        // ~3e-5. A step can lower F only while the decrease it can make (~g^2 /
        // curvature) exceeds F's rounding; at F ~3e-5 that allows gradients far below
        // 1e-9. (With random targets F ~0.3 and the floor is ~5e-9: whether 1e-9 was
        // reached depended on where the last step happened to land.)
        let trueWeights = random.array(inputs * outputs + outputs, -1, 1), noise = random.array(rows * outputs, -1, 1)
        var y = [Double](repeating: 0, count: rows * outputs)
        for r in 0..<rows {
            for j in 0..<outputs {
                var value = trueWeights[inputs * outputs + j] + 0.01 * noise[r * outputs + j]
                for i in 0..<inputs { value += x[r * inputs + i] * trueWeights[i * outputs + j] }
                y[r * outputs + j] = value
            }
        }
        let network = try Network<Double>(NetworkConfiguration(
            layerSizes: [inputs, outputs], activations: [.identity], loss: .meanSquaredError, seed: 2))
        var o = options(iterations: 100)
        o.lbfgs.toleranceGrad = 1e-9
        o.lbfgs.toleranceChange = 0
        var summary = TrainingSummary()
        try x.withUnsafeBufferPointer { xs throws(MLPError) in
            try y.withUnsafeBufferPointer { ys throws(MLPError) in
                let data = Dataset(inputs: xs, targets: .dense(ys.baseAddress!), targetCount: ys.count, rows: rows)
                summary = try network.train(data, options: o)
            }
        }
        XCTAssertEqual(summary.stopReason, .gradientTolerance)
        XCTAssertLessThanOrEqual(summary.iterations, 30)
        // Normal equations (A^T A) w = A^T y for A = [x | 1], one column of y at a time,
        // by Gaussian elimination with partial pivoting.
        let k = inputs + 1
        for j in 0..<outputs {
            var m = [[Double]](repeating: [Double](repeating: 0, count: k + 1), count: k)
            for r in 0..<rows {
                let a = Array(x[(r * inputs)..<((r + 1) * inputs)]) + [1]
                for p in 0..<k {
                    for q in 0..<k { m[p][q] += a[p] * a[q] }
                    m[p][k] += a[p] * y[r * outputs + j]
                }
            }
            for c in 0..<k {
                let pivot = (c..<k).max { abs(m[$0][c]) < abs(m[$1][c]) }!
                m.swapAt(c, pivot)
                for r in (c + 1)..<k {
                    let f = m[r][c] / m[c][c]
                    for q in c...k { m[r][q] -= f * m[c][q] }
                }
            }
            var w = [Double](repeating: 0, count: k)
            for c in stride(from: k - 1, through: 0, by: -1) {
                var v = m[c][k]
                for q in (c + 1)..<k { v -= m[c][q] * w[q] }
                w[c] = v / m[c][c]
            }
            let p = network.parameterValues   // W (inputs x outputs, row-major), then b
            // A gradient <= 1e-9 on a problem whose Hessian's eigenvalues are ~0.1-1
            // leaves each parameter within ~1e-8 of the solution.
            for i in 0..<inputs { XCTAssertEqual(p[i * outputs + j], w[i], accuracy: 1e-7, "W[\(i)][\(j)]") }
            XCTAssertEqual(p[inputs * outputs + j], w[inputs], accuracy: 1e-7, "b[\(j)]")
        }
    }

    private func options(iterations: Int) -> TrainingOptions {
        var o = TrainingOptions()
        o.method = .lbfgs
        o.epochs = iterations
        return o
    }

    private func classification<S: MLPScalar>(_: S.Type) throws -> (Network<S>, [S], [Int32]) {
        let network = try Network<S>(NetworkConfiguration(
            layerSizes: [2, 6, 3], activations: [.tanh, .softmax], loss: .softmaxCrossEntropy, seed: 5))
        var random = TestRandom(seed: 11)
        var x: [S] = [], labels: [Int32] = []
        for i in 0..<60 {
            let c = i % 3
            let angle = Double(c) * 2.1 + random.uniform(-0.5, 0.5)
            x += [S(cos(angle) + random.uniform(-0.3, 0.3)), S(sin(angle) + random.uniform(-0.3, 0.3))]
            labels.append(Int32(c))
        }
        return (network, x, labels)
    }

    private func run<S: MLPScalar>(
        _ network: Network<S>, _ x: [S], _ labels: [Int32], _ options: TrainingOptions,
        onEpoch: (EpochReport) -> Bool = { _ in true }
    ) throws(MLPError) -> TrainingSummary {
        var result: Result<TrainingSummary, MLPError> = .failure(MLPError(.io, "not run"))
        x.withUnsafeBufferPointer { xs in
            labels.withUnsafeBufferPointer { ls in
                let data = Dataset(inputs: xs, targets: .labels(ls.baseAddress!), targetCount: ls.count, rows: ls.count)
                do throws(MLPError) { result = .success(try network.train(data, options: options, onEpoch: onEpoch)) }
                catch { result = .failure(error) }
            }
        }
        return try result.get()
    }

    func testObjectiveFallsEveryIterationUntilTheGradientTolerance() throws {
        let (network, x, labels) = try classification(Double.self)
        var o = options(iterations: 1000)
        o.lbfgs.toleranceChange = 0
        o.lbfgs.toleranceGrad = 1e-6
        var losses: [Double] = []
        let summary = try run(network, x, labels, o) { report in losses.append(report.trainLoss); return true }
        XCTAssertEqual(summary.stopReason, .gradientTolerance)
        XCTAssertEqual(summary.iterations, losses.count)
        XCTAssertEqual(summary.epochsRun, losses.count)
        XCTAssertEqual(network.epoch, losses.count)
        XCTAssertGreaterThan(summary.functionEvaluations, summary.iterations)
        XCTAssertEqual(summary.finalTrainLoss, losses.last)
        // No weight decay: the objective is the mean loss.
        XCTAssertEqual(summary.finalObjective, summary.finalTrainLoss)
        for k in 1..<losses.count { XCTAssertLessThan(losses[k], losses[k - 1], "iteration \(k + 1)") }
        // The reported gradient tolerance holds at the final parameters.
        let (_, gradient) = try x.withUnsafeBufferPointer { xs throws(MLPError) in
            try labels.withUnsafeBufferPointer { ls throws(MLPError) in
                let loss = try network.gradients(inputs: xs, targets: .labels(ls.baseAddress!), targetCount: 60, rows: 60)
                return (loss, Array(network.gradientView))
            }
        }
        XCTAssertLessThanOrEqual(gradient.map { abs($0) }.max()!, 1e-6)
    }

    func testLimitsAndCallbackStopTheRun() throws {
        var (network, x, labels) = try classification(Double.self)
        var o = options(iterations: 5)
        o.lbfgs.toleranceGrad = 0
        o.lbfgs.toleranceChange = 0
        var summary = try run(network, x, labels, o)
        XCTAssertEqual(summary.stopReason, .maxEpochs)
        XCTAssertEqual(summary.iterations, 5)

        for budget in [1, 2, 7, 30] {
            (network, x, labels) = try classification(Double.self)
            o = options(iterations: 1000)
            o.lbfgs.maxFunctionEvaluations = budget
            o.lbfgs.toleranceGrad = 0
            o.lbfgs.toleranceChange = 0
            summary = try run(network, x, labels, o)
            XCTAssertEqual(summary.stopReason, .maxFunctionEvaluations, "budget \(budget)")
            XCTAssertEqual(summary.functionEvaluations, budget)
        }

        (network, x, labels) = try classification(Double.self)
        var calls = 0
        summary = try run(network, x, labels, options(iterations: 100)) { _ in calls += 1; return calls < 3 }
        XCTAssertEqual(summary.stopReason, .callback)
        XCTAssertTrue(summary.stoppedByCallback)
        XCTAssertEqual(summary.iterations, 3)

        // Mini-batch: iterations and evaluations count steps; no objective.
        (network, x, labels) = try classification(Double.self)
        var miniBatch = TrainingOptions()
        miniBatch.epochs = 2
        miniBatch.batchSize = 16   // 60 rows: 4 steps an epoch
        summary = try run(network, x, labels, miniBatch)
        XCTAssertEqual(summary.iterations, 8)
        XCTAssertEqual(summary.functionEvaluations, 8)
        XCTAssertEqual(summary.stopReason, .maxEpochs)
        XCTAssertNil(summary.finalObjective)
    }

    /// F = mean loss + wd/2 ||W||^2 over weights only: F minus the mean loss at the
    /// final parameters is the L2 term computed here.
    func testWeightDecayIsTheL2Term() throws {
        let (network, x, labels) = try classification(Double.self)
        var c = OptimizerConfiguration(kind: .sgd)
        c.weightDecay = 0.05
        try network.setOptimizer(c)
        let summary = try run(network, x, labels, options(iterations: 200))
        var squares = 0.0
        for layer in network.layout.layers {
            for i in layer.weightOffset..<layer.biasOffset { squares += network.parameterValues[i] * network.parameterValues[i] }
        }
        XCTAssertEqual(try XCTUnwrap(summary.finalObjective) - summary.finalTrainLoss, 0.025 * squares, accuracy: 1e-12)
        XCTAssertEqual(summary.stopReason, .gradientTolerance)
    }

    func testFloatAndDoubleReachTheSameMinimum() throws {
        let (n64, x64, labels) = try classification(Double.self)
        let (n32, x32, _) = try classification(Float.self)
        var o = options(iterations: 300)
        o.lbfgs.toleranceGrad = 1e-4
        let s64 = try run(n64, x64, labels, o)
        let s32 = try run(n32, x32, labels, o)
        // Float's rounding (~1e-7 relative per operation) moves the path, not the minimum.
        XCTAssertEqual(s32.finalTrainLoss, s64.finalTrainLoss, accuracy: 1e-3 * max(s64.finalTrainLoss, 1e-2))
    }

    func testInvalidOptionsChangeNothing() throws {
        let (network, x, labels) = try classification(Double.self)
        let before = network.parameterValues
        for change in [{ (o: inout TrainingOptions) in o.lbfgs.historySize = 0 },
                       { o in o.lbfgs.toleranceGrad = -1 }, { o in o.lbfgs.toleranceChange = .nan },
                       { o in o.lbfgs.maxFunctionEvaluations = 0 }] {
            var o = options(iterations: 10)
            change(&o)
            XCTAssertThrowsError(try run(network, x, labels, o)) { error in
                XCTAssertEqual((error as? MLPError)?.kind, .invalidArgument)
            }
        }
        XCTAssertEqual(network.parameterValues, before)
        XCTAssertEqual(network.epoch, 0)
    }

    func testNonFiniteStartIsRefusedAndChangesNothing() throws {
        let (network, x, labels) = try classification(Double.self)
        var huge = network.parameterValues
        for i in huge.indices { huge[i] = 1e308 }
        try network.setParameters(huge)
        XCTAssertThrowsError(try run(network, x, labels, options(iterations: 10))) { error in
            XCTAssertEqual((error as? MLPError)?.kind, .nonFinite)
        }
        XCTAssertEqual(network.parameterValues, huge)
        XCTAssertEqual(network.epoch, 0)
    }
}
