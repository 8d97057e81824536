import CTVolume

/// The outcome of clustering a case's intracranial voxels: the k-means result and which
/// cluster, if any, is the hyperdense (blood) one.
public struct HyperdenseClustering: Sendable {
    /// k-means over the intracranial voxels, in storage order (`labels[i]` belongs to the i-th
    /// voxel > 0 of the intracranial mask).
    public var kmeans: KMeansResult
    /// The hyperdense cluster: the highest centroid (in the range feature) inside the blood
    /// range; nil when no centroid lies in the range.
    public var hyperdenseCluster: Int?
    /// The hyperdense cluster's voxels as a mask on the scan's grid (empty when nil).
    public var mask: MaskVolume
}

/// Every intermediate of one pseudo-mask: what the k-means-alone and CAM-alone baselines
/// would give, and the pseudo-mask itself, from a single clustering.
public struct PseudoMaskParts: Sendable {
    /// k-means over the intracranial voxels and its hyperdense cluster (k-means alone).
    public var clustering: HyperdenseClustering
    /// The thresholded CAM on positive slices (CAM alone).
    public var camRegion: MaskVolume
    /// Their intersection minus small components (the pseudo-mask).
    public var pseudoMask: MaskVolume
}

/// Builds pseudo-ICH masks from a scan, its intracranial mask, its class activation maps and the
/// classifier's slice probabilities (Docs/method.md#4-k-means-pseudo-masks):
///
///     pseudo = removeSmall( hyperdense(k-means over intracranial voxels)
///                           AND threshold(CAM) on slices with probability >= positiveAt )
///
/// 1. **k-means** (``KMeans``: k-means++, seeded, Lloyd to convergence) clusters the features
///    of every voxel inside the intracranial mask (all slices together).
/// 2. The **hyperdense cluster** is the cluster with the highest centroid, in feature
///    `rangeFeature`, among those whose centroid lies inside `bloodRange` (HU). Why the range:
///    the highest cluster of a case without blood is calcification or bone partial volume, not
///    haemorrhage; when no centroid is inside, the case gets an empty mask.
/// 3. The **CAM region**: `threshold` applied to each positive slice's CAM inside the
///    intracranial mask (``MapThreshold/region(cam:within:probabilities:positiveAt:)``);
///    negative slices are empty.
/// 4. Their intersection, minus connected components of fewer than `minimumComponentSize`
///    voxels, in `componentScope` (default 2-D, 8-connected, per slice).
///
/// Each stage is public alone: ``cluster(scan:intracranial:using:)`` (k-means alone) and
/// ``camRegion(cam:intracranial:probabilities:)`` (CAM alone).
public struct PseudoMaskBuilder: Sendable {
    /// Clusters of k-means (default 4: e.g. CSF/oedema, white matter, grey matter, blood);
    /// the `k` of ``kmeans``.
    public var k: Int {
        get { kmeans.k }
        set { kmeans.k = newValue }
    }
    /// Features clustered per voxel (default `[.hu]`).
    public var features: [VoxelFeature]
    /// Which feature's centroid must lie in `bloodRange` (default 0, the first).
    public var rangeFeature: Int
    /// Plausible HU of acute blood for the hyperdense centroid (default 40...100).
    public var bloodRange: ClosedRange<Double>
    /// The CAM threshold (default ``FixedThreshold`` 0.3).
    public var threshold: any MapThreshold
    /// A slice is positive when its probability is >= this (default 0.5).
    public var positiveAt: Float
    /// Components smaller than this many voxels are dropped (default 8).
    public var minimumComponentSize: Int
    /// Where components are taken (default `.slices(.eight)`: 2-D, per slice).
    public var componentScope: ComponentScope
    /// The k-means settings: k, restarts, iterations, tolerance, seeding.
    public var kmeans: KMeans
    /// Seed of the k-means random choices when no generator is passed (default 0).
    public var seed: UInt64

