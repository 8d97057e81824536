import CTVolume
import Foundation
import NeuralCore
import WeakSupervision
import Testing
@testable import ichctl
import TestSupport

/// `ichctl convert` and the scan commands on DICOM folders (fixtures of
/// scripts/fixtures/dicom_fixtures.py, in the CTVolume tests' folder).
private enum DICOMFolders {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("CTVolumeTests/Fixtures/dicom")
    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }
}

@Suite("ichctl convert and DICOM folders as scans")
struct DICOMCommandsTests {
    @Test("convert writes the reference volume, reports what it did, and replaces only with --force")
    func convert() throws {
        let folder = TemporaryFolder(prefix: "ichctl-tests"), dir = folder.url
        defer { folder.cleanup() }
        let out = dir.appendingPathComponent("axial.nii.gz")
        let r = try ICHCTLRunner.run(["convert", DICOMFolders.url("axial").path, "--out", out.path, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        #expect(json["datatype"] as? String == "int16")
        let report = json["report"] as! [String: Any]
        #expect(report["files"] as? Int == 10 && report["paddingVoxels"] as? Int == 1040)
        let written = try NIfTI.readScan(at: out), reference = try NIfTI.readScan(at: DICOMFolders.url("reference/axial.nii.gz"))
        #expect(written.voxels == reference.voxels)
        #expect(zip(written.geometry.affine.m, reference.geometry.affine.m).allSatisfy { abs($0 - $1) < 1e-4 })
        let before = try Data(contentsOf: out)
        let again = try ICHCTLRunner.run(["convert", DICOMFolders.url("coronal").path, "--out", out.path])
        #expect(again.status != 0 && again.stderr.contains(out.path))
        #expect(try Data(contentsOf: out) == before)
        let forced = try ICHCTLRunner.run(["convert", DICOMFolders.url("coronal").path, "--out", out.path, "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try NIfTI.readScan(at: out).shape == GridShape(36, 30, 8))
    }

    @Test("convert of a broken series fails naming the file and the reason, and writes nothing")
    func convertRefuses() throws {
        let folder = TemporaryFolder(prefix: "ichctl-tests"), dir = folder.url
        defer { folder.cleanup() }
        for (folder, file, reason) in [("bad/truncated", "CT0710.dcm", "truncated"), ("bad/rgb", "", "samples per pixel"), ("bad/mr", "", "modality")] {
            let out = dir.appendingPathComponent("x.nii.gz")
            let r = try ICHCTLRunner.run(["convert", DICOMFolders.url(folder).path, "--out", out.path])
            #expect(r.status != 0, "\(folder)")
            #expect((file.isEmpty || r.stderr.contains(file)) && r.stderr.contains(reason), "\(folder): \(r.stderr)")
            #expect(r.stderr.contains(DICOMFolders.url(folder).lastPathComponent), "\(folder): the message names the folder or file")
            #expect(r.stdout.isEmpty)
            #expect(!FileManager.default.fileExists(atPath: out.path), "\(folder)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "\(folder): no partial output")
        }
    }

    @Test("convert --list shows every series and marks the choice; --series picks another")
    func list() throws {
        let r = try ICHCTLRunner.run(["convert", DICOMFolders.url("multi").path, "--list", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let series = json["series"] as! [[String: Any]]
        #expect(series.count == 3 && json["skipped_files"] as? Int == 1)
        let chosen = json["chosen"] as! String
        #expect(series.first { $0["uid"] as? String == chosen }?["files"] as? Int == 10)
        let folder = TemporaryFolder(prefix: "ichctl-tests"), dir = folder.url
        defer { folder.cleanup() }
        let six = series.first { $0["files"] as? Int == 6 }!["uid"] as! String
        let out = dir.appendingPathComponent("six.nii.gz")
        let picked = try ICHCTLRunner.run(["convert", DICOMFolders.url("multi").path, "--series", six, "--out", out.path])
        #expect(picked.status == 0, "\(picked.stderr)")
        #expect(try NIfTI.readHeader(at: out).shape.z == 6)
    }

    @Test("segment and classify on a DICOM folder give what they give on its conversion")
    func scanCommandsTakeFolders() throws {
        let temporary = TemporaryFolder(prefix: "ichctl-tests"), dir = temporary.url
        defer { temporary.cleanup() }
        let refiner = dir.appendingPathComponent("refiner.safetensors"), classifier = dir.appendingPathComponent("classifier.safetensors")
        try UNetLite(config: UNetLiteConfig(inputSize: 16, widths: [2, 4]), seed: 4).save(to: refiner)
        try ResNetLSTM(config: ResNetLSTMConfig(inputSize: 32, width: 2, blocks: [1, 1], hidden: 3), seed: 3).save(to: classifier)
        let folder = DICOMFolders.url("lps-flipped"), nifti = dir.appendingPathComponent("scan.nii.gz")
        try Convert.parse([folder.path, "--out", nifti.path]).run()
        let a = dir.appendingPathComponent("a.nii.gz"), b = dir.appendingPathComponent("b.nii.gz")
        let pa = dir.appendingPathComponent("pa.nii.gz"), pb = dir.appendingPathComponent("pb.nii.gz")
        try Segment.parse(["--model", refiner.path, folder.path, "--out", a.path, "--probabilities", pa.path]).run()
        try Segment.parse(["--model", refiner.path, nifti.path, "--out", b.path, "--probabilities", pb.path]).run()
        let ma = try NIfTI.readMask(at: a), mb = try NIfTI.readMask(at: b)
        #expect(ma.voxels == mb.voxels && ma.shape == GridShape(36, 30, 9))
        #expect(try NIfTI.readScan(at: pa).voxels == NIfTI.readScan(at: pb).voxels)
        let ca = try ICHCTLRunner.run(["classify", "--model", classifier.path, folder.path, "--json"])
        let cb = try ICHCTLRunner.run(["classify", "--model", classifier.path, nifti.path, "--json"])
        #expect(ca.status == 0 && cb.status == 0, "\(ca.stderr) \(cb.stderr)")
        func probabilities(_ text: String) throws -> [Double] {
            let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
            return (json["probabilities"] as! [NSNumber]).map(\.doubleValue)
        }
        #expect(try probabilities(ca.stdout) == probabilities(cb.stdout))
        #expect(try probabilities(ca.stdout).count == 9)
    }
}
