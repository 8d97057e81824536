import CTVolume
import Foundation
import WeakSupervision
import Testing
import TestSupport

/// `ichctl synth` → `ichctl baseline` → `ichctl evaluate --ignore-empty`: the threshold
/// baseline scored by the project's own evaluator, as issue 5 reports it.
@Suite struct BaselineCommandTests {
    @Test func baselineMasksAreScoredAndNotReplacedWithoutForce() throws {
        let folder = TemporaryFolder(prefix: "ichctl-tests"), dir = folder.url
        defer { folder.cleanup() }
        let data = dir.appendingPathComponent("set"), masks = dir.appendingPathComponent("baseline")
        let s = try ICHCTLRunner.run(["synth", "--out", data.path, "--cases", "2", "--seed", "7", "--size", "64",
                                      "--slices", "6", "--positive-fraction", "1", "--preset", "v1"])
        #expect(s.status == 0, "\(s.stderr)")
        let b = try ICHCTLRunner.run(["baseline", "--data", data.path, "--out", masks.path, "--json"])
        #expect(b.status == 0, "\(b.stderr)")
        let written = try JSONSerialization.jsonObject(with: Data(b.stdout.utf8)) as? [[String: Any]]
        #expect(written?.count == 2)

        // The written mask is exactly the 50..90 HU voxels inside the intracranial mask.
        let name = "phantom_0000"
        let scan = try NIfTI.readScan(at: data.appendingPathComponent("data/\(name).nii.gz"))
        let mask = try NIfTI.readMask(at: masks.appendingPathComponent("\(name).nii.gz"))
        let intracranial = try IntracranialMask.compute(scan)
        var expected = 0, mismatched = 0
        for v in 0..<scan.voxels.count {
            let want: UInt8 = (intracranial.voxels[v] > 0 && scan.voxels[v] >= 50 && scan.voxels[v] <= 90) ? 1 : 0
            expected += Int(want)
            if mask.voxels[v] != want { mismatched += 1 }
        }
        #expect(expected > 0 && mismatched == 0)
        #expect(mask.geometry == scan.geometry)

        let e = try ICHCTLRunner.run(["evaluate", "--pred", masks.path, "--truth", data.appendingPathComponent("label").path,
                                      "--ignore-empty", "--json"])
        #expect(e.status == 0, "\(e.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any]
        #expect(report?["summarizedCases"] as? Int == 2)

        let again = try ICHCTLRunner.run(["baseline", "--data", data.path, "--out", masks.path])
        #expect(again.status != 0 && again.stderr.contains("already exists"))
    }

    @Test("baseline --method kmeans writes the comparison's k-means-alone masks on the default (realistic) phantom; threshold options are refused with it")
    func kmeansBaseline() throws {
        let folder = TemporaryFolder(prefix: "ichctl-tests"), dir = folder.url
        defer { folder.cleanup() }
        let data = dir.appendingPathComponent("set"), masks = dir.appendingPathComponent("kmeans")
        let s = try ICHCTLRunner.run(["synth", "--out", data.path, "--cases", "1", "--seed", "3", "--size", "64",
                                      "--slices", "8", "--positive-fraction", "1"])
        #expect(s.status == 0, "\(s.stderr)")
        let manifest = try JSONDecoder().decode(PhantomManifest.self, from: Data(contentsOf: data.appendingPathComponent("phantom.json")))
        #expect(manifest.config == { var c = PhantomConfig.realistic; c.size = 64; c.slices = 8...8; c.positiveFraction = 1; return c }())
        let b = try ICHCTLRunner.run(["baseline", "--data", data.path, "--out", masks.path, "--method", "kmeans"])
        #expect(b.status == 0, "\(b.stderr)")
        let scan = try NIfTI.readScan(at: data.appendingPathComponent("data/phantom_0000.nii.gz"))
        let written = try NIfTI.readMask(at: masks.appendingPathComponent("phantom_0000.nii.gz"))
        let expected = try PipelineConfig.full.pseudoMasks.kmeansSegmenter()
            .segment(SegmentationCase(name: "phantom_0000", scan: scan, intracranial: try IntracranialMask.compute(scan)))
        #expect(written.voxels == expected.voxels)
        #expect(expected.voxels.contains(1))
        let refused = try ICHCTLRunner.run(["baseline", "--data", data.path, "--out", dir.appendingPathComponent("x").path,
                                            "--method", "kmeans", "--lower", "40"])
        #expect(refused.status != 0 && refused.stderr.contains("--method threshold"))
    }

    @Test func emptyDatasetFolderIsRefusedByName() throws {
        let folder = TemporaryFolder(prefix: "ichctl-tests"), dir = folder.url
        defer { folder.cleanup() }
        let r = try ICHCTLRunner.run(["baseline", "--data", dir.path, "--out", dir.appendingPathComponent("o").path])
        #expect(r.status != 0 && r.stderr.contains(dir.lastPathComponent))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("o").path))
    }
}
