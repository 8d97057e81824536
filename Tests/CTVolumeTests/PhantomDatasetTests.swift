import Foundation
import Testing
import CTVolume
import TestSupport

/// `Phantom.writeDataset`: the INSTANCE layout, byte-identical reruns, refusal of existing outputs.
@Suite struct PhantomDatasetTests {
    /// A fresh path for an output folder, not created (`writeDataset` creates it).
    static func tempFolder() -> TemporaryFolder { TemporaryFolder(prefix: "ichct-phantom", create: false) }

    static var config: PhantomConfig {
        var c = PhantomConfig()
        c.size = 32
        c.slices = 6...6
        c.subSlices = 2
        c.positiveFraction = 0.5
        return c
    }

    @Test func sameSeedWritesTheSameBytes() throws {
        let folderA = Self.tempFolder(), folderB = Self.tempFolder(), a = folderA.url, b = folderB.url
        defer { folderA.cleanup(); folderB.cleanup() }
        try Phantom.writeDataset(to: a, cases: 3, seed: 9, config: Self.config)
        try Phantom.writeDataset(to: b, cases: 3, seed: 9, config: Self.config)
        let files = ["slices.csv", "phantom.json"] + (0..<3).flatMap { i in
            ["data/\(Phantom.caseName(i)).nii.gz", "label/\(Phantom.caseName(i)).nii.gz"]
        }
        for f in files {
            let da = try Data(contentsOf: a.appendingPathComponent(f)), db = try Data(contentsOf: b.appendingPathComponent(f))
            #expect(!da.isEmpty && da == db, "\(f) differs between two runs of one seed")
        }
        let folderC = Self.tempFolder(), c = folderC.url
        defer { folderC.cleanup() }
        try Phantom.writeDataset(to: c, cases: 1, seed: 10, config: Self.config)
        #expect(try Data(contentsOf: a.appendingPathComponent("data/phantom_0000.nii.gz"))
                != Data(contentsOf: c.appendingPathComponent("data/phantom_0000.nii.gz")))
    }

    @Test func filesHoldTheGeneratedCase() throws {
        let folder = Self.tempFolder(), root = folder.url
        defer { folder.cleanup() }
        var config = Self.config
        config.positiveFraction = 1
        let manifest = try Phantom.writeDataset(to: root, cases: 1, seed: 4, config: config)
        let c = try Phantom.generate(caseIndex: 0, seed: 4, config: config)
        let scan = try NIfTI.readScan(at: root.appendingPathComponent("data/phantom_0000.nii.gz"))
        let mask = try NIfTI.readMask(at: root.appendingPathComponent("label/phantom_0000.nii.gz"))
        #expect(scan.voxels == c.scan.voxels)
        #expect(mask.voxels == c.mask.voxels)
        #expect(scan.shape == c.scan.shape)
        let header = try NIfTI.readHeader(at: root.appendingPathComponent("data/phantom_0000.nii.gz"))
        #expect(header.datatype == "int16" && header.sclSlope == 1 && header.sclInter == -1024)
        let table = try SliceLabelTable.read(from: root.appendingPathComponent("slices.csv"))
        #expect(table.labels["phantom_0000"] == c.sliceLabels.map { $0 ? 1 : 0 })
        #expect(manifest.cases.first?.lesions == c.lesions)
    }

    /// Cases are written a few at a time in parallel: each file still holds its own case, and
    /// progress, table and manifest come in case order.
    @Test func parallelWritesKeepCaseOrder() throws {
        let folder = Self.tempFolder(), root = folder.url
        defer { folder.cleanup() }
        var seen: [(Int, String)] = []
        let manifest = try Phantom.writeDataset(to: root, cases: 5, seed: 7, config: Self.config) { done, total, c in
            #expect(total == 5)
            seen.append((done, c.name))
        }
        #expect(seen.map(\.0) == [1, 2, 3, 4, 5])
        #expect(seen.map(\.1) == (0..<5).map(Phantom.caseName))
        #expect(manifest.cases.map(\.name) == (0..<5).map(Phantom.caseName))
        let table = try SliceLabelTable.read(from: root.appendingPathComponent("slices.csv"))
        for i in 0..<5 {
            let c = try Phantom.generate(caseIndex: i, seed: 7, config: Self.config)
            let scan = try NIfTI.readScan(at: root.appendingPathComponent("data/\(c.name).nii.gz"))
            let mask = try NIfTI.readMask(at: root.appendingPathComponent("label/\(c.name).nii.gz"))
            #expect(scan.voxels == c.scan.voxels && mask.voxels == c.mask.voxels, "\(c.name)")
            #expect(table.labels[c.name] == c.sliceLabels.map { $0 ? 1 : 0 })
            #expect(manifest.cases[i].lesions == c.lesions)
        }
    }

    @Test func existingOutputsAreRefusedUnlessOverwriting() throws {
        let folder = Self.tempFolder(), root = folder.url
        defer { folder.cleanup() }
        try Phantom.writeDataset(to: root, cases: 1, seed: 1, config: Self.config)
        let before = try Data(contentsOf: root.appendingPathComponent("data/phantom_0000.nii.gz"))
        #expect(throws: CTVolumeError.self) { try Phantom.writeDataset(to: root, cases: 2, seed: 2, config: Self.config) }
        // Nothing was written by the refused call.
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("data/phantom_0001.nii.gz").path))
        #expect(try Data(contentsOf: root.appendingPathComponent("data/phantom_0000.nii.gz")) == before)
        try Phantom.writeDataset(to: root, cases: 1, seed: 2, config: Self.config, overwrite: true)
        #expect(try Data(contentsOf: root.appendingPathComponent("data/phantom_0000.nii.gz")) != before)
        #expect(throws: CTVolumeError.self) { try Phantom.writeDataset(to: Self.tempFolder().url, cases: 0, seed: 1, config: Self.config) }
    }
}
