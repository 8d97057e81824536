import CTVolume
import Foundation
import NeuralCore
import Testing
import WeakSupervision
import TestSupport
import PipelineTestSupport

/// Self-training rounds of the pipeline's refiner (``PipelineConfig/RefinerSettings/rounds``).
@Suite(.serialized) struct SelfTrainingTests {
    @Test("rounds: written only when not 1, read back, absent means 1; 0 is refused by name")
    func roundsCoding() throws {
        let plain = String(decoding: try JSONEncoder().encode(PipelineConfig.full), as: UTF8.self)
        #expect(!plain.contains("\"rounds\""))
        var two = PipelineConfig.full
        two.refiner.rounds = 2
        let data = try JSONEncoder().encode(two)
        #expect(String(decoding: data, as: UTF8.self).contains("\"rounds\":2"))
        #expect(try JSONDecoder().decode(PipelineConfig.self, from: data) == two)
        #expect(try JSONDecoder().decode(PipelineConfig.self, from: Data(plain.utf8)).refiner.rounds == 1)
        var none = PipelineConfig.full
        none.refiner.rounds = 0
        #expect { try none.validate() } throws: { error in
            guard case WeakSupervisionError.invalidParameter(let name, _) = error else { return false }
            return name == "refiner.rounds"
        }
    }

    @Test("rounds re-key the refiner and the comparison alone; with more than one round the post-processing that makes the targets re-keys the refiner too")
    func roundsInStageKeys() throws {
        let folder = TemporaryFolder(prefix: "ichct-rounds-keys", create: false)
        defer { folder.cleanup() }
        let one = tinyPipelineConfig(boneRim: BoneRimFiltered.Settings(distance: .slab))
        var two = one
        two.refiner.rounds = 2
        func key(_ c: PipelineConfig, _ stage: PipelineStage) throws -> String {
            try Pipeline(config: c, output: folder.url, overwrite: true).configKey(stage)
        }
        for stage in PipelineStage.allCases {
            #expect((try key(one, stage) != key(two, stage)) == [.refiner, .comparison].contains(stage), "\(stage)")
        }
        // each post-processing step: part of the refiner's key with two rounds, not with one
        let edits: [(String, (inout PipelineConfig) -> Void)] = [
            ("growth", { $0.comparison.growth?.distanceMM = 3 }),
            ("boneRim", { $0.comparison.boneRim?.rimMM = 3 }),
            ("contrast", { $0.comparison.contrast = ContrastFiltered.Settings() }),
        ]
        for (name, edit) in edits {
            var a = one, b = two
            edit(&a)
            edit(&b)
            #expect(try key(one, .refiner) == key(a, .refiner), "\(name), one round")
            #expect(try key(two, .refiner) != key(b, .refiner), "\(name), two rounds")
            #expect(try key(two, .upperBound) == key(b, .upperBound), "\(name): the upper bound is trained once")
        }
    }

    @Test("two rounds: round 1's network and component choice kept apart; each training case's target is round 1's pipeline row emptied on the slices labelled negative; the refiner trained twice")
    func twoRounds() throws {
        let folder = TemporaryFolder(prefix: "ichct-rounds", create: false), out = folder.url
        defer { folder.cleanup() }
        var config = tinyPipelineConfig(boneRim: BoneRimFiltered.Settings(rimMM: 4, distance: .slab), contrast: ContrastFiltered.Settings(minimumContrastHU: 5))
        config.refiner.rounds = 2
        // a network next to its random start outlines noise (sigmoid near 0.5 everywhere), so
        // that round 1's row has voxels for the labels to remove; no restart on a low score
        config.refiner.training.optimizer.learningRate = 1e-6
        config.refiner.restartsOnCollapse = 0
        let pipeline = try Pipeline(config: config, output: out)
        var started = 0
        try pipeline.run(through: .refiner) { event in
            if case .training(.refiner, .started) = event { started += 1 }
            return .proceed
        }
        #expect(started == 2)
        #expect(try pipeline.summary(RefinerStage.pipeline)?.rounds == 2)
        let refiner = pipeline.folder(.refiner), roundOne = refiner.appendingPathComponent("round-1")
        let fm = FileManager.default
        for file in ["refiner.safetensors", "summary.json", "components.json", "components.gated.json"] {
            #expect(fm.fileExists(atPath: roundOne.appendingPathComponent(file).path), "round-1/\(file)")
            #expect(fm.fileExists(atPath: refiner.appendingPathComponent(file).path), "\(file)")
        }
        #expect(try Data(contentsOf: roundOne.appendingPathComponent("refiner.safetensors"))
                    != Data(contentsOf: refiner.appendingPathComponent("refiner.safetensors")))
        let targets = refiner.appendingPathComponent("round-2/targets")
        let split = try pipeline.split()
        #expect(try Set(fm.contentsOfDirectory(atPath: targets.path)) == Set(split.train.map { "\($0).nii.gz" }))

        // round 1's pipeline row, rebuilt from its kept files in a copy of the run
        let copy = folder.url.deletingLastPathComponent().appendingPathComponent(folder.url.lastPathComponent + "-round1")
        defer { try? fm.removeItem(at: copy) }
        try fm.copyItem(at: out, to: copy)
        let copied = copy.appendingPathComponent("refiner")
        for file in ["refiner.safetensors", "components.json", "components.gated.json"] {
            try fm.removeItem(at: copied.appendingPathComponent(file))
            try fm.copyItem(at: copied.appendingPathComponent("round-1/\(file)"), to: copied.appendingPathComponent(file))
        }
        let row = try Pipeline(config: config, output: copy).rowMethod("pipeline")
        let dataset = try pipeline.dataset()
        var targetVoxels = 0, rowVoxels = 0, droppedByLabels = 0
        for name in split.train {
            let item = try #require(dataset.cases.first { $0.name == name })
            let scan = try item.loadScan(), labels = try item.sliceLabels()
            let target = try NIfTI.readMask(at: targets.appendingPathComponent("\(name).nii.gz"), matching: scan)
            var expected = try row.segment(SegmentationCase(name: name, scan: scan, intracranial: try pipeline.intracranial(name), cam: nil,
                                                            sliceProbabilities: nil))
            rowVoxels += expected.voxels.reduce(0) { $0 + Int($1) }
            let n = scan.shape.sliceCount
            for z in 0..<scan.shape.z where labels[z] < 0.5 {
                for v in (z * n)..<((z + 1) * n) where expected.voxels[v] != 0 {
                    expected.voxels[v] = 0
                    droppedByLabels += 1
                }
            }
            #expect(target.voxels == expected.voxels, "\(name)")
            targetVoxels += target.voxels.reduce(0) { $0 + Int($1) }
        }
        // the check above compares something: round 1's row outlined voxels, and the labels removed some
        #expect(rowVoxels > 0 && targetVoxels > 0 && droppedByLabels > 0, "row \(rowVoxels), targets \(targetVoxels), dropped \(droppedByLabels)")

        // the same configuration again reuses the stage; another growth trains both rounds again
        let again = StageLog()
        try pipeline.run(through: .refiner, observer: again.observe)
        #expect(again.ran.isEmpty)
        var grown = config
        grown.comparison.growth?.distanceMM = 6
        let rerun = StageLog()
        try Pipeline(config: grown, output: out, overwrite: true).run(through: .refiner, observer: rerun.observe)
        #expect(rerun.ran == [.refiner])
    }
}
