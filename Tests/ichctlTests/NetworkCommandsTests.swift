import CTVolume
import ArgumentParser
import Foundation
import NeuralCore
import Testing
import WeakSupervision
@testable import ichctl
import TestSupport

/// A temporary folder with a small NIfTI head and two seeded checkpoints.
private struct Workspace {
    let temporary = TemporaryFolder(prefix: "ichctl-nn")
    let scan: URL, classifier: URL, refiner: URL
    var folder: URL { temporary.url }

    init() throws {
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
        scan = temporary.file("head.nii.gz")
        try NIfTI.write(ScanVolume(shape: shape, voxels: voxels, geometry: Geometry(spacing: SIMD3(8, 8, 5))), to: scan)
        classifier = temporary.file("classifier.safetensors")
        try ResNetLSTM(config: ResNetLSTMConfig(inputSize: 32, width: 2, blocks: [1, 1], hidden: 3), seed: 3).save(to: classifier)
        refiner = temporary.file("refiner.safetensors")
        try UNetLite(config: UNetLiteConfig(inputSize: 16, widths: [2, 4]), seed: 4).save(to: refiner)
    }
}

@Suite("ichctl classify and segment")
struct NetworkCommandsTests {
    @Test("segment writes a uint8 mask (and probabilities) with the scan's grid and geometry; refuses to overwrite without --force")
    func segment() throws {
        let w = try Workspace()
        defer { w.temporary.cleanup() }
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

    @Test("segment --classifier empties exactly the slices the classifier calls negative; --min-component-ml drops components; --grow-mm grows as the library does; bad values refused")
    func segmentGatedAndFiltered() throws {
        let w = try Workspace()
        defer { w.temporary.cleanup() }
        let plain = w.folder.appendingPathComponent("plain.nii.gz"), gated = w.folder.appendingPathComponent("gated.nii.gz")
        let base = ["--model", w.refiner.path, w.scan.path, "--threshold", "0.3"]
        try Segment.parse(base + ["--out", plain.path]).run()
        let ungated = try NIfTI.readMask(at: plain)
        #expect(ungated.voxels.contains(1), "the test needs a non-empty refiner mask")
        // a gate between the classifier's slice probabilities, so some slices go and some stay
        let p = try ResNetLSTM(contentsOf: w.classifier).classify(try NIfTI.readScan(at: w.scan)).probabilities
        let sorted = p.sorted()
        try #require(sorted.first! < sorted.last!, "the seeded classifier gives equal probabilities")
        let at = (sorted[0] + sorted[1]) / 2
        try Segment.parse(base + ["--out", gated.path, "--classifier", w.classifier.path, "--gate-at", "\(at)"]).run()
        let out = try NIfTI.readMask(at: gated)
        let n = out.shape.sliceCount
        for z in 0..<out.shape.z {
            let slice = Array(out.voxels[(z * n)..<((z + 1) * n)]), before = Array(ungated.voxels[(z * n)..<((z + 1) * n)])
            #expect(slice == (p[z] < at ? [UInt8](repeating: 0, count: n) : before), "slice \(z), p \(p[z]), gate \(at)")
        }
        #expect(out.voxels != ungated.voxels && out.voxels.contains(1), "the gate must remove some voxels and keep some")
        // a minimum volume above the whole mask's leaves nothing; 0 keeps the mask as it is
        let huge = w.folder.appendingPathComponent("huge.nii.gz")
        try Segment.parse(base + ["--out", huge.path, "--min-component-ml", "1000000"]).run()
        #expect(try NIfTI.readMask(at: huge).voxels.allSatisfy { $0 == 0 })
        let none = w.folder.appendingPathComponent("none.nii.gz")
        try Segment.parse(base + ["--out", none.path, "--min-component-ml", "0"]).run()
        #expect(try NIfTI.readMask(at: none).voxels == ungated.voxels)
        // --keep-above: a component below the volume stays when the network's probability reaches
        // the level in one of its voxels (at the mask's own threshold every component would: refused below)
        let sure = w.folder.appendingPathComponent("sure.nii.gz")
        let refined = try UNetLite(contentsOf: w.refiner).segment(try NIfTI.readScan(at: w.scan), threshold: 0.3)
        let level = refined.probabilities.voxels.filter { $0 >= 0.3 }.sorted().last!
        try #require(level > 0.3, "the seeded refiner's highest probability lies at the threshold")
        try Segment.parse(base + ["--out", sure.path, "--min-component-ml", "1000000", "--keep-above", "\(level)"]).run()
        let someKept = try NIfTI.readMask(at: sure)
        #expect(someKept.voxels == ComponentFiltered.filter(ungated, minimumVolumeML: 1000000, support: refined.thresholded(at: level)).voxels)
        #expect(someKept.voxels.contains(1), "the component holding the highest probability stays")
        // --grow-mm: the library's growth into the --grow-hu range (the head is 35 HU) inside the
        // intracranial mask, in steps of the scan's 8 mm spacing; negative bounds parse
        // (at the median probability, so that half the head is left to grow into)
        let scan = try NIfTI.readScan(at: w.scan)
        let inside = try IntracranialMask.compute(scan)
        let probabilities = try UNetLite(contentsOf: w.refiner).segment(scan).probabilities.voxels
        let median = inside.voxels.indices.filter { inside.voxels[$0] > 0 }.map { probabilities[$0] }.sorted()[inside.voxels.count { $0 > 0 } / 2]
        let half = w.folder.appendingPathComponent("half.nii.gz")
        let atMedian = ["--model", w.refiner.path, w.scan.path, "--threshold", "\(median)"]
        try Segment.parse(atMedian + ["--out", half.path]).run()
        let halfMask = try NIfTI.readMask(at: half)
        var grownMasks: [MaskVolume] = []
        for (args, range, steps) in [(["--grow-mm", "16", "--grow-hu", "30:40"], 30.0...40.0, 2), (["--grow-mm", "9", "--grow-hu", "30:40"], 30.0...40.0, 1),
                                     (["--grow-mm", "16", "--grow-hu", "-100:150"], -100.0...150.0, 2), (["--grow-mm", "16"], 50.0...90.0, 2)] {
            let grown = w.folder.appendingPathComponent("grown.nii.gz")
            try Segment.parse(atMedian + ["--out", grown.path, "--force"] + args).run()
            let grownMask = try NIfTI.readMask(at: grown)
            #expect(grownMask.voxels == IntensityGrowth.grow(halfMask, scan: scan, within: inside, range: range, steps: steps).voxels, "\(args)")
            grownMasks.append(grownMask)
        }
        // 2 steps add more than 1, and 1 more than none; no voxel of the head (35 HU) lies in 50..90
        let counts = grownMasks.map { $0.voxels.count { $0 > 0 } }, before = halfMask.voxels.count { $0 > 0 }
        #expect(counts[0] > counts[1] && counts[1] > before && counts[2] > before && counts[3] == before, "\(counts), \(before)")
        // --bone-rim-mm: the library's filter on the mask (with the same growth before it);
        // the phantom's skull is bone, so some rim exists to test against
        for (args, settings) in [(["--bone-rim-mm", "20"], BoneRimFiltered.Settings(rimMM: 20)),
                                 (["--bone-rim-mm", "20", "--bone-hu", "600"], BoneRimFiltered.Settings(boneHU: 600, rimMM: 20)),
                                 (["--grow-mm", "16", "--grow-hu", "30:40", "--bone-rim-mm", "12"], BoneRimFiltered.Settings(rimMM: 12)),
                                 (["--bone-rim-mm", "20", "--bone-rim-distance", "slab"], BoneRimFiltered.Settings(rimMM: 20, distance: .slab)),
                                 (["--bone-rim-mm", "20", "--bone-rim-distance", "in-plane"], BoneRimFiltered.Settings(rimMM: 20))] {
            let rimmed = w.folder.appendingPathComponent("rimmed.nii.gz")
            try Segment.parse(atMedian + ["--out", rimmed.path, "--force"] + args).run()
            let before = args.contains("--grow-mm") ? grownMasks[0] : halfMask
            #expect(try NIfTI.readMask(at: rimmed).voxels == BoneRimFiltered.filter(before, scan: scan, settings: settings).voxels, "\(args)")
        }
        // the distance reaches the summary (this phantom's filters agree on both distances)
        for (distance, shown) in [("slab", "slab" as String?), ("in-plane", "in-plane")] {
            let rimmed = w.folder.appendingPathComponent("rimmed.nii.gz")
            let r = try ICHCTLRunner.run(["segment"] + atMedian + ["--out", rimmed.path, "--force", "--json", "--bone-rim-mm", "20", "--bone-rim-distance", distance])
            #expect(r.status == 0, "\(r.stderr)")
            let summary = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            #expect(summary?["bone_rim_distance"] as? String == shown, "\(r.stdout)")
        }
        // --min-contrast-hu: the library's contrast filter, last (after growth and rim)
        for (args, settings, before) in [(["--min-contrast-hu", "5"], ContrastFiltered.Settings(minimumContrastHU: 5), halfMask),
                                         (["--min-contrast-hu", "-3", "--contrast-ring-mm", "2"], ContrastFiltered.Settings(minimumContrastHU: -3, ringMM: 2), halfMask),
                                         (["--grow-mm", "16", "--grow-hu", "30:40", "--min-contrast-hu", "1"], ContrastFiltered.Settings(minimumContrastHU: 1), grownMasks[0])] {
            let faint = w.folder.appendingPathComponent("faint.nii.gz")
            try Segment.parse(atMedian + ["--out", faint.path, "--force"] + args).run()
            #expect(try NIfTI.readMask(at: faint).voxels == ContrastFiltered.filter(before, scan: scan, intracranial: inside, settings: settings).voxels, "\(args)")
        }
        // a rim wider than the head drops every component; a bone threshold above every voxel finds no skull and drops none
        let rimmed = w.folder.appendingPathComponent("rimmed.nii.gz")
        try Segment.parse(atMedian + ["--out", rimmed.path, "--force", "--bone-rim-mm", "1000"]).run()
        #expect(try NIfTI.readMask(at: rimmed).voxels.allSatisfy { $0 == 0 })
        try Segment.parse(atMedian + ["--out", rimmed.path, "--force", "--bone-rim-mm", "1000", "--bone-hu", "100000"]).run()
        #expect(try NIfTI.readMask(at: rimmed).voxels == halfMask.voxels)
        let classifier = ["--classifier", w.classifier.path]
        for bad in [["--bone-rim-mm=-1"], ["--bone-rim-mm", "nan"], ["--bone-hu", "300"], ["--bone-rim-mm", "2", "--bone-hu", "inf"],
                    ["--bone-rim-distance", "slab"], ["--bone-rim-mm", "2", "--bone-rim-distance", "3d"],
                    ["--contrast-ring-mm", "2"], ["--min-contrast-hu", "nan"], ["--min-contrast-hu", "5", "--contrast-ring-mm", "0"],
                    ["--grow-mm=-1"], ["--grow-mm", "inf"], ["--grow-mm", "2", "--grow-hu", "90:50"], ["--grow-mm", "2", "--grow-hu", "50"],
                    ["--grow-mm", "2", "--grow-hu", "a:b"], ["--grow-hu", "30:40"],
                    classifier + ["--gate-at", "0"], classifier + ["--gate-at", "1"], ["--gate-at", "0.5"], ["--min-component-ml", "-1"],
                    ["--keep-above", "0.9"], ["--min-component-ml", "1", "--keep-above", "0"], ["--min-component-ml", "1", "--keep-above", "1.5"],
                    ["--min-component-ml", "1", "--keep-above", "0.3"],
                    ["--out", w.scan.path], ["--out", w.folder.path + "/./head.nii.gz"], ["--probabilities", w.refiner.path],
                    classifier + ["--out", w.classifier.path]] {
            #expect(throws: (any Error).self, "\(bad)") { try Segment.parse(base + ["--out", huge.path] + bad) }
        }
        // an output in a folder that does not exist is refused before anything is written
        let lost = w.folder.appendingPathComponent("no/such/mask.nii.gz"), prob = w.folder.appendingPathComponent("prob.nii.gz")
        #expect(throws: CLIError.self) { try Segment.parse(base + ["--out", lost.path, "--probabilities", prob.path]).run() }
        #expect(!FileManager.default.fileExists(atPath: prob.path))
        // a refiner given as the classifier is refused, naming the file, and nothing is written
        let wrong = w.folder.appendingPathComponent("wrong.nii.gz")
        #expect(throws: NeuralCoreError.invalidConfig(source: w.refiner.path, reason: "the checkpoint holds a unet_lite, not a resnet_lstm")) {
            try Segment.parse(base + ["--out", wrong.path, "--classifier", w.refiner.path]).run()
        }
        #expect(!FileManager.default.fileExists(atPath: wrong.path))
    }

