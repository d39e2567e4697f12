// FANN's training data files (fann_read_train_from_file, fann_save_train): text, a
// first line "rows inputs outputs", then for every row a line of its input values and
// a line of its output values, separated by spaces or tabs:
//
//     4 2 1
//     0 0
//     0
//     0 1
//     1
//     ...
//
// Reading is stricter than FANN's fscanf loop, which takes any whitespace layout: each
// vector must be on its own line, so that a missing or extra value is reported on the
// line where it is (FANN would silently shift every later value). Blank lines and
// "\r\n" line ends are accepted; anything after the last row but blank lines is an
// error. Values are decimal numbers as C's strtod reads them in the "C" locale, and
// must be finite in the data set's type. Writing gives each value's shortest
// round-trip decimal form, which FANN's float and double builds both read back.

import CShim

/// The first line of a FANN data file.
public struct FANNDataShape: Sendable, Equatable {
    public var rows: Int
    public var inputs: Int
    public var outputs: Int

    public init(rows: Int, inputs: Int, outputs: Int) {
        self.rows = rows
        self.inputs = inputs
        self.outputs = outputs
    }
}

/// Splits text into lines (1-based numbers) and lines into whitespace-separated tokens.
private struct LineCursor {
    let text: UnsafeRawBufferPointer
    var position = 0
    var lineNumber = 0

    /// The next line that is not blank, with its number; nil at the end of the text.
    mutating func nextLine() -> Range<Int>? {
        while position < text.count {
            lineNumber += 1
            let start = position
            var end = start
            while end < text.count && text[end] != UInt8(ascii: "\n") { end += 1 }
            position = end + 1
            var trimmed = end
            if trimmed > start && text[trimmed - 1] == UInt8(ascii: "\r") { trimmed -= 1 }
            let line = start..<trimmed
            if tokens(line).first != nil { return line }
        }
        return nil
    }

    /// The tokens of a line.
    func tokens(_ line: Range<Int>) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var i = line.lowerBound
        while i < line.upperBound {
            while i < line.upperBound && isSpace(text[i]) { i += 1 }
            let start = i
            while i < line.upperBound && !isSpace(text[i]) { i += 1 }
            if i > start { result.append(start..<i) }
        }
        return result
    }

    func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: text[range]), as: UTF8.self)
    }

    private func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
            || byte == 0x0B || byte == 0x0C
    }
}

/// Reads the first line and checks that the values it announces can fit in the text
/// (each needs at least two bytes), before anyone allocates for them.
/// - Throws: `badFormat` naming line 1.
public func readFANNDataShape(_ text: UnsafeRawBufferPointer) throws(MLPError) -> FANNDataShape {
    var cursor = LineCursor(text: text)
    guard let line = cursor.nextLine() else {
        throw MLPError(.badFormat, "the file is empty; a FANN data file starts with a line \"rows inputs outputs\"")
    }
    let tokens = cursor.tokens(line)
    let values = tokens.map { UInt64(cursor.string($0)) }
    guard tokens.count == 3, let rows = values[0], let inputs = values[1], let outputs = values[2] else {
        throw MLPError(.badFormat,
            "line \(cursor.lineNumber): expected \"rows inputs outputs\" (three whole numbers), found \(quoted(cursor.string(line)))")
    }
    guard rows >= 1, inputs >= 1, outputs >= 1, rows <= UInt64(Int32.max),
          inputs <= UInt64(Int32.max), outputs <= UInt64(Int32.max) else {
        throw MLPError(.badFormat,
            "line \(cursor.lineNumber): rows \(rows), inputs \(inputs), outputs \(outputs); each must be in 1...\(Int32.max)")
    }
    let (perRow, overflow1) = Int(inputs).addingReportingOverflow(Int(outputs))
    let (values2, overflow2) = perRow.multipliedReportingOverflow(by: Int(rows))
    guard !overflow1, !overflow2, values2 <= (text.count - line.upperBound) / 2 + 1 else {
        throw MLPError(.badFormat,
            "line \(cursor.lineNumber): \(rows) rows of \(inputs) + \(outputs) values need more than the \(text.count) bytes of the file")
    }
    return FANNDataShape(rows: Int(rows), inputs: Int(inputs), outputs: Int(outputs))
}

