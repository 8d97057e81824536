import Foundation
import Metrics
import Testing

/// Agreement with MedPy, MONAI, DeepMind surface-distance, scipy, NumPy and scikit-learn on the
/// cases of scripts/fixtures/metrics_fixtures.py.
@Suite struct ReferenceFixtureTests {
    static let names = Fixture.cases.map { $0["name"] as! String }

    @Test(arguments: names) func overlapMatchesMedPyAndInstance(name: String) {
        let c = Fixture.named(name)
        let (pred, truth) = Fixture.masks(c)
        let counts = ConfusionCounts(prediction: pred, truth: truth)
        let expected = c["counts"] as! [Int]
        #expect([counts.truePositives, counts.falsePositives, counts.falseNegatives, counts.trueNegatives] == expected)
        let medpy = c["medpy"] as! [String: Any]
        let instance = c["instance"] as! [String: Any]
        #expect(close(counts.smoothedDice, Fixture.number(instance["smoothed_dice"])!))
        if counts.predictedPositives + counts.actualPositives > 0 {
            #expect(close(counts.dice, Fixture.number(medpy["dc"])!))
            #expect(close(counts.iou, Fixture.number(medpy["jc"])!))
        }
        if counts.predictedPositives > 0 { #expect(close(counts.precision, Fixture.number(medpy["precision"])!)) }
        if counts.actualPositives > 0 {
            #expect(close(counts.recall, Fixture.number(medpy["recall"])!))
            #expect(close(counts.relativeVolumeDifference, Fixture.number(medpy["ravd"])!))
        }
        #expect(close(counts.specificity, Fixture.number(medpy["specificity"])!))
    }

    @Test(arguments: names) func borderDistancesMatchMedPyAndMONAI(name: String) {
        let c = Fixture.named(name)
        let (pred, truth) = Fixture.masks(c)
        let d = VoxelSurfaceDistances(prediction: pred, truth: truth)
        let medpy = c["medpy"] as! [String: Any]
        if let hd = Fixture.number(medpy["hd"]) {
            #expect(close(d.hausdorff, hd))
            #expect(close(d.hausdorff95, Fixture.number(medpy["hd95"])!))
            #expect(close(d.averageSymmetricSurfaceDistance, Fixture.number(medpy["assd"])!))
        } else {
            #expect(pred.isEmpty || truth.isEmpty, "MedPy raises only on empty masks")
        }
        // MONAI computes in float32; so does monaiHausdorff (1e-15: Foundation parses JSON
        // numbers to within an ulp, not always correctly rounded).
        let monai = c["monai"] as! [String: Any]
        #expect(close(d.monaiHausdorff(), Fixture.number(monai["hd"])!, rtol: 1e-15))
        #expect(close(d.monaiHausdorff(directed: true), Fixture.number(monai["hd_directed"])!, rtol: 1e-15))
        let hd95 = Fixture.number(monai["hd95"])!
        let hd90 = Fixture.number(monai["hd90_directed"])!
        if pred.isEmpty != truth.isEmpty {
            // MONAI 1.6.1's torch.quantile interpolates inf - inf into NaN; this module keeps
            // +inf for every distance to an empty mask (Docs/metrics.md).
            #expect(hd95.isNaN && hd90.isNaN)
            #expect(d.monaiHausdorff(percentile: 95) == .infinity)
        } else {
            #expect(close(d.monaiHausdorff(percentile: 95), hd95, rtol: 1e-15))
            #expect(close(d.monaiHausdorff(percentile: 90, directed: true), hd90, rtol: 1e-15))
        }
    }

    @Test(arguments: names) func surfelsMatchSurfaceDistance(name: String) {
        let c = Fixture.named(name)
        let (pred, truth) = Fixture.masks(c)
        let s = SurfaceDistance.computeSurfaceDistances(truth: truth, prediction: pred)
        let ref = c["surface_distance"] as! [String: Any]
        #expect(s.truthAreas.count == ref["surfels_gt"] as! Int)
        #expect(s.predictionAreas.count == ref["surfels_pred"] as! Int)
        #expect(close(NumPyReductions.sum(s.truthAreas), Fixture.number(ref["area_gt"])!))
        #expect(close(NumPyReductions.sum(s.predictionAreas), Fixture.number(ref["area_pred"])!))
        let tolerances = Fixture.numbers(Fixture.root["tolerances"])
        let nsd = Fixture.numbers(ref["nsd"])
        for (t, expected) in zip(tolerances, nsd) {
            #expect(close(SurfaceDistance.computeSurfaceDiceAtTolerance(s, toleranceMM: t), expected), "tolerance \(t)")
        }
        let asd = s.averageSurfaceDistance
        #expect(close(asd.truthToPrediction, Fixture.number(ref["asd_gt_to_pred"])!))
        #expect(close(asd.predictionToTruth, Fixture.number(ref["asd_pred_to_gt"])!))
        if pred.isEmpty && truth.isEmpty {
            // The library returns +inf here; NaN (undefined, as MONAI) is this module's choice.
            #expect(Fixture.number(ref["hd100"]) == .infinity)
            #expect(s.robustHausdorff(percent: 100).isNaN && s.robustHausdorff(percent: 95).isNaN)
        } else {
            #expect(close(SurfaceDistance.computeRobustHausdorff(s, percent: 100), Fixture.number(ref["hd100"])!))
            #expect(close(SurfaceDistance.computeRobustHausdorff(s, percent: 95), Fixture.number(ref["hd95"])!))
        }
    }

    @Test func distanceTransformMatchesScipy() {
        let e = Fixture.root["edt"] as! [String: Any]
        let s = e["shape"] as! [Int]
        let sp = Fixture.numbers(e["spacing"])
        let shape = MaskShape(s[0], s[1], s[2])
        let features = Fixture.bits(e["features"] as! String, count: shape.count)
        let ours = EuclideanDistanceTransform.distances(toFeatures: features, shape: shape, spacing: SIMD3(sp[0], sp[1], sp[2]))
        let scipy = Fixture.numbers(e["distances"])
        #expect(ours.count == scipy.count)
        let worst = zip(ours, scipy).map { abs($0 - $1) / max(1e-300, abs($1)) }.max()!
        #expect(worst < 1e-13)
    }

    @Test func surfelAreaTableMatchesSurfaceDistance() {
        for table in Fixture.root["area_tables"] as! [[String: Any]] {
            let sp = Fixture.numbers(table["spacing"])
            let expected = Fixture.numbers(table["areas"])
            let ours = SurfaceDistance.createTableNeighbourCodeToSurfaceArea(spacing: SIMD3(sp[0], sp[1], sp[2]))
            #expect(ours.count == 256)
            for code in 0..<256 {
                #expect(close(ours[code], expected[code], rtol: 1e-15), "code \(code) at spacing \(sp)")
            }
        }
    }

    @Test func aggregationMatchesNumPy() {
        let a = Fixture.root["aggregation"] as! [String: Any]
        let values = Fixture.numbers(a["values"])
        let summary = MetricSummary(values)
        #expect(close(summary.mean, Fixture.number(a["mean"])!))
        #expect(close(summary.standardDeviation, Fixture.number(a["sd"])!))
        #expect(close(summary.median, Fixture.number(a["median"])!))
        #expect(summary.excluded == a["excluded"] as! Int)
        #expect(summary.count == values.count - summary.excluded)
        let clean = values.filter { !$0.isNaN }
        for (q, expected) in a["percentiles"] as! [String: Any] {
            #expect(close(NumPyReductions.percentile(clean, Double(q)!), Fixture.number(expected)!), "q = \(q)")
        }
    }

    @Test func sliceClassificationMatchesScikitLearn() {
        let c = Fixture.root["classification"] as! [String: Any]
        let scores = Fixture.numbers(c["scores"])
        let labels = (c["labels"] as! [Int]).map { $0 == 1 }
        let s = SliceClassificationScores(scores: scores, labels: labels, threshold: 0.5)
        #expect(close(s.auc, Fixture.number(c["auc"])!))
        #expect(close(s.youdenThreshold, Fixture.number(c["youden"])!))
        #expect(close(s.accuracy, Fixture.number(c["accuracy"])!))
        #expect(close(s.sensitivity, Fixture.number(c["sensitivity"])!))
        #expect(close(s.specificity, Fixture.number(c["specificity"])!))
        #expect(close(s.f1, Fixture.number(c["f1"])!))
    }
}