    @Test("segment and classify give the same mask and slice probabilities whatever voxel order the file is stored in, mapped back to its grid")
    func storedOrderDoesNotChangeTheResult() throws {
        let w = try Workspace()
        defer { w.temporary.cleanup() }
        // the head with an LAS affine (the phantom's order), and an off-centre bright spot so
        // that a flip or a swap would change what the random networks see
        var head = try NIfTI.readScan(at: w.scan)
        for (i, j) in [(7, 6), (8, 6), (7, 7)] { for k in 0..<3 { head.voxels[head.shape.index(i, j, k)] = 70 } }
        var affine = Affine.scaling(SIMD3(-8, 8, 5))
        affine[0, 3] = 90
        head.geometry = Geometry(affine: affine)
        #expect(head.geometry.affine.axisCodes == "LAS")
        // the mask and the refiner's probability map (which, unlike a mask that fills the
        // intracranial region, shows any change in what the network saw)
        func segment(_ v: ScanVolume, _ name: String) throws -> (MaskVolume, [Float], Geometry, ScanVolume) {
            let file = w.folder.appendingPathComponent("\(name).nii.gz"), out = w.folder.appendingPathComponent("\(name).mask.nii.gz")
            let map = w.folder.appendingPathComponent("\(name).p.nii.gz")
            try NIfTI.write(v, to: file)
            try Segment.parse(["--model", w.refiner.path, file.path, "--out", out.path, "--probabilities", map.path, "--threshold", "0.5"]).run()
            let net = try ResNetLSTM(contentsOf: w.classifier)
            let r = Reorientation(v)
            return (try NIfTI.readMask(at: out), r.sourceSliceOrder(net.classify(r.apply(v)).probabilities) ?? [],
                    try NIfTI.readScan(at: file).geometry, try NIfTI.readScan(at: map))
        }
        let (reference, referenceP, _, referenceMap) = try segment(head, "las")
        #expect(reference.voxels.contains(1))
        // the map is not symmetric, so a flip or swap of the network's input would show in it
        let flippedMap = ReorientationVariant.stored(referenceMap, order: [1, 0, 2], reversed: [true, true, false])
        #expect(flippedMap.voxels != ReorientationVariant.stored(referenceMap, order: [1, 0, 2], reversed: [false, false, false]).voxels)
        // i and j swapped; head to foot; LPS (j flipped and i flipped back: RPS order written as LPS)
        let variants: [(String, [Int], [Bool])] = [("swapped", [1, 0, 2], [false, false, false]), ("feetfirst", [0, 1, 2], [false, false, true]),
                                                   ("lps", [0, 1, 2], [false, true, false]), ("rpi", [1, 0, 2], [true, true, true])]
        for (name, order, reversed) in variants {
            let stored = ReorientationVariant.stored(head, order: order, reversed: reversed)
            let (mask, p, fileGeometry, map) = try segment(stored, name)
            #expect(mask.shape == stored.shape && mask.geometry == fileGeometry, "\(name)")
            #expect(map.voxels == ReorientationVariant.stored(referenceMap, order: order, reversed: reversed).voxels, "\(name)")
            // the reference mask stored the same way is the variant's mask, voxel for voxel
            let expected = ReorientationVariant.stored(ScanVolume(shape: reference.shape, voxels: reference.voxels.map(Float.init),
                                                                  geometry: reference.geometry), order: order, reversed: reversed)
            #expect(mask.voxels.map(Float.init) == expected.voxels, "\(name)")
            #expect(p == (reversed[2] ? referenceP.reversed() : referenceP), "\(name)")
        }
    }

