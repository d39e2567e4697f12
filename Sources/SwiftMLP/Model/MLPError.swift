// Errors the engine reports. Every failure carries a kind (which the C ABI maps to a
// status code) and a message that names the argument and the values involved.

/// Why an engine call failed. Thrown with typed throws, so failing costs no
/// existential box; the message string is built only on the failure path.
public struct MLPError: Error, Sendable, CustomStringConvertible {
    /// The class of failure.
    public enum Kind: Sendable, Equatable {
        case invalidArgument
        case shapeMismatch
        case dtypeMismatch
        case outOfMemory
        case nonFinite
        case busy
        case io
        case badFormat
        case unsupportedVersion
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
