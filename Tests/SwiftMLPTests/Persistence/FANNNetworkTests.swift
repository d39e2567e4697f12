// Tests of FANNNetwork.swift at the engine level: where each FANN connection lands in
// the parameter layout (columns per receiving neuron, the bias neuron's weight in b,
// steepness folded with factor 2s for FANN_SIGMOID and s otherwise), connections
// listed in any order, CRLF files, and that thousands of mutated files are parsed or
// refused with an MLPError, never a trap (the parser is reachable from the C ABI).
// Tests/c/test_load_fann.c and test_fann_libfann.sh check the outputs.

import XCTest
@testable import SwiftMLP

/// A fann_save-style file: the lines the parser reads, plus a skipped setting.
private func fannText(
    layerSizes: String, neurons: String, connections: String, networkType: Int = 0,
    version: String = "FANN_FLO_2.1", newline: String = "\n"
) -> String {
    [version, "num_layers=\(layerSizes.split(separator: " ").count)", "learning_rate=0.700000",
     "network_type=\(networkType)", "layer_sizes=\(layerSizes)", "scale_included=0",
     "neurons (num_inputs, activation_function, activation_steepness)=\(neurons)",
     "connections (connected_to_neuron, weight)=\(connections)", ""].joined(separator: newline)
}

private func parse(_ text: String) throws(MLPError) -> FANNNetworkDescription {
    var bytes = Array(text.utf8)
    var result: Result<FANNNetworkDescription, MLPError> = .failure(MLPError(.badFormat, "unset"))
    bytes.withUnsafeBytes { buffer in
        do throws(MLPError) { result = .success(try parseFANNNetwork(buffer)) } catch { result = .failure(error) }
    }
    bytes.removeAll()
    return try result.get()
}

// 2 inputs (neurons 0, 1; bias 2), 2 hidden tanh (3, 4; bias 5) steepness 0.5 and 2,
// 1 sigmoid output (6; bias 7) steepness 0.25.
private let smallNeurons = "(0, 0, 0.0) (0, 0, 0.0) (0, 0, 0.0) (3, 5, 0.5) (3, 5, 2.0) (0, 5, 0.5) (3, 3, 0.25) (0, 3, 0.25) "
private let smallConnections = "(0, 1.0) (1, 2.0) (2, 3.0) (0, 4.0) (1, 5.0) (2, 6.0) (3, 7.0) (4, 8.0) (5, 9.0) "

final class FANNNetworkTests: XCTestCase {
    func testConnectionsLandInTheLayoutWithSteepnessFolded() throws {
        let description = try parse(fannText(layerSizes: "3 3 2 ", neurons: smallNeurons, connections: smallConnections))
        XCTAssertEqual(description.layerSizes, [2, 2, 1])
        XCTAssertEqual(description.activations, [.tanh, .sigmoid])
        // W0 (2 x 2): column j is hidden neuron j; tanh factor = steepness (0.5, 2).
        // b0: the bias neuron's weights. W1 (2 x 1), b1: sigmoid factor 2 * 0.25.
        XCTAssertEqual(description.parameters,
                       [1.0 * 0.5, 4.0 * 2, 2.0 * 0.5, 5.0 * 2, 3.0 * 0.5, 6.0 * 2, 7.0 * 0.5, 8.0 * 0.5, 9.0 * 0.5])
        let network = try Network<Double>(fann: description)
        XCTAssertEqual(network.configuration.leakyReLUSlope, 0.01)
        XCTAssertEqual(network.configuration.loss, .meanSquaredError)
        XCTAssertEqual(network.parameterValues, description.parameters)
    }

    func testConnectionOrderWithinANeuronDoesNotMatter() throws {
        let shuffled = "(2, 3.0) (0, 1.0) (1, 2.0) (1, 5.0) (2, 6.0) (0, 4.0) (5, 9.0) (4, 8.0) (3, 7.0) "
        let a = try parse(fannText(layerSizes: "3 3 2 ", neurons: smallNeurons, connections: smallConnections))
        let b = try parse(fannText(layerSizes: "3 3 2 ", neurons: smallNeurons, connections: shuffled))
        XCTAssertEqual(a, b)
    }

    func testCRLFAndVersion20() throws {
        let text = fannText(layerSizes: "3 3 2 ", neurons: smallNeurons, connections: smallConnections,
                            version: "FANN_FLO_2.0", newline: "\r\n")
        XCTAssertEqual(try parse(text).layerSizes, [2, 2, 1])
    }

    func testRefusalKinds() {
        assertThrowsMLP(.invalidArgument) { () throws(MLPError) in
            try parse(fannText(layerSizes: "3 3 2 ", neurons: smallNeurons, connections: smallConnections, networkType: 1))
        }
        assertThrowsMLP(.unsupportedVersion) { () throws(MLPError) in
            try parse(fannText(layerSizes: "3 3 2 ", neurons: smallNeurons, connections: smallConnections, version: "FANN_FIX_2.0"))
        }
        assertThrowsMLP(.badFormat) { () throws(MLPError) in try parse("") }
        // A NUL inside a weight: strtod would read "1.0" and drop the rest.
        assertThrowsMLP(.badFormat) { () throws(MLPError) in
            try parse(fannText(layerSizes: "3 3 2 ", neurons: smallNeurons,
                               connections: smallConnections.replacingOccurrences(of: "(0, 1.0)", with: "(0, 1.0\0x)")))
        }
        assertThrowsMLP(.badFormat) { () throws(MLPError) in
            try parse(fannText(layerSizes: "3 3 2 ", neurons: smallNeurons, connections: "(0, 1.0) "))
        }
        // A layer of 2^31 neurons: refused before anything that size is allocated.
        assertThrowsMLP(.badFormat) { () throws(MLPError) in
            try parse(fannText(layerSizes: "3 2147483649 2 ", neurons: smallNeurons, connections: smallConnections))
        }
        // Claimed widths whose weights would need terabytes, with a matching neuron
        // count nowhere near: refused on the neuron count.
        assertThrowsMLP(.badFormat) { () throws(MLPError) in
            try parse(fannText(layerSizes: "1000000 1000000 2 ", neurons: smallNeurons, connections: smallConnections))
        }
    }

    func testMutatedFilesNeverTrap() {
        let original = Array(fannText(layerSizes: "3 3 2 ", neurons: smallNeurons, connections: smallConnections).utf8)
        let pieces: [[UInt8]] = ["(", ")", ",", "=", " ", "\n", "-", "0", "1", "9", "e", ".", "nan", "inf",
                                 "99999999999999999999", "2147483648", "18", "19", "7"].map { Array($0.utf8) }
        var random = TestRandom(seed: 2024)
        var parsed = 0, refused = 0
        for _ in 0..<4000 {
            var bytes = original
            for _ in 0..<random.int(1...4) {
                let position = random.int(0...(bytes.count - 1))
                switch random.int(0...3) {
                case 0: bytes[position] = UInt8(truncatingIfNeeded: random.next())
                case 1: bytes.remove(at: position)
                case 2: bytes.insert(contentsOf: random.pick(pieces), at: position)
                default: bytes.removeSubrange(position...)
                }
                if bytes.isEmpty { bytes = [0x0A] }
            }
            do throws(MLPError) {
                let description = try parse(String(decoding: bytes, as: UTF8.self))
                _ = try Network<Float>(fann: description)
                parsed += 1
            } catch {
                XCTAssertFalse(error.message.isEmpty)
                refused += 1
            }
        }
        XCTAssertGreaterThan(refused, 1000)
        XCTAssertGreaterThan(parsed, 10)  // mutations inside skipped settings, or harmless digits
    }
}