    /// - Parameters: see the properties; defaults are method.md's.
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` for `k < 1`, no
    ///   feature, `rangeFeature` out of range, a negative minimum size, a non-finite range.
    public init(
        k: Int = 4, features: [VoxelFeature] = [.hu], rangeFeature: Int = 0,
        bloodRange: ClosedRange<Double> = 40...100, threshold: any MapThreshold = FixedThreshold(0.3),
        positiveAt: Float = 0.5, minimumComponentSize: Int = 8, componentScope: ComponentScope = .slices(.eight),
        restarts: Int = 1, maxIterations: Int = 300, tolerance: Double = 1e-4, seed: UInt64 = 0
    ) throws {
        guard !features.isEmpty else {
            throw WeakSupervisionError.invalidParameter(name: "features", reason: "no feature to cluster")
        }
        guard rangeFeature >= 0, rangeFeature < features.count else {
            throw WeakSupervisionError.invalidParameter(
                name: "rangeFeature", reason: "\(rangeFeature) is not one of the \(features.count) feature(s)")
        }
        guard bloodRange.lowerBound.isFinite, bloodRange.upperBound.isFinite else {
            throw WeakSupervisionError.invalidParameter(name: "bloodRange", reason: "\(bloodRange) is not finite")
        }
        guard minimumComponentSize >= 0 else {
            throw WeakSupervisionError.invalidParameter(
                name: "minimumComponentSize", reason: "\(minimumComponentSize) is negative")
        }
        self.kmeans = try KMeans(k: k, restarts: restarts, maxIterations: maxIterations, tolerance: tolerance)
        self.features = features
        self.rangeFeature = rangeFeature
        self.bloodRange = bloodRange
        self.threshold = threshold
        self.positiveAt = positiveAt
        self.minimumComponentSize = minimumComponentSize
        self.componentScope = componentScope
        self.seed = seed
    }

    /// k-means alone: clusters the intracranial voxels and picks the hyperdense cluster.
    ///
    /// - Throws: ``WeakSupervisionError/shapeMismatch(what:expected:got:)`` when the grids
    ///   differ, ``WeakSupervisionError/invalidParameter(name:reason:)`` when the mask holds
    ///   fewer voxels than `k`, ``WeakSupervisionError/nonFiniteValues(what:count:)`` for NaN
    ///   HU inside the mask.
    public func cluster(
        scan: ScanVolume, intracranial: MaskVolume, using generator: inout some RandomNumberGenerator
    ) throws -> HyperdenseClustering {
        try checkSameGrid(scan.shape, intracranial.shape, what: "scan and intracranial mask")
        var inside: [Int] = []
        intracranial.voxels.withUnsafeBufferPointer { m in
            inside.reserveCapacity(m.reduce(0) { $0 + ($1 > 0 ? 1 : 0) })
            for v in 0..<m.count where m[v] > 0 { inside.append(v) }
        }
        guard !inside.isEmpty else { throw WeakSupervisionError.emptyInput(what: "intracranial mask") }
        let columns = try features.map { f -> [Float] in
            let all = try f.values(scan: scan, intracranial: intracranial)
            return inside.map { all[$0] }
        }
        let result = try kmeans.fit(try FeatureMatrix(columns: columns), using: &generator)
        var chosen: Int?
        for (j, c) in result.centroids.enumerated() where bloodRange.contains(c[rangeFeature]) {
            if chosen == nil || c[rangeFeature] > result.centroids[chosen!][rangeFeature] { chosen = j }
        }
        var mask = MaskVolume(shape: scan.shape, repeating: 0, geometry: scan.geometry)
        if let h = chosen {
            for (n, v) in inside.enumerated() where result.labels[n] == Int32(h) { mask.voxels[v] = 1 }
        }
        return HyperdenseClustering(kmeans: result, hyperdenseCluster: chosen, mask: mask)
    }

    /// ``cluster(scan:intracranial:using:)`` with the builder's `seed`.
    public func cluster(scan: ScanVolume, intracranial: MaskVolume) throws -> HyperdenseClustering {
        var g = SeededGenerator(seed: seed)
        return try cluster(scan: scan, intracranial: intracranial, using: &g)
    }

    /// CAM alone: the thresholded CAM inside the intracranial mask on positive slices.
    public func camRegion(cam: Volume<Float>, intracranial: MaskVolume, probabilities: [Float]?) throws -> MaskVolume {
        try threshold.region(cam: cam, within: intracranial, probabilities: probabilities, positiveAt: positiveAt)
    }

    /// The pseudo-ICH mask (see the type's doc).
    ///
    /// - Parameters:
    ///   - scan: Hounsfield units.
    ///   - intracranial: the intracranial mask, same grid.
    ///   - cam: class activation maps on the same grid (Float, 0...1 per slice).
    ///   - probabilities: the classifier's probability per axial slice (nil: all positive).
    ///   - generator: the source of k-means' random choices.
    /// - Returns: a 0/1 mask on the scan's grid and geometry.
    public func build(
        scan: ScanVolume, intracranial: MaskVolume, cam: Volume<Float>, probabilities: [Float]?,
        using generator: inout some RandomNumberGenerator
    ) throws -> MaskVolume {
        try checkSameGrid(scan.shape, cam.shape, what: "scan and CAM volume")
        let region = try camRegion(cam: cam, intracranial: intracranial, probabilities: probabilities)
        var out = region
        if region.voxels.allSatisfy({ $0 == 0 }) { return out }   // negative case: no clustering needed
        let dense = try cluster(scan: scan, intracranial: intracranial, using: &generator).mask
        for v in 0..<out.voxels.count { out.voxels[v] = region.voxels[v] & dense.voxels[v] }
        out.geometry = scan.geometry
        return ConnectedComponents.removingSmall(out, minimumSize: minimumComponentSize, scope: componentScope)
    }

    /// ``build(scan:intracranial:cam:probabilities:using:)`` with the builder's `seed`.
    public func build(scan: ScanVolume, intracranial: MaskVolume, cam: Volume<Float>, probabilities: [Float]?) throws -> MaskVolume {
        var g = SeededGenerator(seed: seed)
        return try build(scan: scan, intracranial: intracranial, cam: cam, probabilities: probabilities, using: &g)
    }

    /// The pseudo-mask with its two ingredients, clustering once (for a comparison table that
    /// reports k-means alone, CAM alone and the pseudo-mask of the same case). Unlike
    /// ``build(scan:intracranial:cam:probabilities:using:)``, it clusters even when no slice is
    /// positive. Same result as `build` with the same generator state.
    public func parts(
        scan: ScanVolume, intracranial: MaskVolume, cam: Volume<Float>, probabilities: [Float]?,
        using generator: inout some RandomNumberGenerator
    ) throws -> PseudoMaskParts {
        try checkSameGrid(scan.shape, cam.shape, what: "scan and CAM volume")
        var region = try camRegion(cam: cam, intracranial: intracranial, probabilities: probabilities)
        region.geometry = scan.geometry
        let clustering = try cluster(scan: scan, intracranial: intracranial, using: &generator)
        var both = region
        for v in 0..<both.voxels.count { both.voxels[v] = region.voxels[v] & clustering.mask.voxels[v] }
        let pseudo = ConnectedComponents.removingSmall(both, minimumSize: minimumComponentSize, scope: componentScope)
        return PseudoMaskParts(clustering: clustering, camRegion: region, pseudoMask: pseudo)
    }

    /// ``parts(scan:intracranial:cam:probabilities:using:)`` with the builder's `seed`.
    public func parts(scan: ScanVolume, intracranial: MaskVolume, cam: Volume<Float>, probabilities: [Float]?) throws -> PseudoMaskParts {
        var g = SeededGenerator(seed: seed)
        return try parts(scan: scan, intracranial: intracranial, cam: cam, probabilities: probabilities, using: &g)
    }
}
