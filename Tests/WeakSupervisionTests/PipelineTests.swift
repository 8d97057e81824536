import CTVolume
import Foundation
import Metrics
import NeuralCore
import Testing
import WeakSupervision
import TestSupport
import PipelineTestSupport

// tinyPipelineConfig() (PipelineTestSupport): the rows' exact chains are checked below without
// the bone-rim filter; PipelineCommandsTests run it.

/// Records which stages ran and which were reused.
final class StageLog: @unchecked Sendable {
    var ran: [PipelineStage] = [], reused: [PipelineStage] = []
    /// The summary each finished stage reported.
    var summaries: [PipelineStage: any PipelineStageSummary] = [:]
    func observe(_ event: PipelineEvent) -> TrainingControl {
        if case .stage(let s, let r) = event { if r { reused.append(s) } else { ran.append(s) } }
        if case .finished(let s, _, let summary) = event { summaries[s] = summary }
        return .proceed
    }
}

@Suite(.serialized) struct PipelineTests {
    @Test("a tiny pipeline end to end; a re-run reuses everything; --from re-runs the rest; a changed config is refused, then invalidates only what depends on it")
    func endToEnd() throws {
        let folder = TemporaryFolder(prefix: "ichct-pipeline", create: false), out = folder.url
        defer { folder.cleanup() }
        let config = tinyPipelineConfig()

        let first = StageLog()
        let table = try Pipeline(config: config, output: out).run(observer: first.observe)
        #expect(first.ran == PipelineStage.allCases)
        #expect(first.reused.isEmpty)
        #expect(table.rows.map(\.method) == [
            "threshold 50..90 HU inside the intracranial mask", "k-means alone (hyperdense cluster)", "CAM alone (thresholded CAM)",
            Pipeline.pseudoMasksRow, Pipeline.rawPipelineRow, Pipeline.pipelineRow, Pipeline.gatedPipelineRow,
            Pipeline.rawUpperBoundRow, Pipeline.upperBoundRow, Pipeline.gatedUpperBoundRow])
        let pipeline = try Pipeline(config: config, output: out)
        let split = try pipeline.split()
        #expect(table.caseNames == split.test)
        #expect(Set(split.train).isDisjoint(with: split.test) && Set(split.validation).isDisjoint(with: split.test))
        #expect(split.train.count + split.validation.count + split.test.count == 6)
        #expect(table.classification != nil)
        let fm = FileManager.default
        // the test cases are the sealed set, of their own seed, apart from training and validation
        #expect(split.test == ["phantom_0004", "phantom_0005"])
        #expect(Set(split.train + split.validation) == ["phantom_0000", "phantom_0001", "phantom_0002", "phantom_0003"])
        let manifest = try JSONDecoder().decode(PhantomManifest.self, from: Data(contentsOf: out.appendingPathComponent("data/test-cases/phantom.json")))
        #expect(manifest.seed == 7 && manifest.cases.map(\.name) == split.test)
        #expect(table.evaluatedOn?.contains("sealed test set: 2 phantom cases of seed 7") == true)
        // every row carries its statistics, and the weak rows are paired with their references
        #expect(table.rows.allSatisfy { $0.statistics != nil && $0.detections?.count == split.test.count })
        #expect(table.comparisons?.map(\.method) == Pipeline.pairedRows.map(\.method))
        #expect(table.text().contains("Paired Dice differences"))
        for file in ["config.json", "data/split.json", "classifier/classifier.safetensors", "cams/probabilities.json",
                     "refiner/refiner.safetensors", "upper-bound/refiner.safetensors", "comparison/comparison.txt", "comparison/comparison.json",
                     "comparison/comparison.csv", "comparison/comparison-summary.csv", "comparison/report.html",
                     "comparison/upper-bound.components.gated.json"] {
            #expect(fm.fileExists(atPath: out.appendingPathComponent(file).path), "missing \(file)")
        }
        for name in split.train + split.validation {
            #expect(fm.fileExists(atPath: out.appendingPathComponent("pseudo-masks/\(name).nii.gz").path))
        }
        // a CAM computed for a scan now (segment --run, another dataset's comparison) holds the
        // very values the CAM stage saved for it, so the CAM and pseudo-mask rows match either way
        for name in split.test {
            let item = try #require(try pipeline.dataset()[name])
            let now = try pipeline.segmentationCase(name: name, scan: try item.loadScan(), classifier: true)
            #expect(try #require(now.cam).voxels.map(\.bitPattern) == (try pipeline.cam(name)).voxels.map(\.bitPattern), "\(name)")
        }
        // the saved table reads back as the one the run returned; a folder without one is refused by name
        let saved = try Pipeline.savedTable(in: out)
        #expect(saved.caseNames == table.caseNames && saved.rows.map(\.meanDice).description == table.rows.map(\.meanDice).description)
        #expect(throws: WeakSupervisionError.invalidParameter(
            name: out.appendingPathComponent("data").path,
            reason: "no comparison table saved as comparison/comparison.json (not a run, or its comparison stage has not finished)")) {
            try Pipeline.savedTable(in: out.appendingPathComponent("data"))
        }
        for name in split.test {
            #expect(fm.fileExists(atPath: out.appendingPathComponent("comparison/masks/pipeline/\(name).nii.gz").path))
            #expect(fm.fileExists(atPath: out.appendingPathComponent("comparison/masks/pipeline-gated/\(name).nii.gz").path))
            #expect(fm.fileExists(atPath: out.appendingPathComponent("cams/\(name).nii.gz").path))
        }
        for stage in PipelineStage.allCases { #expect(try pipeline.record(stage) != nil) }
        // each stage reported its typed summary, and its record reads back as the same value
        let data = try #require(try pipeline.summary(DataStage()))
        #expect(data == DataStage.Summary(cases: 6, train: split.train.count, validation: split.validation.count, test: split.test.count))
        #expect(first.summaries[.data] as? DataStage.Summary == data)
        let classifier = try #require(try pipeline.summary(ClassifierStage()))
        #expect(classifier.epochs == config.classifier.training.epochs && !classifier.earlyStopped)
        #expect(first.summaries[.classifier] as? ClassifierStage.Summary == classifier)
        #expect(try pipeline.summary(CAMStage())?.cases == 6 && first.summaries[.cams] as? CAMStage.Summary == (try pipeline.summary(CAMStage())))
        #expect(try pipeline.summary(PseudoMaskStage())?.cases == split.train.count + split.validation.count)
        let refinerSummary = try #require(try pipeline.summary(RefinerStage.pipeline))
        #expect(refinerSummary.minimumComponentML == (try pipeline.minimumComponentVolume(.refiner)))
        #expect(refinerSummary.gatedMinimumComponentML == (try pipeline.minimumComponentVolume(.refiner, gated: true)))
        #expect(first.summaries[.refiner] as? RefinerStage.Summary == refinerSummary)
        let upper = try #require(try pipeline.summary(RefinerStage.upperBound))
        #expect(upper.minimumComponentML == (try pipeline.minimumComponentVolume(.upperBound)) && upper.gatedMinimumComponentML == nil)
        let comparison = try #require(try pipeline.summary(ComparisonStage()))
        #expect(comparison.cases == split.test.count && Set(comparison.dice.keys) == Set(pipeline.rowNames()))
        #expect(comparison.dice["pipeline"].map { $0.sameOrBothNaN(table[Pipeline.pipelineRow]!.meanDice) } == true)
        #expect(first.summaries[.comparison] as? ComparisonStage.Summary == comparison)
        // the refiner rows, and only they, grow their masks into the blood range (the saved gated
        // masks are checked below), and the table says so under the rows
        #expect(try pipeline.methods().filter { $0 is IntensityGrowth }.map(\.name)
                    == [Pipeline.pipelineRow, Pipeline.gatedPipelineRow, Pipeline.upperBoundRow, Pipeline.gatedUpperBoundRow])
        #expect(table.notes?.count == 2 && table.text().contains("grown 4 mm in-plane into 50..90 HU") && table.text().contains("share its inference"))
        var plain = config
        plain.comparison.growth = nil
        #expect(try Pipeline(config: plain, output: out, overwrite: true).methods().allSatisfy { !($0 is IntensityGrowth) })
        // each refiner chose its minimum component volume among the configured candidates
        for stage in [PipelineStage.refiner, .upperBound] {
            let record = try #require(try pipeline.componentSelection(stage))
            #expect(record.candidates.map(\.minimumVolumeML) == (config.refiner.componentSizes?.candidates ?? []).sorted())
            #expect((config.refiner.componentSizes?.candidates ?? []).contains(record.minimumVolumeML))
            #expect(try pipeline.minimumComponentVolume(stage) == record.minimumVolumeML)
            // the record names the configured score and tolerance and its choice is one the
            // library makes from its scores (ComparisonTests check the rule itself)
            let sizes = try #require(config.refiner.componentSizes), criterion = sizes.criterion
            #expect(record.tolerance == sizes.tolerance && record.criterion == criterion)
            let scores = record.candidates.map { $0.score(criterion) }
            let chosen = record.candidates.firstIndex { $0.minimumVolumeML == record.minimumVolumeML }!
            #expect(scores[chosen] >= scores.max()! - (sizes.tolerance ?? 0) - 1e-12)
            #expect(record.candidates.allSatisfy { $0.caseSensitivity != nil && $0.caseSpecificity != nil })
        }
        // the gated rows: their own size choices, the pipeline's refiner's in its stage and the
        // upper bound's in the comparison (its stage does not read the classifier); on every
        // slice the classifier called negative the gated masks are empty
        #expect(config.refiner.classifierGate == 0.5)
        let gatedRecord = try #require(try pipeline.componentSelection(.refiner, gated: true))
        #expect(gatedRecord.candidates.map(\.minimumVolumeML) == (config.refiner.componentSizes?.candidates ?? []).sorted())
        let upperGated = try #require(try pipeline.componentSelection(.upperBound, gated: true))
        #expect(upperGated.candidates.map(\.minimumVolumeML) == (config.refiner.componentSizes?.candidates ?? []).sorted())
        // the comparison's gated choice read the upper bound's kept validation masks: each is
        // the upper bound's own segmentation of the case
        let upperNet = try UNetLite(contentsOf: out.appendingPathComponent("upper-bound/refiner.safetensors"))
        for name in split.validation {
            let kept = try NIfTI.readMask(at: out.appendingPathComponent("upper-bound/validation/\(name).nii.gz"))
            let item = try #require(try pipeline.dataset()[name])
            let mask = try upperNet.segment(try item.loadScan(), intracranial: try pipeline.intracranial(name)).mask
            #expect(kept.voxels == mask.voxels && kept.shape == mask.shape, "kept validation mask of \(name)")
        }
        // each saved gated mask is the refiner's mask, gated by the saved probabilities,
        // filtered at the gated choice, then grown (composed here from the library's parts)
        let probabilities = try pipeline.probabilities()
        let refiner = try UNetLite(contentsOf: out.appendingPathComponent("refiner/refiner.safetensors"))
        let dataset = try pipeline.dataset()
        for name in split.test {
            let gated = try NIfTI.readMask(at: out.appendingPathComponent("comparison/masks/pipeline-gated/\(name).nii.gz"))
            let p = try #require(probabilities[name])
            let scan = try #require(dataset[name]).loadScan()
            let inside = try IntracranialMask.compute(scan)
            let raw = try refiner.segment(scan, intracranial: inside).mask
            let growth = try #require(config.comparison.growth)
            let expected = IntensityGrowth.grow(ComponentFiltered.filter(ClassifierGated.gate(raw, probabilities: p, positiveAt: 0.5),
                                                                         minimumVolumeML: gatedRecord.minimumVolumeML),
                                                scan: scan, within: inside, range: growth.range, steps: growth.steps(on: scan.geometry))
            #expect(gated.voxels == expected.voxels, "\(name)")
            for z in 0..<gated.shape.z where p[z] < 0.5 {
                #expect(gated.voxels[(z * gated.shape.sliceCount)..<((z + 1) * gated.shape.sliceCount)].allSatisfy { $0 == 0 })
            }
        }
        // with a support threshold in the size choice's record, a refiner row keeps the small
        // components in which the network's probability reaches it (composed here from the
        // library's parts); the record, not the configuration, says which threshold the volume
        // was chosen with
        let gatedRecordURL = out.appendingPathComponent("refiner/components.gated.json")
        let savedRecord = try Data(contentsOf: gatedRecordURL)
        var withSupport = gatedRecord
        withSupport.supportThreshold = 0.7
        let recordEncoder = JSONEncoder()   // as the pipeline writes its records (NaN scores as text)
        recordEncoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try recordEncoder.encode(withSupport).write(to: gatedRecordURL)
        var supportedConfig = config
        supportedConfig.refiner.componentSizes?.supportThreshold = 0.9   // not what the record says: the record decides
        let supported = try Pipeline(config: supportedConfig, output: out, overwrite: true)
        let gatedRow = try supported.rowMethod("pipeline-gated")
        for name in split.test {
            let scan = try #require(dataset[name]).loadScan()
            let inside = try IntracranialMask.compute(scan)
            let result = try refiner.segment(scan, intracranial: inside)
            let p = try #require(probabilities[name])
            let growth = try #require(config.comparison.growth)
            let filtered = ComponentFiltered.filter(ClassifierGated.gate(result.mask, probabilities: p, positiveAt: 0.5),
                                                    minimumVolumeML: gatedRecord.minimumVolumeML, support: result.thresholded(at: 0.7))
            let expected = IntensityGrowth.grow(filtered, scan: scan, within: inside, range: growth.range, steps: growth.steps(on: scan.geometry))
            let input = SegmentationCase(name: name, scan: scan, intracranial: inside, cam: nil, sliceProbabilities: p)
            #expect(try gatedRow.segment(input).voxels == expected.voxels, "\(name)")
        }
        try savedRecord.write(to: gatedRecordURL)

        // the data stage's intracranial masks (computed a few cases at a time in parallel) are
        // each case's own
        for item in dataset.cases {
            let saved = try NIfTI.readMask(at: out.appendingPathComponent("data/intracranial/\(item.name).nii.gz"))
            #expect(saved.voxels == (try IntracranialMask.compute(try item.loadScan())).voxels, "\(item.name)")
        }

        // Same configuration: nothing runs again, same table.
        let second = StageLog()
        let again = try pipeline.run(observer: second.observe)
        #expect(second.ran.isEmpty)
        #expect(again.rows.map(\.meanDice).description == table.rows.map(\.meanDice).description)

        // From the refiner: earlier stages reused, the refiner and what follows run.
        let third = StageLog()
        _ = try pipeline.run(from: .refiner, observer: third.observe)
        #expect(third.reused == [.data, .classifier, .cams, .pseudoMasks])
        #expect(third.ran == [.refiner, .upperBound, .comparison])

        // Another configuration is refused, naming the folder and the stale stages.
        var changed = config
        changed.pseudoMasks.minimumComponentSize = 2
        do {
            _ = try Pipeline(config: changed, output: out)
            Issue.record("a folder made with another configuration was accepted")
        } catch let error as WeakSupervisionError {
            #expect(error.description.contains(out.path))
            #expect(error.description.contains("pseudo-masks"))
        }
        // With overwrite, only the pseudo-masks and the stages that read them run again.
        let fourth = StageLog()
        _ = try Pipeline(config: changed, output: out, overwrite: true).run(observer: fourth.observe)
        #expect(fourth.reused == [.data, .classifier, .cams, .upperBound])
        #expect(fourth.ran == [.pseudoMasks, .refiner, .comparison])
        #expect(try Pipeline.savedConfig(in: out) == changed)

        // Pseudo-masks on the labelled-positive slices: each training and validation case's saved
        // mask is the settings' pseudoMask(of:labels:) with its weak labels, empty on the slices
        // labelled negative; the classifier's calls decide nothing there. To show that, its saved
        // probabilities are set to 0 on every slice first: gated by them, every mask would be empty.
        let probabilitiesFile = out.appendingPathComponent("cams/probabilities.json")
        let zeros = probabilities.mapValues { [Float](repeating: 0, count: $0.count) }
        try JSONEncoder().encode(zeros).write(to: probabilitiesFile)
        let resumeFile = out.appendingPathComponent("refiner/refiner.resume.safetensors")
        #expect(try RefinerTrainer.config(ofResumeFile: resumeFile).labelledNegatives == nil)
        var byLabels = changed
        byLabels.pseudoMasks.positiveSlices = .labels
        let fifth = StageLog()
        let labelled = try Pipeline(config: byLabels, output: out, overwrite: true)
        _ = try labelled.run(observer: fifth.observe)
        #expect(fifth.ran == [.pseudoMasks, .refiner, .comparison])
        // the refiner's negatives followed the labels (the stage set the trainer's setting)
        #expect(try RefinerTrainer.config(ofResumeFile: resumeFile).labelledNegatives == true)
        #expect(try RefinerTrainer.config(ofResumeFile: out.appendingPathComponent("upper-bound/refiner.resume.safetensors")).labelledNegatives == nil)
        var gateMatters = false
        for name in split.train + split.validation {
            let item = try #require(dataset[name])
            let saved = try NIfTI.readMask(at: out.appendingPathComponent("pseudo-masks/\(name).nii.gz"))
            let labels = try item.sliceLabels(), p = try #require(zeros[name])
            let input = SegmentationCase(name: name, scan: try item.loadScan(), intracranial: try labelled.intracranial(name),
                                         cam: try labelled.cam(name), sliceProbabilities: p)
            #expect(saved.voxels == (try byLabels.pseudoMasks.pseudoMask(of: input, labels: { labels })).voxels, "\(name)")
            let plane = saved.shape.sliceCount
            for z in 0..<saved.shape.z where labels[z] < 0.5 {
                #expect(saved.voxels[(z * plane)..<((z + 1) * plane)].allSatisfy { $0 == 0 }, "\(name) slice \(z)")
            }
            #expect(try byLabels.pseudoMasks.segmenter().segment(input).voxels.allSatisfy { $0 == 0 })
            gateMatters = gateMatters || saved.voxels.contains { $0 > 0 }
        }
        // some case has a pseudo-mask, which the classifier's (zeroed) calls would have emptied
        #expect(gateMatters)

        // labelledNegatives set in refiner.training on the classifier's pseudo-masks (here all
        // empty, gated by the zeroed calls) reaches the trainer with the dataset's weak labels:
        // the slices labelled positive are left out, so the network differs from the one that
        // trains on every slice as a negative (with the pseudo-masks' own labels it would not)
        let refinerFile = out.appendingPathComponent("refiner/refiner.safetensors")
        let upperBoundFile = out.appendingPathComponent("upper-bound/refiner.safetensors")
        _ = try Pipeline(config: changed, output: out, overwrite: true).run()
        let everySlice = try tensors(refinerFile), upperBound = try tensors(upperBoundFile)
        var leftOut = changed
        leftOut.refiner.training.labelledNegatives = true
        let sixth = StageLog()
        _ = try Pipeline(config: leftOut, output: out, overwrite: true).run(observer: sixth.observe)
        #expect(sixth.ran == [.refiner, .upperBound, .comparison])   // the upper bound shares refiner.training
        #expect(try RefinerTrainer.config(ofResumeFile: resumeFile).labelledNegatives == true)
        #expect(try tensors(refinerFile) != everySlice)
        // the upper bound's empty-target slices are the labelled-negative ones: it trains again, to the same weights
        #expect(try tensors(upperBoundFile) == upperBound)
        let positiveSlices = try split.train.map { try #require(dataset[$0]).sliceLabels().filter { $0 >= 0.5 }.count }.reduce(0, +)
        #expect(positiveSlices > 0)
    }

    @Test("run(through:) stops after its stage with no comparison (and no sealed table); run() then reuses what it finished; through before from is refused")
    func runThrough() throws {
        let folder = TemporaryFolder(prefix: "ichct-pipeline", create: false), out = folder.url
        defer { folder.cleanup() }
        let pipeline = try Pipeline(config: tinyPipelineConfig(), output: out)
        let first = StageLog()
        try pipeline.run(through: .pseudoMasks, observer: first.observe)
        #expect(first.ran == [.data, .classifier, .cams, .pseudoMasks])
        #expect(try pipeline.record(.refiner) == nil && pipeline.record(.comparison) == nil)
        #expect(!FileManager.default.fileExists(atPath: pipeline.folder(.comparison).path))
        #expect(throws: WeakSupervisionError.self) { try Pipeline.savedTable(in: out) }
        #expect(throws: WeakSupervisionError.self) { try pipeline.run(from: .refiner, through: .cams) }
        let second = StageLog()
        let table = try pipeline.run(observer: second.observe)
        #expect(second.reused == [.data, .classifier, .cams, .pseudoMasks])
        #expect(second.ran == [.refiner, .upperBound, .comparison])
        #expect(!table.rows.isEmpty)
    }

    @Test("the gate is part of the refiner's and the comparison's stage keys, not the upper bound's or earlier ones; no gate, no key part; the refiner's own settings reach the refiner, the upper bound and the comparison")
    func gateInStageKeys() throws {
        let folder = TemporaryFolder(prefix: "ichct-pipeline", create: false), out = folder.url
        defer { folder.cleanup() }
        var a = tinyPipelineConfig(), b = a, none = a
        b.refiner.classifierGate = 0.7
        none.refiner.classifierGate = nil
        let pa = try Pipeline(config: a, output: out), pb = try Pipeline(config: b, output: out), pn = try Pipeline(config: none, output: out)
        for stage in PipelineStage.allCases {
            let changes = [PipelineStage.refiner, .comparison].contains(stage)
            #expect((pa.configKey(stage) != pb.configKey(stage)) == changes, "\(stage)")
            #expect((pa.configKey(stage) != pn.configKey(stage)) == changes, "\(stage)")
            #expect(!pn.configKey(stage).contains("gate"), "\(stage)")
        }
        // the refiner's own settings (its prior bias, its weight average) reach the refiner, the
        // upper bound trained with the same settings, and the comparison, and nothing earlier
        var prior = a, averaged = a
        prior.refiner.training.priorBias = true
        averaged.refiner.training.averageDecay = 0.99
        let pp = try Pipeline(config: prior, output: out), pe = try Pipeline(config: averaged, output: out)
        for stage in PipelineStage.allCases {
            let changes = [PipelineStage.refiner, .upperBound, .comparison].contains(stage)
            #expect((pa.configKey(stage) != pp.configKey(stage)) == changes, "\(stage)")
            #expect((pa.configKey(stage) != pe.configKey(stage)) == changes, "\(stage)")
        }
        // the growth acts after the component choice: it reaches the comparison alone
        var wider = a, ungrown = a
        wider.comparison.growth?.distanceMM = 3
        ungrown.comparison.growth = nil
        let pw = try Pipeline(config: wider, output: out), pu = try Pipeline(config: ungrown, output: out)
        for stage in PipelineStage.allCases {
            #expect((pa.configKey(stage) != pw.configKey(stage)) == (stage == .comparison), "\(stage)")
            #expect((pa.configKey(stage) != pu.configKey(stage)) == (stage == .comparison), "\(stage)")
        }
    }

    @Test("replicates: seeds move by one per replicate, the data stage is shared, the summary pools the cases")
    func replicatesShareDataAndMoveSeeds() throws {
        let folder = TemporaryFolder(prefix: "ichct-replicates", create: false), out = folder.url
        defer { folder.cleanup() }
        let config = tinyPipelineConfig()
        var ran: [Int: [PipelineStage]] = [:]
        let log = StageLog()
        let runs = try PipelineReplicates(config: config, output: out, count: 2,
                                          bootstrap: BootstrapSettings(resamples: 100))
        let summary = try runs.run { k, event in
            if case .stage(let s, false) = event { ran[k, default: []].append(s) }
            return log.observe(event)
        }
        #expect(ran[1] == PipelineStage.allCases)
        #expect(ran[2] == PipelineStage.allCases.filter { $0 != .data })   // the first replicate's data, linked
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: runs.folder(2).appendingPathComponent("data").path)
        #expect(link == "../replicate-1/data")
        #expect(summary.seeds == [[config.classifier.training.seed, config.refiner.training.seed], [config.classifier.training.seed + 1, config.refiner.training.seed + 1]])
        let second = try Pipeline.savedConfig(in: runs.folder(2))
        #expect(second.classifier.training.seed == config.classifier.training.seed + 1 && second.data == config.data)
        // each row's per-replicate means are the replicate tables' own
        let tables = try (1...2).map { try ComparisonTable.decode(Data(contentsOf: runs.folder($0).appendingPathComponent("comparison/comparison.json"))) }
        let row = try #require(summary.rows.first { $0.method == Pipeline.pipelineRow })
        #expect("\(row.dicePerReplicate)" == "\(tables.map { $0[Pipeline.pipelineRow]!.meanDice })")
        #expect(summary.rows.count == tables[0].rows.count && summary.text().contains("mean ± sd"))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("replicates.txt").path))
        #expect(throws: WeakSupervisionError.self) { try PipelineReplicates(config: config, output: out, count: 0) }
    }

    @Test("a set stored in LPS is taken in LAS order, as segment takes it, and its comparison masks go back to the files' grid; a gated upper-bound row needs its choice")
    func nonLASSetIsTakenInLAS() throws {
        let folder = TemporaryFolder(prefix: "ichct-orient", create: false), out = folder.url
        defer { folder.cleanup() }
        let data = out.appendingPathComponent("set")
        var phantom = PipelineConfig.phantom(size: 64)
        phantom.slices = 6...6
        phantom.subSlices = 1
        try Phantom.writeDataset(to: data, cases: 4, seed: 3, config: phantom)
        // every case rewritten in LPS voxel order (same world positions), scan, label and lesion map alike
        var las: [String: ScanVolume] = [:]
        for index in 0..<4 {
            let name = Phantom.caseName(index)
            let scanURL = data.appendingPathComponent("data/\(name).nii.gz"), labelURL = data.appendingPathComponent("label/\(name).nii.gz")
            let scan = try NIfTI.readScan(at: scanURL), label = try NIfTI.readScan(at: labelURL)
            las[name] = scan
            try NIfTI.write(scan.storedInAxisOrder([0, 1, 2], reversed: [false, true, false]), to: scanURL, datatype: .hounsfieldInt16, overwrite: true)
            try NIfTI.write(label.storedInAxisOrder([0, 1, 2], reversed: [false, true, false]).map { UInt8($0) }, to: labelURL, overwrite: true)
            let lesionURL = data.appendingPathComponent("\(Phantom.lesionFolderName)/\(name).nii.gz")
            let lesions = try NIfTI.readScan(at: lesionURL)
            try NIfTI.write(lesions.storedInAxisOrder([0, 1, 2], reversed: [false, true, false]).map { UInt8($0) }, to: lesionURL, overwrite: true)
            #expect(try NIfTI.readScan(at: scanURL).geometry.affine.axisCodes == "LPS")
        }
        var config = tinyPipelineConfig()
        config.data.dataset = data.path
        config.data.sealedTest = nil
        config.data.testFraction = 0.25
        let pipeline = try Pipeline(config: config, output: out.appendingPathComponent("run"))
        #expect(throws: WeakSupervisionError.self) { try pipeline.rowMethod("upper-bound-gated") }
        #expect(throws: WeakSupervisionError.self) { try pipeline.rowMethod("best") }
        _ = try pipeline.run()
        // a saved intracranial mask is the one of the LAS scan, on the LAS grid
        let saved = try NIfTI.readMask(at: out.appendingPathComponent("run/data/intracranial/phantom_0001.nii.gz"))
        #expect(saved.voxels == (try IntracranialMask.compute(las["phantom_0001"]!)).voxels && saved.geometry.affine.axisCodes == "LAS")
        // the comparison's masks lie on the label files' grid (LPS), as evaluate pairs them
        let test = try pipeline.testCases()
        #expect(!test.isEmpty)
        for item in test {
            let label = try NIfTI.readHeader(at: item.labelURL!)
            let mask = try NIfTI.readMask(at: out.appendingPathComponent("run/comparison/masks/pipeline/\(item.name).nii.gz"),
                                          matching: label.geometry, shape: label.shape)
            #expect(mask.geometry.affine.axisCodes == "LPS")
        }
    }

    @Test("trained on the randomized preset with a sealed set of the realistic one, as the demo presets do: each set written with its own settings, named in the table, part of the data key only when set")
    func sealedSetWithItsOwnPhantom() throws {
        let folder = TemporaryFolder(prefix: "ichct-sealed-own", create: false), out = folder.url
        defer { folder.cleanup() }
        var config = tinyPipelineConfig()
        // generation 2 on both sides: varied slice thickness, stored orientations and tilts in
        // training, through every stage
        var randomized = PipelineConfig.trainingPhantom(size: 64)
        randomized.slices = 6...8
        randomized.subSlices = 1
        config.data.phantom = randomized
        var realistic = PipelineConfig.testPhantom(size: 64)
        realistic.slices = 6...8
        realistic.subSlices = 1
        config.data.sealedTest?.phantom = realistic
        let pipeline = try Pipeline(config: config, output: out)
        let table = try pipeline.run()
        let manifest = { (root: String) in
            try JSONDecoder().decode(PhantomManifest.self, from: Data(contentsOf: out.appendingPathComponent("data/\(root)/phantom.json")))
        }
        #expect(try manifest("test-cases").config == realistic)
        #expect(try manifest("cases").config == config.data.phantom)
        #expect(table.evaluatedOn?.contains("phantom settings of their own (generation 2)") == true)
        // the same run without it: another data key; and nothing of it in the saved configuration
        var plain = config
        plain.data.sealedTest?.phantom = nil
        let other = try Pipeline(config: plain, output: out, overwrite: true)
        #expect(other.configKey(.data) != pipeline.configKey(.data))
        let json = String(decoding: try JSONEncoder().encode(plain.data.sealedTest), as: UTF8.self)
        #expect(!json.contains("phantom\"") && json.contains("phantomSeed"))
        var bad = config
        bad.data.sealedTest?.phantom?.size = 3
        #expect(throws: (any Error).self) { try bad.validate() }
    }

    @Test("run(from:) refuses when an earlier stage has no saved result")
    func fromNeedsEarlierStages() throws {
        let folder = TemporaryFolder(prefix: "ichct-pipeline", create: false), out = folder.url
        defer { folder.cleanup() }
        let pipeline = try Pipeline(config: tinyPipelineConfig(), output: out)
        #expect(throws: WeakSupervisionError.self) { try pipeline.run(from: .cams) }
    }

    @Test("component records written before the criterion and tolerance fields decode, with the old rules")
    func olderComponentRecordDecodes() throws {
        // a components.json of the previous session: slice scores only
        let record = try JSONDecoder().decode(ComponentSelectionRecord.self, from: Data("""
            {"minimumVolumeML": 0.5, "candidates": [{"minimumVolumeML": 0, "sensitivity": 0.75, "specificity": 0.5},
                                                    {"minimumVolumeML": 0.5, "sensitivity": 0.5, "specificity": 1}]}
            """.utf8))
        #expect(record.criterion == .slices && record.tolerance == nil)
        #expect(record.candidates[0].caseSensitivity == nil && record.candidates[1].youden == 0.5)
        #expect(record.candidates[1].caseYouden == -1)   // missing case scores count 0
    }

    @Test("early stopping is refused with a classifier that keeps its last epoch, a gate outside (0, 1) is refused; the presets validate")
    func patienceNeedsBest() throws {
        try PipelineConfig.full.validate()
        try PipelineConfig.quick.validate()
        // the presets train on the randomized phantom and seal a set of the realistic one
        for (preset, size) in [(PipelineConfig.full, 256), (PipelineConfig.quick, 128)] {
            var training = PhantomConfig.randomized, test = PhantomConfig.realistic
            training.size = size
            test.size = size
            #expect(preset.data.phantom == training && preset.data.sealedTest?.phantom == test)
            #expect(preset.data.sealedTest?.phantomSeed != preset.data.phantomSeed)
        }
        try PipelineConfig().validate()
        var config = PipelineConfig.full
        config.classifier.training.selection = .last
        config.classifier.patience = 4
        #expect(throws: WeakSupervisionError.self) { try config.validate() }
        config.classifier.training.selection = .best
        try config.validate()
        for bad: Float in [0, 1, .nan] {
            config.refiner.classifierGate = bad
            #expect(throws: WeakSupervisionError.self) { try config.validate() }
        }
    }
}

extension PipelineTests {
    @Test("an observer's stop in a training stage throws .stopped naming the stage and records nothing for it")
    func stopIsTyped() throws {
        let folder = TemporaryFolder(prefix: "ichct-pipeline", create: false), out = folder.url
        defer { folder.cleanup() }
        let pipeline = try Pipeline(config: tinyPipelineConfig(), output: out)
        #expect(throws: WeakSupervisionError.stopped(stage: "classifier", resumeFolder: pipeline.folder(.classifier).path)) {
            try pipeline.run { event in
                if case .training(.classifier, _) = event { return .stop }
                return .proceed
            }
        }
        #expect(try pipeline.record(.data) != nil, "the stage before it finished and is recorded")
        #expect(try pipeline.record(.classifier) == nil, "the stopped stage is not recorded as done")
        #expect(!pipeline.isReusable(.classifier))
    }
}