/// Reads every value of a FANN data file into `inputs` (rows x inputs) and `outputs`
/// (rows x outputs), row-major, for the shape `readFANNDataShape` returned. On failure
/// the two buffers hold a partial read.
/// - Throws: `badFormat` naming the line and what is wrong there; `invalidArgument`
///   for a shape with a negative count.
public func readFANNData<Scalar: MLPScalar>(
    _ text: UnsafeRawBufferPointer, shape: FANNDataShape,
    inputs: UnsafeMutablePointer<Scalar>, outputs: UnsafeMutablePointer<Scalar>
) throws(MLPError) {
    guard shape.rows >= 0, shape.inputs >= 0, shape.outputs >= 0 else {
        throw MLPError(.invalidArgument, "the shape \(shape.rows) x (\(shape.inputs) + \(shape.outputs)) has a negative count")
    }
    var cursor = LineCursor(text: text)
    _ = cursor.nextLine()
    let typeName = Scalar.dtype == .float32 ? "float" : "double"
    for row in 0..<shape.rows {
        for (part, width, destination) in [("input", shape.inputs, inputs), ("output", shape.outputs, outputs)] {
            guard let line = cursor.nextLine() else {
                throw MLPError(.badFormat,
                    "line \(cursor.lineNumber + 1): the file ends at row \(row) (0-based) of the \(shape.rows) rows the first line announces (expected its \(part) line)")
            }
            let tokens = cursor.tokens(line)
            guard tokens.count == width else {
                throw MLPError(.badFormat,
                    "line \(cursor.lineNumber): expected the \(width) \(part) values of row \(row), found \(tokens.count)")
            }
            for (column, token) in tokens.enumerated() {
                let text = cursor.string(token)
                guard let value = parseScalar(text, as: Scalar.self) else {
                    throw MLPError(.badFormat,
                        "line \(cursor.lineNumber): \(quoted(text)) (\(part) \(column) of row \(row)) is not a number")
                }
                guard value.isFinite else {
                    throw MLPError(.badFormat,
                        "line \(cursor.lineNumber): \(quoted(text)) (\(part) \(column) of row \(row)) is not finite in \(typeName)")
                }
                destination[row * width + column] = value
            }
        }
    }
    if cursor.nextLine() != nil {
        throw MLPError(.badFormat,
            "line \(cursor.lineNumber): more data after the \(shape.rows) rows the first line announces")
    }
}

/// A decimal token as `Scalar` (the standard library's locale-independent strtod /
/// strtof), or nil when it is not a number. A NUL byte would end strtod's C string
/// and drop the rest of the token ("1\0junk" read as 1), so it is refused first.
private func parseScalar<Scalar: MLPScalar>(_ text: String, as type: Scalar.Type) -> Scalar? {
    guard !text.utf8.contains(0) else { return nil }
    switch Scalar.dtype {
    case .float32: return Float(text).map { Scalar($0) }
    case .float64: return Double(text).map { Scalar($0) }
    }
}

/// Writes `rows` rows as a FANN data file at `path`, atomically (as a model is saved):
/// inputs (rows x inputCount) and targets, either dense (rows x outputCount) or class
/// labels written as one-hot rows. Values must be finite and labels in range (the
/// caller checks). The text is measured first and built in one malloc'd block, so a
/// data set too large for memory is `outOfMemory`, not a trap.
/// - Throws: `outOfMemory`, `io`; `invalidArgument` for a negative count or one whose
///   values overflow Int.
public func saveFANNData<Scalar: MLPScalar>(
    to path: String, rows: Int, inputCount: Int, outputCount: Int,
    inputs: UnsafePointer<Scalar>, targets: Targets<Scalar>
) throws(MLPError) {
    let (perRow, overflow1) = inputCount.addingReportingOverflow(outputCount)
    let (_, overflow2) = perRow.multipliedReportingOverflow(by: rows)
    guard rows >= 0, inputCount >= 0, outputCount >= 0, !overflow1, !overflow2 else {
        throw MLPError(.invalidArgument,
            "\(rows) rows of \(inputCount) + \(outputCount) values: a count is negative or their product overflows")
    }
    func number(_ value: Scalar) -> String {
        switch Scalar.dtype {
        case .float32: return Float(value).description
        case .float64: return Double(value).description
        }
    }
    // Calls `emit` with every piece of the text, in order.
    func pieces(_ emit: (String) -> Void) {
        emit("\(rows) \(inputCount) \(outputCount)\n")
        for row in 0..<rows {
            for column in 0..<inputCount {
                emit(number(inputs[row * inputCount + column]))
                emit(column + 1 < inputCount ? " " : "\n")
            }
            for column in 0..<outputCount {
                switch targets {
                case .dense(let y): emit(number(y[row * outputCount + column]))
                case .labels(let labels): emit(Int(labels[row]) == column ? "1" : "0")
                }
                emit(column + 1 < outputCount ? " " : "\n")
            }
        }
    }
    var size = 0
    pieces { size += $0.utf8.count }
    guard let memory = malloc(max(size, 1)) else {
        throw MLPError(.outOfMemory, "cannot allocate \(size) bytes for the text of \(rows) rows")
    }
    defer { free(memory) }
    var at = 0
    pieces { piece in
        for byte in piece.utf8 {
            memory.storeBytes(of: byte, toByteOffset: at, as: UInt8.self)
            at += 1
        }
    }
    try writeFileAtomically(path: path) { (sink) throws(MLPError) in
        try sink(UnsafeRawBufferPointer(start: memory, count: size))
    }
}
