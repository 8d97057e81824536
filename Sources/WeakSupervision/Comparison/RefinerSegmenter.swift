import CTVolume
import Foundation
import NeuralCore

/// The refiner (a trained UNetLite) as a row of the comparison: method.md section 7's test-time
/// segmentation (``NeuralCore/UNetLite/segment(_:intracranial:threshold:batchSize:flipAveraging:)``) inside the
/// case's intracranial mask. Needs neither CAM nor classifier.
///
/// The network is used from one thread at a time (the comparison runs cases in order); the
/// type is `@unchecked Sendable` for that reason.
public struct RefinerSegmenter: Segmenter, @unchecked Sendable {
    /// The trained network.
    public let model: UNetLite
    /// The row's name, e.g. "full pipeline (UNetLite on pseudo-masks)".
    public let name: String
    /// Probability threshold (default 0.5).
    public var threshold: Float
    /// Average the logits with those of the left-right flipped slices (default `false`; see
    /// ``NeuralCore/UNetLite/segment(_:intracranial:threshold:batchSize:flipAveraging:)``).
    public var flipAveraging: Bool

    /// A segmenter over `model`.
    public init(model: UNetLite, name: String, threshold: Float = 0.5, flipAveraging: Bool = false) {
        self.model = model
        self.name = name
        self.threshold = threshold
        self.flipAveraging = flipAveraging
    }

    /// Loads the network from a checkpoint (`UNetLite(contentsOf:)`).
    public init(contentsOf url: URL, name: String, threshold: Float = 0.5, flipAveraging: Bool = false) throws {
        self.init(model: try UNetLite(contentsOf: url), name: name, threshold: threshold, flipAveraging: flipAveraging)
    }

    /// The refined mask of the case, restricted to its intracranial mask.
    public func segment(_ input: SegmentationCase) throws -> MaskVolume {
        try model.segment(input.scan, intracranial: input.intracranial, threshold: threshold, flipAveraging: flipAveraging).mask
    }
}
