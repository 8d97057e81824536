import CTVolume

/// The simplest baseline: every intracranial voxel whose HU lies in `lower ... upper`
/// (inclusive; default 50...90, acute blood), optionally minus small components.
///
///     mask[v] = intracranial[v] > 0  and  lower <= hu[v] <= upper
public struct IntensityThresholdBaseline: Segmenter, Hashable {
    /// Lowest HU kept (default 50).
    public var lower: Float
    /// Highest HU kept (default 90).
    public var upper: Float
    /// Components smaller than this are dropped (default 0: none).
    public var minimumComponentSize: Int
    /// Where components are taken (default 2-D per slice, 8-connected).
    public var componentScope: ComponentScope

    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` when `lower > upper`,
    ///   either is not finite, or the minimum size is negative.
    public init(lower: Float = 50, upper: Float = 90, minimumComponentSize: Int = 0, componentScope: ComponentScope = .slices(.eight)) throws {
        guard lower.isFinite, upper.isFinite, lower <= upper else {
            throw WeakSupervisionError.invalidParameter(name: "HU range", reason: "\(lower)...\(upper) is not a finite, non-empty range")
        }
        guard minimumComponentSize >= 0 else {
            throw WeakSupervisionError.invalidParameter(name: "minimumComponentSize", reason: "\(minimumComponentSize) is negative")
        }
        self.lower = lower
        self.upper = upper
        self.minimumComponentSize = minimumComponentSize
        self.componentScope = componentScope
    }

    /// "threshold 50..90 HU inside the intracranial mask" (with this baseline's bounds).
    public var name: String { "threshold \(compact(lower))..\(compact(upper)) HU inside the intracranial mask" }

    /// The HU window inside the intracranial mask; needs neither CAM nor probabilities.
    public func segment(_ input: SegmentationCase) throws -> MaskVolume {
        try input.validate()
        var out = MaskVolume(shape: input.scan.shape, repeating: 0, geometry: input.scan.geometry)
        for v in 0..<out.voxels.count where input.intracranial.voxels[v] > 0 {
            let h = input.scan.voxels[v]
            if h >= lower && h <= upper { out.voxels[v] = 1 }
        }
        return ConnectedComponents.removingSmall(out, minimumSize: minimumComponentSize, scope: componentScope)
    }
}

/// k-means alone: the hyperdense cluster of the intracranial voxels (the builder's steps 1 and 2,
/// no CAM, no slice gating), optionally minus small components.
public struct KMeansBaseline: Segmenter {
    /// Supplies k, the features, the blood range and the seed.
    public var builder: PseudoMaskBuilder
    /// Components smaller than this are dropped (default 0: none).
    public var minimumComponentSize: Int

    /// - Parameters:
    ///   - builder: supplies k, features, blood range, component scope and seed.
    ///   - minimumComponentSize: components smaller than this are dropped (default 0: none).
    public init(builder: PseudoMaskBuilder, minimumComponentSize: Int = 0) {
        self.builder = builder
        self.minimumComponentSize = minimumComponentSize
    }

    /// "k-means alone (hyperdense cluster)".
    public var name: String { "k-means alone (hyperdense cluster)" }

    /// The builder's hyperdense cluster on every slice; needs neither CAM nor probabilities.
    public func segment(_ input: SegmentationCase) throws -> MaskVolume {
        try input.validate()
        let mask = try builder.cluster(scan: input.scan, intracranial: input.intracranial).mask
        return ConnectedComponents.removingSmall(mask, minimumSize: minimumComponentSize, scope: builder.componentScope)
    }
}

/// CAM alone: the thresholded CAM inside the intracranial mask on the slices the classifier
/// calls positive, optionally minus small components.
public struct CAMBaseline: Segmenter {
    /// The threshold (default ``FixedThreshold`` 0.3).
    public var threshold: any MapThreshold
    /// A slice is positive when its probability is >= this (default 0.5).
    public var positiveAt: Float
    /// Components smaller than this are dropped (default 0: none).
    public var minimumComponentSize: Int
    /// Where components are taken (default 2-D per slice, 8-connected).
    public var componentScope: ComponentScope

    /// - Parameters: see the properties (defaults: `FixedThreshold(0.3)`, 0.5, 0, 2-D per slice).
    public init(
        threshold: any MapThreshold = FixedThreshold(0.3), positiveAt: Float = 0.5,
        minimumComponentSize: Int = 0, componentScope: ComponentScope = .slices(.eight)
    ) {
        self.threshold = threshold
        self.positiveAt = positiveAt
        self.minimumComponentSize = minimumComponentSize
        self.componentScope = componentScope
    }

    /// "CAM alone (thresholded CAM)".
    public var name: String { "CAM alone (thresholded CAM)" }

    /// The thresholded CAM on positive slices; needs the case's CAM (probabilities optional:
    /// without them every slice counts as positive).
    public func segment(_ input: SegmentationCase) throws -> MaskVolume {
        try input.validate()
        guard let cam = input.cam else { throw WeakSupervisionError.missingInput(method: name, input: "a CAM volume") }
        var mask = try threshold.region(cam: cam, within: input.intracranial, probabilities: input.sliceProbabilities, positiveAt: positiveAt)
        mask.geometry = input.scan.geometry
        return ConnectedComponents.removingSmall(mask, minimumSize: minimumComponentSize, scope: componentScope)
    }
}

/// 50 -> "50", 52.5 -> "52.5".
private func compact(_ v: Float) -> String {
    v == v.rounded() && abs(v) < 1e7 ? String(Int(v)) : String(v)
}
