import Foundation
import Metrics
import Testing
import TestSupport

/// The empty-mask table of Docs/metrics.md, row by row.
@Suite struct EmptyMaskTests {
    static let shape = MaskShape(8, 7, 5)
    static let spacing = SIMD3(0.42, 0.42, 5.0)
    static let empty = BinaryMask(shape: shape, spacing: spacing, voxels: [Bool](repeating: false, count: shape.count))
    static let blob: BinaryMask = {
        var v = [Bool](repeating: false, count: shape.count)
        for k in 1..<4 { for j in 2..<5 { for i in 2..<6 { v[shape.index(i, j, k)] = true } } }
        return BinaryMask(shape: shape, spacing: spacing, voxels: v)
    }()

    @Test func emptyPrediction() {
        let s = SegmentationScores(prediction: Self.empty, truth: Self.blob)
        #expect(s.dice == 0 && s.iou == 0 && s.recall == 0 && s.precision.isNaN)
        #expect(s.smoothedDice > 0 && s.smoothedDice < 1e-6)
        #expect(s.relativeVolumeDifference == 1 && s.specificity == 1)
        for d in [s.medpyHD, s.medpyHD95, s.medpyASSD, s.monaiHD, s.monaiHD95, s.surfaceDistanceHD, s.surfaceDistanceHD95] {
            #expect(d == .infinity)
        }
        #expect(s.normalizedSurfaceDice == 0)
    }

    @Test func emptyTruth() {
        let s = SegmentationScores(prediction: Self.blob, truth: Self.empty)
        #expect(s.dice == 0 && s.iou == 0 && s.precision == 0 && s.recall.isNaN)
        #expect(s.relativeVolumeDifference == .infinity)
        for d in [s.medpyHD, s.medpyHD95, s.medpyASSD, s.monaiHD, s.monaiHD95, s.surfaceDistanceHD, s.surfaceDistanceHD95] {
            #expect(d == .infinity)
        }
        #expect(s.normalizedSurfaceDice == 0)
        let directed = VoxelSurfaceDistances(prediction: Self.blob, truth: Self.empty).monaiHausdorff(directed: true)
        #expect(directed == .infinity)
    }

    @Test func bothEmpty() {
        let s = SegmentationScores(prediction: Self.empty, truth: Self.empty)
        #expect(s.dice.isNaN && s.iou.isNaN && s.precision.isNaN && s.recall.isNaN)
        #expect(s.smoothedDice == 1 && s.specificity == 1 && s.relativeVolumeDifference.isNaN)
        for d in [s.medpyHD, s.medpyHD95, s.medpyASSD, s.monaiHD, s.monaiHD95, s.surfaceDistanceHD, s.surfaceDistanceHD95,
                  s.normalizedSurfaceDice] {
            #expect(d.isNaN)
        }
        #expect(s.predictionVolumeML == 0 && s.truthVolumeML == 0)
    }

    @Test func aggregationExcludesNaNAndKeepsInfinity() {
        var acc = MetricAccumulator()
        acc.append(SegmentationScores(prediction: Self.blob, truth: Self.blob))
        acc.append(SegmentationScores(prediction: Self.empty, truth: Self.empty))
        acc.append(SegmentationScores(prediction: Self.empty, truth: Self.blob))
        let summary = acc.aggregate()
        let dice = summary["dice"]!
        #expect(dice.count == 2 && dice.excluded == 1 && dice.mean == 0.5)
        let hd = summary["medpy_hd"]!
        #expect(hd.count == 2 && hd.excluded == 1 && hd.infinite == 1)
        #expect(hd.mean == .infinity && hd.standardDeviation == .infinity && hd.median == .infinity)
        #expect(acc.caseCount == 3)
        acc.reset()
        #expect(acc.caseCount == 0 && acc.aggregate().isEmpty)
        #expect(MetricSummary([]).mean.isNaN && MetricSummary([.nan]).excluded == 1)
        #expect(MetricSummary([2]).standardDeviation.isNaN && MetricSummary([2, 4]).standardDeviation == 2.0.squareRoot())
    }

