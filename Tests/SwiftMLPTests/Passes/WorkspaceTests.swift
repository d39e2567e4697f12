// Tests of Workspace.swift: every matrix of the training workspace starts on a
// cache line, whatever the batch size, and no two overlap.

import XCTest
@testable import SwiftMLP

final class WorkspaceTests: XCTestCase {
    func testMatricesStartOnCacheLinesAndDoNotOverlap() throws {
        try checkMatrices(Float.self)
        try checkMatrices(Double.self)
    }

    func checkMatrices<Scalar: MLPScalar>(_: Scalar.Type) throws {
        // Widths and batch sizes that are not multiples of a cache line.
        let layout = try ParameterLayout(layerSizes: [13, 7, 5, 3])
        for rows in [1, 3, 37, 64, 100] {
            let workspace = Workspace<Scalar>(layerCount: layout.layers.count)
            try workspace.reserve(rows: rows, layout: layout)
            var matrices: [(start: Int, count: Int, name: String)] = []
            for (l, layer) in layout.layers.enumerated() {
                matrices.append((Int(bitPattern: workspace.z(l)), rows * layer.fanOut, "z\(l)"))
                matrices.append((Int(bitPattern: workspace.a(l)), rows * layer.fanOut, "a\(l)"))
                matrices.append((Int(bitPattern: workspace.dz(l)), rows * layer.fanOut, "dz\(l)"))
            }
            matrices.append((Int(bitPattern: workspace.upstream), rows * layout.widestOutput, "upstream"))
            matrices.append((Int(bitPattern: workspace.scaledInputs), rows * layout.layers[0].fanIn, "scaled"))
            matrices.append((Int(bitPattern: workspace.product), rows * layout.widestOutput, "product"))
            let stride = MemoryLayout<Scalar>.stride
            for (index, matrix) in matrices.enumerated() {
                XCTAssertEqual(matrix.start % 64, 0, "\(Scalar.self) rows \(rows): \(matrix.name)")
                if index > 0 {
                    let previous = matrices[index - 1]
                    XCTAssertGreaterThanOrEqual(
                        matrix.start, previous.start + previous.count * stride,
                        "\(Scalar.self) rows \(rows): \(matrix.name) overlaps \(previous.name)")
                }
                // Every scalar of every matrix is writable (ASan/valgrind see overruns).
                let pointer = UnsafeMutablePointer<Scalar>(bitPattern: matrix.start)!
                pointer.update(repeating: 1, count: matrix.count)
            }
        }
    }

    /// The inference workspace's two ping-pong buffers and its scaled inputs too.
    func testInferenceBuffersStartOnCacheLines() throws {
        try checkInferenceBuffers(Float.self)
        try checkInferenceBuffers(Double.self)
    }

    func checkInferenceBuffers<Scalar: MLPScalar>(_: Scalar.Type) throws {
        for rows in [1, 3, 37, 64] {
            var workspace = InferenceWorkspace<Scalar>()
            try workspace.reserve(rows: rows, widest: 7, inputs: 13)
            let first = workspace.buffer(0), second = workspace.buffer(1), scaled = workspace.scaledInputs
            for (pointer, name) in [(first, "buffer 0"), (second, "buffer 1"), (scaled, "scaled")] {
                XCTAssertEqual(Int(bitPattern: pointer) % 64, 0, "\(Scalar.self) rows \(rows): \(name)")
            }
            XCTAssertGreaterThanOrEqual(second - first, rows * 7)
            XCTAssertGreaterThanOrEqual(scaled - second, rows * 7)
            first.update(repeating: 1, count: rows * 7)
            second.update(repeating: 1, count: rows * 7)
            scaled.update(repeating: 1, count: rows * 13)
        }
    }
}
