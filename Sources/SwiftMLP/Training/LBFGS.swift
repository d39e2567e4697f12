// L-BFGS on the whole data set: `train` with `TrainingOptions.method == .lbfgs`.
//
// The objective is the network's reduced loss over all rows (the mean under mean
// reduction, the sum under sum reduction) plus the optimizer's L2 weight decay:
//   F(p) = L(p) + wd/2 * ||W||^2      (biases too when decayBiases)
// so that its gradient is the one smlp_step's rules use (g += wd * p). scikit-learn's
// MLP minimises mean loss + alpha/(2 n) ||W||^2: the same F with wd = alpha / n.
// The optimizer's other settings (rule, learning rate, clipping, schedule) and its
// state are not used. One iteration is one "epoch": validation, early stopping, the
// callback and the model's epoch counter advance once per iteration.
//
// Direction: the two-loop recursion over the last m pairs s = x_{k+1} - x_k,
// y = g_{k+1} - g_k with H0 = (s.y / y.y) I (Nocedal & Wright alg. 7.4); a pair with
// s.y <= eps y.y is skipped, which keeps H positive definite. Step: the strong Wolfe
// line search (LineSearch.swift), first trying t = 1/||g||_2 on the first iteration
// (a step of length 1 along -g, L-BFGS-B's choice: the direction's scale is unknown
// then) and t = 1 after. If the search makes no progress along the quasi-Newton
// direction, the history is dropped and the iteration retries along -g from t = 1
// (as L-BFGS-B does); if that fails too, training stops (`.lineSearchFailed`).
//
// Vectors are in Scalar; dot products and norms accumulate in Double, as do the
// updates x0 + t d and the two-loop's axpys before rounding. Every buffer is
// allocated once before the first iteration.

import CShim

/// How `train` updates the parameters. Raw values: `smlp_train_method`.
public enum TrainingMethod: UInt8, Sendable, Equatable, CaseIterable {
    /// Epochs of optimizer steps on mini-batches.
    case miniBatch = 0
    /// L-BFGS on the whole data set; `TrainingOptions.epochs` is the iteration limit.
    case lbfgs = 1
}

/// Why `train` stopped. Raw values: `smlp_stop_reason`.
public enum StopReason: UInt8, Sendable, Equatable, CaseIterable {
    /// All `epochs` epochs (L-BFGS: iterations) ran.
    case maxEpochs = 0
    case earlyStopping = 1
    case callback = 2
    /// L-BFGS: max |g_i| <= toleranceGrad.
    case gradientTolerance = 3
    /// L-BFGS: (F_k - F_k+1) <= toleranceChange * max(|F_k|, |F_k+1|, 1).
    case lossChange = 4
    /// L-BFGS: the evaluation budget is spent.
    case maxFunctionEvaluations = 5
    /// L-BFGS: no step along -g decreased the objective (a minimum to the precision
    /// of the type, in practice).
    case lineSearchFailed = 6
}

/// L-BFGS settings. Defaults: scipy's L-BFGS-B (m 10, gtol 1e-5, ftol = 1e7 * eps
/// of Double) and scikit-learn's max_fun (15000).
public struct LBFGSOptions: Sendable, Equatable {
    /// Correction pairs kept (m), >= 1.
    public var historySize = 10
    /// Stop when every |gradient entry| of the objective is <= this.
    public var toleranceGrad = 1e-5
    /// Stop when an iteration lowers the objective by no more than this, relative to
    /// max(|F|, 1).
    public var toleranceChange = 2.220446049250313e-9
    /// Stop once this many loss-and-gradient evaluations ran (line search included;
    /// the search is cut short so that the budget is never exceeded).
    public var maxFunctionEvaluations = 15000

    public init() {}

    func validate() throws(MLPError) {
        guard historySize >= 1 else {
            throw MLPError(.invalidArgument, "lbfgs_history is \(historySize); it must be >= 1")
        }
        guard toleranceGrad.isFinite, toleranceGrad >= 0 else {
            throw MLPError(.invalidArgument, "tolerance_grad is \(toleranceGrad); it must be finite and >= 0")
        }
        guard toleranceChange.isFinite, toleranceChange >= 0 else {
            throw MLPError(.invalidArgument, "tolerance_change is \(toleranceChange); it must be finite and >= 0")
        }
        guard maxFunctionEvaluations >= 1 else {
            throw MLPError(.invalidArgument,
                "max_function_evals is \(maxFunctionEvaluations); it must be >= 1")
        }
    }
}

// MARK: Vector helpers (Double accumulation)

