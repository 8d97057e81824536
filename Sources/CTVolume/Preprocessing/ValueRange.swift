import Foundation

/// The one text form of a range of values (HU ranges, heat-map ranges) in commands and
/// scripts: `LO:HI`, both ends inclusive, e.g. `50:90` or `-100:150`.
///
/// A colon separates the ends so that negative bounds need no quoting. Both ends must be finite
/// numbers (`Double` syntax, surrounding spaces allowed) and `LO <= HI` (`LO < HI` when
/// `strict`). Any other text, including the retired comma form `LO,HI`, is an error naming
/// the option and showing the form.
///
/// ```swift
/// let tissue = try ValueRange.parse("-100:150", name: "--tissue")   // -100.0...150.0
/// ValueRange.text(tissue)                                            // "-100:150"
/// ```
public enum ValueRange {
    /// Parses `LO:HI`.
    ///
    /// - Parameters:
    ///   - text: the range as written.
    ///   - name: what the range is (an option name), for the error message.
    ///   - strict: require `LO < HI` (a range that must have width); default false.
    /// - Throws: ``CTVolumeError/invalidParameter(name:reason:)``.
    public static func parse(_ text: String, name: String, strict: Bool = false) throws -> ClosedRange<Double> {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        let form = "write LO:HI with LO \(strict ? "<" : "≤") HI, e.g. -100:150"
        guard parts.count == 2, let lo = Double(parts[0]), let hi = Double(parts[1]) else {
            let hint = text.contains(",") && !text.contains(":") ? " (the comma form LO,HI is no longer read)" : ""
            throw CTVolumeError.invalidParameter(name: name, reason: "'\(text)' is not a range: \(form)\(hint)")
        }
        guard lo.isFinite, hi.isFinite else {
            throw CTVolumeError.invalidParameter(name: name, reason: "'\(text)': both ends must be finite numbers")
        }
        guard strict ? lo < hi : lo <= hi else {
            throw CTVolumeError.invalidParameter(name: name, reason: "'\(text)': \(form)")
        }
        return lo...hi
    }

    /// `range` as `LO:HI`, with the shortest text that reads back to the same numbers
    /// (`50:90`, `-100:150`, `0.5:1.25`).
    public static func text(_ range: ClosedRange<Double>) -> String {
        func number(_ x: Double) -> String {
            x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : "\(x)"
        }
        return "\(number(range.lowerBound)):\(number(range.upperBound))"
    }
}
