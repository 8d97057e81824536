import Dispatch

/// Every segmentation measure of one case, in mm and mL with the truth's spacing.
///
/// The surface distances come in the three conventions users meet, named by their source:
/// `medpy*` (border voxels by erosion, both directions pooled), `monai*` (same borders,
/// percentile per direction then the larger) and `surfaceDistance*` (DeepMind's surfels with
/// areas, as the INSTANCE 2022 evaluator). What each gives for empty masks is in
/// `Docs/metrics.md`; in short NaN when undefined, `+inf` for a distance to nothing.
public struct SegmentationScores: Hashable, Sendable, Codable {
    /// Voxel counts of the prediction against the truth.
    public var counts: ConfusionCounts
    /// `2|P∩T| / (|P| + |T|)`; NaN when both are empty.
    public var dice: Double
    /// INSTANCE 2022's `(2|P∩T| + 1e-5) / (|P| + |T| + 1e-5)`; 1 when both are empty.
    public var smoothedDice: Double
    /// `|P∩T| / |P∪T|`; NaN when both are empty.
    public var iou: Double
    /// `|P∩T| / |P|`; NaN for an empty prediction.
    public var precision: Double
    /// `|P∩T| / |T|`; NaN for an empty truth.
    public var recall: Double
    /// `TN / (TN + FP)`; NaN when the truth covers the grid.
    public var specificity: Double
    /// `|Vp - Vg| / Vg`; `+inf` for an empty truth, NaN when both are empty.
    public var relativeVolumeDifference: Double
    /// Prediction volume (mL).
    public var predictionVolumeML: Double
    /// Truth volume (mL).
    public var truthVolumeML: Double
    /// MedPy `hd` (mm).
    public var medpyHD: Double
    /// MedPy `hd95`: percentile 95 of both directions pooled (mm).
    public var medpyHD95: Double
    /// MedPy `assd` (mm).
    public var medpyASSD: Double
    /// MONAI `compute_hausdorff_distance` (mm), the maximum.
    public var monaiHD: Double
    /// MONAI `compute_hausdorff_distance(percentile=95)`: the larger per-direction 95th percentile (mm).
    public var monaiHD95: Double
    /// surface-distance `compute_robust_hausdorff(…, 100)` (mm), the INSTANCE evaluator's HD.
    public var surfaceDistanceHD: Double
    /// surface-distance `compute_robust_hausdorff(…, 95)` (mm).
    public var surfaceDistanceHD95: Double
    /// surface-distance `compute_surface_dice_at_tolerance(…, tolerance)`.
    public var normalizedSurfaceDice: Double
    /// The NSD tolerance (mm).
    public var tolerance: Double

    /// The default NSD tolerance: 0.42 mm, the value of the INSTANCE 2022 evaluator.
    public static let defaultTolerance = 0.42

    /// Scores of `prediction` against `truth`; distances use the truth's spacing.
    /// - Parameter tolerance: NSD tolerance in mm (default ``defaultTolerance``).
    /// - Precondition: both masks have the same shape.
    public init(prediction: BinaryMask, truth: BinaryMask, tolerance: Double = SegmentationScores.defaultTolerance) {
        let pair = MaskPair(prediction: prediction, truth: truth)
        let counts = ConfusionCounts(pair)
        self.counts = counts
        dice = counts.dice
        smoothedDice = counts.smoothedDice
        iou = counts.iou
        precision = counts.precision
        recall = counts.recall
        specificity = counts.specificity
        relativeVolumeDifference = counts.relativeVolumeDifference
        predictionVolumeML = Double(counts.predictedPositives) * truth.voxelVolumeML
        truthVolumeML = Double(counts.actualPositives) * truth.voxelVolumeML

        // The two surface conventions are independent: compute them side by side.
        let results = PairResults()
        DispatchQueue.concurrentPerform(iterations: 2) { n in
            if n == 0 { results.voxel = VoxelSurfaceDistances(pair) } else { results.surfels = SurfelDistances(pair) }
        }
        let voxel = results.voxel!
        medpyHD = voxel.hausdorff
        medpyHD95 = voxel.hausdorff95
        medpyASSD = voxel.averageSymmetricSurfaceDistance
        monaiHD = voxel.monaiHausdorff()
        monaiHD95 = voxel.monaiHausdorff(percentile: 95)

        let surfels = results.surfels!
        surfaceDistanceHD = surfels.robustHausdorff(percent: 100)
        surfaceDistanceHD95 = surfels.robustHausdorff(percent: 95)
        normalizedSurfaceDice = surfels.surfaceDice(tolerance: tolerance)
        self.tolerance = tolerance
    }

    /// The metric names of ``metrics``, in table order.
    public static let metricNames = [
        "dice", "dice_smoothed", "iou", "precision", "recall", "specificity", "rvd",
        "volume_pred_ml", "volume_truth_ml",
        "medpy_hd", "medpy_hd95", "medpy_assd", "monai_hd", "monai_hd95",
        "sd_hd", "sd_hd95", "sd_nsd",
    ]

    /// Every measure by its short name (the keys of ``metricNames``).
    public var metrics: [String: Double] {
        [
            "dice": dice, "dice_smoothed": smoothedDice, "iou": iou, "precision": precision,
            "recall": recall, "specificity": specificity, "rvd": relativeVolumeDifference,
            "volume_pred_ml": predictionVolumeML, "volume_truth_ml": truthVolumeML,
            "medpy_hd": medpyHD, "medpy_hd95": medpyHD95, "medpy_assd": medpyASSD,
            "monai_hd": monaiHD, "monai_hd95": monaiHD95,
            "sd_hd": surfaceDistanceHD, "sd_hd95": surfaceDistanceHD95, "sd_nsd": normalizedSurfaceDice,
        ]
    }
}

/// The two halves of a case's surface measures; each worker writes its own field once.
private final class PairResults: @unchecked Sendable {
    var voxel: VoxelSurfaceDistances?
    var surfels: SurfelDistances?
}