@inline(__always)
func dot<Scalar: MLPScalar>(_ a: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>, count: Int) -> Double {
    var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    var i = 0
    while i + 4 <= count {
        s0 += Double(a[i]) * Double(b[i])
        s1 += Double(a[i + 1]) * Double(b[i + 1])
        s2 += Double(a[i + 2]) * Double(b[i + 2])
        s3 += Double(a[i + 3]) * Double(b[i + 3])
        i += 4
    }
    while i < count {
        s0 += Double(a[i]) * Double(b[i])
        i += 1
    }
    return (s0 + s1) + (s2 + s3)
}

@inline(__always)
func maxAbs<Scalar: MLPScalar>(_ a: UnsafePointer<Scalar>, count: Int) -> Double {
    var result = 0.0
    for i in 0..<count { result = max(result, abs(Double(a[i]))) }
    return result
}

/// y += a x, each entry computed in Double and rounded once.
@inline(__always)
func axpy<Scalar: MLPScalar>(_ a: Double, _ x: UnsafePointer<Scalar>, _ y: UnsafeMutablePointer<Scalar>, count: Int) {
    for i in 0..<count { y[i] = Scalar(Double(y[i]) + a * Double(x[i])) }
}

// MARK: State

/// Every buffer L-BFGS needs, allocated once per `train` call and freed with it.
final class LBFGSBuffers<Scalar: MLPScalar> {
    let n: Int
    let m: Int
    /// m pairs, slot i at i * n.
    let s: ScalarBuffer<Scalar>
    let y: ScalarBuffer<Scalar>
    /// x_k (the line search's origin), the direction, g_k, and the line search's kept gradient.
    let start: ScalarBuffer<Scalar>
    let direction: ScalarBuffer<Scalar>
    let current: ScalarBuffer<Scalar>
    let kept: ScalarBuffer<Scalar>
    /// 1 / s.y and the two-loop's alphas, per slot.
    let rho: HeapBuffer<Double>
    let alpha: HeapBuffer<Double>

    init(parameterCount n: Int, history m: Int) throws(MLPError) {
        let (pairs, overflow) = n.multipliedReportingOverflow(by: m)
        guard !overflow else { throw MLPError(.outOfMemory, "L-BFGS history: \(m) x \(n) scalars overflow") }
        self.n = n
        self.m = m
        s = try ScalarBuffer(zeroedCount: pairs, purpose: "L-BFGS history")
        y = try ScalarBuffer(zeroedCount: pairs, purpose: "L-BFGS history")
        start = try ScalarBuffer(zeroedCount: n, purpose: "L-BFGS history")
        direction = try ScalarBuffer(zeroedCount: n, purpose: "L-BFGS history")
        current = try ScalarBuffer(zeroedCount: n, purpose: "L-BFGS history")
        kept = try ScalarBuffer(zeroedCount: n, purpose: "L-BFGS history")
        rho = try HeapBuffer<Double>(count: m, purpose: "L-BFGS history")
        alpha = try HeapBuffer<Double>(count: m, purpose: "L-BFGS history")
    }

    /// direction = -H g for the `count` newest pairs ending at slot `newest`.
    func computeDirection(count: Int, newest: Int, gamma: Double) {
        let d = direction.pointer, g = current.pointer
        for i in 0..<n { d[i] = -g[i] }
        var slot = newest
        for _ in 0..<count {
            let a = rho.base[slot] * dot(s.address(slot * n), d, count: n)
            alpha.base[slot] = a
            axpy(-a, y.address(slot * n), d, count: n)
            slot = slot == 0 ? m - 1 : slot - 1
        }
        if gamma != 1 { for i in 0..<n { d[i] = Scalar(Double(d[i]) * gamma) } }
        slot = (newest - count + 1 + m) % m
        for _ in 0..<count {
            let b = rho.base[slot] * dot(y.address(slot * n), d, count: n)
            axpy(alpha.base[slot] - b, s.address(slot * n), d, count: n)
            slot = slot == m - 1 ? 0 : slot + 1
        }
    }
}

/// phi(t) = F(start + t direction) for the line search, on a network.
struct NetworkLineObjective<Scalar: MLPScalar>: LineSearchObjective {
    let network: Network<Scalar>
    let data: Dataset<Scalar>
    let buffers: LBFGSBuffers<Scalar>
    /// Step and mean loss of the last evaluation and of the kept point.
    var lastStep = 0.0, lastMeanLoss = Double.nan
    var keptStep = 0.0, keptMeanLoss = Double.nan

