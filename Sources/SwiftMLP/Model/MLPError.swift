// Errors the engine reports. Every failure carries a kind (which the C ABI maps to a
// status code) and a message that names the argument and the values involved.

/// Why an engine call failed. Thrown with typed throws, so failing costs no
/// existential box; the message string is built only on the failure path.
public struct MLPError: Error, Sendable, CustomStringConvertible {
    /// The class of failure. Raw values are the C header's `smlp_status` codes (the
    /// header's other two, OK and NULL_ARGUMENT, belong to the C ABI alone).
    public enum Kind: UInt8, Sendable, Equatable, CaseIterable {
        case invalidArgument = 2
        case shapeMismatch = 3
        case dtypeMismatch = 4
        case outOfMemory = 5
        case nonFinite = 6
        case busy = 7
        case io = 8
        case badFormat = 9
        case unsupportedVersion = 10
    }

    public let kind: Kind
    /// What went wrong, naming the argument and the values involved.
    public let reason: String
    /// What the failed call did about it ("nothing was updated"), when that needs
    /// saying. A caller that undoes more (train's rollback) replaces it.
    public let consequence: String?

    /// The whole text: the reason, then the consequence.
    public var message: String {
        guard let consequence else { return reason }
        return "\(reason); \(consequence)"
    }

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.reason = message
        self.consequence = nil
    }

    public init(_ kind: Kind, reason: String, consequence: String) {
        self.kind = kind
        self.reason = reason
        self.consequence = consequence
    }

    public var description: String { message }
}
