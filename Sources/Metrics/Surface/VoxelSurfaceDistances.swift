/// Distances between the border voxels of two masks, the convention of MedPy and MONAI.
///
/// A border voxel is a foreground voxel that binary erosion with the 6-neighbourhood
/// (connectivity 1, `scipy.ndimage.generate_binary_structure(3, 1)`) removes; voxels outside
/// the grid count as background (scipy's `border_value=0`). For each border voxel of one mask,
/// the Euclidean distance in mm (with the voxel spacing) to the nearest border voxel of the
/// other. These are MedPy's `__surface_distances` and MONAI's `get_surface_distance` on the
/// edges of `get_mask_edges`.
///
/// Empty masks (MONAI's convention, MedPy raises): if the other mask is empty, every distance
/// is `+inf`; if this mask is empty there are no distances.
public struct VoxelSurfaceDistances: Sendable {
    /// One distance (mm) per border voxel of the prediction, to the truth's border; ascending.
    public let predictionToTruth: [Double]
    /// One distance (mm) per border voxel of the truth, to the prediction's border; ascending.
    public let truthToPrediction: [Double]

    /// Distances from explicit lists (for tests and other producers), sorted here.
    public init(predictionToTruth: [Double], truthToPrediction: [Double]) {
        self.predictionToTruth = predictionToTruth.sorted()
        self.truthToPrediction = truthToPrediction.sorted()
    }

    /// Both directions pooled, ascending (a merge of the two sorted lists).
    var pooled: [Double] {
        let (a, b) = (predictionToTruth, truthToPrediction)
        var out: [Double] = []
        out.reserveCapacity(a.count + b.count)
        var (i, j) = (0, 0)
        while i < a.count && j < b.count {
            if b[j] < a[i] { out.append(b[j]); j += 1 } else { out.append(a[i]); i += 1 }
        }
        out.append(contentsOf: a[i...])
        out.append(contentsOf: b[j...])
        return out
    }

    /// Border distances of `prediction` against `truth`, with the truth's spacing.
    ///
    /// Only the bounding box of both masks is processed: every border voxel and every nearest
    /// partner lies inside it, and the erosion sees background outside it either way, so the
    /// result is exactly that of the whole grid.
    /// - Precondition: both masks have the same shape.
    /// Complexity: O(voxels of the bounding box).
    public init(prediction: BinaryMask, truth: BinaryMask) {
        self.init(MaskPair(prediction: prediction, truth: truth))
    }

    init(_ pair: MaskPair) {
        if pair.bothEmpty {
            self.init(predictionToTruth: [], truthToPrediction: [])
            return
        }
        let predBorder = Self.borders(of: pair.prediction, shape: pair.shape)
        let truthBorder = Self.borders(of: pair.truth, shape: pair.shape)
        self.init(predictionToTruth: Self.distances(from: predBorder, to: truthBorder, present: !pair.truthEmpty,
                                                    shape: pair.shape, spacing: pair.spacing),
                  truthToPrediction: Self.distances(from: truthBorder, to: predBorder, present: !pair.predictionEmpty,
                                                    shape: pair.shape, spacing: pair.spacing))
    }

    /// Border voxels by erosion with the 6-neighbourhood, outside counting as background.
    static func borders(of mask: [Bool], shape: MaskShape) -> [Bool] {
        let (nx, ny, nz) = (shape.x, shape.y, shape.z)
        let sy = nx, sz = nx * ny
        var border = [Bool](repeating: false, count: mask.count)
        mask.withUnsafeBufferPointer { m in
            border.withUnsafeMutableBufferPointer { b in
                for k in 0..<nz {
                    for j in 0..<ny {
                        let row = sy * j + sz * k
                        for i in 0..<nx where m[row + i] {
                            let n = row + i
                            let interior = i > 0 && i < nx - 1 && j > 0 && j < ny - 1 && k > 0 && k < nz - 1
                                && m[n - 1] && m[n + 1] && m[n - sy] && m[n + sy] && m[n - sz] && m[n + sz]
                            b[n] = !interior
                        }
                    }
                }
            }
        }
        return border
    }

    /// Distance from each `from` voxel (in index order) to the nearest `to` voxel.
    static func distances(from: [Bool], to: [Bool], present: Bool, shape: MaskShape,
                          spacing: SIMD3<Double>) -> [Double] {
        guard from.contains(true) else { return [] }
        guard present else { return from.compactMap { $0 ? Double.infinity : nil } }
        var queries: [Int] = []
        queries.reserveCapacity(from.count / 8)
        from.withUnsafeBufferPointer { f in
            for n in 0..<f.count where f[n] { queries.append(n) }
        }
        return EuclideanDistanceTransform.squaredDistances(toFeatures: to, shape: shape, spacing: spacing, at: queries)
            .map { $0.squareRoot() }
    }

    // MARK: - MedPy (distances of both directions pooled)

    /// MedPy `hd`: the largest distance of either direction (the symmetric Hausdorff distance).
    /// `+inf` when one mask is empty, NaN when both are.
    public var hausdorff: Double {
        if let special = emptyCase { return special }
        return max(predictionToTruth.last ?? -.infinity, truthToPrediction.last ?? -.infinity)
    }

