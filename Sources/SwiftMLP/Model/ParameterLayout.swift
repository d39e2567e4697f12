// Where every parameter lives in the one flat vector (llm.c style).
//
//   [ W_0 (n_0 x n_1, row-major) | b_0 (n_1) | W_1 (n_1 x n_2) | b_1 (n_2) | ... ]
//
// W_l[i][j] is at weightOffset + i * fanOut + j and connects input i to output j, so
// the forward pass is Z = X·W (no transpose) and the gradient vector shares the layout.

/// The shape of one fully-connected layer and its place in the parameter vector.
public struct LayerShape: Sendable, Equatable {
    /// Inputs to the layer: rows of W.
    public let fanIn: Int
    /// Outputs of the layer: columns of W and length of b.
    public let fanOut: Int
    /// Index of W[0][0] in the parameter vector.
    public let weightOffset: Int
    /// Index of b[0]: weightOffset + fanIn * fanOut.
    public var biasOffset: Int { weightOffset + fanIn * fanOut }
    /// Index one past b[fanOut - 1].
    public var endOffset: Int { biasOffset + fanOut }
}

/// The offsets of every layer for a list of layer widths.
public struct ParameterLayout: Sendable, Equatable {
    public let layers: [LayerShape]
    /// Total scalars: sum over layers of fanIn * fanOut + fanOut.
    public let parameterCount: Int
    /// The widest layer output, which sizes per-row scratch space.
    public let widestOutput: Int

    /// - Throws: `invalidArgument` for fewer than two widths or a width < 1;
    ///   `outOfMemory` when the count overflows `Int`.
    public init(layerSizes: [Int]) throws(MLPError) {
        guard layerSizes.count >= 2 else {
            throw MLPError(.invalidArgument,
                "a network needs at least 2 layer sizes (input and output), got \(layerSizes.count)")
        }
        for (index, size) in layerSizes.enumerated() where size < 1 || size > largestBLASDimension {
            throw MLPError(.invalidArgument,
                "layer size \(index) is \(size); each must be in 1...\(largestBLASDimension)")
        }
        var layers: [LayerShape] = []
        layers.reserveCapacity(layerSizes.count - 1)
        var offset = 0
        for l in 0..<(layerSizes.count - 1) {
            let fanIn = layerSizes[l], fanOut = layerSizes[l + 1]
            let (weights, overflowW) = fanIn.multipliedReportingOverflow(by: fanOut)
            let (withBias, overflowB) = weights.addingReportingOverflow(fanOut)
            let (next, overflowTotal) = offset.addingReportingOverflow(withBias)
            guard !overflowW, !overflowB, !overflowTotal else {
                throw MLPError(.outOfMemory, "the parameter count of layer sizes [\(layerSizes.map(String.init).joined(separator: ", "))] overflows")
            }
            layers.append(LayerShape(fanIn: fanIn, fanOut: fanOut, weightOffset: offset))
            offset = next
        }
        self.layers = layers
        self.parameterCount = offset
        self.widestOutput = layerSizes.dropFirst().max() ?? 1
    }
}

/// One layer as the hot path reads it: shape, offsets and activation in one POD
/// record, so a pass touches no Swift arrays.
struct LayerPlan {
    let fanIn: Int
    let fanOut: Int
    let weightOffset: Int
    let biasOffset: Int
    let activation: Activation
    /// The most rows for which the forward product stays off OpenBLAS:
    /// `productGoesToBLAS(m: rows, n: fanOut, k: fanIn)` is `rows > smallForwardRows`
    /// (for rows >= 1), one comparison a layer instead of the checked products.
    let smallForwardRows: Int
    /// The fused small layer for this activation, type and CPU (`denseRowsKernel`);
    /// nil for softmax.
    let denseRows: DenseRowsKernel?

    init(
        fanIn: Int, fanOut: Int, weightOffset: Int, biasOffset: Int, activation: Activation,
        denseRows: DenseRowsKernel?
    ) {
        self.denseRows = denseRows
        self.fanIn = fanIn
        self.fanOut = fanOut
        self.weightOffset = weightOffset
        self.biasOffset = biasOffset
        self.activation = activation
        // m n k <= limit exactly when m <= limit / (n k), for n k >= 1.
        let (weights, overflow) = fanIn.multipliedReportingOverflow(by: fanOut)
        smallForwardRows = overflow || weights < 1 || weights > smallProductLimit ? 0 : smallProductLimit / weights
    }
}
