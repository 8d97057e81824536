/// The intensity scaling a NIfTI-1 header asks for, resolved by nibabel's rule.
///
/// Stored voxels `raw` become values `raw * slope + intercept` when `scl_slope` is finite and
/// non-zero; otherwise (slope 0, NaN or infinite) the raw values are used as they are and the
/// intercept is ignored. A usable slope with a NaN or infinite intercept is an invalid header
/// (nibabel raises `HeaderDataError` there too).
///
/// Arithmetic follows nibabel's `get_fdata(dtype=np.float32)`: a multiply then an add (no fused
/// multiply-add), in Float for raw types that Float holds exactly (8- and 16-bit integers,
/// float32) and in Double, rounded to Float once at the end, for int32, uint32 and float64.
public enum NIfTIScaling: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Raw values are the intensities.
    case raw
    /// `value = raw * slope + intercept`.
    case linear(slope: Float, intercept: Float)

    /// Applies nibabel's rule to a header's `scl_slope` and `scl_inter`.
    ///
    /// | slope            | intercept     | result                     |
    /// |------------------|---------------|----------------------------|
    /// | 0, NaN, +-inf    | anything      | `.raw`                     |
    /// | 1                | 0             | `.raw`                     |
    /// | finite, non-zero | finite        | `.linear(slope, intercept)`|
    /// | finite, non-zero | NaN or +-inf  | throws `invalidHeader`     |
    ///
    /// - Parameters:
    ///   - slope: the header's `scl_slope`.
    ///   - intercept: the header's `scl_inter`.
    ///   - path: the file named in the error.
    public static func resolve(slope: Float, intercept: Float, path: String = "header") throws -> NIfTIScaling {
        guard slope != 0, slope.isFinite else { return .raw }
        guard intercept.isFinite else {
            throw CTVolumeError.invalidHeader(path: path, reason: "scl_slope is \(slope) but scl_inter is \(intercept)")
        }
        if slope == 1 && intercept == 0 { return .raw }
        return .linear(slope: slope, intercept: intercept)
    }

    /// The slope in force (1 for `.raw`).
    public var slope: Float {
        if case .linear(let s, _) = self { return s }
        return 1
    }

    /// The intercept in force (0 for `.raw`).
    public var intercept: Float {
        if case .linear(_, let b) = self { return b }
        return 0
    }

    /// `raw * slope + intercept` computed in Float (the rule for 8/16-bit integers and float32).
    @inlinable
    public func apply(_ raw: Float) -> Float {
        switch self {
        case .raw: return raw
        case .linear(let s, let b): return raw * s + b
        }
    }

    /// `raw * slope + intercept` computed in Double, then rounded to Float (the rule for
    /// int32, uint32 and float64).
    @inlinable
    public func apply(_ raw: Double) -> Float {
        switch self {
        case .raw: return Float(raw)
        case .linear(let s, let b): return Float(raw * Double(s) + Double(b))
        }
    }

    /// "none (raw values)" or "raw * slope + intercept".
    public var description: String {
        switch self {
        case .raw: return "none (raw values)"
        case .linear(let s, let b): return "raw * \(s) + \(b)"
        }
    }
}
