/// Surface elements (surfels) of two masks with their areas and their distances to the other
/// surface: DeepMind's surface-distance (`compute_surface_distances`), which the INSTANCE 2022
/// evaluator uses.
///
/// Surfels live on the corners of the voxel grid: each corner's 2x2x2 neighbourhood of voxels
/// gives a code 0...255 (voxel (i-1, j-1, k-1) is bit 7, voxel (i, j, k) bit 0, as the kernel
/// `[[[128, 64], [32, 16]], [[8, 4], [2, 1]]]`); a corner is on the surface when its code is
/// neither 0 nor 255, and carries the marching-cubes area of its code at the spacing. Distances
/// are from each surfel to the nearest surfel of the other mask, in mm.
///
/// The lists are sorted by (distance, area) as the library sorts them. Empty masks: if both
/// are empty, all four lists are empty; if one is, its lists are empty and every distance of
/// the other is `+inf`.
public struct SurfelDistances: Sendable {
    /// Distances (mm) from the truth's surfels to the prediction's surface, ascending.
    public let truthToPrediction: [Double]
    /// Areas (mm²) of the truth's surfels, in the order of `truthToPrediction`.
    public let truthAreas: [Double]
    /// Distances (mm) from the prediction's surfels to the truth's surface, ascending.
    public let predictionToTruth: [Double]
    /// Areas (mm²) of the prediction's surfels, in the order of `predictionToTruth`.
    public let predictionAreas: [Double]

    /// Surfel distances from explicit lists, sorted here by (distance, area).
    public init(truthToPrediction: [Double], truthAreas: [Double],
                predictionToTruth: [Double], predictionAreas: [Double]) {
        precondition(truthToPrediction.count == truthAreas.count && predictionToTruth.count == predictionAreas.count,
                     "SurfelDistances: one area per distance")
        (self.truthToPrediction, self.truthAreas) = Self.sorted(truthToPrediction, truthAreas)
        (self.predictionToTruth, self.predictionAreas) = Self.sorted(predictionToTruth, predictionAreas)
    }

    /// `compute_surface_distances(mask_gt, mask_pred, spacing_mm)` with the truth's spacing.
    ///
    /// Works on the bounding box of both masks plus one corner per axis, exactly as the
    /// library does (every surfel and its nearest partner lie there).
    /// - Precondition: both masks have the same shape.
    /// Complexity: O(voxels of the bounding box) plus a sort of the surfels.
    public init(truth: BinaryMask, prediction: BinaryMask) {
        self.init(MaskPair(prediction: prediction, truth: truth))
    }

    init(_ pair: MaskPair) {
        if pair.bothEmpty {
            self.init(truthToPrediction: [], truthAreas: [], predictionToTruth: [], predictionAreas: [])
            return
        }
        let spacing = pair.spacing
        let areaTable = NeighbourCodeTable.surfaceAreas(spacing: spacing)
        let inner = pair.shape
        let corners = MaskShape(inner.x + 1, inner.y + 1, inner.z + 1)
        let gtCodes = Self.neighbourCodes(pair.truth, inner: inner, corners: corners)
        let predCodes = Self.neighbourCodes(pair.prediction, inner: inner, corners: corners)
        let gtBorder = gtCodes.map { $0 != 0 && $0 != 255 }
        let predBorder = predCodes.map { $0 != 0 && $0 != 255 }
        // An empty mask has no surfels; the other's distances are then all +inf.
        var gtSurfels: [Int] = [], predSurfels: [Int] = []
        for n in 0..<corners.count {
            if gtBorder[n] { gtSurfels.append(n) }
            if predBorder[n] { predSurfels.append(n) }
        }
        let dGt = pair.predictionEmpty ? [Double](repeating: .infinity, count: gtSurfels.count)
            : EuclideanDistanceTransform.squaredDistances(toFeatures: predBorder, shape: corners, spacing: spacing,
                                                          at: gtSurfels).map { $0.squareRoot() }
        let dPred = pair.truthEmpty ? [Double](repeating: .infinity, count: predSurfels.count)
            : EuclideanDistanceTransform.squaredDistances(toFeatures: gtBorder, shape: corners, spacing: spacing,
                                                          at: predSurfels).map { $0.squareRoot() }
        let aGt = gtSurfels.map { areaTable[Int(gtCodes[$0])] }
        let aPred = predSurfels.map { areaTable[Int(predCodes[$0])] }
        self.init(truthToPrediction: dGt, truthAreas: aGt, predictionToTruth: dPred, predictionAreas: aPred)
    }

