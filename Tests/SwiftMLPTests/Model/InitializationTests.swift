// Tests of Initialization.swift: seeded, reproducible weights in the Glorot / He
// range of each layer, zero biases, the documented draw order, and Float networks
// starting from exactly the Float rounding of the Double network's weights.

import Foundation
import XCTest
@testable import SwiftMLP

final class InitializationTests: XCTestCase {

    let sizes = [5, 7, 3, 4, 2]
    let activations: [Activation] = [.relu, .tanh, .leakyReLU, .softmax]

    func network<S: MLPScalar>(_ type: S.Type, seed: UInt64, initialization: Initialization = .automatic) throws -> Network<S> {
        try Network<S>(NetworkConfiguration(
            layerSizes: sizes, activations: activations, loss: .softmaxCrossEntropy,
            initialization: initialization, seed: seed))
    }

    func testSameSeedSameParametersDifferentSeedDifferent() throws {
        let a = try network(Double.self, seed: 42), b = try network(Double.self, seed: 42)
        let c = try network(Double.self, seed: 43)
        XCTAssertEqual(bits(a.parameterValues), bits(b.parameterValues))
        XCTAssertNotEqual(a.parameterValues, c.parameterValues)
        // Different seeds share (almost) no weight.
        let shared = zip(a.parameterValues, c.parameterValues).filter { $0 == $1 && $0 != 0 }.count
        XCTAssertEqual(shared, 0)
        let f1 = try network(Float.self, seed: 42), f2 = try network(Float.self, seed: 42)
        XCTAssertEqual(bits(f1.parameterValues), bits(f2.parameterValues))
        // Default seed (0) is reproducible too.
        let d1 = try Network<Double>(NetworkConfiguration(layerSizes: [3, 2], activations: [.sigmoid], loss: .binaryCrossEntropy))
        let d2 = try Network<Double>(NetworkConfiguration(layerSizes: [3, 2], activations: [.sigmoid], loss: .binaryCrossEntropy))
        XCTAssertEqual(bits(d1.parameterValues), bits(d2.parameterValues))
    }

    /// Biases are exactly zero; weights of layer l are in [-r, r] with r = sqrt(6/fanIn)
    /// (He) for relu/leaky layers and sqrt(6/(fanIn+fanOut)) (Glorot) otherwise under
    /// `.automatic`; the explicit schemes apply to every layer. The draws also fill the
    /// range (the largest |w| of all layers together exceeds r/2 for each scheme).
    func testBiasesZeroAndWeightsWithinRange() throws {
        for initialization in Initialization.allCases {
            for seed: UInt64 in [0, 1, 12345, .max] {
                let net = try network(Double.self, seed: seed, initialization: initialization)
                let p = net.parameterValues
                let layout = ReferenceLayout(sizes)
                for l in 0..<(sizes.count - 1) {
                    let fanIn = Double(sizes[l]), fanOut = Double(sizes[l + 1])
                    let he: Bool
                    switch initialization {
                    case .automatic: he = activations[l] == .relu || activations[l] == .leakyReLU
                    case .heUniform: he = true
                    case .glorotUniform: he = false
                    }
                    let r = he ? sqrt(6 / fanIn) : sqrt(6 / (fanIn + fanOut))
                    let weights = p[layout.weightOffsets[l]..<layout.biasOffsets[l]]
                    XCTAssertTrue(weights.allSatisfy { abs($0) <= r }, "\(initialization) layer \(l) range \(r): \(Array(weights))")
                    XCTAssertTrue(weights.allSatisfy { $0 != 0 })
                    let biases = p[layout.biasOffsets[l]..<(layout.biasOffsets[l] + sizes[l + 1])]
                    XCTAssertTrue(biases.allSatisfy { $0.bitPattern == 0 }, "biases must be +0, layer \(l)")
                }
            }
        }
        // Range filling and both signs on a larger layer: 2000 draws of U(-r, r).
        let big = try Network<Double>(NetworkConfiguration(
            layerSizes: [40, 50], activations: [.tanh], loss: .meanSquaredError, seed: 3))
        let r = sqrt(6.0 / 90)
        let w = big.parameterValues[0..<2000]
        XCTAssertGreaterThan(w.max()!, 0.99 * r)
        XCTAssertLessThan(w.min()!, -0.99 * r)
        // Mean of 2000 U(-r, r): sd = r / sqrt(3 * 2000) ~ 0.013 r; 5 sd.
        XCTAssertEqual(w.reduce(0, +) / 2000, 0, accuracy: 0.065 * r)
    }

    /// The documented draw: layer by layer, W row by row, w = (2u - 1) r in Double with
    /// u = nextUnitInterval() of xoshiro256** seeded with the network's seed (reference
    /// generator from SplitMixXoshiroTests). Exact: the same Double operations.
    func testWeightsFollowDocumentedDrawOrder() throws {
        let seed: UInt64 = 987_654_321
        let net = try network(Double.self, seed: seed)
        var reference = ReferenceXoshiro256StarStar(seed: seed)
        var expected: [Double] = []
        for l in 0..<(sizes.count - 1) {
            let fanIn = Double(sizes[l]), fanOut = Double(sizes[l + 1])
            let r = (activations[l] == .relu || activations[l] == .leakyReLU) ? (6 / fanIn).squareRoot()
                                                                                : (6 / (fanIn + fanOut)).squareRoot()
            for _ in 0..<(sizes[l] * sizes[l + 1]) { expected.append((2 * reference.nextDouble() - 1) * r) }
            expected += [Double](repeating: 0, count: sizes[l + 1])
        }
        XCTAssertEqual(bits(net.parameterValues), bits(expected))
        // The generator left in the network continues where initialisation stopped.
        var engineGenerator = net.generator
        XCTAssertEqual(engineGenerator.next(), reference.next())
    }

    /// Float network parameters are exactly Float(Double network parameters): the draw
    /// is done in Double and rounded once.
    func testFloatParametersAreRoundedDoubleParameters() throws {
        for initialization in Initialization.allCases {
            for seed: UInt64 in [0, 7, 1 << 63] {
                let d = try network(Double.self, seed: seed, initialization: initialization)
                let f = try network(Float.self, seed: seed, initialization: initialization)
                XCTAssertEqual(bits(f.parameterValues), bits(d.parameterValues.map { Float($0) }))
            }
        }
    }

    /// The range helper itself.
    func testInitializationRange() {
        XCTAssertEqual(initializationRange(.automatic, activation: .relu, fanIn: 6, fanOut: 2), 1)
        XCTAssertEqual(initializationRange(.automatic, activation: .leakyReLU, fanIn: 24, fanOut: 2), 0.5)
        XCTAssertEqual(initializationRange(.automatic, activation: .tanh, fanIn: 4, fanOut: 2), 1)
        XCTAssertEqual(initializationRange(.automatic, activation: .softmax, fanIn: 20, fanOut: 4), 0.5)
        XCTAssertEqual(initializationRange(.heUniform, activation: .sigmoid, fanIn: 6, fanOut: 100), 1)
        XCTAssertEqual(initializationRange(.glorotUniform, activation: .relu, fanIn: 3, fanOut: 3), 1)
    }
}
