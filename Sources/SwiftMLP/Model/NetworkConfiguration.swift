// The description of a network: what `Network.init` needs, checked in one place.

/// Layer widths, activations, loss and initialisation of a multilayer perceptron.
public struct NetworkConfiguration: Sendable, Equatable {
    /// Widths, input first: `[2, 4, 1]` is 2 inputs, a hidden layer of 4, 1 output.
    public var layerSizes: [Int]
    /// One per weight layer (`layerSizes.count - 1`); softmax only on the last.
    public var activations: [Activation]
    public var loss: Loss
    public var reduction: Reduction
    public var initialization: Initialization
    /// Seeds the network's generator: same seed, same initial weights, bit for bit.
    public var seed: UInt64
    /// The negative-side slope of `.leakyReLU`; finite and >= 0.
    public var leakyReLUSlope: Double

    public init(
        layerSizes: [Int], activations: [Activation], loss: Loss,
        reduction: Reduction = .mean, initialization: Initialization = .automatic,
        seed: UInt64 = 0, leakyReLUSlope: Double = 0.01
    ) {
        self.layerSizes = layerSizes
        self.activations = activations
        self.loss = loss
        self.reduction = reduction
        self.initialization = initialization
        self.seed = seed
        self.leakyReLUSlope = leakyReLUSlope
    }

    /// The parameter layout, after checking that the configuration describes a
    /// network the engine can train.
    public func validatedLayout() throws(MLPError) -> ParameterLayout {
        let layout = try ParameterLayout(layerSizes: layerSizes)
        guard activations.count == layerSizes.count - 1 else {
            throw MLPError(.invalidArgument,
                "\(layerSizes.count) layer sizes need \(layerSizes.count - 1) activations, got \(activations.count)")
        }
        for (index, activation) in activations.dropLast().enumerated() where activation == .softmax {
            throw MLPError(.invalidArgument,
                "softmax is allowed on the output layer only, but layer \(index) uses it")
        }
        guard leakyReLUSlope.isFinite, leakyReLUSlope >= 0 else {
            throw MLPError(.invalidArgument, "leaky_relu_slope is \(leakyReLUSlope.messageText); it must be finite and >= 0")
        }
        let output = activations[activations.count - 1]
        switch loss {
        case .meanSquaredError, .fannTanhError:
            break
        case .binaryCrossEntropy:
            guard output == .sigmoid else {
                throw MLPError(.invalidArgument,
                    "binary cross-entropy needs a sigmoid output layer, but the last activation is \(output)")
            }
        case .softmaxCrossEntropy:
            guard output == .softmax else {
                throw MLPError(.invalidArgument,
                    "softmax cross-entropy needs a softmax output layer, but the last activation is \(output)")
            }
            guard layerSizes[layerSizes.count - 1] >= 2 else {
                throw MLPError(.invalidArgument, "softmax cross-entropy needs at least 2 outputs")
            }
        case .poisson:
            guard output == .identity else {
                throw MLPError(.invalidArgument,
                    "poisson needs an identity output layer (its output is the log of the mean), "
                    + "but the last activation is \(output)")
            }
        }
        return layout
    }

    public var inputCount: Int { layerSizes.first ?? 0 }
    public var outputCount: Int { layerSizes.last ?? 0 }
}
