import CTVolume
import Foundation
import Metrics
import Testing
import TestSupport

/// Runs the built `ichctl evaluate` as a user would.
enum EvaluateRunner {
    static func run(_ arguments: [String]) throws -> CommandResult { try ICHCTLRunner.run(["evaluate"] + arguments) }

    /// A folder `root/pred` and `root/truth` with cases `a.nii.gz` (overlapping boxes) and
    /// `b.nii.gz` (both empty) at 0.5 x 0.8 x 3 mm.
    static func folders() throws -> (root: TemporaryFolder, pred: URL, truth: URL) {
        let root = TemporaryFolder(prefix: "evaluate"), pred = root.subfolder("pred"), truth = root.subfolder("truth")
        try NIfTI.write(box(lower: SIMD3(2, 2, 1), upper: SIMD3(7, 6, 3)), to: truth.appendingPathComponent("a.nii.gz"))
        try NIfTI.write(box(lower: SIMD3(3, 2, 1), upper: SIMD3(8, 7, 3)), to: pred.appendingPathComponent("a.nii.gz"))
        try NIfTI.write(box(lower: SIMD3(1, 1, 1), upper: SIMD3(0, 0, 0)), to: truth.appendingPathComponent("b.nii.gz"))
        try NIfTI.write(box(lower: SIMD3(1, 1, 1), upper: SIMD3(0, 0, 0)), to: pred.appendingPathComponent("b.nii.gz"))
        return (root, pred, truth)
    }

    static let shape = GridShape(10, 9, 5)
    static let spacing = SIMD3(0.5, 0.8, 3.0)

    static func box(lower: SIMD3<Int>, upper: SIMD3<Int>, value: UInt8 = 1, shape: GridShape = shape) -> MaskVolume {
        var v = MaskVolume(shape: shape, repeating: 0, geometry: Geometry(spacing: spacing))
        for k in 0..<shape.z { for j in 0..<shape.y { for i in 0..<shape.x
            where i >= lower.x && i <= upper.x && j >= lower.y && j <= upper.y && k >= lower.z && k <= upper.z {
            v[i, j, k] = value
        } } }
        return v
    }
}