    @Test("classify accepts a classifier checkpoint and refuses a refiner, naming the file")
    func classify() throws {
        let w = try Workspace()
        defer { w.temporary.cleanup() }
        let ok = try Classify.parse(["--model", w.classifier.path, w.scan.path, "--json"])
        try ok.run()
        let wrong = try Classify.parse(["--model", w.refiner.path, w.scan.path])
        #expect(throws: NeuralCoreError.invalidConfig(source: w.refiner.path, reason: "the checkpoint holds a unet_lite, not a resnet_lstm")) {
            try wrong.run()
        }
    }
}

/// `--list`, `--out-dir` and `--shard`: the batch forms of segment, classify and cam.
@Suite("ichctl segment, classify and cam over a list, by shards")
struct BatchCommandsTests {
    /// Three scans (the workspace's head and two with a bright spot moved) and a list of them,
    /// relative to the list's folder.
    private func scans(_ w: Workspace) throws -> (list: URL, scans: [URL]) {
        var urls = [w.scan]
        let head = try NIfTI.readScan(at: w.scan)
        for (n, (i, j)) in [(7, 6), (15, 12)].enumerated() {
            var v = head
            for k in 0..<3 { v.voxels[v.shape.index(i, j, k)] = 70 }
            let url = w.folder.appendingPathComponent("scans/case\(n).nii.gz")
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try NIfTI.write(v, to: url)
            urls.append(url)
        }
        let list = w.folder.appendingPathComponent("list.txt")
        try Data("# three heads\nhead.nii.gz\nscans/case0.nii.gz\n\nscans/case1.nii.gz\n".utf8).write(to: list)
        return (list, urls)
    }

