/// Errors NeuralCore reports for anything a file or a caller's data can get wrong.
///
/// Programmer errors (a shape mismatch inside an operation) are preconditions instead.
public enum NeuralCoreError: Error, CustomStringConvertible, Equatable {
    /// A state dictionary lacks names the module has (strict loading).
    case missingKeys(source: String, keys: [String])
    /// A state dictionary has names the module does not have (strict loading).
    case unexpectedKeys(source: String, keys: [String])
    /// A tensor's shape differs from the module's tensor of the same name.
    case shapeMismatch(source: String, key: String, expected: [Int], found: [Int])
    /// A file or value could not be interpreted.
    case invalidData(source: String, reason: String)

    /// A readable message naming the source and the problem.
    public var description: String {
        switch self {
        case let .missingKeys(source, keys):
            return "\(source): missing \(keys.count) tensor(s) the model needs: \(keys.prefix(8).joined(separator: ", "))\(keys.count > 8 ? ", ..." : "")"
        case let .unexpectedKeys(source, keys):
            return "\(source): \(keys.count) tensor(s) the model does not have: \(keys.prefix(8).joined(separator: ", "))\(keys.count > 8 ? ", ..." : "")"
        case let .shapeMismatch(source, key, expected, found):
            return "\(source): tensor \(key) has shape \(found) but the model expects \(expected)"
        case let .invalidData(source, reason):
            return "\(source): \(reason)"
        }
    }
}
