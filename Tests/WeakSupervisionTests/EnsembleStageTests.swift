import CTVolume
import Foundation
import NeuralCore
import Testing
import WeakSupervision
import TestSupport
import PipelineTestSupport

/// Refiner ensembles in the pipeline (``PipelineConfig/RefinerSettings/members``).
@Suite(.serialized) struct EnsembleStageTests {
    @Test("members: written only when not 1, read back, absent means 1; 0 is refused by name")
    func membersCoding() throws {
        let plain = String(decoding: try JSONEncoder().encode(PipelineConfig.full), as: UTF8.self)
        #expect(!plain.contains("\"members\""))
        var two = PipelineConfig.full
        two.refiner.members = 2
        let data = try JSONEncoder().encode(two)
        #expect(String(decoding: data, as: UTF8.self).contains("\"members\":2"))
        #expect(try JSONDecoder().decode(PipelineConfig.self, from: data) == two)
        #expect(try JSONDecoder().decode(PipelineConfig.self, from: Data(plain.utf8)).refiner.members == 1)
        try two.validate()
        var none = PipelineConfig.full
        none.refiner.members = 0
        #expect { try none.validate() } throws: { error in
            guard case WeakSupervisionError.invalidParameter(let name, _) = error else { return false }
            return name == "refiner.members"
        }
    }

    @Test("members re-key both refiner stages and the comparison, nothing before them; one member leaves the keys as they were")
    func membersInStageKeys() throws {
        let folder = TemporaryFolder(prefix: "ichct-members-keys", create: false)
        defer { folder.cleanup() }
        func key(_ c: PipelineConfig, _ stage: PipelineStage) throws -> String {
            try Pipeline(config: c, output: folder.url, overwrite: true).configKey(stage)
        }
        let one = tinyPipelineConfig()
        var two = one, three = one
        two.refiner.members = 2
        three.refiner.members = 3
        for stage in PipelineStage.allCases {
            let rekeyed = [.refiner, .upperBound, .comparison].contains(stage)
            #expect((try key(one, stage) != key(two, stage)) == rekeyed, "\(stage)")
            #expect((try key(two, stage) != key(three, stage)) == rekeyed, "\(stage)")
            #expect(!(try key(one, stage)).contains("members"), "\(stage)")
        }
        #expect(PipelineConfig.settings(readBy: .upperBound, in: two).contains("refiner.members"))
    }

    @Test("member seeds: member 1 keeps the seed; the others lie far from small seeds and from the restart seeds")
    func memberSeeds() {
        for seed: UInt64 in [0, 1, 7, 1000] {
            #expect(RefinerStage.memberSeed(seed, member: 1) == seed)
            let restarts = Set((1...3).map { RefinerStage.restartSeed(seed, restart: $0) })
            for member in 2...4 {
                let m = RefinerStage.memberSeed(seed, member: member)
                #expect(!(0..<10_000).contains(m) && !restarts.contains(m), "seed \(seed), member \(member)")
                // a member's restarts are not another member's seeds either
                #expect(!(2...4).map { RefinerStage.memberSeed(seed, member: $0) }.contains(RefinerStage.restartSeed(m, restart: 1)))
            }
        }
    }

    @Test("two members: both refiner stages train two networks; member 1 is the one-network stage's, byte for byte; the raw rows and the component choice segment with the mean of their logits")
    func twoMembers() throws {
        let folder = TemporaryFolder(prefix: "ichct-members", create: false), single = TemporaryFolder(prefix: "ichct-members-one", create: false)
        defer { folder.cleanup(); single.cleanup() }
        var two = membersConfig()
        two.refiner.componentSizes?.supportThreshold = 0.6
        var config = two
        config.refiner.members = 1
        let pipeline = try Pipeline(config: two, output: folder.url)
        var started: [PipelineStage: Int] = [:], notes: [String] = []
        try pipeline.run(through: .upperBound) { event in
            if case .training(let stage, .started) = event { started[stage, default: 0] += 1 }
            if case .progress(.refiner, _, _, let item) = event, item.hasPrefix("member") { notes.append(item) }
            return .proceed
        }
        #expect(started == [.classifier: 1, .refiner: 2, .upperBound: 2])
        #expect(notes == ["member 1 of 2 of the ensemble", "member 2 of 2 of the ensemble"])
        #expect(try pipeline.summary(RefinerStage.pipeline)?.members == 2)
        #expect(try pipeline.summary(RefinerStage.upperBound)?.members == 2)
        let fm = FileManager.default
        for stage in [PipelineStage.refiner, .upperBound] {
            let member = pipeline.folder(stage).appendingPathComponent("member-2")
            for file in ["refiner.safetensors", "refiner.resume.safetensors", "summary.json"] {
                #expect(fm.fileExists(atPath: member.appendingPathComponent(file).path), "\(stage): member-2/\(file)")
            }
            #expect(try Data(contentsOf: member.appendingPathComponent("refiner.safetensors"))
                        != Data(contentsOf: pipeline.folder(stage).appendingPathComponent("refiner.safetensors")), "\(stage)")
        }

        // member 1 is what one network would have been: same seed, targets and budget
        let alone = try Pipeline(config: config, output: single.url)
        try alone.run(through: .refiner)
        #expect(try Data(contentsOf: alone.folder(.refiner).appendingPathComponent("refiner.safetensors"))
                    == Data(contentsOf: pipeline.folder(.refiner).appendingPathComponent("refiner.safetensors")))

        // the raw rows (and `segment --run`'s) are the ensemble of the two files
        let dataset = try pipeline.dataset()
        let name = try #require(pipeline.split().validation.first)
        let item = try #require(dataset.cases.first { $0.name == name })
        let scan = try item.loadScan(), inside = try pipeline.intracranial(name)
        let input = SegmentationCase(name: name, scan: scan, intracranial: inside, cam: nil, sliceProbabilities: nil)
        for (stage, row) in [(PipelineStage.refiner, "pipeline-raw"), (.upperBound, "upper-bound-raw")] {
            let files = ["refiner.safetensors", "member-2/refiner.safetensors"].map { pipeline.folder(stage).appendingPathComponent($0) }
            let members = try files.map { try UNetLite(contentsOf: $0) }
            let expected = try UNetLite.segment(scan, ensemble: members, intracranial: inside)
            let first = try members[0].segment(scan, intracranial: inside)
            #expect(first.probabilities.voxels != expected.probabilities.voxels, "\(stage): the second member counts")
            #expect(try pipeline.rowMethod(row).segment(input).voxels == expected.mask.voxels, "\(row)")
            #expect(try pipeline.refinerNetwork(stage, name: row).refined(input).probabilities.voxels == expected.probabilities.voxels, "\(row)")
        }

        // the component choice segmented with the ensemble: the upper bound's kept validation
        // masks and supports (at 0.6) are the ensemble's, and on some case member 1 alone would
        // have given another support (the tiny networks' probabilities lie above 0.5 everywhere,
        // so the masks at 0.5 alone could not tell them apart)
        let members = try pipeline.refinerNetworkFiles(.upperBound).map { try UNetLite(contentsOf: $0) }
        #expect(members.count == 2)
        var memberOneDiffers = false
        for validation in try pipeline.split().validation {
            let item = try #require(dataset.cases.first { $0.name == validation })
            let scan = try item.loadScan(), inside = try pipeline.intracranial(validation)
            let kept = pipeline.folder(.upperBound).appendingPathComponent("validation")
            let ensemble = try UNetLite.segment(scan, ensemble: members, intracranial: inside)
            #expect(try NIfTI.readMask(at: kept.appendingPathComponent("\(validation).nii.gz")).voxels == ensemble.mask.voxels, "\(validation)")
            let support = try NIfTI.readMask(at: kept.appendingPathComponent("\(validation).support.nii.gz")).voxels
            #expect(support == ensemble.thresholded(at: 0.6).voxels, "\(validation)")
            memberOneDiffers = try memberOneDiffers || members[0].segment(scan, intracranial: inside).thresholded(at: 0.6).voxels != support
        }
        #expect(memberOneDiffers, "member 1 alone gives the ensemble's supports: the check above could not tell them apart")

        // a missing member is an error naming its file, not a smaller ensemble
        try fm.removeItem(at: pipeline.folder(.refiner).appendingPathComponent("member-2/refiner.safetensors"))
        #expect { try pipeline.rowMethod("pipeline") } throws: { error in
            "\(error)".contains("member-2/refiner.safetensors")
        }
    }

    @Test("a stop asked for in member 1's last epoch report ends the stage before member 2: stopped, no record, no member 2")
    func stopBetweenMembers() throws {
        let folder = TemporaryFolder(prefix: "ichct-members-stop", create: false)
        defer { folder.cleanup() }
        let pipeline = try Pipeline(config: membersConfig(), output: folder.url)
        #expect(try refinerTrainingsStoppingAtFirstLastEpoch(pipeline) == 1)
        let fm = FileManager.default, refiner = pipeline.folder(.refiner)
        #expect(!fm.fileExists(atPath: refiner.appendingPathComponent("member-2/refiner.safetensors").path))
        #expect(try pipeline.record(.refiner) == nil)
        #expect(!fm.fileExists(atPath: refiner.appendingPathComponent("components.json").path))
        #expect(fm.fileExists(atPath: refiner.appendingPathComponent("summary.json").path))
    }

    @Test("a stop asked for in member 2's first epoch ends the stage: stopped, no record, member 2's resume file, member 1's summary in the stage's folder")
    func stopInSecondMember() throws {
        let folder = TemporaryFolder(prefix: "ichct-members-stop2", create: false)
        defer { folder.cleanup() }
        var config = membersConfig()
        config.refiner.training.epochs = 2
        let pipeline = try Pipeline(config: config, output: folder.url)
        try pipeline.run(through: .pseudoMasks)
        let started = trainingsStopping(pipeline, in: .refiner) { started, r in started == 2 && r.epoch == 1 }
        #expect(started == 2)
        #expect(try pipeline.record(.refiner) == nil)
        let refiner = pipeline.folder(.refiner), fm = FileManager.default
        #expect(fm.fileExists(atPath: refiner.appendingPathComponent("member-2/refiner.resume.safetensors").path))
        let summary = try JSONDecoder().decode(TrainingSummary.self, from: Data(contentsOf: refiner.appendingPathComponent("summary.json")))
        let second = try JSONDecoder().decode(TrainingSummary.self, from: Data(contentsOf: refiner.appendingPathComponent("member-2/summary.json")))
        #expect(!summary.stopped && summary.epochsCompleted == 2)
        #expect(second.stopped && second.epochsCompleted == 1)
    }

    @Test("two members over two fine-tuned rounds: each member of round 2 starts from its own round-1 network; round 1's members kept apart")
    func membersAcrossRounds() throws {
        let folder = TemporaryFolder(prefix: "ichct-members-rounds", create: false)
        defer { folder.cleanup() }
        var config = membersConfig()
        config.refiner.rounds = 2
        config.refiner.training.epochs = 2
        config.refiner.laterRounds = .init(epochs: 1, learningRate: 1e-9)
        let pipeline = try Pipeline(config: config, output: folder.url)
        var started = 0
        try pipeline.run(through: .refiner) { event in
            if case .training(.refiner, .started) = event { started += 1 }
            return .proceed
        }
        #expect(started == 4)
        let refiner = pipeline.folder(.refiner)
        func weights(_ path: String) throws -> [String: [Float]] {
            let file = try Checkpoint(contentsOf: refiner.appendingPathComponent(path))
            var out: [String: [Float]] = [:]
            for (name, tensor) in file.tensors where !name.contains("running_") && !name.contains("num_batches") { out[name] = tensor.floats }
            return out
        }
        func distance(_ a: [String: [Float]], _ b: [String: [Float]]) -> Float {
            a.keys.map { k in zip(a[k]!, b[k]!).map { abs($0 - $1) }.max() ?? 0 }.max() ?? 0
        }
        let round1 = try ["round-1/refiner.safetensors", "round-1/member-2/refiner.safetensors"].map(weights)
        let round2 = try ["refiner.safetensors", "member-2/refiner.safetensors"].map(weights)
        for m in 0..<2 {
            #expect(distance(round1[m], round2[m]) < 1e-5, "member \(m + 1) fine-tuned from its own network")
        }
        #expect(distance(round1[0], round1[1]) > 1e-3, "the members differ")
        #expect(FileManager.default.fileExists(atPath: refiner.appendingPathComponent("round-1/member-2/summary.json").path))
    }

    /// The tiny run with two members and no restart.
    private func membersConfig() -> PipelineConfig {
        var config = tinyPipelineConfig()
        config.refiner.members = 2
        config.refiner.restartsOnCollapse = 0
        return config
    }
}
