// A line search that finds a step satisfying the strong Wolfe conditions, for L-BFGS:
// Nocedal & Wright, Numerical Optimization (2nd ed.), algorithms 3.5 (bracketing) and
// 3.6 (zoom), with the cubic interpolation of their eq. 3.59 and the safeguards of
// PyTorch's `_strong_wolfe` (itself from minFunc). Along phi(t) = f(x0 + t d):
//   sufficient decrease   phi(t) <= phi(0) + c1 t phi'(0)
//   curvature (strong)    |phi'(t)| <= c2 |phi'(0)|
// with c1 = 1e-4 and c2 = 0.9, scipy's and PyTorch's values for quasi-Newton methods.

/// phi(t) for the line search. The search keeps at most one gradient besides the one
/// of the last evaluation: `keepLast` asks the objective to remember the last point
/// evaluated as the best one so far (for a network, a copy of its gradient).
protocol LineSearchObjective {
    /// phi(t) and phi'(t). A value that is not finite must come back as +infinity
    /// (the search then treats the step as too long).
    mutating func evaluate(at step: Double) -> (value: Double, slope: Double)
    /// Remember the point of the last `evaluate` as the best so far.
    mutating func keepLast()
}

/// One point of phi.
struct LineSearchPoint: Equatable {
    var step: Double
    var value: Double
    var slope: Double
}

struct LineSearchResult: Equatable {
    /// The best point found (step 0 when no step decreased phi); the objective's
    /// kept point when its step is > 0.
    var point: LineSearchPoint
    /// Both strong Wolfe conditions hold at `point`.
    var satisfied: Bool
    var evaluations: Int
}

/// The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to
/// [lower, upper]; the midpoint when the cubic has none or it is not finite.
func cubicMinimizer(
    _ x1: Double, _ f1: Double, _ g1: Double, _ x2: Double, _ f2: Double, _ g2: Double,
    lower: Double, upper: Double
) -> Double {
    let d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    let d2Square = d1 * d1 - g1 * g2
    if d2Square >= 0 {
        let d2 = d2Square.squareRoot()
        let position = x1 <= x2
            ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
            : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        if position.isFinite { return min(max(position, lower), upper) }
    }
    return (lower + upper) / 2
}

/// Searches along phi from phi(0) = `value`, phi'(0) = `slope` (< 0), first trying
/// `initialStep`. Stops at a point satisfying the strong Wolfe conditions, or after
/// `maxEvaluations` evaluations, or when the bracket is narrower than `minimumWidth`
/// (in units of t), or when both its ends have phi(0)'s very value; then it returns
/// the best point it has, which satisfies the sufficient-decrease condition unless
/// its step is 0.
func strongWolfeSearch<Objective: LineSearchObjective>(
    _ objective: inout Objective, value: Double, slope: Double, initialStep: Double,
    maxEvaluations: Int, minimumWidth: Double, c1: Double = 1e-4, c2: Double = 0.9
) -> LineSearchResult {
    let origin = LineSearchPoint(step: 0, value: value, slope: slope)
    func armijo(_ p: LineSearchPoint) -> Bool { p.value <= value + c1 * p.step * slope }
    func curvature(_ p: LineSearchPoint) -> Bool { abs(p.slope) <= -c2 * slope }

    var evaluations = 0
    func evaluate(_ t: Double) -> LineSearchPoint {
        evaluations += 1
        let (f, g) = objective.evaluate(at: t)
        return LineSearchPoint(step: t, value: f.isFinite ? f : .infinity, slope: f.isFinite ? g : .nan)
    }

    // Algorithm 3.5: grow the step until a bracket [low, high] holds a Wolfe point.
    var previous = origin
    var t = initialStep
    var low: LineSearchPoint, high: LineSearchPoint
    while true {
        let point = evaluate(t)
        if !armijo(point) || (evaluations > 1 && point.value >= previous.value) {
            low = previous
            high = point
            break
        }
        if curvature(point) {
            objective.keepLast()
            return LineSearchResult(point: point, satisfied: true, evaluations: evaluations)
        }
        objective.keepLast()
        if point.slope >= 0 {
            low = point
            high = previous
            break
        }
        if evaluations >= maxEvaluations {
            return LineSearchResult(point: point, satisfied: false, evaluations: evaluations)
        }
        // Extrapolate: at least 1% beyond this step, at most 10 times it.
        t = cubicMinimizer(
            previous.step, previous.value, previous.slope, point.step, point.value, point.slope,
            lower: point.step + 0.01 * (point.step - previous.step), upper: point.step * 10)
        previous = point
    }

    // Algorithm 3.6: shrink the bracket. `low` always satisfies sufficient decrease
    // and has the lowest value seen among such points; the objective keeps its gradient.
    var insufficientProgress = false
    while evaluations < maxEvaluations {
        let lower = min(low.step, high.step), upper = max(low.step, high.step)
        if upper - lower < minimumWidth { break }
        // Both ends at phi(0)'s very value: the steps no longer change the rounded
        // objective, and a trial between them could pass the sufficient-decrease test
        // only by rounding (float32 near a minimum, where this saved ~10 evaluations).
        if low.value == value && high.value == value { break }
        var t = cubicMinimizer(
            low.step, low.value, low.slope, high.step, high.value, high.slope, lower: lower, upper: upper)
        // A trial too close to an end of the bracket makes little progress: after two
        // such trials in a row (or one at an end itself), move it 10% inside.
        let margin = 0.1 * (upper - lower)
        if min(upper - t, t - lower) < margin {
            if insufficientProgress || t >= upper || t <= lower {
                t = abs(t - upper) < abs(t - lower) ? upper - margin : lower + margin
                insufficientProgress = false
            } else {
                insufficientProgress = true
            }
        } else {
            insufficientProgress = false
        }
        let point = evaluate(t)
        if !armijo(point) || point.value >= low.value {
            high = point
        } else {
            if curvature(point) {
                objective.keepLast()
                return LineSearchResult(point: point, satisfied: true, evaluations: evaluations)
            }
            if point.slope * (high.step - low.step) >= 0 { high = low }
            low = point
            objective.keepLast()
        }
    }
    return LineSearchResult(point: low, satisfied: false, evaluations: evaluations)
}