    @Test("segment --list by two shards writes, between them, each scan's single-scan mask once, with records and summaries; a rerun reuses them")
    func segmentShards() throws {
        let w = try Workspace()
        defer { w.temporary.cleanup() }
        let (list, urls) = try scans(w)
        let dir = w.folder.appendingPathComponent("masks")
        let base = ["--model", w.refiner.path, "--threshold", "0.3", "--list", list.path, "--out-dir", dir.path, "--quiet"]
        try Segment.parse(base + ["--shard", "1/2"]).run()
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
                == ["case0.nii.gz", "case0.json", "shard-1-of-2.json", "shard-1-of-2.csv"])
        try Segment.parse(base + ["--shard", "0/2"]).run()
        for url in urls {
            let name = ScanList.outputName(for: url)
            let single = w.folder.appendingPathComponent("single-\(name).nii.gz")
            try Segment.parse(["--model", w.refiner.path, "--threshold", "0.3", url.path, "--out", single.path]).run()
            let batch = try NIfTI.readMask(at: dir.appendingPathComponent("\(name).nii.gz")), one = try NIfTI.readMask(at: single)
            #expect(batch.voxels == one.voxels && batch.geometry == one.geometry, "\(name)")
            let record = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("\(name).json"))) as! [String: Any]
            #expect(record["voxels"] as? Int == batch.voxels.count { $0 > 0 } && record["file"] as? String == url.standardizedFileURL.path)
        }
        let summary = try BatchRunner.readJSON(BatchSummary<Segment.Summary>.self, from: dir.appendingPathComponent("shard-0-of-2.json"))
        #expect(summary.entries.map(\.name) == ["head", "case1"] && summary.entries.allSatisfy { $0.status == .done })
        try Segment.parse(base + ["--shard", "0/2"]).run()
        let again = try BatchRunner.readJSON(BatchSummary<Segment.Summary>.self, from: dir.appendingPathComponent("shard-0-of-2.json"))
        #expect(again.entries.allSatisfy { $0.status == .reused })
        #expect(again.entries.map { $0.record?.voxels } == summary.entries.map { $0.record?.voxels })
        // another threshold into the same folder: refused per scan (exit 1), the masks untouched
        let before = try Data(contentsOf: dir.appendingPathComponent("head.nii.gz"))
        #expect(throws: ExitCode(1)) {
            try Segment.parse(["--model", w.refiner.path, "--threshold", "0.6", "--list", list.path, "--out-dir", dir.path, "--quiet", "--shard", "0/2"]).run()
        }
        let refused = try BatchRunner.readJSON(BatchSummary<Segment.Summary>.self, from: dir.appendingPathComponent("shard-0-of-2.json"))
        #expect(refused.entries.allSatisfy { $0.status == .failed && $0.error!.contains("other settings") })
        #expect(try Data(contentsOf: dir.appendingPathComponent("head.nii.gz")) == before)
    }

    @Test("a shard killed part way resumes: finished scans are reused, a staged leftover is replaced, the rest is written")
    func killedShardResumes() throws {
        let w = try Workspace()
        defer { w.temporary.cleanup() }
        let (list, _) = try scans(w)
        let dir = w.folder.appendingPathComponent("masks")
        let base = ["--model", w.refiner.path, "--threshold", "0.3", "--list", list.path, "--out-dir", dir.path, "--quiet"]
        try Segment.parse(base).run()
        let finished = try Data(contentsOf: dir.appendingPathComponent("head.nii.gz"))
        // what a kill while case1 was being written leaves: its staged file, no output, no record
        for name in ["case1.nii.gz", "case1.json", "shard-0-of-1.json", "shard-0-of-1.csv"] {
            try FileManager.default.removeItem(at: dir.appendingPathComponent(name))
        }
        try Data("half a mask".utf8).write(to: dir.appendingPathComponent(".partial-case1.nii.gz"))
        try Segment.parse(base).run()
        let summary = try BatchRunner.readJSON(BatchSummary<Segment.Summary>.self, from: dir.appendingPathComponent("shard-0-of-1.json"))
        #expect(summary.entries.map(\.status) == [.reused, .reused, .done])
        #expect(try Data(contentsOf: dir.appendingPathComponent("head.nii.gz")) == finished)
        #expect(try NIfTI.readMask(at: dir.appendingPathComponent("case1.nii.gz")).shape == GridShape(24, 20, 3))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }.isEmpty)
    }

    @Test("a scan that cannot be read fails alone: the others are written, the summary names it, the exit status is 1")
    func failingScan() throws {
        let w = try Workspace()
        defer { w.temporary.cleanup() }
        let list = w.folder.appendingPathComponent("list.txt")
        try Data("head.nii.gz\nmissing.nii.gz\n".utf8).write(to: list)
        let dir = w.folder.appendingPathComponent("probabilities")
        #expect(throws: ExitCode(1)) {
            try Classify.parse(["--model", w.classifier.path, "--list", list.path, "--out-dir", dir.path, "--quiet"]).run()
        }
        let summary = try BatchRunner.readJSON(BatchSummary<Classify.Result>.self, from: dir.appendingPathComponent("shard-0-of-1.json"))
        #expect(summary.entries.map(\.status) == [.done, .failed])
        #expect(summary.entries[1].error?.contains("missing.nii.gz") == true)
        // the record is classify's own JSON for that scan
        let single = try ResNetLSTM(contentsOf: w.classifier).classify(try NIfTI.readScan(at: w.scan)).probabilities
        #expect(summary.entries[0].record?.probabilities == single)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("missing.json").path))
    }

    @Test("classify --flip-average gives the library's flip-averaged probabilities, not the plain ones, and records the setting")
    func classifyFlipAverage() throws {
        let w = try Workspace()
        defer { w.temporary.cleanup() }
        let list = w.folder.appendingPathComponent("list.txt")
        try Data("head.nii.gz\n".utf8).write(to: list)
        let dir = w.folder.appendingPathComponent("flipped")
        try Classify.parse(["--model", w.classifier.path, "--list", list.path, "--out-dir", dir.path, "--flip-average", "--quiet"]).run()
        let summary = try BatchRunner.readJSON(BatchSummary<Classify.Result>.self, from: dir.appendingPathComponent("shard-0-of-1.json"))
        let net = try ResNetLSTM(contentsOf: w.classifier), scan = try NIfTI.readScan(at: w.scan)
        let flipped = net.classify(scan, flipAveraging: true).probabilities, plain = net.classify(scan).probabilities
        #expect(summary.entries.first?.record?.probabilities == flipped)
        #expect(summary.entries.first?.record?.flipAveraged == true)
        #expect(flipped != plain, "the seeded classifier is not mirror-symmetric on the head")
        // the record's settings say so (a folder resumed with other settings is refused), and a plain run's say nothing
        func settings(_ folder: URL) throws -> [String: String] {
            let record = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("head.json"))) as? [String: Any]
            let text = try #require(record?["batch_settings"] as? String)
            return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String])
        }
        #expect(try settings(dir)["flip_average"] == "true")
        let plainDir = w.folder.appendingPathComponent("plain")
        try Classify.parse(["--model", w.classifier.path, "--list", list.path, "--out-dir", plainDir.path, "--quiet"]).run()
        #expect(try settings(plainDir)["flip_average"] == nil)
        let plainRecord = try BatchRunner.readJSON(BatchSummary<Classify.Result>.self, from: plainDir.appendingPathComponent("shard-0-of-1.json"))
        #expect(plainRecord.entries.first?.record != nil && plainRecord.entries.first?.record?.flipAveraged == nil)
        #expect(throws: (any Error).self) {
            try Classify.parse(["--model", w.classifier.path, "--list", list.path, "--out-dir", plainDir.path, "--flip-average", "--quiet"]).run()
        }
        // a run's calls are its own: the flag is refused with --run, as segment refuses its own options there
        do {
            _ = try Classify.parse(["--run", w.folder.path, w.scan.path, "--flip-average"])
            Issue.record("classify --run --flip-average was accepted")
        } catch {
            #expect(Classify.message(for: error).contains("--flip-average does not go with --run"), "\(Classify.message(for: error))")
        }
    }

    @Test("cam --list writes each scan's map as cam does for one scan")
    func camList() throws {
        let w = try Workspace()
        defer { w.temporary.cleanup() }
        let (list, urls) = try scans(w)
        let dir = w.folder.appendingPathComponent("cams")
        try CAMCommand.parse(["--model", w.classifier.path, "--layer", "layer2", "--list", list.path, "--out-dir", dir.path, "--quiet"]).run()
        let single = w.folder.appendingPathComponent("single.nii.gz")
        try CAMCommand.parse(["--model", w.classifier.path, "--layer", "layer2", urls[2].path, "--out", single.path]).run()
        let batch = try NIfTI.readScan(at: dir.appendingPathComponent("case1.nii.gz")), one = try NIfTI.readScan(at: single)
        #expect(batch.voxels == one.voxels)
    }

    @Test("the batch options are refused in the wrong combinations")
    func refusals() throws {
        let w = try Workspace()
        defer { w.temporary.cleanup() }
        let list = w.folder.appendingPathComponent("list.txt")
        for bad in [["--list", list.path], ["--list", list.path, "--out-dir", "d", w.scan.path], ["--list", list.path, "--out-dir", "d", "--out", "x.nii.gz"],
                    ["--list", list.path, "--out-dir", "d", "--shard", "2/2"], ["--list", list.path, "--out-dir", "d", "--shard", "1"],
                    ["--list", list.path, "--out-dir", "d", "--probabilities", "p.nii.gz"], [w.scan.path, "--out", "x.nii.gz", "--shard", "0/2"],
                    [w.scan.path, "--out", "x.nii.gz", "--out-dir", "d"]] {
            #expect(throws: (any Error).self, "\(bad)") { try Segment.parse(["--model", w.refiner.path] + bad) }
        }
        #expect(throws: (any Error).self) { try Classify.parse(["--model", w.classifier.path, w.scan.path, "--force"]) }
    }
}

/// A volume stored with its axes in another order (stored axis s holds the original's axis
/// order[s], reversed where reversed[s]): the files a scanner or a converter may write for the
/// same scan (`Volume.storedInAxisOrder`, tested in CTVolumeTests).
enum ReorientationVariant {
    static func stored(_ v: ScanVolume, order: [Int], reversed: [Bool]) -> ScanVolume {
        v.storedInAxisOrder(order, reversed: reversed)
    }
}
