import CTVolume
import Foundation
import NeuralCore
import Testing
@testable import ichctl

/// A temporary folder with a small NIfTI head and two seeded checkpoints.
private struct Workspace {
    let folder: URL
    let scan: URL, classifier: URL, refiner: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ichctl-nn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let shape = GridShape(24, 20, 3)
        var voxels = [Float](repeating: -1000, count: shape.count)
        for k in 0..<3 {
            for j in 0..<20 {
                for i in 0..<24 {
                    let r = (pow((Double(i) - 12) / 10, 2) + pow((Double(j) - 10) / 8.5, 2)).squareRoot()
                    voxels[shape.index(i, j, k)] = r < 0.8 ? 35 : (r < 1 ? 1200 : -1000)
                }
            }
        }
        scan = folder.appendingPathComponent("head.nii.gz")
        try NIfTI.write(ScanVolume(shape: shape, voxels: voxels, geometry: Geometry(spacing: SIMD3(8, 8, 5))), to: scan)
        classifier = folder.appendingPathComponent("classifier.safetensors")
        try ResNetLSTM(config: ResNetLSTMConfig(inputSize: 32, width: 2, blocks: [1, 1], hidden: 3), seed: 3).save(to: classifier)
        refiner = folder.appendingPathComponent("refiner.safetensors")
        try UNetLite(config: UNetLiteConfig(inputSize: 16, widths: [2, 4]), seed: 4).save(to: refiner)
    }
}

@Suite("ichctl classify and segment")
struct NetworkCommandsTests {
    @Test("segment writes a uint8 mask (and probabilities) with the scan's grid and geometry; refuses to overwrite without --force")
    func segment() throws {
        let w = try Workspace()
        defer { try? FileManager.default.removeItem(at: w.folder) }
        let mask = w.folder.appendingPathComponent("mask.nii.gz"), prob = w.folder.appendingPathComponent("prob.nii.gz")
        let args = ["--model", w.refiner.path, w.scan.path, "--out", mask.path, "--probabilities", prob.path, "--threshold", "0.3"]
        var command = try Segment.parse(args)
        try command.run()
        let scan = try NIfTI.readScan(at: w.scan)
        let written = try NIfTI.readMask(at: mask)
        #expect(written.shape == scan.shape && written.geometry == scan.geometry)
        let p = try NIfTI.readScan(at: prob)
        let inside = try IntracranialMask.compute(scan)
        #expect(inside.voxels.contains(1) && inside.voxels.contains(0))
        var mismatches = 0
        for i in 0..<scan.voxels.count where written.voxels[i] != ((p.voxels[i] >= 0.3 && inside.voxels[i] > 0) ? 1 : 0) {
            mismatches += 1
        }
        #expect(mismatches == 0)
        command = try Segment.parse(args)
        #expect(throws: CLIError.self) { try command.run() }
        command = try Segment.parse(args + ["--force"])
        try command.run()
        #expect(throws: (any Error).self) { try Segment.parse(args + ["--force", "--threshold", "1.5"]) }
    }

    @Test("classify accepts a classifier checkpoint and refuses a refiner, naming the file")
    func classify() throws {
        let w = try Workspace()
        defer { try? FileManager.default.removeItem(at: w.folder) }
        let ok = try Classify.parse(["--model", w.classifier.path, w.scan.path, "--json"])
        try ok.run()
        let wrong = try Classify.parse(["--model", w.refiner.path, w.scan.path])
        #expect(throws: NeuralCoreError.invalidConfig(source: w.refiner.path, reason: "the checkpoint holds a unet_lite, not a resnet_lstm")) {
            try wrong.run()
        }
    }
}
