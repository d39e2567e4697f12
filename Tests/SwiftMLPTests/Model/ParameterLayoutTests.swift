// Tests of ParameterLayout.swift: offsets, counts, widest output, validation, and that
// W_l[i][j] (at weightOffset + i * fanOut + j) really connects input i to output j.

import XCTest
@testable import SwiftMLP

final class ParameterLayoutTests: XCTestCase {

    func testOffsetsAndCounts() throws {
        let layout = try ParameterLayout(layerSizes: [2, 3, 1])
        XCTAssertEqual(layout.layers, [LayerShape(fanIn: 2, fanOut: 3, weightOffset: 0),
                                       LayerShape(fanIn: 3, fanOut: 1, weightOffset: 9)])
        XCTAssertEqual(layout.layers[0].biasOffset, 6)
        XCTAssertEqual(layout.layers[0].endOffset, 9)
        XCTAssertEqual(layout.layers[1].biasOffset, 12)
        XCTAssertEqual(layout.layers[1].endOffset, 13)
        XCTAssertEqual(layout.parameterCount, 13)
        XCTAssertEqual(layout.widestOutput, 3)

        var random = TestRandom(seed: 31)
        for _ in 0..<50 {
            let sizes = (0..<random.int(2...6)).map { _ in random.int(1...20) }
            let layout = try ParameterLayout(layerSizes: sizes)
            let reference = ReferenceLayout(sizes)
            XCTAssertEqual(layout.parameterCount, reference.count)
            XCTAssertEqual(layout.layers.map(\.weightOffset), reference.weightOffsets)
            XCTAssertEqual(layout.layers.map(\.biasOffset), reference.biasOffsets)
            XCTAssertEqual(layout.layers.last!.endOffset, reference.count)
            XCTAssertEqual(layout.widestOutput, sizes.dropFirst().max())
            // Contiguous, non-overlapping segments.
            for l in 1..<layout.layers.count { XCTAssertEqual(layout.layers[l].weightOffset, layout.layers[l - 1].endOffset) }
        }
    }

    func testInvalidSizes() {
        assertThrowsMLP(.invalidArgument, "no sizes") { () throws(MLPError) in try ParameterLayout(layerSizes: []) }
        assertThrowsMLP(.invalidArgument, "one size") { () throws(MLPError) in try ParameterLayout(layerSizes: [3]) }
        assertThrowsMLP(.invalidArgument, "zero width") { () throws(MLPError) in try ParameterLayout(layerSizes: [3, 0, 2]) }
        assertThrowsMLP(.invalidArgument, "zero input") { () throws(MLPError) in try ParameterLayout(layerSizes: [0, 2]) }
        assertThrowsMLP(.invalidArgument, "negative width") { () throws(MLPError) in try ParameterLayout(layerSizes: [3, -1]) }
        assertThrowsMLP(.invalidArgument, "beyond BLAS int") { () throws(MLPError) in
            try ParameterLayout(layerSizes: [2, Int(Int32.max) + 1])
        }
        // Each width fits BLAS, but the count overflows Int: 4 layers of ~2^62 each.
        let huge = Int(Int32.max)
        assertThrowsMLP(.outOfMemory, "count overflow") { () throws(MLPError) in
            try ParameterLayout(layerSizes: [huge, huge, huge, huge, huge])
        }
    }

    /// Setting the single weight at weightOffset + i * fanOut + j of an identity layer
    /// makes output j equal to input i times that weight.
    func testWeightIndexConnectsInputToOutput() throws {
        let net = try Network<Double>(NetworkConfiguration(
            layerSizes: [3, 4], activations: [.identity], loss: .meanSquaredError))
        let x = [2.0, 3.0, 5.0]
        for i in 0..<3 {
            for j in 0..<4 {
                var p = [Double](repeating: 0, count: net.parameterCount)
                p[net.layout.layers[0].weightOffset + i * 4 + j] = 1
                p[net.layout.layers[0].biasOffset + j] = 0.5
                try net.setParameters(p)
                var expected = [Double](repeating: 0, count: 4)
                expected[j] = x[i] + 0.5
                XCTAssertEqual(try net.predict(x), expected, "W[\(i)][\(j)]")
            }
        }
    }

    /// `LayerPlan.smallForwardRows` answers `productGoesToBLAS` for the forward
    /// product of a layer with one comparison: rows > smallForwardRows exactly when
    /// the product goes to OpenBLAS, for layer shapes around the limit (and past it
    /// in one dimension) and batches on both sides of each one's switch.
    func testSmallForwardRowsIsTheForwardPathSwitch() {
        let limit = smallProductLimit
        let widths = [1, 2, 3, 4, 15, 16, 17, 63, 64, 65, limit - 1, limit, limit + 1, 1 << 20]
        for fanIn in widths {
            for fanOut in widths {
                let plan = LayerPlan(fanIn: fanIn, fanOut: fanOut, weightOffset: 0, biasOffset: 0, activation: .sigmoid,
                                     denseRows: nil)
                var batches = [1, 2, 3, 4, 5, 63, 64, 65, limit, limit + 1]
                if plan.smallForwardRows > 0 { batches += [plan.smallForwardRows, plan.smallForwardRows + 1] }
                for rows in batches {
                    XCTAssertEqual(rows > plan.smallForwardRows, productGoesToBLAS(m: rows, n: fanOut, k: fanIn),
                                   "rows \(rows) fanIn \(fanIn) fanOut \(fanOut)")
                }
            }
        }
    }
}
