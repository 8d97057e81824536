import Foundation
import CTVolume
import NeuralCore

/// What a gradient-based CAM sees for one slice: the target stage's activations A (C, h, w)
/// of that slice, the gradient d logit_t / d A_t of the slice's own logit, and the logit.
///
/// Values are flat row-major (channel, row, column), as in a PyTorch (C, h, w) tensor.
public struct CAMSliceInput: Sendable {
    /// C, the stage's channel count.
    public var channels: Int
    /// h, the feature map height.
    public var height: Int
    /// w, the feature map width.
    public var width: Int
    /// A_t: `channels * height * width` activations.
    public var activations: [Float]
    /// d logit_t / d A_t, shaped like ``activations``.
    public var gradients: [Float]
    /// logit_t, the slice's own score (Grad-CAM++ uses exp(logit)).
    public var logit: Float

    /// An input; `activations` and `gradients` must both hold `channels * height * width` values.
    public init(channels: Int, height: Int, width: Int, activations: [Float], gradients: [Float], logit: Float) {
        precondition(activations.count == channels * height * width && gradients.count == activations.count,
                     "CAMSliceInput: need \(channels)x\(height)x\(width) activations and gradients")
        self.channels = channels
        self.height = height
        self.width = width
        self.activations = activations
        self.gradients = gradients
        self.logit = logit
    }

    /// h · w.
    public var planeCount: Int { height * width }

    /// Per channel, the spatial mean of `values` (C·h·w values): `(1/hw) Σ_ij values_c,ij`.
    public func channelMeans(_ values: [Float]) -> [Float] {
        let n = planeCount
        return (0..<channels).map { c in
            var s = 0.0
            for i in 0..<n { s += Double(values[c * n + i]) }
            return Float(s / Double(n))
        }
    }

    /// The weighted channel sum `Σ_c weights_c · A_c` (h · w values), before any ReLU.
    public func weightedSum(_ weights: [Float]) -> [Float] {
        precondition(weights.count == channels, "weightedSum: need \(channels) weights, got \(weights.count)")
        let n = planeCount
        var out = [Float](repeating: 0, count: n)
        for c in 0..<channels where weights[c] != 0 {
            let w = weights[c]
            for i in 0..<n { out[i] += w * activations[c * n + i] }
        }
        return out
    }
}

/// Raw class activation maps of one sequence, at the target stage's resolution, with the
/// classifier's logits from the same forward pass.
public struct CAMExplanation {
    /// (T, h, w) raw maps, one per slice, not resized and not normalised.
    public var maps: Tensor
    /// T logits, one per slice (the LSTM run over the whole sequence).
    public var logits: [Float]
}

/// A class activation map method for the ResNet-LSTM slice classifier, MONAI style:
/// ``computeMap(_:)`` gives the raw map at feature resolution, ``callAsFunction(_:height:width:)``
/// the map resized bilinearly (`align_corners=False`) and divided per slice by its maximum,
/// ``volume(_:)`` the maps of a whole scan on its grid.
///
/// Conform directly when a method is not gradient based (implement ``explain(_:)``); for the
/// usual kind, conform to ``GradientCAMMethod`` and write only how one slice's activations and
/// gradients combine into a map (see `Docs/custom-cam.md`).
public protocol CAMMethod {
    /// A short name for reports (`gradcam`, `gradcampp`, `layercam`, ...).
    var name: String { get }
    /// The classifier being explained.
    var model: ResNetLSTM { get }
    /// Raw maps and logits of one sequence of contiguous slices (T, C, S, S), the LSTM run
    /// over all T slices in order.
    func explain(_ sequence: Tensor) throws -> CAMExplanation
}

/// A CAM computed from the activations A of one stage and the gradient of each slice's own
/// logit with respect to them. Conformers implement ``combine(_:)``; ``explain(_:)`` is provided.
public protocol GradientCAMMethod: CAMMethod {
    /// The target stage, by its PyTorch name: `layer1` … `layer4` (default choice `layer4`).
    var layer: String { get }
    /// One slice's raw map (h · w values, row-major) from its activations and gradients.
    func combine(_ slice: CAMSliceInput) -> [Float]
}