    /// MedPy `hd95`: `numpy.percentile` (linear) at 95 of both directions' distances pooled.
    /// `+inf` when one mask is empty, NaN when both are.
    public var hausdorff95: Double { pooledPercentile(95) }

    /// MedPy-style pooled percentile: `numpy.percentile(hstack((d_pt, d_tp)), q)`.
    public func pooledPercentile(_ q: Double) -> Double {
        if let special = emptyCase { return special }
        return NumPyReductions.percentile(sorted: pooled, q)
    }

    /// MedPy `assd`: the mean of both directions' distances pooled. `+inf` when one mask is
    /// empty, NaN when both are.
    public var averageSymmetricSurfaceDistance: Double {
        if let special = emptyCase { return special }
        return NumPyReductions.mean(predictionToTruth + truthToPrediction)
    }

    // MARK: - MONAI (percentile per direction, then the larger)

    /// MONAI `compute_hausdorff_distance(percentile:directed:)`: the percentile of each
    /// direction's distances, then the larger; `directed` keeps the prediction-to-truth
    /// direction only. `percentile` nil or 0 means the maximum, as in MONAI.
    /// `+inf` when one mask is empty, NaN when both are.
    ///
    /// MONAI returns float32 and `torch.quantile` works in float32 (rank `q (n - 1)`, then
    /// `torch.lerp`); that arithmetic is reproduced here, so the result is MONAI's float32
    /// value to the bit, widened to Double.
    public func monaiHausdorff(percentile: Double? = nil, directed: Bool = false) -> Double {
        precondition(percentile.map { $0 >= 0 && $0 <= 100 } ?? true, "monaiHausdorff: percentile outside 0...100")
        if let special = emptyCase { return special }
        let directions = directed ? [predictionToTruth] : [predictionToTruth, truthToPrediction]
        var result = -Float.infinity
        for d in directions {
            if let q = percentile, q != 0 {
                // Rounding to Float keeps the order, so the Float list is sorted too.
                result = max(result, Self.torchQuantile(d.map { Float($0) }, Float(q / 100)))
            } else {
                result = max(result, Float(d.last!))
            }
        }
        return Double(result)
    }

    /// `torch.quantile(values, q)` (linear) in float32 on sorted values.
    static func torchQuantile(_ sorted: [Float], _ q: Float) -> Float {
        let rank = q * Float(sorted.count - 1)
        let below = Int(rank.rounded(.down))
        let above = min(Int(rank.rounded(.up)), sorted.count - 1)
        let weight = rank - Float(below)
        let (a, b) = (sorted[below], sorted[above])
        // at::lerp: weight < 0.5 ? a + weight (b - a) : b - (b - a)(1 - weight)
        return weight < 0.5 ? a + weight * (b - a) : b - (b - a) * (1 - weight)
    }

    /// The result of every distance when a mask is empty: NaN when both are, `+inf` when one
    /// is (a border voxel with no partner is infinitely far), nil when neither is.
    var emptyCase: Double? {
        switch (predictionToTruth.isEmpty, truthToPrediction.isEmpty) {
        case (true, true): return .nan
        case (false, false): return nil
        default: return .infinity
        }
    }
}

/// MedPy's surface distances (`medpy.metric.binary`), by their MedPy names.
///
/// MedPy raises on an empty mask; these follow MONAI instead: `+inf` when one mask is empty,
/// NaN when both are.
public enum MedPy {
    /// `medpy.metric.binary.hd(result, reference, voxelspacing)`, the truth's spacing.
    public static func hd(_ prediction: BinaryMask, _ truth: BinaryMask) -> Double {
        VoxelSurfaceDistances(prediction: prediction, truth: truth).hausdorff
    }

    /// `medpy.metric.binary.hd95(result, reference, voxelspacing)`.
    public static func hd95(_ prediction: BinaryMask, _ truth: BinaryMask) -> Double {
        VoxelSurfaceDistances(prediction: prediction, truth: truth).hausdorff95
    }

    /// `medpy.metric.binary.assd(result, reference, voxelspacing)`.
    public static func assd(_ prediction: BinaryMask, _ truth: BinaryMask) -> Double {
        VoxelSurfaceDistances(prediction: prediction, truth: truth).averageSymmetricSurfaceDistance
    }
}

/// MONAI's surface distances (`monai.metrics`), by their MONAI names.
public enum MONAI {
    /// `monai.metrics.compute_hausdorff_distance(y_pred, y, percentile, directed, spacing)` for
    /// one binary class: see ``VoxelSurfaceDistances/monaiHausdorff(percentile:directed:)``.
    public static func computeHausdorffDistance(prediction: BinaryMask, truth: BinaryMask,
                                                percentile: Double? = nil, directed: Bool = false) -> Double {
        VoxelSurfaceDistances(prediction: prediction, truth: truth)
            .monaiHausdorff(percentile: percentile, directed: directed)
    }
}