    mutating func evaluate(at step: Double) -> (value: Double, slope: Double) {
        let n = buffers.n
        let p = network.parameters.pointer, x = buffers.start.pointer, d = buffers.direction.pointer
        for i in 0..<n { p[i] = Scalar(Double(x[i]) + step * Double(d[i])) }
        lastStep = step
        let (objective, meanLoss) = network.objectiveAndGradient(data)
        lastMeanLoss = meanLoss
        guard objective.isFinite else { return (.infinity, .nan) }
        return (objective, dot(network.gradient.pointer, d, count: n))
    }

    mutating func keepLast() {
        buffers.kept.copy(from: network.gradient)
        keptStep = lastStep
        keptMeanLoss = lastMeanLoss
    }
}

extension Network {
    /// F at the current parameters (see the top of this file) and the mean per-sample
    /// loss; F's gradient goes to `gradient`. F is +infinity when the loss or a
    /// gradient entry is not finite. The workspace must hold data.rows rows.
    func objectiveAndGradient(_ data: Dataset<Scalar>) -> (objective: Double, meanLoss: Double) {
        let rows = data.rows
        let input = firstLayerInput(data.inputs.baseAddress.unsafelyUnwrapped, rows: rows, scratch: workspace.scaledInputs)
        forwardTraining(inputs: input, rows: rows)
        workspaceRows = rows
        let loss = backwardTraining(inputs: input, targets: data.targets, rows: rows)
        let meanLoss = configuration.reduction == .mean ? loss : loss / Double(rows)
        guard loss.isFinite, Scalar.allFinite(gradient.pointer, count: parameterCount) else {
            return (.infinity, meanLoss)
        }
        let decay = optimizer.configuration.weightDecay
        guard decay > 0 else { return (loss, meanLoss) }
        let wd = Scalar(decay)
        var squares = 0.0
        let p = parameters.pointer, g = gradient.pointer
        for layer in layout.layers {
            let end = optimizer.configuration.decayBiases ? layer.endOffset : layer.biasOffset
            for i in layer.weightOffset..<end {
                squares += Double(p[i]) * Double(p[i])
                g[i] += wd * p[i]
            }
        }
        let objective = loss + 0.5 * decay * squares
        return objective.isFinite && Scalar.allFinite(g, count: parameterCount) ? (objective, meanLoss) : (.infinity, meanLoss)
    }

