import CTVolume
import Foundation
import NeuralCore

/// The refiner's output for one volume, on the volume's grid and geometry.
public struct RefinedSegmentation: Sendable {
    /// 1 where the hemorrhage probability is at least the threshold inside the intracranial
    /// mask, else 0 (uint8, the scan's geometry: it opens over the scan in a viewer).
    public var mask: MaskVolume
    /// `sigmoid` of the logits resized to the scan's grid, per voxel (not restricted to the
    /// intracranial mask).
    public var probabilities: Volume<Float>
    /// The intracranial mask that restricted ``mask``.
    public var intracranial: MaskVolume

    /// The mask at another threshold: 1 where the probability is at least `threshold` inside
    /// the intracranial mask (``mask`` itself at the threshold it was made with).
    public func thresholded(at threshold: Float) -> MaskVolume {
        MaskVolume(shape: mask.shape, voxels: Self.mask(probabilities.voxels, inside: intracranial, at: threshold), geometry: mask.geometry)
    }

    /// 1 where `probabilities[i] >= threshold` and the intracranial mask holds voxel `i`, else 0:
    /// the one rule ``UNetLite/segment(_:intracranial:threshold:batchSize:flipAveraging:)`` and
    /// ``thresholded(at:)`` both apply.
    static func mask(_ probabilities: [Float], inside: MaskVolume, at threshold: Float) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: probabilities.count)
        for i in out.indices where probabilities[i] >= threshold && inside.voxels[i] > 0 { out[i] = 1 }
        return out
    }
}

extension UNetLite {
    /// The network input of a whole volume, (Z, C, S, S), with this network's size, windows and
    /// neighbouring slices (C = windows × slices seen, ``SliceContext``). With context, that is
    /// 2k + 1 times the windowed volume; ``segment(_:intracranial:threshold:batchSize:flipAveraging:)``
    /// stacks one batch at a time instead.
    public func preprocess(_ scan: ScanVolume) -> Tensor {
        let s = config.inputSize
        let data = windowed(scan)
        return Tensor(shape: [scan.shape.z, config.inChannels, s, s], data: input(data, slices: 0..<scan.shape.z))
    }

    /// The windowed slices of a volume, windows.count channels each (no context).
    func windowed(_ scan: ScanVolume) -> [Float] {
        Preprocessing.preprocess(scan, size: config.inputSize, windows: config.windows.map(\.ctWindow))
    }

    /// The network's input values for `slices` of a volume whose windowed values are `data`:
    /// their context stack (the values themselves without context).
    func input(_ data: [Float], slices: Range<Int>) -> [Float] {
        let stride = config.windows.count * config.inputSize * config.inputSize
        return SliceContext.stack(data[...], sliceStride: stride, count: data.count / stride, context: config.contextSlices, range: slices)
    }

    /// Test-time segmentation of Docs/method.md#5-refinement-unetlite: preprocess every axial slice, run the
    /// network, resize the logits bilinearly (`align_corners=False`) back to the slice's original
    /// grid through its square frame (``Preprocessing/resizeToVolume(_:size:shape:)``), threshold `sigmoid(logit) >= threshold`, and keep only voxels of the intracranial
    /// mask. Switches the network to evaluation mode.
    ///
    /// - Parameters:
    ///   - scan: a head CT in HU.
    ///   - intracranial: the intracranial mask on the scan's grid; `nil` (default) computes it
    ///     with ``IntracranialMask/compute(_:parameters:)``'s defaults.
    ///   - threshold: on the probability (default 0.5).
    ///   - batchSize: slices run through the network at a time (default 8; does not change the result).
    ///   - flipAveraging: test-time augmentation with the training's left-right flip: the logits
    ///     are the mean of the network's logits for the slice and, flipped back, for the slice
    ///     flipped left-right (twice the network time). Default `false`.
    /// - Throws: ``CTVolumeError/gridMismatch(path:reason:)`` when `intracranial` is on another grid.
    public func segment(_ scan: ScanVolume, intracranial: MaskVolume? = nil, threshold: Float = 0.5,
                        batchSize: Int = 8, flipAveraging: Bool = false) throws -> RefinedSegmentation {
        try Self.segment(scan, ensemble: [self], intracranial: intracranial, threshold: threshold, batchSize: batchSize, flipAveraging: flipAveraging)
    }

