// The Swift example in README.md, verbatim apart from the assertions, so the README
// cannot drift from the API.

import XCTest
import SwiftMLP

final class ReadmeExampleTests: XCTestCase {
    func testReadmeSwiftExampleLearnsXOR() throws {
        let network = try Network<Double>(NetworkConfiguration(
            layerSizes: [2, 4, 1], activations: [.tanh, .sigmoid], loss: .binaryCrossEntropy, seed: 42))
        var optimizer = OptimizerConfiguration(kind: .sgd)
        optimizer.learningRate = 0.5
        optimizer.momentum = 0.9
        try network.setOptimizer(optimizer)
        for _ in 0..<500 {
            try network.step(inputs: [0, 0, 0, 1, 1, 0, 1, 1], targets: [0, 1, 1, 0])
        }
        let predictions = try network.predict([0, 0, 0, 1, 1, 0, 1, 1])
        // XOR learned: each prediction on the right side of 0.5 with a wide margin.
        XCTAssertLessThan(predictions[0], 0.1)
        XCTAssertGreaterThan(predictions[1], 0.9)
        XCTAssertGreaterThan(predictions[2], 0.9)
        XCTAssertLessThan(predictions[3], 0.1)
        XCTAssertGreaterThan(try network.predict([0, 1])[0], 0.9)
    }
}
