// Text compared and cut as UTF-8 bytes. String's == (canonical equivalence), its
// Character operations (count, prefix, index(of:)) and its case mappings need
// Unicode tables, about 95 KB of the library with their code; the files, paths,
// keys and C names handled here are bytes, and where they must be ASCII that is
// checked.

extension StringProtocol {
    /// Whether the two hold the same UTF-8 bytes.
    ///
    ///     "FANN_FLO_2.1".hasSameBytes(as: "FANN_FLO_2.1")   // true
    ///     "\u{E9}".hasSameBytes(as: "e\u{301}")              // false; == says true
    @inline(__always)
    func hasSameBytes<Other: StringProtocol>(as other: Other) -> Bool {
        utf8.elementsEqual(other.utf8)
    }

    /// The ASCII letters a-z made upper case, every other byte kept.
    func asciiUppercased() -> String {
        String(decoding: utf8.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }, as: UTF8.self)
    }
}

/// `text` in double quotes for an error message, cut after 40 bytes ("..." then).
func quoted<Text: StringProtocol>(_ text: Text) -> String {
    let bytes = text.utf8
    if bytes.count <= 40 { return "\"\(text)\"" }
    return "\"\(String(decoding: bytes.prefix(40), as: UTF8.self))...\""
}
