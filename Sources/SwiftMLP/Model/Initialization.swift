// Seeded weight initialisation. Weights are drawn uniformly from (-r, r) with the
// model's own xoshiro256** generator, in order: layer 0's W row by row, then layer 1's,
// and so on; biases start at zero. Each draw is u = nextUnitInterval() in [0, 1) and
// w = (2u - 1) * r computed in Double, then rounded to the network's Scalar, so a Float
// network and a Double network with the same seed start from the same numbers.

/// How initial weights are scaled. Raw values are the C header's `smlp_init` codes.
public enum Initialization: UInt8, Sendable, Equatable, CaseIterable {
    /// He for relu and leaky relu layers, Glorot for every other activation.
    case automatic = 0
    /// r = sqrt(6 / (fanIn + fanOut)) (Glorot & Bengio, 2010).
    case glorotUniform = 1
    /// r = sqrt(6 / fanIn) (He et al., 2015).
    case heUniform = 2
}

/// The half-width r of the uniform range for one layer.
func initializationRange(
    _ initialization: Initialization, activation: Activation, fanIn: Int, fanOut: Int
) -> Double {
    var scheme = initialization
    if scheme == .automatic {
        scheme = (activation == .relu || activation == .leakyReLU) ? .heUniform : .glorotUniform
    }
    switch scheme {
    case .heUniform: return (6.0 / Double(fanIn)).squareRoot()
    default: return (6.0 / Double(fanIn + fanOut)).squareRoot()
    }
}

/// Fills every weight of `parameters` and zeroes every bias.
func initializeParameters<Scalar: MLPScalar>(
    _ parameters: UnsafeMutablePointer<Scalar>, layout: ParameterLayout,
    activations: [Activation], initialization: Initialization,
    generator: inout Xoshiro256StarStar
) {
    for (l, layer) in layout.layers.enumerated() {
        let range = initializationRange(
            initialization, activation: activations[l], fanIn: layer.fanIn, fanOut: layer.fanOut)
        let weights = parameters + layer.weightOffset
        for index in 0..<(layer.fanIn * layer.fanOut) {
            let unit = generator.nextUnitInterval()
            weights[index] = Scalar((2 * unit - 1) * range)
        }
        (parameters + layer.biasOffset).update(repeating: 0, count: layer.fanOut)
    }
}