    /// The code of every corner: corner (i, j, k) sees voxels (i-1...i, j-1...j, k-1...k).
    static func neighbourCodes(_ mask: [Bool], inner: MaskShape, corners: MaskShape) -> [UInt8] {
        var codes = [UInt8](repeating: 0, count: corners.count)
        mask.withUnsafeBufferPointer { m in
            codes.withUnsafeMutableBufferPointer { c in
                for k in 0..<inner.z {
                    for j in 0..<inner.y {
                        let row = inner.index(0, j, k)
                        for i in 0..<inner.x where m[row + i] {
                            // Voxel (i, j, k) is offset (a, b, c) = (1 - di, 1 - dj, 1 - dk) of corner
                            // (i + di, j + dj, k + dk); its bit is 7 - (4a + 2b + c).
                            for dk in 0...1 {
                                for dj in 0...1 {
                                    for di in 0...1 {
                                        let bit = 7 - (4 * (1 - di) + 2 * (1 - dj) + (1 - dk))
                                        c[corners.index(i + di, j + dj, k + dk)] |= UInt8(1 << bit)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return codes
    }

    /// Sorted by (distance, area), as `sorted(zip(distances, surfel_areas))`.
    static func sorted(_ distances: [Double], _ areas: [Double]) -> ([Double], [Double]) {
        var pairs = zip(distances, areas).map { SurfelPair(distance: $0, area: $1) }
        pairs.sort()
        return (pairs.map(\.distance), pairs.map(\.area))
    }

    // MARK: - Measures

    /// `compute_robust_hausdorff(surface_distances, percent)`: in each direction, the smallest
    /// distance whose cumulative surfel-area fraction reaches `percent / 100`; the larger of
    /// the two. `+inf` when one mask is empty; NaN when both are (the library returns `+inf`
    /// there; MONAI's NaN is kept, see `Docs/metrics.md`).
    /// - Parameter percent: 0...100; 100 is the Hausdorff distance, 95 the robust HD95.
    public func robustHausdorff(percent: Double) -> Double {
        precondition(percent >= 0 && percent <= 100, "robustHausdorff: percent \(percent) outside 0...100")
        if truthToPrediction.isEmpty && predictionToTruth.isEmpty { return .nan }
        return max(Self.percentDistance(truthToPrediction, truthAreas, percent),
                   Self.percentDistance(predictionToTruth, predictionAreas, percent))
    }

    private static func percentDistance(_ distances: [Double], _ areas: [Double], _ percent: Double) -> Double {
        guard !distances.isEmpty else { return .infinity }
        let total = NumPyReductions.sum(areas)
        let target = percent / 100.0
        var cumulative = 0.0
        for n in 0..<areas.count {
            cumulative += areas[n]
            if cumulative / total >= target { return distances[n] }
        }
        return distances[distances.count - 1]
    }

    /// `compute_surface_dice_at_tolerance(surface_distances, tolerance_mm)`, the normalised
    /// surface Dice: `(area of truth surfels within tolerance + area of prediction surfels within
    /// tolerance) / (total truth area + total prediction area)`. 0 when one mask is empty, NaN
    /// when both are (as the library and MONAI).
    public func surfaceDice(tolerance: Double) -> Double {
        let (overlapGt, totalGt) = Self.within(truthToPrediction, truthAreas, tolerance)
        let (overlapPred, totalPred) = Self.within(predictionToTruth, predictionAreas, tolerance)
        let denominator = totalGt + totalPred
        return denominator == 0 ? .nan : (overlapGt + overlapPred) / denominator
    }

    /// `compute_surface_overlap_at_tolerance`: the fraction of the truth's surface area within
    /// `tolerance` of the prediction, and the prediction's within `tolerance` of the truth
    /// (NaN for an empty surface).
    public func surfaceOverlap(tolerance: Double) -> (truth: Double, prediction: Double) {
        let (overlapGt, totalGt) = Self.within(truthToPrediction, truthAreas, tolerance)
        let (overlapPred, totalPred) = Self.within(predictionToTruth, predictionAreas, tolerance)
        return (totalGt == 0 ? .nan : overlapGt / totalGt, totalPred == 0 ? .nan : overlapPred / totalPred)
    }

    /// `compute_average_surface_distance`: the area-weighted mean distance of each direction,
    /// `(truth to prediction, prediction to truth)`; NaN for an empty surface.
    public var averageSurfaceDistance: (truthToPrediction: Double, predictionToTruth: Double) {
        func weighted(_ d: [Double], _ a: [Double]) -> Double {
            if d.isEmpty { return .nan }
            return NumPyReductions.sum(zip(d, a).map { $0 * $1 }) / NumPyReductions.sum(a)
        }
        return (weighted(truthToPrediction, truthAreas), weighted(predictionToTruth, predictionAreas))
    }

    private static func within(_ distances: [Double], _ areas: [Double], _ tolerance: Double) -> (Double, Double) {
        var selected: [Double] = []
        selected.reserveCapacity(areas.count)
        for n in 0..<distances.count where distances[n] <= tolerance { selected.append(areas[n]) }
        return (NumPyReductions.sum(selected), NumPyReductions.sum(areas))
    }
}

/// DeepMind's surface-distance (`surface_distance.metrics`), by its own names.
public enum SurfaceDistance {
    /// `compute_surface_distances(mask_gt, mask_pred, spacing_mm)`; the spacing is the truth's.
    public static func computeSurfaceDistances(truth: BinaryMask, prediction: BinaryMask) -> SurfelDistances {
        SurfelDistances(truth: truth, prediction: prediction)
    }

    /// `lookup_tables.create_table_neighbour_code_to_surface_area(spacing_mm)`: the surfel
    /// area (mm²) of each of the 256 neighbour codes at this spacing.
    public static func createTableNeighbourCodeToSurfaceArea(spacing: SIMD3<Double>) -> [Double] {
        NeighbourCodeTable.surfaceAreas(spacing: spacing)
    }

    /// `compute_robust_hausdorff(surface_distances, percent)`.
    public static func computeRobustHausdorff(_ distances: SurfelDistances, percent: Double) -> Double {
        distances.robustHausdorff(percent: percent)
    }

    /// `compute_surface_dice_at_tolerance(surface_distances, tolerance_mm)`.
    public static func computeSurfaceDiceAtTolerance(_ distances: SurfelDistances, toleranceMM: Double) -> Double {
        distances.surfaceDice(tolerance: toleranceMM)
    }
}

/// A surfel's (distance, area), ordered as Python orders the tuples.
struct SurfelPair: Comparable {
    var distance: Double
    var area: Double

    @inline(__always)
    static func < (a: SurfelPair, b: SurfelPair) -> Bool {
        a.distance != b.distance ? a.distance < b.distance : a.area < b.area
    }
}
