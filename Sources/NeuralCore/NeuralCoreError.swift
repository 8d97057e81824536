import Foundation

/// Errors NeuralCore reports for anything a file or a caller's data can get wrong.
///
/// Programmer errors (a shape mismatch inside an operation) are preconditions instead.
/// Every description names the file (or other source) and the problem.
public enum NeuralCoreError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A state dictionary lacks names the module has (strict loading).
    case missingKeys(source: String, keys: [String])
    /// A state dictionary has names the module does not have (strict loading).
    case unexpectedKeys(source: String, keys: [String])
    /// A tensor's shape differs from the module's tensor of the same name.
    case shapeMismatch(source: String, key: String, expected: [Int], found: [Int])
    /// A file or value could not be interpreted.
    case invalidData(source: String, reason: String)
    /// A file could not be opened, read or written at all.
    case io(path: String, reason: String)
    /// A safetensors file is malformed (header length, JSON, offsets, sizes).
    case invalidSafeTensors(path: String, reason: String)
    /// A tensor in a safetensors file has a dtype NeuralCore does not read (only F32 and I64).
    case unsupportedDType(path: String, tensor: String, dtype: String)
    /// A checkpoint's `ichct.config` metadata is missing or not a valid model configuration.
    case invalidConfig(source: String, reason: String)
    /// An output already exists and replacing it was not asked for.
    case outputExists(path: String)

    /// A readable message naming the source and the problem.
    public var description: String {
        switch self {
        case let .missingKeys(source, keys):
            return "\(source): missing \(keys.count) tensor(s) the model needs: \(Self.list(keys))"
        case let .unexpectedKeys(source, keys):
            return "\(source): \(keys.count) tensor(s) the model does not have: \(Self.list(keys))"
        case let .shapeMismatch(source, key, expected, found):
            return "\(source): tensor \(key) has shape \(found) but the model expects \(expected)"
        case let .invalidData(source, reason):
            return "\(source): \(reason)"
        case let .io(path, reason):
            return "\(path): \(reason)"
        case let .invalidSafeTensors(path, reason):
            return "\(path): not a valid safetensors file: \(reason)"
        case let .unsupportedDType(path, tensor, dtype):
            return "\(path): tensor \(tensor) has dtype \(dtype); only F32 and I64 are read"
        case let .invalidConfig(source, reason):
            return "\(source): invalid model configuration: \(reason)"
        case let .outputExists(path):
            return "\(path): already exists (not replaced without overwrite / --force)"
        }
    }

    private static func list(_ keys: [String]) -> String {
        keys.prefix(8).joined(separator: ", ") + (keys.count > 8 ? ", ..." : "")
    }
}

extension NeuralCoreError {
    /// A readable reason for any error met while reading a file: a decoding error's description
    /// and where in the document it happened (`at key.path`), a missing key by name, an error
    /// with a description of its own (the package's error types) as it describes itself, else
    /// the system's description.
    public static func reason(_ error: any Error) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.isEmpty ? "" : " at " + codingPath.map(\.stringValue).joined(separator: ".")
        }
        if let e = error as? DecodingError {
            switch e {
            case .dataCorrupted(let c): return c.debugDescription + path(c.codingPath)
            case .keyNotFound(let k, let c): return "missing key \"\(k.stringValue)\"" + path(c.codingPath)
            case .typeMismatch(_, let c): return c.debugDescription + path(c.codingPath)
            case .valueNotFound(_, let c): return c.debugDescription + path(c.codingPath)
            @unknown default: return "\(e)"
            }
        }
        // the system's errors (files, POSIX) describe themselves for people; the package's
        // error types through their description
        let bridged = error as NSError
        if [NSCocoaErrorDomain, NSPOSIXErrorDomain, NSURLErrorDomain].contains(bridged.domain) { return bridged.localizedDescription }
        return String(describing: error)
    }
}
