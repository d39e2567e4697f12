// Tests of ByteText.swift: byte comparison, ASCII upper case and message quoting, and
// metadata keys compared byte for byte.

import XCTest
@testable import SwiftMLP

final class ByteTextTests: XCTestCase {
    let precomposed = "caf\u{E9}", decomposed = "cafe\u{301}"   // two spellings of "café"

    func testSameBytesIsByteEqualityNotCanonicalEquivalence() {
        XCTAssertTrue("FANN_FLO_2.1".hasSameBytes(as: "FANN_FLO_2.1"))
        XCTAssertTrue(Substring("xFANN_FLO_2.1").dropFirst().hasSameBytes(as: "FANN_FLO_2.1"))
        XCTAssertFalse("FANN_FLO_2.1".hasSameBytes(as: "FANN_FLO_2.10"))
        XCTAssertFalse("".hasSameBytes(as: " "))
        XCTAssertEqual(precomposed, decomposed)   // what == says
        XCTAssertFalse(precomposed.hasSameBytes(as: decomposed))
    }

    func testAsciiUppercasedChangesOnlyASCIILetters() {
        XCTAssertEqual("my_net2".asciiUppercased(), "MY_NET2")
        XCTAssertEqual("az_AZ09{}`@".asciiUppercased(), "AZ_AZ09{}`@")
        XCTAssertTrue("\u{E9}a".asciiUppercased().hasSameBytes(as: "\u{E9}A"))
    }

    func testQuotedCutsAfterFortyBytes() {
        let forty = String(repeating: "x", count: 40)
        XCTAssertEqual(quoted(forty), "\"\(forty)\"")
        XCTAssertEqual(quoted(forty + "yz"), "\"\(forty)...\"")
        XCTAssertEqual(quoted(Substring("ab")), "\"ab\"")
        // A cut inside a two-byte character leaves a replacement character, not a trap.
        let cut = quoted(String(repeating: "x", count: 39) + "\u{E9}")
        XCTAssertEqual(cut, "\"\(String(repeating: "x", count: 39))\u{FFFD}...\"")
    }

    func testMetadataKeysAreComparedByteForByte() throws {
        let network = try Network<Float>(NetworkConfiguration(
            layerSizes: [2, 1], activations: [.identity], loss: .meanSquaredError))
        try network.setMetadata(key: precomposed, value: "1")
        try network.setMetadata(key: decomposed, value: "2")
        XCTAssertEqual(network.metadata.count, 2)
        try network.setMetadata(key: precomposed, value: "3")
        XCTAssertEqual(network.metadata.map(\.value), ["3", "2"])
        try network.setMetadata(key: decomposed, value: nil)
        XCTAssertEqual(network.metadata.count, 1)
        XCTAssertTrue(network.metadata[0].key.hasSameBytes(as: precomposed))
    }
}
