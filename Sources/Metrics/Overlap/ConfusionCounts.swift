/// Voxel counts of a prediction against a truth: true/false positives and negatives.
///
/// Every overlap measure is a ratio of these counts. A ratio whose denominator is 0 is NaN
/// (undefined), as MONAI's confusion-matrix metrics return; see `Docs/metrics.md` for the table
/// of empty-mask results.
public struct ConfusionCounts: Hashable, Sendable, Codable {
    /// Foreground in both.
    public var truePositives: Int
    /// Foreground in the prediction only.
    public var falsePositives: Int
    /// Foreground in the truth only.
    public var falseNegatives: Int
    /// Background in both.
    public var trueNegatives: Int

    /// Counts from the four numbers.
    public init(truePositives: Int, falsePositives: Int, falseNegatives: Int, trueNegatives: Int) {
        self.truePositives = truePositives
        self.falsePositives = falsePositives
        self.falseNegatives = falseNegatives
        self.trueNegatives = trueNegatives
    }

    /// Counts of `prediction` against `truth`.
    /// - Precondition: both masks have the same shape.
    /// Complexity: O(voxels) for a scan, then O(voxels of the bounding box of both).
    public init(prediction: BinaryMask, truth: BinaryMask) {
        self.init(MaskPair(prediction: prediction, truth: truth))
    }

    /// Counts inside the crop; every voxel outside it is a true negative.
    init(_ pair: MaskPair) {
        self.init(prediction: pair.prediction, truth: pair.truth)
        trueNegatives += pair.totalCount - pair.shape.count
    }

    /// Counts of two flag arrays of equal length (any layout, any number of dimensions).
    public init(prediction: [Bool], truth: [Bool]) {
        precondition(prediction.count == truth.count, "ConfusionCounts: \(prediction.count) vs \(truth.count) voxels")
        var tp = 0, fp = 0, fn = 0
        prediction.withUnsafeBufferPointer { p in
            truth.withUnsafeBufferPointer { t in
                for n in 0..<p.count {
                    let a = p[n], b = t[n]
                    if a && b { tp += 1 } else if a { fp += 1 } else if b { fn += 1 }
                }
            }
        }
        self.init(truePositives: tp, falsePositives: fp, falseNegatives: fn,
                  trueNegatives: prediction.count - tp - fp - fn)
    }

    /// Foreground voxels of the prediction, `TP + FP`.
    public var predictedPositives: Int { truePositives + falsePositives }
    /// Foreground voxels of the truth, `TP + FN`.
    public var actualPositives: Int { truePositives + falseNegatives }
    /// Every voxel.
    public var total: Int { truePositives + falsePositives + falseNegatives + trueNegatives }

    /// Dice coefficient `2 TP / (2 TP + FP + FN)`; NaN when both masks are empty.
    public var dice: Double { ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives) }

    /// The INSTANCE 2022 evaluator's smoothed Dice `(2 TP + 1e-5) / (|P| + |T| + 1e-5)`:
    /// 1 when both masks are empty, about 0 when only one is.
    public var smoothedDice: Double {
        let smooth = 0.00001
        return (2 * Double(truePositives) + smooth) / (Double(actualPositives) + Double(predictedPositives) + smooth)
    }

    /// Jaccard index (IoU) `TP / (TP + FP + FN)`; NaN when both masks are empty.
    public var iou: Double { ratio(truePositives, truePositives + falsePositives + falseNegatives) }

    /// Precision (positive predictive value) `TP / (TP + FP)`; NaN for an empty prediction.
    public var precision: Double { ratio(truePositives, predictedPositives) }

    /// Recall (sensitivity) `TP / (TP + FN)`; NaN for an empty truth.
    public var recall: Double { ratio(truePositives, actualPositives) }

    /// Specificity `TN / (TN + FP)`; NaN when the truth has no background.
    public var specificity: Double { ratio(trueNegatives, trueNegatives + falsePositives) }

    /// Accuracy `(TP + TN) / total`; NaN for zero samples.
    public var accuracy: Double { ratio(truePositives + trueNegatives, total) }

    /// F1 score `2 TP / (2 TP + FP + FN)` (the Dice coefficient of the positives).
    public var f1: Double { dice }

    /// Relative volume difference `|Vp - Vg| / Vg` (the INSTANCE evaluator's `abs(RVD)`):
    /// +inf when only the truth is empty, NaN when both are.
    public var relativeVolumeDifference: Double {
        Double(abs(predictedPositives - actualPositives)) / Double(actualPositives)
    }

    private func ratio(_ numerator: Int, _ denominator: Int) -> Double {
        denominator == 0 ? .nan : Double(numerator) / Double(denominator)
    }
}