extension GradientCAMMethod {
    /// Runs the classifier in evaluation mode on `sequence` (T, C, S, S): the encoder up to
    /// ``layer`` without a graph, then for every slice its own copy of those activations A_t as
    /// a leaf, the rest of the encoder, the LSTM over all T slices and `fc`. For each slice t,
    /// d logit_t / d A_t comes from one reverse pass restricted to slice t's branch; ``combine(_:)``
    /// turns (A_t, gradient, logit_t) into the raw map. The model's training flag is restored.
    ///
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` for an unknown layer.
    public func explain(_ sequence: Tensor) throws -> CAMExplanation {
        precondition(sequence.rank == 4 && sequence.shape[0] > 0, "CAM: a sequence is (T, C, S, S), got \(sequence.shape)")
        let stage = try model.stageIndex(of: layer)
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let t = sequence.shape[0]
        // The encoder up to the target stage, 16 slices at a time (bounds memory on long scans).
        let cuts = withoutGradients {
            stride(from: 0, to: t, by: 16).map { model.encoderHead(sequence.slice(axis: 0, $0..<min($0 + 16, t)), through: stage) }
        }
        let (c, h, w) = (cuts[0].shape[1], cuts[0].shape[2], cuts[0].shape[3])
        let plane = c * h * w
        let leaves = cuts.flatMap { cut in
            (0..<cut.shape[0]).map { k in
                Tensor(shape: [1, c, h, w], data: Array(cut.data[(k * plane)..<((k + 1) * plane)]), requiresGrad: true)
            }
        }
        let tails = leaves.map { model.encoderTail($0, after: stage) }
        let features = t == 1 ? tails[0] : Tensor.concatenate(tails, axis: 0)
        let logits = model.head(features, batch: 1, time: t)
        var raw: [Float] = []
        raw.reserveCapacity(t * h * w)
        for k in 0..<t {
            let g = gradients(of: logits.select(axis: 1, k).sum(), withRespectTo: [leaves[k]], retainGraph: k < t - 1)[0]
            let map = combine(CAMSliceInput(channels: c, height: h, width: w, activations: leaves[k].data,
                                            gradients: g.data, logit: logits.data[k]))
            precondition(map.count == h * w, "\(name): combine returned \(map.count) values for a \(h)x\(w) map")
            raw += map
        }
        return CAMExplanation(maps: Tensor(shape: [t, h, w], data: raw), logits: logits.data)
    }
}

extension CAMMethod {
    /// The raw maps (T, h, w) of a sequence (T, C, S, S), MONAI's `compute_map`.
    public func computeMap(_ sequence: Tensor) throws -> Tensor {
        try explain(sequence).maps
    }

    /// The maps of a sequence resized to `height x width` and normalised (see
    /// ``CAM/normalised(_:height:width:)``), MONAI's `__call__`: (T, height, width) in [0, 1].
    /// A plain resize; ``volume(_:)`` takes a scan's maps back through its slices' square frame.
    public func callAsFunction(_ sequence: Tensor, height: Int, width: Int) throws -> Tensor {
        CAM.normalised(try computeMap(sequence), height: height, width: width)
    }

    /// Maps of every axial slice of a scan, on the scan's grid.
    ///
    /// The scan is preprocessed as the classifier's configuration says (``ResNetLSTM/preprocess(_:)``:
    /// its `input_size` and windows), all Z slices go through the LSTM in order as one sequence
    /// (Docs/method.md#1-slice-classifier-resnet-lstm, inference), and each slice's map goes back to
    /// the slice's original y × x as the network input came from it
    /// (``CAM/normalised(_:onSlicesOf:)``) and is divided by its maximum.
    ///
    /// - Parameter scan: HU volume.
    /// - Returns: the maps in [0, 1] as a volume on `scan`'s grid and geometry, and the logits.
    public func volume(_ scan: ScanVolume) throws -> CAMVolume {
        try volume(scan, preprocessed: model.preprocess(scan))
    }

    /// ``volume(_:)`` with the scan already preprocessed (``ResNetLSTM/preprocess(_:)`` of
    /// ``model``, or of a network that ``ResNetLSTM/readsSameInput(as:)`` it), so that a slice-call
    /// classifier and the CAM share one preprocessing.
    /// - Precondition: `input` is (scan's Z, C, S, S) for ``model``.
    public func volume(_ scan: ScanVolume, preprocessed input: Tensor) throws -> CAMVolume {
        let s = model.config.inputSize
        precondition(input.shape == [scan.shape.z, model.config.inChannels, s, s],
                     "volume: input \(input.shape) for a scan of \(scan.shape.z) slices, expected (\(scan.shape.z), \(model.config.inChannels), \(s), \(s))")
        let explanation = try explain(input)
        let maps = CAM.normalised(explanation.maps, onSlicesOf: SquareFrame(scan.shape))
        return CAMVolume(map: Volume(shape: scan.shape, voxels: maps.data, geometry: scan.geometry),
                         logits: explanation.logits, method: name)
    }
}

/// The CAM of a whole scan and the classifier's verdict on each slice.
public struct CAMVolume: Sendable {
    /// Maps in [0, 1] on the scan's grid (slice k's map in axial slice k).
    public var map: Volume<Float>
    /// One logit per axial slice.
    public var logits: [Float]
    /// The method's ``CAMMethod/name``.
    public var method: String

    /// σ(logit) per slice: the classifier's probability that the slice holds hemorrhage.
    public var probabilities: [Float] { logits.map { 1 / (1 + Foundation.exp(-$0)) } }
}

/// Helpers shared by the CAM methods.
public enum CAM {
    /// How the pipeline's CAM stage saves maps: int16 with slope 1/32000 (0...1 in steps of
    /// about 3.1e-5; a fifth of float32's size, gzipped).
    public static let storage = NIfTIDatatype.int16(slope: 1 / 32000, intercept: 0)

    /// `map` with the values its saved file holds (``storage``, ``NIfTI/storedValues(_:datatype:path:)``).
    /// The pipeline's rows read a run's own cases' CAMs from the CAM stage's files and compute
    /// any other scan's; both go through this, so a row gives the same mask either way (a
    /// full-precision map differs by up to 1.6e-5, and a few voxels crossed the CAM threshold).
    /// - Throws: a value not finite, or above 32767 / 32000 (a CAM lies in 0...1).
    public static func asStored(_ map: Volume<Float>) throws -> Volume<Float> {
        var out = map
        out.voxels = try NIfTI.storedValues(map.voxels, datatype: storage, path: "CAM")
        return out
    }

    /// Resizes raw maps (T, h, w) to (T, height, width) bilinearly with `align_corners=False`
    /// (`F.interpolate`), then divides each slice by its own maximum, clamped below at 1e-12,
    /// so a map's peak is 1 and an all-zero map stays zero (`ichnets.grad_cam`).
    ///
    /// Raw maps of the built-in methods are ≥ 0 (they end in a ReLU); a user's map with
    /// negative values keeps them (divided by a positive peak).
    ///
    /// This is a plain resize: for maps of a scan's slices that are not square, use
    /// ``normalised(_:onSlicesOf:)``, which takes them back the way the network input came.
    public static func normalised(_ maps: Tensor, height: Int, width: Int) -> Tensor {
        precondition(maps.rank == 3, "CAM.normalised: maps are (T, h, w), got \(maps.shape)")
        return Tensor(shape: [maps.shape[0], height, width], data: dividedByPeaks(resized(maps, height: height, width: width), plane: height * width))
    }

    /// Raw maps (T, h, w) of a scan's slices back on slices of `frame.height x frame.width`, as
    /// ``Preprocessing/resizeToVolume(_:size:shape:)`` takes maps back: resized bilinearly
    /// (`align_corners=False`) to the slices' ``SquareFrame``, the slice's rectangle cut out,
    /// then each divided by its own maximum within the slice (clamped below at 1e-12). For a
    /// square slice this is ``normalised(_:height:width:)``; `ichnets.grad_cam_on_slices`.
    public static func normalised(_ maps: Tensor, onSlicesOf frame: SquareFrame) -> Tensor {
        precondition(maps.rank == 3, "CAM.normalised: maps are (T, h, w), got \(maps.shape)")
        if frame.isSquare { return normalised(maps, height: frame.height, width: frame.width) }
        let t = maps.shape[0], side = frame.side, plane = frame.height * frame.width
        let square = resized(maps, height: side, width: side)
        var cropped = [Float](repeating: 0, count: t * plane)
        square.withUnsafeBufferPointer { rb in
            cropped.withUnsafeMutableBufferPointer { cb in
                for k in 0..<t { frame.crop(rb.baseAddress! + k * side * side, into: cb.baseAddress! + k * plane) }
            }
        }
        return Tensor(shape: [t, frame.height, frame.width], data: dividedByPeaks(cropped, plane: plane))
    }

    /// Maps (T, h, w) resized bilinearly (`align_corners=False`) to (T, height, width), flat.
    private static func resized(_ maps: Tensor, height: Int, width: Int) -> [Float] {
        withoutGradients {
            bilinearResize(maps.reshaped([maps.shape[0], 1, maps.shape[1], maps.shape[2]]), height: height, width: width)
        }.data
    }

    /// Each run of `plane` values divided by its maximum, clamped below at 1e-12.
    private static func dividedByPeaks(_ values: [Float], plane: Int) -> [Float] {
        var out = values
        for k in 0..<(out.count / plane) {
            var peak: Float = -.infinity
            for i in (k * plane)..<((k + 1) * plane) { peak = max(peak, out[i]) }
            let scale = 1 / max(peak, 1e-12)
            for i in (k * plane)..<((k + 1) * plane) { out[i] *= scale }
        }
        return out
    }

    /// The built-in methods by name.
    public enum Kind: String, CaseIterable, Sendable, Codable {
        /// ``GradCAM``.
        case gradcam
        /// ``GradCAMPlusPlus``.
        case gradcampp
        /// ``LayerCAM``.
        case layercam
    }

    /// A built-in method on `model` at stage `layer` (default `layer4`).
    ///
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` for an unknown layer.
    public static func method(_ kind: Kind, model: ResNetLSTM, layer: String = "layer4") throws -> any CAMMethod {
        _ = try model.stageIndex(of: layer)
        switch kind {
        case .gradcam: return GradCAM(model: model, layer: layer)
        case .gradcampp: return GradCAMPlusPlus(model: model, layer: layer)
        case .layercam: return LayerCAM(model: model, layer: layer)
        }
    }
}
