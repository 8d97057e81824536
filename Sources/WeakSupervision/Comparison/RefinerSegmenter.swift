import CTVolume
import Foundation
import ImageCore
import NeuralCore

/// The refiner (a trained UNetLite) as a row of the comparison: the test-time segmentation of
/// Docs/method.md#5-refinement-unetlite (``UNetLite/segment(_:intracranial:threshold:batchSize:flipAveraging:)``) inside the
/// case's intracranial mask. Needs neither CAM nor classifier. Over several networks (an
/// ensemble, ``init(models:name:threshold:flipAveraging:)``) the logits are their mean
/// (``UNetLite/segment(_:ensemble:intracranial:threshold:batchSize:flipAveraging:)``).
///
/// The networks are used from one thread at a time (the comparison runs cases in order); the
/// type is `@unchecked Sendable` for that reason.
public struct RefinerSegmenter: Segmenter, @unchecked Sendable {
    /// The trained networks: one, or the members of an ensemble whose logits are averaged.
    public let models: [UNetLite]
    /// The first network (the only one unless this is an ensemble).
    @available(*, deprecated, message: "an ensemble has several networks: use models")
    public var model: UNetLite { models[0] }
    /// The row's name, e.g. "full pipeline (UNetLite on pseudo-masks)".
    public var name: String { renamed ?? baseName }
    private let baseName: String
    /// Probability threshold (default 0.5).
    public var threshold: Float
    /// Average the logits with those of the left-right flipped slices (default `false`; see
    /// ``UNetLite/segment(_:intracranial:threshold:batchSize:flipAveraging:)``).
    public var flipAveraging: Bool

    /// Shared by segmenters over the same network (see ``sharingInference(as:threshold:)``): the last
    /// case's probabilities, so that rows wrapping one network run it once per case, at any threshold.
    let memo: InferenceMemo

    /// A segmenter over `model`.
    public init(model: UNetLite, name: String, threshold: Float = 0.5, flipAveraging: Bool = false) {
        self.init(checked: [model], name: name, threshold: threshold, flipAveraging: flipAveraging)
    }

    /// A segmenter over an ensemble: the mean of `models`' logits.
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` for no network, or
    ///   networks that read a scan differently (input size, windows, neighbouring slices).
    public init(models: [UNetLite], name: String, threshold: Float = 0.5, flipAveraging: Bool = false) throws {
        try UNetLite.checkEnsemble(models)
        self.init(checked: models, name: name, threshold: threshold, flipAveraging: flipAveraging)
    }

    private init(checked models: [UNetLite], name: String, threshold: Float, flipAveraging: Bool) {
        self.models = models
        self.baseName = name
        self.threshold = threshold
        self.flipAveraging = flipAveraging
        memo = InferenceMemo()
    }

    /// The same network (or ensemble) and settings under another row name (and, with `threshold`, another
    /// probability threshold), sharing this segmenter's last result: when both segment the same
    /// case in turn (as ``MethodComparison`` does, case by case), the network runs once. A case
    /// is recognised by its name, grid, affine and every voxel of its scan and intracranial
    /// mask; the flip averaging must match, the threshold need not (the probabilities are kept).
    public func sharingInference(as name: String, threshold: Float? = nil) -> RefinerSegmenter {
        var copy = self
        copy.renamed = name
        if let threshold { copy.threshold = threshold }
        return copy
    }

    private var renamed: String?

    /// Loads the network from a checkpoint (`UNetLite(contentsOf:)`).
    public init(contentsOf url: URL, name: String, threshold: Float = 0.5, flipAveraging: Bool = false) throws {
        self.init(model: try UNetLite(contentsOf: url), name: name, threshold: threshold, flipAveraging: flipAveraging)
    }

    /// Loads an ensemble, one network per checkpoint.
    /// - Throws: a file that cannot be read as a UNetLite checkpoint (the error names it), or
    ///   networks that read a scan differently.
    public init(contentsOf urls: [URL], name: String, threshold: Float = 0.5, flipAveraging: Bool = false) throws {
        try self.init(models: try urls.map { try UNetLite(contentsOf: $0) }, name: name, threshold: threshold, flipAveraging: flipAveraging)
    }

    /// The refined mask of the case, restricted to its intracranial mask.
    public func segment(_ input: SegmentationCase) throws -> MaskVolume {
        try refined(input).mask
    }

    /// The network's whole result on the case (mask at ``threshold``, probabilities, the
    /// intracranial mask), from the shared inference when the case was just segmented.
    public func refined(_ input: SegmentationCase) throws -> RefinedSegmentation {
        var result = try memo.value(for: InferenceKey(input, flipAveraging: flipAveraging)) {
            try UNetLite.segment(input.scan, ensemble: models, intracranial: input.intracranial, threshold: threshold, flipAveraging: flipAveraging)
        }
        // the memo holds the mask of whichever sharer ran first; this one's is at its own threshold
        result.mask = result.thresholded(at: threshold)
        return result
    }
}

/// The last case a network segmented, and its result.
typealias InferenceMemo = LastResultMemo<InferenceKey, RefinedSegmentation>

/// What makes two refiner inferences the same: the case (name, grid, affine, every voxel of its
/// scan and intracranial mask) and the inference settings (the threshold is applied afterwards).
struct InferenceKey: Equatable {
    let name: String, shape: GridShape, affine: Affine, flipAveraging: Bool
    let scanHash: UInt64, intracranialHash: UInt64

    init(_ input: SegmentationCase, flipAveraging: Bool) {
        name = input.name
        shape = input.scan.shape
        affine = input.scan.geometry.affine
        scanHash = input.scan.contentHash
        var h = FNV1a()
        h.combine(bytes: input.intracranial.voxels)
        intracranialHash = h.value
        self.flipAveraging = flipAveraging
    }
}

/// One key and its value, the last stored (one entry: the comparison goes case by case, so the
/// rows wrapping one computation find the case they share), safe across threads.
final class LastResultMemo<Key: Equatable, Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var key: Key?
    private var value: Value?

    /// The stored value when `key` is the stored key.
    func value(for key: Key) -> Value? {
        lock.lock(); defer { lock.unlock() }
        return self.key == key ? value : nil
    }

    /// The stored value for `key`, or `compute()`'s, stored.
    func value(for key: Key, compute: () throws -> Value) rethrows -> Value {
        if let v = value(for: key) { return v }
        let v = try compute()
        lock.lock(); defer { lock.unlock() }
        self.key = key
        value = v
        return v
    }
}

extension ScanVolume {
    /// FNV-1a over the bit patterns of every voxel: a scan changed anywhere hashes anew.
    var contentHash: UInt64 {
        var h = FNV1a()
        h.combine(bitPatternsOf: voxels)
        return h.value
    }
}
