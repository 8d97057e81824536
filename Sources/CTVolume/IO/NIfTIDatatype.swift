import CNIfTI

/// How `NIfTI.write` stores a scan's voxels on disk.
///
/// Integer types store `raw = round((value - intercept) / slope)` and write `scl_slope` /
/// `scl_inter` so that readers recover `raw * slope + intercept`; a value whose raw number
/// does not fit the type is refused (nothing is clamped silently). Float types store the
/// value itself with slope 1, intercept 0.
public enum NIfTIDatatype: Sendable, Hashable {
    /// Unsigned 8-bit (NIfTI code 2), unscaled: values must be whole numbers in 0...255.
    case uint8
    /// Signed 16-bit (NIfTI code 4) with `scl_slope` / `scl_inter`.
    /// - Parameters:
    ///   - slope: `scl_slope`, finite and non-zero; default 1.
    ///   - intercept: `scl_inter`, finite; default 0.
    case int16(slope: Float = 1, intercept: Float = 0)
    /// IEEE float32 (NIfTI code 16). The default.
    case float32
    /// IEEE float64 (NIfTI code 64).
    case float64

    /// CT's usual storage: int16 with slope 1 and intercept -1024, so that raw 0 is -1024 HU
    /// (air) and HU -33792 ... 31743 fit.
    public static let hounsfieldInt16 = NIfTIDatatype.int16(slope: 1, intercept: -1024)

    /// The on-disk storage this datatype writes.
    var storage: NIfTIStorage {
        switch self {
        case .uint8: return .uint8
        case .int16: return .int16
        case .float32: return .float32
        case .float64: return .float64
        }
    }

    /// The `scl_slope` / `scl_inter` pair written to the header.
    var slopeIntercept: (slope: Float, intercept: Float) {
        if case .int16(let slope, let intercept) = self { return (slope, intercept) }
        return (1, 0)
    }
}

/// The NIfTI-1 datatypes this module reads, with their codes and sizes.
///
/// Complex, RGB, 64-bit integer and 128-bit float data are not voxel intensities a CT
/// pipeline can use and are refused with ``CTVolumeError/unsupportedDatatype(path:datatype:)``.
enum NIfTIStorage: Int32, CaseIterable, Sendable {
    case uint8 = 2
    case int16 = 4
    case int32 = 8
    case float32 = 16
    case float64 = 64
    case int8 = 256
    case uint16 = 512
    case uint32 = 768

    /// Bytes per voxel.
    var byteCount: Int {
        switch self {
        case .uint8, .int8: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32, .float32: return 4
        case .float64: return 8
        }
    }

    /// nibabel's name for the type ("int16", "float32", ...).
    var name: String { NIfTIStorage.name(ofCode: rawValue) }

    /// A readable name for any NIfTI datatype code, known to this module or not
    /// (from nifti_clib's table, lower-cased: "complex64", "rgb24", ...).
    static func name(ofCode code: Int32) -> String {
        switch code {
        case 2: return "uint8"
        case 4: return "int16"
        case 8: return "int32"
        case 16: return "float32"
        case 64: return "float64"
        case 256: return "int8"
        case 512: return "uint16"
        case 768: return "uint32"
        default:
            guard let c = nifti_datatype_string(code) else { return "code \(code)" }
            let s = String(cString: c)
            return s == "UNKNOWN" ? "unknown code \(code)" : s.lowercased()
        }
    }
}