@Suite struct EvaluateCommandTests {
    @Test func foldersGiveTheLibraryScoresAsJSON() throws {
        let (root, pred, truth) = try EvaluateRunner.folders()
        defer { root.cleanup() }
        let r = try EvaluateRunner.run(["--pred", pred.path, "--truth", truth.path, "--json", "--tolerance", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let cases = report["cases"] as! [[String: Any]]
        #expect(cases.map { $0["name"] as! String } == ["a.nii.gz", "b.nii.gz"])
        let a = cases[0]["scores"] as! [String: Any], b = cases[1]["scores"] as! [String: Any]
        let m = { (v: MaskVolume) in
            BinaryMask(shape: MaskShape(v.shape.x, v.shape.y, v.shape.z), spacing: EvaluateRunner.spacing,
                       labels: v.voxels)
        }
        let expected = SegmentationScores(prediction: m(EvaluateRunner.box(lower: SIMD3(3, 2, 1), upper: SIMD3(8, 7, 3))),
                                          truth: m(EvaluateRunner.box(lower: SIMD3(2, 2, 1), upper: SIMD3(2 + 5, 6, 3))),
                                          tolerance: 1)
        #expect(a["dice"] as! Double == expected.dice)
        #expect(abs((a["medpyHD95"] as! Double) - expected.medpyHD95) < 1e-6)   // header spacing is float32
        #expect(abs((a["normalizedSurfaceDice"] as! Double) - expected.normalizedSurfaceDice) < 1e-6)
        #expect(b["dice"] as? String == "nan" && b["medpyHD"] as? String == "nan" && b["smoothedDice"] as? Double == 1)
        let summary = report["summary"] as! [String: Any]
        let dice = summary["dice"] as! [String: Any]
        #expect(dice["excluded"] as! Int == 1 && dice["count"] as! Int == 1)
        // the statistics over cases: a is positive (one box lesion, overlapped), b negative and clean
        let statistics = report["statistics"] as! [String: Any]
        #expect(statistics["positiveCases"] as! Int == 1 && statistics["negativeCases"] as! Int == 1)
        #expect(statistics["cleanNegativeCases"] as! Int == 1)
        let detection = statistics["detection"] as! [String: Any]
        #expect(detection["lesions"] as! Int == 1 && detection["detected"] as! Int == 1)
        let interval = (statistics["intervals"] as! [String: Any])["dice"] as! [String: Any]
        #expect(interval["estimate"] as! Double == expected.dice && interval["resamples"] as! Int == 10_000)
    }

    @Test func csvIsWrittenAndNotReplacedWithoutForce() throws {
        let (root, pred, truth) = try EvaluateRunner.folders()
        defer { root.cleanup() }
        let csv = root.file("scores.csv").path
        let first = try EvaluateRunner.run(["--pred", pred.path, "--truth", truth.path, "--csv", csv])
        #expect(first.status == 0 && first.stdout.contains("excluded"))
        #expect(first.stdout.contains("Dice by true volume") && first.stdout.contains("1 of 1 found"))
        let text = try String(contentsOfFile: csv, encoding: .utf8)
        #expect(text.hasPrefix("case,dice,") && text.contains("\nb.nii.gz,nan,1.0,"))
        let again = try EvaluateRunner.run(["--pred", pred.path, "--truth", truth.path, "--csv", csv])
        #expect(again.status != 0 && again.stderr.contains("scores.csv") && again.stdout.isEmpty)
        #expect(try EvaluateRunner.run(["--pred", pred.path, "--truth", truth.path, "--csv", csv, "--force"]).status == 0)
    }

    @Test func badInputsAreErrorsThatNameTheCase() throws {
        let (root, pred, truth) = try EvaluateRunner.folders()
        defer { root.cleanup() }
        // A case without a partner.
        try NIfTI.write(EvaluateRunner.box(lower: SIMD3(1, 1, 1), upper: SIMD3(2, 2, 2)), to: truth.appendingPathComponent("c.nii.gz"))
        var r = try EvaluateRunner.run(["--pred", pred.path, "--truth", truth.path])
        #expect(r.status != 0 && r.stderr.contains("c.nii.gz") && r.stdout.isEmpty)
        try FileManager.default.removeItem(at: truth.appendingPathComponent("c.nii.gz"))
        // Different grids.
        try NIfTI.write(EvaluateRunner.box(lower: SIMD3(1, 1, 1), upper: SIMD3(2, 2, 2), shape: GridShape(10, 9, 6)),
                        to: pred.appendingPathComponent("b.nii.gz"), overwrite: true)
        r = try EvaluateRunner.run(["--pred", pred.path, "--truth", truth.path])
        #expect(r.status != 0 && r.stderr.contains("b.nii.gz") && r.stdout.isEmpty)
        // A multi-label mask: refused, unless --label picks the class.
        try NIfTI.write(EvaluateRunner.box(lower: SIMD3(3, 2, 1), upper: SIMD3(8, 7, 3), value: 2),
                        to: pred.appendingPathComponent("b.nii.gz"), overwrite: true)
        r = try EvaluateRunner.run(["--pred", pred.appendingPathComponent("b.nii.gz").path,
                                    "--truth", truth.appendingPathComponent("a.nii.gz").path])
        #expect(r.status != 0 && r.stderr.contains("a.nii.gz") && r.stderr.contains("not binary"))
        r = try EvaluateRunner.run(["--pred", pred.appendingPathComponent("b.nii.gz").path,
                                    "--truth", pred.appendingPathComponent("b.nii.gz").path, "--label", "2", "--json"])
        #expect(r.status == 0 && r.stdout.contains("\"dice\" : 1"))
    }
}

extension EvaluateCommandTests {
    /// Case a's box as two lesions (slices 1-2 and slice 3): the prediction covers 25 of each
    /// slice's 30 voxels, so both are found; without a map, a has one lesion.
    @Test func lesionMapsMakeEachLabelOneLesion() throws {
        let (root, pred, truth) = try EvaluateRunner.folders()
        defer { root.cleanup() }
        let maps = root.subfolder("lesions")
        var map = EvaluateRunner.box(lower: SIMD3(2, 2, 1), upper: SIMD3(7, 6, 3))
        for j in 2...6 { for i in 2...7 { map[i, j, 3] = 2 } }
        try NIfTI.write(map, to: maps.appendingPathComponent("a.nii.gz"))
        func detection(_ extra: [String]) throws -> [String: Any] {
            let r = try EvaluateRunner.run(["--pred", pred.path, "--truth", truth.path, "--json"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
            return (report["statistics"] as! [String: Any])["detection"] as! [String: Any]
        }
        let components = try detection([])
        #expect(components["lesions"] as! Int == 1 && components["casesWithLabelledLesions"] as! Int == 0)
        let labelled = try detection(["--lesions", maps.path])
        #expect(labelled["lesions"] as! Int == 2 && labelled["detected"] as! Int == 2)
        #expect(labelled["casesWithLabelledLesions"] as! Int == 1)   // b has no map: components

        // a map that labels a voxel the truth does not is refused, naming the map
        map[0, 0, 0] = 1
        try NIfTI.write(map, to: maps.appendingPathComponent("a.nii.gz"), overwrite: true)
        let bad = try EvaluateRunner.run(["--pred", pred.path, "--truth", truth.path, "--lesions", maps.path])
        #expect(bad.status != 0 && bad.stderr.contains("lesions/a.nii.gz") && bad.stderr.contains("voxel (0, 0, 0)"))
    }
}
