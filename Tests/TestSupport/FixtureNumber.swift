import Foundation

/// Numbers of JSON fixtures written by the scripts under scripts/fixtures/.
///
/// JSON has no NaN or infinities, so the fixture scripts write them as the strings `"nan"`,
/// `"inf"` and `"-inf"`; every other number is a JSON number (an `NSNumber` after
/// `JSONSerialization`). Binary fixtures hold float32 values little-endian, back to back.
public enum FixtureNumber {
    /// The value as a Double: an `NSNumber`'s value, or NaN / +infinity / -infinity for the
    /// strings `"nan"` / `"inf"` / `"-inf"`; nil for anything else (JSON null, a missing key,
    /// another string or type).
    public static func double(_ value: Any?) -> Double? {
        switch value {
        case let n as NSNumber: return n.doubleValue
        case let s as String:
            switch s {
            case "nan": return .nan
            case "inf": return .infinity
            case "-inf": return -.infinity
            default: return nil
            }
        default: return nil
        }
    }

    /// ``double(_:)`` for a value that must be a number: traps (naming the value) on anything else.
    public static func require(_ value: Any?) -> Double {
        guard let d = double(value) else { fatalError("not a fixture number: \(String(describing: value))") }
        return d
    }

    /// A JSON array of fixture numbers, each through ``require(_:)``; traps if `value` is not an array.
    public static func requireArray(_ value: Any?) -> [Double] {
        guard let array = value as? [Any] else { fatalError("not an array of fixture numbers: \(String(describing: value))") }
        return array.map(require)
    }

    /// The little-endian float32 values of `data`, in order (`data.count / 4` of them; a
    /// trailing partial value is ignored). No alignment is assumed.
    public static func littleEndianFloat32s(_ data: Data) -> [Float] {
        data.withUnsafeBytes { raw in
            (0 ..< raw.count / 4).map {
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
            }
        }
    }
}