    /// ``segment(_:intracranial:threshold:batchSize:flipAveraging:)`` by an ensemble: the logits
    /// of a slice are the mean of the members' logits (each member's own the mean over the flip
    /// with `flipAveraging`), then resized and thresholded as for one network. One member gives
    /// that member's result (the one-network `segment` is this call). With two members,
    /// `sigmoid(mean logit) >= 0.5` holds where the mean of the two probabilities is at least
    /// 0.5, to rounding; at other thresholds the two means differ. Switches every member to
    /// evaluation mode.
    ///
    /// - Parameters:
    ///   - scan: a head CT in HU.
    ///   - members: networks with the same input size, windows and neighbouring slices (their
    ///     widths may differ); at least one.
    ///   - intracranial: the intracranial mask on the scan's grid; `nil` computes it.
    ///   - threshold: on the probability (default 0.5).
    ///   - batchSize: slices run through the networks at a time (default 8).
    ///   - flipAveraging: each member's logits averaged with its logits of the left-right
    ///     flipped slices, flipped back (default `false`).
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` for no member or members
    ///   that read the scan differently; ``CTVolumeError/gridMismatch(path:reason:)`` when
    ///   `intracranial` is on another grid.
    public static func segment(_ scan: ScanVolume, ensemble members: [UNetLite], intracranial: MaskVolume? = nil, threshold: Float = 0.5,
                               batchSize: Int = 8, flipAveraging: Bool = false) throws -> RefinedSegmentation {
        precondition(batchSize > 0, "segment: batchSize must be positive")
        try checkEnsemble(members)
        let inside = try intracranial ?? IntracranialMask.compute(scan)
        guard inside.shape == scan.shape else {
            throw CTVolumeError.gridMismatch(path: "intracranial mask",
                                             reason: "shape \(inside.shape) differs from the scan's \(scan.shape)")
        }
        for member in members { member.eval() }
        let first = members[0], config = first.config
        let s = config.inputSize, z = scan.shape.z
        let data = first.windowed(scan)
        var logits = [Float]()
        logits.reserveCapacity(z * s * s)
        withoutGradients {
            for start in stride(from: 0, to: z, by: batchSize) {
                let range = start..<min(start + batchSize, z)
                let batch = Tensor(shape: [range.count, config.inChannels, s, s], data: first.input(data, slices: range))
                let flipped = flipAveraging ? batch.mirroredLeftRight() : nil
                var out = first.logits(batch, flipped: flipped)
                if members.count > 1 {
                    for member in members.dropFirst() {
                        let more = member.logits(batch, flipped: flipped)
                        for i in out.indices { out[i] += more[i] }
                    }
                    let share = 1 / Float(members.count)
                    for i in out.indices { out[i] *= share }
                }
                logits += out
            }
        }
        let resized = z > 0 ? Preprocessing.resizeToVolume(logits, size: s, shape: scan.shape) : []
        let probabilities = resized.map { 1 / (1 + Foundation.exp(-$0)) }
        let mask = RefinedSegmentation.mask(probabilities, inside: inside, at: threshold)
        return RefinedSegmentation(
            mask: MaskVolume(shape: scan.shape, voxels: mask, geometry: scan.geometry),
            probabilities: Volume(shape: scan.shape, voxels: probabilities, geometry: scan.geometry),
            intracranial: inside)
    }
}

extension UNetLite {
    /// The network's logits for one batch (evaluation mode, no gradients); given the batch
    /// flipped left-right (`Tensor.mirroredLeftRight()`), the mean with its logits, flipped back.
    func logits(_ batch: Tensor, flipped: Tensor?) -> [Float] {
        var out = self(batch).data
        if let flipped {
            var back = self(flipped).data[...]
            AugmentationDraw(flipX: true).apply(to: &back, size: config.inputSize, intensity: false)
            for i in out.indices { out[i] = 0.5 * (out[i] + back[back.startIndex + i]) }
        }
        return out
    }

    /// Throws unless `members` is not empty and every member reads a scan as the first does
    /// (input size, windows, neighbouring slices): an ensemble averages logits of the same pixels.
    static func checkEnsemble(_ members: [UNetLite]) throws {
        guard let first = members.first else {
            throw WeakSupervisionError.invalidParameter(name: "ensemble", reason: "no network to segment with")
        }
        for (k, m) in members.enumerated().dropFirst() {
            let a = first.config, b = m.config
            guard a.inputSize == b.inputSize, a.windows == b.windows, a.contextSlices == b.contextSlices else {
                throw WeakSupervisionError.invalidParameter(name: "ensemble",
                    reason: "member \(k + 1) reads the scan differently from member 1 (input size \(b.inputSize) against \(a.inputSize), "
                        + "windows \(b.windows.map { "\($0.center)/\($0.width)" }) against \(a.windows.map { "\($0.center)/\($0.width)" }), "
                        + "neighbouring slices \(b.contextSlices) against \(a.contextSlices))")
            }
        }
    }
}
