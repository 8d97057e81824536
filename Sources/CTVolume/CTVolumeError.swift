/// Everything a file, a folder or a caller's parameter can get wrong in CTVolume.
///
/// Each description names the file (or parameter) and the problem, so that a command-line
/// user can act on it without a stack trace.
public enum CTVolumeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be opened, read or written at all.
    case io(path: String, reason: String)
    /// Not a NIfTI-1 file (bad magic, wrong header size, unreadable header).
    case notNIfTI(path: String, reason: String)
    /// The header is readable but inconsistent (zero or negative dims, bad pixdim, ...).
    case invalidHeader(path: String, reason: String)
    /// The header promises more voxel data than the file holds (or a gzip stream ends early).
    case truncated(path: String, reason: String)
    /// A datatype the project does not read (complex, RGB, ...).
    case unsupportedDatatype(path: String, datatype: String)
    /// A 4-D volume with more than one time point, or more than 4 dimensions.
    case unsupportedDimensions(path: String, reason: String)
    /// NaN or infinite voxel values, with how many.
    case nonFiniteVoxels(path: String, count: Int)
    /// Two volumes that must share a grid do not.
    case gridMismatch(path: String, reason: String)
    /// An output already exists and replacing it was not asked for.
    case outputExists(path: String)
    /// A dataset folder is malformed (missing `data/`, empty, unpaired files, bad `slices.csv`).
    case invalidDataset(path: String, reason: String)
    /// A file that is not DICOM where DICOM was expected.
    case notDICOM(path: String, reason: String)
    /// A DICOM file or series the reader refuses (not CT, RGB, mixed sizes or orientations,
    /// no or truncated pixel data, no series in a folder, ...), with the reason.
    case invalidDICOM(path: String, reason: String)
    /// A parameter outside its allowed range.
    case invalidParameter(name: String, reason: String)

    /// The file (or parameter) and the problem, for a person to act on.
    public var description: String {
        switch self {
        case .io(let path, let reason): return "\(path): \(reason)"
        case .notNIfTI(let path, let reason): return "\(path): not a NIfTI-1 file (\(reason))"
        case .invalidHeader(let path, let reason): return "\(path): invalid NIfTI header: \(reason)"
        case .truncated(let path, let reason): return "\(path): truncated: \(reason)"
        case .unsupportedDatatype(let path, let datatype): return "\(path): unsupported datatype \(datatype)"
        case .unsupportedDimensions(let path, let reason): return "\(path): \(reason)"
        case .nonFiniteVoxels(let path, let count): return "\(path): \(count) voxel(s) are NaN or infinite"
        case .gridMismatch(let path, let reason): return "\(path): \(reason)"
        case .outputExists(let path): return "\(path): already exists (not replaced without overwrite / --force)"
        case .invalidDataset(let path, let reason): return "\(path): \(reason)"
        case .notDICOM(let path, let reason): return "\(path): \(reason)"
        case .invalidDICOM(let path, let reason): return "\(path): \(reason)"
        case .invalidParameter(let name, let reason): return "invalid \(name): \(reason)"
        }
    }
}
