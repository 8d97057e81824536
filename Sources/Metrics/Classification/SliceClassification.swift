/// Slice-level classification measures: scores in [0, 1] (or any real) against 0/1 labels.
///
/// AUC follows scikit-learn's `roc_auc_score` (trapezoids of the ROC curve, tied scores
/// sharing a step, which is the Mann–Whitney statistic); the Youden threshold follows
/// `roc_curve` and `argmax(tpr - fpr)`. A slice is called positive when `score >= threshold`.
public enum SliceClassification {
    /// Area under the ROC curve; ties count one half (Mann–Whitney U / (P N)).
    /// NaN when the labels hold only one class (scikit-learn raises there).
    /// Complexity: O(n log n).
    public static func rocAUC(scores: [Double], labels: [Bool]) -> Double {
        let curve = rocCurve(scores: scores, labels: labels)
        guard let last = curve.last, last.truePositives > 0, last.falsePositives > 0 else { return .nan }
        let p = Double(last.truePositives), n = Double(last.falsePositives)
        var area = 0.0
        var (tp0, fp0) = (0.0, 0.0)
        for point in curve {
            let tp1 = Double(point.truePositives), fp1 = Double(point.falsePositives)
            area += (fp1 - fp0) * (tp1 + tp0) / 2
            (tp0, fp0) = (tp1, fp1)
        }
        return area / (p * n)
    }

    /// One point of the ROC curve: the counts when every score `>= threshold` is positive.
    public struct ROCPoint: Hashable, Sendable, Codable {
        /// The decision threshold (a score of the data).
        public var threshold: Double
        /// Positives called positive.
        public var truePositives: Int
        /// Negatives called positive.
        public var falsePositives: Int
    }

    /// The ROC curve at every distinct score, highest first (without scikit-learn's
    /// `drop_intermediate` thinning and its leading `+inf` point).
    public static func rocCurve(scores: [Double], labels: [Bool]) -> [ROCPoint] {
        precondition(scores.count == labels.count, "rocCurve: \(scores.count) scores for \(labels.count) labels")
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var points: [ROCPoint] = []
        var tp = 0, fp = 0
        for (rank, n) in order.enumerated() {
            if labels[n] { tp += 1 } else { fp += 1 }
            if rank == order.count - 1 || scores[order[rank + 1]] != scores[n] {
                points.append(ROCPoint(threshold: scores[n], truePositives: tp, falsePositives: fp))
            }
        }
        return points
    }

    /// The threshold that maximises Youden's J = sensitivity + specificity - 1 = TPR - FPR over
    /// the ROC curve; the highest such threshold on ties (the first `argmax` of scikit-learn's
    /// curve), `+inf` when no threshold beats J = 0. NaN when the labels hold only one class.
    public static func youdenThreshold(scores: [Double], labels: [Bool]) -> Double {
        let curve = rocCurve(scores: scores, labels: labels)
        guard let last = curve.last, last.truePositives > 0, last.falsePositives > 0 else { return .nan }
        let p = Double(last.truePositives), n = Double(last.falsePositives)
        var best = -Double.infinity
        var threshold = Double.nan
        for point in curve {
            let j = Double(point.truePositives) / p - Double(point.falsePositives) / n
            if j > best { best = j; threshold = point.threshold }
        }
        // scikit-learn's curve starts with (+inf threshold, 0, 0), J = 0, so it wins unless
        // some threshold does better than 0 (the curve's last point has J = 0 too).
        return best > 0 ? threshold : .infinity
    }

    /// Confusion counts of the slices with `score >= threshold` called positive.
    public static func confusion(scores: [Double], labels: [Bool], threshold: Double) -> ConfusionCounts {
        precondition(scores.count == labels.count, "confusion: \(scores.count) scores for \(labels.count) labels")
        return ConfusionCounts(prediction: scores.map { $0 >= threshold }, truth: labels)
    }
}

/// Every slice-classification measure at one threshold, and the AUC.
public struct SliceClassificationScores: Hashable, Sendable, Codable {
    /// Area under the ROC curve (threshold-free).
    public var auc: Double
    /// The threshold used for the counts below.
    public var threshold: Double
    /// `(TP + TN) / n`.
    public var accuracy: Double
    /// `TP / (TP + FN)`; NaN with no positive slice.
    public var sensitivity: Double
    /// `TN / (TN + FP)`; NaN with no negative slice.
    public var specificity: Double
    /// `2 TP / (2 TP + FP + FN)`; NaN when no slice is positive in either.
    public var f1: Double
    /// The threshold maximising Youden's J.
    public var youdenThreshold: Double
    /// The counts at `threshold`.
    public var counts: ConfusionCounts

    /// All measures of `scores` against `labels` at `threshold` (default 0.5).
    public init(scores: [Double], labels: [Bool], threshold: Double = 0.5) {
        let counts = SliceClassification.confusion(scores: scores, labels: labels, threshold: threshold)
        self.counts = counts
        self.threshold = threshold
        auc = SliceClassification.rocAUC(scores: scores, labels: labels)
        accuracy = counts.accuracy
        sensitivity = counts.recall
        specificity = counts.specificity
        f1 = counts.f1
        youdenThreshold = SliceClassification.youdenThreshold(scores: scores, labels: labels)
    }
}