    @Test func jsonWritesNonFiniteAsStrings() throws {
        let report = SegmentationReport(cases: [
            .init(name: "a.nii.gz", scores: SegmentationScores(prediction: Self.empty, truth: Self.blob)),
            .init(name: "b.nii.gz", scores: SegmentationScores(prediction: Self.empty, truth: Self.empty)),
        ], tolerance: 1)
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let text = String(decoding: try encoder.encode(report), as: UTF8.self)
        #expect(text.contains("\"medpyHD\":\"inf\"") && text.contains("\"dice\":\"nan\""))
        let csv = report.csv().split(separator: "\n")
        #expect(csv.count == 3 && csv[0].hasPrefix("case,dice,"))
        #expect(csv[2].hasPrefix("b.nii.gz,nan,1.0,nan"))
        #expect(report.table().contains("excluded"))
    }

    @Test func ignoreEmptySummarisesOnlyCasesWithATruth() {
        // a: prediction empty, truth a blob (Dice 0); b: a false positive on an empty truth
        // (Dice 0); c: perfect (Dice 1). Over every case the mean Dice is 1/3; over the cases
        // whose truth is non-empty (MONAI's ignore_empty) it is 1/2; all cases stay listed.
        let cases: [SegmentationReport.Case] = [
            .init(name: "a", scores: SegmentationScores(prediction: Self.empty, truth: Self.blob)),
            .init(name: "b", scores: SegmentationScores(prediction: Self.blob, truth: Self.empty)),
            .init(name: "c", scores: SegmentationScores(prediction: Self.blob, truth: Self.blob)),
        ]
        let all = SegmentationReport(cases: cases, tolerance: 1)
        #expect(all.summarizedCases == 3 && abs(all.summary["dice"]!.mean - 1.0 / 3) < 1e-12)
        let positive = SegmentationReport(cases: cases, tolerance: 1, ignoreEmpty: true)
        #expect(positive.cases.count == 3 && positive.summarizedCases == 2)
        #expect(positive.summary["dice"]!.mean == 0.5 && positive.summary["dice"]!.count == 2)
        #expect(positive.table().contains("2 of 3 cases"))
    }

    @Test func sliceClassificationWithOneClass() {
        let s = SliceClassificationScores(scores: [0.2, 0.9], labels: [false, false])
        #expect(s.auc.isNaN && s.sensitivity.isNaN && s.youdenThreshold.isNaN && s.specificity == 0.5)
        #expect(SliceClassification.rocAUC(scores: [0.1, 0.5, 0.5, 0.9], labels: [false, true, false, true]) == 0.875)
        #expect(SliceClassification.youdenThreshold(scores: [0.9, 0.1], labels: [false, true]) == .infinity)
    }
}

@Suite struct InputTests {
    @Test func nonBinaryLabelsAreRefusedUnlessALabelIsChosen() throws {
        let shape = MaskShape(2, 2, 1)
        #expect(throws: MetricsError.notBinary(name: "c.nii.gz", values: [2, 3])) {
            try BinaryMask.validated(name: "c.nii.gz", shape: shape, spacing: SIMD3(1, 1, 1), labels: [0, 1, 2, 3] as [UInt8])
        }
        let m = try BinaryMask.validated(name: "c", shape: shape, spacing: SIMD3(1, 1, 1), labels: [0, 1, 2, 3] as [UInt8], foreground: 2)
        #expect(m.voxels == [false, false, true, false])
        #expect(MetricsError.notBinary(name: "c.nii.gz", values: [2]).description.hasPrefix("c.nii.gz:"))
    }

    @Test func foldersPairByNameAndNameTheMissingCase() throws {
        let root = TemporaryFolder(prefix: "metrics-pairing"), pred = root.subfolder("pred"), truth = root.subfolder("truth")
        defer { root.cleanup() }
        for name in ["b.nii.gz", "a.nii"] {
            try Data().write(to: pred.appendingPathComponent(name))
            try Data().write(to: truth.appendingPathComponent(name))
        }
        #expect(try CasePairing.pairs(prediction: pred, truth: truth).map(\.name) == ["a.nii", "b.nii.gz"])
        try Data().write(to: truth.appendingPathComponent("c.nii.gz"))
        #expect(throws: MetricsError.missingPartner(name: "c.nii.gz", missingIn: pred.path)) {
            try CasePairing.pairs(prediction: pred, truth: truth)
        }
        #expect(throws: MetricsError.mixedInputs(prediction: pred.path, truth: truth.appendingPathComponent("a.nii").path)) {
            try CasePairing.pairs(prediction: pred, truth: truth.appendingPathComponent("a.nii"))
        }
    }
}
