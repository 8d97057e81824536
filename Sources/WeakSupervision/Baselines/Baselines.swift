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

    public var name: String { "threshold \(lower)..\(upper) HU inside the intracranial mask" }

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

    public init(builder: PseudoMaskBuilder, minimumComponentSize: Int = 0) {
        self.builder = builder
        self.minimumComponentSize = minimumComponentSize
    }

    public var name: String { "k-means alone (hyperdense cluster)" }

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

    public init(
        threshold: any MapThreshold = FixedThreshold(0.3), positiveAt: Float = 0.5,
        minimumComponentSize: Int = 0, componentScope: ComponentScope = .slices(.eight)
    ) {
        self.threshold = threshold
        self.positiveAt = positiveAt
        self.minimumComponentSize = minimumComponentSize
        self.componentScope = componentScope
    }

    public var name: String { "CAM alone (thresholded CAM)" }

    public func segment(_ input: SegmentationCase) throws -> MaskVolume {
        try input.validate()
        guard let cam = input.cam else { throw WeakSupervisionError.missingInput(method: name, input: "a CAM volume") }
        var mask = try threshold.region(cam: cam, within: input.intracranial, probabilities: input.sliceProbabilities, positiveAt: positiveAt)
        mask.geometry = input.scan.geometry
        return ConnectedComponents.removingSmall(mask, minimumSize: minimumComponentSize, scope: componentScope)
    }
}
