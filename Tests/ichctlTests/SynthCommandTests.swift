import CTVolume
import Foundation
import Testing
import TestSupport

/// `ichctl synth`: presets and the realism report.
@Suite struct SynthCommandTests {
    @Test("synth --report writes realism.json and .txt; an existing report is refused before any case is written")
    func realismReport() throws {
        let folder = TemporaryFolder(prefix: "ichctl-synth"), dir = folder.url
        defer { folder.cleanup() }
        let out = dir.appendingPathComponent("set")
        let r = try ICHCTLRunner.run(["synth", "--out", out.path, "--cases", "2", "--size", "64", "--slices", "8",
                                      "--preset", "randomized", "--report"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("grey matter"))
        let report = try JSONDecoder().decode(PhantomRealism.Report.self, from: Data(contentsOf: out.appendingPathComponent("realism.json")))
        #expect(report.cases == 2)
        let text = try String(contentsOf: out.appendingPathComponent("realism.txt"), encoding: .utf8)
        #expect(text == report.text())
        let manifest = try JSONDecoder().decode(PhantomManifest.self, from: Data(contentsOf: out.appendingPathComponent("phantom.json")))
        #expect(manifest.config.generation == 2 && manifest.config.acquisition == PhantomConfig.randomized.acquisition)

        // a second set into a folder that holds only a report: refused, and no case written
        let other = dir.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: other.appendingPathComponent("realism.txt"))
        let again = try ICHCTLRunner.run(["synth", "--out", other.path, "--cases", "1", "--size", "64", "--slices", "4", "--report"])
        #expect(again.status != 0 && again.stderr.contains("realism.txt"))
        #expect(!FileManager.default.fileExists(atPath: other.appendingPathComponent("data").path))
        let bad = try ICHCTLRunner.run(["synth", "--out", other.path, "--preset", "v3"])
        #expect(bad.status != 0 && bad.stderr.contains("v1, realistic, randomized"))
    }

    @Test("synth --first-case K writes cases K onwards, as the library's case K is, with its lesion map; a negative index is a usage error")
    func firstCase() throws {
        let folder = TemporaryFolder(prefix: "ichctl-synth"), dir = folder.url
        defer { folder.cleanup() }
        let out = dir.appendingPathComponent("later")
        let r = try ICHCTLRunner.run(["synth", "--out", out.path, "--cases", "2", "--first-case", "5", "--seed", "9",
                                      "--size", "64", "--slices", "6", "--preset", "v1", "--positive-fraction", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        var config = PhantomConfig.v1
        config.size = 64; config.slices = 6...6; config.positiveFraction = 1
        for index in 5...6 {
            let name = Phantom.caseName(index)
            let expected = try Phantom.generate(caseIndex: index, seed: 9, config: config)
            #expect(try NIfTI.readMask(at: out.appendingPathComponent("label/\(name).nii.gz")).voxels == expected.mask.voxels)
            let lesions = try NIfTI.readLabels(at: out.appendingPathComponent("lesions/\(name).nii.gz"),
                                               matching: expected.scan.geometry, shape: expected.scan.shape)
            #expect(lesions.voxels == expected.lesionLabels.voxels && lesions.voxels.contains { $0 > 0 })
        }
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("data/phantom_0000.nii.gz").path))
        let bad = try ICHCTLRunner.run(["synth", "--out", dir.appendingPathComponent("x").path, "--first-case", "-1"])
        #expect(bad.status == 64 && bad.stderr.contains("--first-case"))
    }
}
