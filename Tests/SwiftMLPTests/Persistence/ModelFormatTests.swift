// Tests of ModelFormat.swift from Swift: a network serialized and read back is the
// same network (parameters, optimizer state, epoch, generator, scaler, metadata),
// predicts the same bits and trains on exactly as the original would; and a damaged
// buffer is refused with the right error kind. (The C tests check the same through
// smlp_save/smlp_load; these keep the engine's own API honest.)

import XCTest
@testable import SwiftMLP

final class ModelFormatTests: XCTestCase {

    func testRoundTripKeepsEverything() throws {
        try checkRoundTrip(Float.self)
        try checkRoundTrip(Double.self)
    }

    func checkRoundTrip<Scalar: MLPScalar>(_: Scalar.Type) throws {
        let original = try Network<Scalar>(NetworkConfiguration(
            layerSizes: [3, 5, 4], activations: [.leakyReLU, .softmax], loss: .softmaxCrossEntropy,
            reduction: .sum, seed: 17, leakyReLUSlope: 0.05))
        var adam = OptimizerConfiguration(kind: .adam)
        adam.learningRate = 0.01
        try original.setOptimizer(adam)
        try original.setScaler(InputScaler(mean: [0.5, -1, 2], standardDeviation: [2, 0.5, 1]))
        try original.setMetadata(key: "features", value: "a,b,c")
        var random = TestRandom(seed: 3)
        let x = random.array(6 * 3, -1, 1).map { Scalar($0) }
        var y = [Scalar](repeating: 0, count: 6 * 4)
        for row in 0..<6 { y[row * 4 + row % 4] = 1 }
        for _ in 0..<3 { try original.step(inputs: x, targets: y) }
        original.epoch = 7

        let copy = try roundTrip(original)
        XCTAssertTrue(bitsEqual(copy.parameterValues, original.parameterValues), "\(Scalar.self) parameters")
        XCTAssertEqual(copy.optimizerStepCount, 3)
        XCTAssertEqual(copy.optimizerConfiguration.kind, .adam)
        XCTAssertEqual(copy.optimizerConfiguration.learningRate, 0.01)
        XCTAssertEqual(copy.epoch, 7)
        XCTAssertEqual(copy.generator, original.generator)
        XCTAssertEqual(copy.scaler?.mean, [0.5, -1, 2])
        XCTAssertEqual(copy.scaler?.standardDeviation, [2, 0.5, 1])
        XCTAssertEqual(copy.metadata.map(\.key), ["features"])
        XCTAssertEqual(copy.metadata.map(\.value), ["a,b,c"])
        XCTAssertEqual(copy.configuration.reduction, .sum)
        XCTAssertEqual(copy.configuration.leakyReLUSlope, 0.05)
        XCTAssertTrue(bitsEqual(try copy.predict(x), try original.predict(x)), "\(Scalar.self) predictions")

        // Training resumes exactly: Adam's moments and step count came along.
        for _ in 0..<2 {
            try original.step(inputs: x, targets: y)
            try copy.step(inputs: x, targets: y)
        }
        XCTAssertTrue(bitsEqual(copy.parameterValues, original.parameterValues), "\(Scalar.self) after 2 more steps")
    }

    /// `deserializeNetwork` over an array's bytes, keeping the typed error.
    func read(_ bytes: [UInt8]) throws(MLPError) -> AnyNetwork {
        var result: Result<AnyNetwork, MLPError> = .failure(MLPError(.badFormat, "not read"))
        bytes.withUnsafeBytes { raw in
            do throws(MLPError) { result = .success(try deserializeNetwork(raw)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    func roundTrip<Scalar: MLPScalar>(_ network: Network<Scalar>) throws -> Network<Scalar> {
        let bytes = try network.serialized()
        XCTAssertEqual(bytes.count, try network.serializedSize())
        let loaded = try read(bytes)
        switch loaded {
        case .float32(let float32 as Network<Scalar>): return float32
        case .float64(let float64 as Network<Scalar>): return float64
        default:
            XCTFail("read back as the other dtype")
            throw MLPError(.badFormat, "dtype")
        }
    }

    /// Every truncation, and a flipped bit anywhere, is refused (the CRC covers the
    /// header and the payload); the kinds are the ones the header documents.
    func testDamagedBuffersAreRefused() throws {
        let network = try Network<Double>(NetworkConfiguration(
            layerSizes: [2, 3, 1], activations: [.tanh, .sigmoid], loss: .binaryCrossEntropy, seed: 1))
        let bytes = try network.serialized()
        for length in [0, 8, 23, 24, bytes.count / 2, bytes.count - 1] {
            assertThrowsMLP(.badFormat, "truncated to \(length) bytes") { () throws(MLPError) in
                _ = try read(Array(bytes[0..<length]))
            }
        }
        for position in stride(from: 0, to: bytes.count, by: 7) where !(8..<12).contains(position) {
            var damaged = bytes
            damaged[position] ^= 0x10
            assertThrowsMLP(.badFormat, "bit flipped at \(position)") { () throws(MLPError) in
                _ = try read(damaged)
            }
        }
        // A newer major version is its own error, before any checksum.
        var newer = bytes
        newer[8] = 2
        assertThrowsMLP(.unsupportedVersion, "major version 2") { () throws(MLPError) in
            _ = try read(newer)
        }
    }
}
