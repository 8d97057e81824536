/// Everything a file or a user can get wrong when evaluating segmentations.
///
/// Programmer errors (masks of different sizes handed to a metric function, a percentile
/// outside 0...100) are preconditions instead.
public enum MetricsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A mask holds values other than 0 and 1 and no label was chosen.
    case notBinary(name: String, values: [Int])
    /// The prediction and the truth of a case lie on different grids.
    case gridMismatch(name: String, prediction: MaskShape, truth: MaskShape)
    /// A case has no partner in the other folder.
    case missingPartner(name: String, missingIn: String)
    /// A folder holds no mask files.
    case noCases(folder: String)
    /// The two inputs are not both files or both folders.
    case mixedInputs(prediction: String, truth: String)
    /// A statistical setting is out of its range (e.g. a confidence of 1.2, a negative stratum bound).
    case invalidParameter(name: String, reason: String)

    /// The case and the problem, for a person to act on.
    public var description: String {
        switch self {
        case .notBinary(let name, let values):
            let shown = values.map(String.init).joined(separator: ", ")
            return "\(name): the mask is not binary (holds \(shown)); pass a label to select one class"
        case .gridMismatch(let name, let prediction, let truth):
            return "\(name): the prediction is \(prediction) voxels but the truth is \(truth)"
        case .missingPartner(let name, let folder):
            return "\(name): no file of that name in \(folder)"
        case .noCases(let folder):
            return "\(folder): no mask files (.nii or .nii.gz) found"
        case .mixedInputs(let prediction, let truth):
            return "\(prediction) and \(truth): give two files or two folders"
        case .invalidParameter(let name, let reason):
            return "\(name): \(reason)"
        }
    }
}