    /// `train` for `.lbfgs`; parameters are rolled back by the caller on failure.
    func lbfgsLoop(
        _ data: Dataset<Scalar>, validation: Dataset<Scalar>?, options: TrainingOptions,
        onEpoch: (EpochReport) -> Bool
    ) throws(MLPError) -> TrainingSummary {
        let settings = options.lbfgs
        let n = parameterCount
        try workspace.reserve(rows: data.rows, layout: layout)
        let buffers = try LBFGSBuffers<Scalar>(parameterCount: n, history: min(settings.historySize, max(n, 1)))
        // The best validation iteration's parameters (empty when not restored).
        let keepsBest = validation != nil && options.restoreBest
        let bestParameters = try ScalarBuffer<Scalar>(
            zeroedCount: keepsBest ? parameterCount : 0, purpose: "best parameters")
        if keepsBest { bestParameters.copy(from: parameters) }
        defer { workspaceRows = 0 }

        var summary = TrainingSummary()
        var (objective, meanLoss) = objectiveAndGradient(data)
        summary.functionEvaluations = 1
        guard objective.isFinite else {
            throw nonFiniteError(inputs: data.inputs.baseAddress.unsafelyUnwrapped, targets: data.targets,
                                 rows: data.rows, loss: meanLoss)
        }
        buffers.current.copy(from: gradient)
        summary.finalTrainLoss = meanLoss
        summary.finalObjective = objective
        if maxAbs(buffers.current.pointer, count: n) <= settings.toleranceGrad {
            summary.stopReason = .gradientTolerance
            if let validation {
                let result = try evaluateChecked(validation)
                summary.finalValidationLoss = result.loss
                summary.bestValidationLoss = result.loss
            }
            return summary
        }

        let m = buffers.m
        var pairs = 0, newest = m - 1
        var gamma = 1.0
        var epochsWithoutImprovement = 0
        let tiny = Double(Scalar.ulpOfOne)
        summary.stopReason = .maxEpochs
        iterations: for iteration in 1...options.epochs {
            // Search along the quasi-Newton direction; on no progress, once along -g.
            var step: LineSearchResult
            var objectiveState: NetworkLineObjective<Scalar>
            buffers.start.copy(from: parameters)
            while true {
                buffers.computeDirection(count: pairs, newest: newest, gamma: gamma)
                let d = buffers.direction.pointer
                var slope = dot(buffers.current.pointer, d, count: n)
                if !(slope < 0) && pairs > 0 {
                    pairs = 0; gamma = 1
                    buffers.computeDirection(count: 0, newest: newest, gamma: 1)
                    slope = dot(buffers.current.pointer, d, count: n)
                }
                let initialStep: Double
                if pairs == 0 && iteration == 1 {
                    initialStep = 1 / dot(buffers.current.pointer, buffers.current.pointer, count: n).squareRoot()
                } else {
                    initialStep = 1
                }
                buffers.kept.copy(from: buffers.current)
                // Stop shrinking the bracket once t * |d| no longer moves any parameter.
                let scale = max(1, maxAbs(buffers.start.pointer, count: n))
                let minimumWidth = tiny * scale / max(maxAbs(d, count: n), .leastNormalMagnitude)
                objectiveState = NetworkLineObjective(network: self, data: data, buffers: buffers)
                objectiveState.keptMeanLoss = meanLoss
                let budget = settings.maxFunctionEvaluations - summary.functionEvaluations
                if budget <= 0 || !(slope < 0) {
                    step = LineSearchResult(point: LineSearchPoint(step: 0, value: objective, slope: slope),
                                            satisfied: false, evaluations: 0)
                } else {
                    step = strongWolfeSearch(
                        &objectiveState, value: objective, slope: slope, initialStep: initialStep,
                        maxEvaluations: min(25, budget), minimumWidth: minimumWidth)
                }
                summary.functionEvaluations += step.evaluations
                if step.point.step > 0 && step.point.value < objective { break }
                if pairs == 0 || summary.functionEvaluations >= settings.maxFunctionEvaluations { break }
                pairs = 0; gamma = 1
                parameters.copy(from: buffers.start)
            }
            let progressed = step.point.step > 0 && step.point.value < objective
            // Leave the parameters at the accepted point (or where the iteration began).
            let accepted = progressed ? step.point.step : 0
            if objectiveState.lastStep != accepted || step.evaluations == 0 {
                let p = parameters.pointer, x = buffers.start.pointer, d = buffers.direction.pointer
                for i in 0..<n { p[i] = Scalar(Double(x[i]) + accepted * Double(d[i])) }
            }
            if !progressed {
                summary.stopReason = summary.functionEvaluations >= settings.maxFunctionEvaluations
                    ? .maxFunctionEvaluations : .lineSearchFailed
                break iterations
            }

            // The new pair: s = x_new - x_old, y = g_new - g_old.
            let slot = newest == m - 1 ? 0 : newest + 1
            let s = buffers.s.address(slot * n), y = buffers.y.address(slot * n)
            let p = parameters.pointer, x = buffers.start.pointer
            let gNew = buffers.kept.pointer, gOld = buffers.current.pointer
            for i in 0..<n {
                s[i] = Scalar(Double(p[i]) - Double(x[i]))
                y[i] = Scalar(Double(gNew[i]) - Double(gOld[i]))
            }
            let sy = dot(s, y, count: n), yy = dot(y, y, count: n)
            if sy > tiny * yy && yy > 0 {
                buffers.rho.base[slot] = 1 / sy
                gamma = sy / yy
                newest = slot
                pairs = min(pairs + 1, m)
            }
            buffers.current.copy(from: buffers.kept)
            let previousObjective = objective
            objective = step.point.value
            meanLoss = objectiveState.keptMeanLoss

            epoch = epoch == Int.max ? Int.max : epoch + 1
            summary.epochsRun = iteration
            summary.iterations = iteration
            summary.finalTrainLoss = meanLoss
            summary.finalObjective = objective
            var report = EpochReport(
                epoch: iteration, trainLoss: meanLoss, validationLoss: .nan,
                validationAccuracy: .nan, learningRate: step.point.step)
            if try endOfEpoch(
                iteration, report: &report, validation: validation, options: options, summary: &summary,
                epochsWithoutImprovement: &epochsWithoutImprovement,
                bestParameters: keepsBest ? bestParameters.bufferPointer : nil, onEpoch: onEpoch)
            { break }
            if maxAbs(buffers.current.pointer, count: n) <= settings.toleranceGrad {
                summary.stopReason = .gradientTolerance
                break
            }
            let scaleF = max(abs(previousObjective), abs(objective), 1)
            if previousObjective - objective <= settings.toleranceChange * scaleF {
                summary.stopReason = .lossChange
                break
            }
            if summary.functionEvaluations >= settings.maxFunctionEvaluations {
                summary.stopReason = .maxFunctionEvaluations
                break
            }
        }
        if keepsBest, summary.bestEpoch > 0 {
            parameters.copy(from: bestParameters)
        }
        return summary
    }
}
