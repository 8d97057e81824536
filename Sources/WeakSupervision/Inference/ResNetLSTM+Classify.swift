import CTVolume
import Foundation
import NeuralCore

/// The slice classifier's verdict on one volume: a logit and a probability per axial slice.
public struct SliceProbabilities: Sendable, Codable, Equatable {
    /// One logit per axial slice, in slice order.
    public var logits: [Float]
    /// `sigmoid(logit)` per slice: the probability that the slice holds hemorrhage.
    public var probabilities: [Float]

    /// From per-slice logits.
    public init(logits: [Float]) {
        self.logits = logits
        self.probabilities = logits.map { 1 / (1 + Foundation.exp(-$0)) }
    }

    /// The volume's probability: the largest slice probability (0 for an empty volume).
    public var maximum: Float { probabilities.max() ?? 0 }

    /// The slice holding ``maximum`` (the first if tied; `nil` for an empty volume).
    public var maximumSlice: Int? { probabilities.indices.max { probabilities[$0] < probabilities[$1] } }

    /// Slices whose probability is at least `threshold` (default 0.5: the classifier's positives).
    public func positiveSlices(threshold: Float = 0.5) -> [Int] {
        probabilities.indices.filter { probabilities[$0] >= threshold }
    }
}

extension IntensityWindow {
    /// The same window as CTVolume's ``Window``.
    var ctWindow: Window { Window(center: Float(center), width: Float(width)) }
}

extension ResNetLSTM {
    /// The network input of a whole volume, (Z, C, S, S), with this network's size and windows
    /// (Docs/method.md#0-data-and-preprocessing: resample each slice's HU to S x S, a slice that is
    /// not square padded with air to its square frame first, then window).
    public func preprocess(_ scan: ScanVolume) -> Tensor {
        let s = config.inputSize
        let data = Preprocessing.preprocess(scan, size: s, windows: config.windows.map(\.ctWindow))
        return Tensor(shape: [scan.shape.z, config.inChannels, s, s], data: data)
    }

    /// Per-slice ICH probabilities of a volume: every axial slice preprocessed, the encoder run
    /// on all of them, and the LSTM over the whole volume as one sequence, slices in order
    /// (Docs/method.md#1-slice-classifier-resnet-lstm, inference). Switches the network to evaluation mode.
    ///
    /// - Parameters:
    ///   - scan: a head CT in HU.
    ///   - chunkSize: slices encoded at a time (bounds memory; default 16). The result does not
    ///     depend on it.
    ///   - flipAveraging: test-time augmentation with the training's left-right flip: each
    ///     slice's logit is the mean of the network's logit for the volume and for the volume
    ///     with every slice flipped left-right (twice the network time). Default `false`.
    /// - Returns: one logit and probability per slice.
    public func classify(_ scan: ScanVolume, chunkSize: Int = 16, flipAveraging: Bool = false) -> SliceProbabilities {
        precondition(chunkSize > 0, "classify: chunkSize must be positive")
        guard scan.shape.z > 0 else { return SliceProbabilities(logits: []) }
        return classify(preprocessed: preprocess(scan), chunkSize: chunkSize, flipAveraging: flipAveraging)
    }

    /// ``classify(_:chunkSize:flipAveraging:)`` of a volume already preprocessed, (Z, C, S, S):
    /// ``preprocess(_:)``'s output, of this network or of one that reads the same input
    /// (``readsSameInput(as:)``), so that two networks on one scan preprocess it once.
    /// - Precondition: `input` has this network's channels and size.
    public func classify(preprocessed input: Tensor, chunkSize: Int = 16, flipAveraging: Bool = false) -> SliceProbabilities {
        precondition(chunkSize > 0, "classify: chunkSize must be positive")
        let s = config.inputSize
        precondition(input.shape.count == 4 && Array(input.shape[1...]) == [config.inChannels, s, s],
                     "classify: input \(input.shape), expected (Z, \(config.inChannels), \(s), \(s))")
        eval()
        guard input.shape[0] > 0 else { return SliceProbabilities(logits: []) }
        return withoutGradients {
            var logits = sequenceLogits(input, chunkSize: chunkSize)
            if flipAveraging {
                let mirrored = sequenceLogits(input.mirroredLeftRight(), chunkSize: chunkSize)
                for i in logits.indices { logits[i] = 0.5 * (logits[i] + mirrored[i]) }
            }
            return SliceProbabilities(logits: logits)
        }
    }

    /// Whether `other` preprocesses a scan exactly as this network does (the same input size
    /// and windows), so that one ``preprocess(_:)`` serves both.
    public func readsSameInput(as other: ResNetLSTM) -> Bool {
        config.inputSize == other.config.inputSize && config.windows == other.config.windows
    }

    /// The logits of a preprocessed volume (Z, C, S, S) read as one sequence, the encoder run on
    /// `chunkSize` slices at a time (evaluation mode, no gradients).
    private func sequenceLogits(_ input: Tensor, chunkSize: Int) -> [Float] {
        let z = input.shape[0]
        var maps: [Tensor] = []
        for start in stride(from: 0, to: z, by: chunkSize) {
            maps.append(featureMaps(input.slice(axis: 0, start..<min(start + chunkSize, z))))
        }
        let all = maps.count == 1 ? maps[0] : Tensor.concatenate(maps, axis: 0)
        return head(all, batch: 1, time: z).data
    }
}
