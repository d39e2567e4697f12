// Tests of FANNData.swift: the shape line, values, FANN's layout, errors naming the
// line, and the writer's round trip (the C tests cover the C functions and files).

import XCTest
@testable import SwiftMLP

final class FANNDataTests: XCTestCase {

    func parse<S: MLPScalar>(_ text: String, _ type: S.Type) throws(MLPError) -> (FANNDataShape, [S], [S]) {
        var bytes = Array(text.utf8)
        var result: Result<(FANNDataShape, [S], [S]), MLPError> = .failure(MLPError(.badFormat, "not run"))
        bytes.withUnsafeMutableBytes { raw in
            let text = UnsafeRawBufferPointer(raw)
            do throws(MLPError) {
                let shape = try readFANNDataShape(text)
                var x = [S](repeating: 0, count: shape.rows * shape.inputs)
                var y = [S](repeating: 0, count: shape.rows * shape.outputs)
                var failure: MLPError? = nil
                x.withUnsafeMutableBufferPointer { xb in
                    y.withUnsafeMutableBufferPointer { yb in
                        do throws(MLPError) {
                            try readFANNData(text, shape: shape, inputs: xb.baseAddress!, outputs: yb.baseAddress!)
                        } catch { failure = error }
                    }
                }
                if let failure { throw failure }
                result = .success((shape, x, y))
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    func testReadsFANNsLayout() throws {
        let (shape, x, y) = try parse("2 3 1\n1 2.5 -3e-2 \n1 \n\r\n0\t0 0\r\n-1\n\n", Double.self)
        XCTAssertEqual(shape, FANNDataShape(rows: 2, inputs: 3, outputs: 1))
        XCTAssertEqual(x, [1, 2.5, -0.03, 0, 0, 0])
        XCTAssertEqual(y, [1, -1])
        let (_, xf, _) = try parse("1 1 1\n0.1\n0\n", Float.self)
        XCTAssertEqual(xf, [Float(0.1)], "read as float directly (no double rounding)")
    }

    func testErrorsNameTheLine() {
        let cases: [(String, String)] = [
            ("", "empty"), ("3 1\n", "line 1"), ("\n\n1 1 x\n", "line 3"),
            ("1 2 1\n0\n0\n", "line 2: expected the 2 input values of row 0, found 1"),
            ("1 1 1\n\n0\nzero\n", "line 4: \"zero\" (output 0 of row 0) is not a number"),
            ("1 2 1\n1\0junk 2\n3\n", "line 2:"),   // strtod would stop at the NUL and read 1
            ("2 1 1\n0.00\n0.00\n", "line 4: the file ends"),
            ("1 1 1\n0\n0\n0\n", "line 4: more data"),
            ("9999999 9999 9999\n", "need more than"),
        ]
        for (text, message) in cases {
            do {
                _ = try parse(text, Double.self)
                XCTFail("\(text.debugDescription) parsed")
            } catch {
                XCTAssertEqual(error.kind, .badFormat)
                XCTAssertTrue(error.message.contains(message), "\(error.message) lacks \(message)")
            }
        }
    }

    /// Negative or overflowing counts from a Swift caller throw instead of trapping.
    func testBadCountsThrow() {
        let x: [Double] = [0, 0]
        let path = NSTemporaryDirectory() + "/fann-bad-\(getpid()).data"
        x.withUnsafeBufferPointer { xb in
            for (rows, inputs, outputs) in [(-1, 1, 1), (1, -1, 1), (2, Int.max, 1), (Int.max, 2, 2)] {
                assertThrowsMLP(.invalidArgument) { () throws(MLPError) in
                    try saveFANNData(to: path, rows: rows, inputCount: inputs, outputCount: outputs,
                                     inputs: xb.baseAddress!, targets: .dense(xb.baseAddress!))
                }
            }
            var out = [Double](repeating: 0, count: 2)
            out.withUnsafeMutableBufferPointer { ob in
                let text = Array("1 1 1\n0\n0\n".utf8)
                text.withUnsafeBytes { bytes in
                    assertThrowsMLP(.invalidArgument) { () throws(MLPError) in
                        try readFANNData(bytes, shape: FANNDataShape(rows: -3, inputs: 1, outputs: 1),
                                         inputs: ob.baseAddress!, outputs: ob.baseAddress! + 1)
                    }
                }
            }
        }
        XCTAssertNotEqual(access(path, F_OK), 0, "nothing was written")
    }

    func testWriteThenReadIsBitExact() throws {
        let path = NSTemporaryDirectory() + "/fann-\(getpid()).data"
        defer { unlink(path) }
        let x: [Double] = [0.1, -1.0 / 3, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -0.0, 1e22]
        let labels: [Int32] = [1, 0, 2]
        try x.withUnsafeBufferPointer { xb throws(MLPError) in
            try labels.withUnsafeBufferPointer { lb throws(MLPError) in
                try saveFANNData(to: path, rows: 3, inputCount: 2, outputCount: 3, inputs: xb.baseAddress!,
                                 targets: .labels(lb.baseAddress!))
            }
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("3 2 3\n0.1 -0.3333333333333333\n0 1 0\n"), text)
        let (_, x2, y2) = try parse(text, Double.self)
        XCTAssertEqual(bits(x2), bits(x))
        XCTAssertEqual(y2, [0, 1, 0, 1, 0, 0, 0, 0, 1])
    }
}
