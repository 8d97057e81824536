import CTVolume

/// Runs another segmenter and empties its mask on the slices the slice classifier calls
/// negative (probability below `positiveAt`): the isolated specks a refiner leaves on slices
/// without blood go, whatever their size, while slices the classifier calls positive keep all
/// their voxels.
///
///     out[x, y, z] = base[x, y, z]  if p[z] >= positiveAt,  else 0
///
/// The probabilities are the case's ``SegmentationCase/sliceProbabilities`` (the pipeline's
/// classifier, the same ones the CAM and pseudo-mask rows use). A method wrapped this way runs
/// the classifier at test time as well as its own network, unlike the paper's refiner alone.
public struct ClassifierGated: Segmenter {
    /// The method whose masks are gated.
    public var base: any Segmenter
    /// A slice keeps its voxels when its probability is at least this (default 0.5).
    public var positiveAt: Float

    /// A wrapper of `base`; the row keeps `base`'s name.
    ///
    /// - Parameters:
    ///   - base: the method whose masks are gated.
    ///   - positiveAt: the slice probability from which a slice keeps its voxels (default 0.5).
    public init(base: any Segmenter, positiveAt: Float = 0.5) {
        self.base = base
        self.positiveAt = positiveAt
    }

    /// `base`'s name.
    public var name: String { base.name }

    /// `base`'s mask without the slices the classifier calls negative.
    /// - Throws: ``WeakSupervisionError/missingInput(method:input:)`` when the case has no slice
    ///   probabilities, ``WeakSupervisionError/shapeMismatch(what:expected:got:)`` when `base`'s
    ///   mask is not on the scan's grid, the case's own validation errors, and `base`'s.
    public func segment(_ input: SegmentationCase) throws -> MaskVolume {
        try input.validate()
        guard let p = input.sliceProbabilities else {
            throw WeakSupervisionError.missingInput(method: name, input: "the classifier's slice probabilities of case \(input.name)")
        }
        let mask = try base.segment(input)
        try checkSameGrid(input.scan.shape, mask.shape, what: "\(input.name): scan and the mask of \(name)")
        return Self.gate(mask, probabilities: p, positiveAt: positiveAt)
    }

    /// `mask` with every slice `z` whose `probabilities[z] < positiveAt` set to 0 (kept voxels become 1).
    /// - Precondition: one probability per slice of `mask`.
    public static func gate(_ mask: MaskVolume, probabilities: [Float], positiveAt: Float) -> MaskVolume {
        precondition(probabilities.count == mask.shape.z,
                     "ClassifierGated: \(probabilities.count) probabilities for \(mask.shape.z) slices")
        var out = mask
        let n = mask.shape.sliceCount
        for z in 0..<mask.shape.z {
            let keep = probabilities[z] >= positiveAt
            for v in (z * n)..<((z + 1) * n) { out.voxels[v] = keep && mask.voxels[v] > 0 ? 1 : 0 }
        }
        return out
    }
}
