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
    /// network, resize the logits bilinearly (`align_corners=False`) to the slice's original
    /// grid, threshold `sigmoid(logit) >= threshold`, and keep only voxels of the intracranial
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
        precondition(batchSize > 0, "segment: batchSize must be positive")
        let inside = try intracranial ?? IntracranialMask.compute(scan)
        guard inside.shape == scan.shape else {
            throw CTVolumeError.gridMismatch(path: "intracranial mask",
                                             reason: "shape \(inside.shape) differs from the scan's \(scan.shape)")
        }
        eval()
        let s = config.inputSize, z = scan.shape.z
        let data = windowed(scan)
        var logits = [Float]()
        logits.reserveCapacity(z * s * s)
        withoutGradients {
            for start in stride(from: 0, to: z, by: batchSize) {
                let range = start..<min(start + batchSize, z)
                let batch = Tensor(shape: [range.count, config.inChannels, s, s], data: input(data, slices: range))
                var out = self(batch).data
                if flipAveraging {
                    // the training augmentation's own left-right flip, exact at whole pixels
                    let flip = AugmentationDraw(flipX: true)
                    var flipped = batch.data[...]
                    flip.apply(to: &flipped, size: s, intensity: false)
                    var mirrored = self(Tensor(shape: batch.shape, data: Array(flipped))).data[...]
                    flip.apply(to: &mirrored, size: s, intensity: false)
                    for i in out.indices { out[i] = 0.5 * (out[i] + mirrored[mirrored.startIndex + i]) }
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
