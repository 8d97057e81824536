import CTVolume
import Foundation
import Metrics
import NeuralCore

/// The stages' work: each reads what earlier stages saved and writes into its own folder.
extension Pipeline {
    /// The dataset root the run uses: the configured dataset, or the generated phantom set
    /// `OUT/data/cases`.
    public var datasetRoot: URL {
        config.data.dataset.map { URL(fileURLWithPath: $0) } ?? folder(.data).appendingPathComponent("cases")
    }

    /// The root of the sealed test set (``PipelineConfig/SealedTestSettings``): its dataset, or
    /// the generated phantom set `OUT/data/test-cases`; nil without one.
    public var testRoot: URL? {
        config.data.sealedTest.map { t in t.dataset.map { URL(fileURLWithPath: $0) } ?? folder(.data).appendingPathComponent("test-cases") }
    }

    /// The run's cases: the dataset, and the sealed test set's cases when there is one (its
    /// names must differ from the dataset's). `root` is the dataset's.
    /// - Throws: reading errors; a test case whose name is also a training case's.
    public func dataset() throws -> Dataset {
        var d = try Dataset(root: datasetRoot)
        if let testRoot {
            let test = try Dataset(root: testRoot, requireMasks: true)
            let names = Set(d.cases.map(\.name))
            if let clash = test.cases.first(where: { names.contains($0.name) }) {
                throw WeakSupervisionError.invalidParameter(
                    name: testRoot.path, reason: "test case \(clash.name) has the name of a case in \(datasetRoot.path); a sealed test set needs its own names")
            }
            d.cases += test.cases
        }
        return d
    }

    /// The test cases of the run (``PipelineSplit/test``) as dataset cases: what the comparison
    /// scores, and what a user needs to reproduce a row of the table.
    public func testCases() throws -> [DatasetCase] {
        try cases(split().test, in: dataset())
    }

    /// Per case name, the hemorrhage subtypes its truth holds, from the `phantom.json` manifests
    /// of the run's phantom sets (empty when no set has one, e.g. a real dataset).
    public func caseSubtypes() -> [String: [String]] {
        ([datasetRoot] + (testRoot.map { [$0] } ?? [])).reduce(into: [:]) { out, root in
            out.merge(Self.subtypes(inDataset: root)) { a, _ in a }
        }
    }

    /// Per case name, the hemorrhage subtypes of a phantom set's cases, from its `phantom.json`,
    /// or of a PhysioNet CT-ICH folder's cases, from its CSV (``DatasetCase/subtypes``); empty
    /// for other folders.
    public static func subtypes(inDataset root: URL) -> [String: [String]] {
        let url = root.appendingPathComponent("phantom.json")
        guard let data = try? Data(contentsOf: url), let m = try? JSONDecoder().decode(PhantomManifest.self, from: data) else {
            // A NIfTI dataset's scan-level labels (PhysioNet CT-ICH's CSV). The DICOM layouts are
            // not opened again here: that reads every header (RSNA: hundreds of thousands).
            guard let layout = try? DatasetLayout.detect(at: root), layout != .rsna && layout != .cq500,
                  let dataset = try? Dataset(root: root, layout: layout) else { return [:] }
            return Dictionary(uniqueKeysWithValues: dataset.cases.compactMap { c in c.subtypes.map { (c.name, $0) } })
        }
        return Dictionary(uniqueKeysWithValues: m.cases.map { c in (c.name, Array(Set(c.lesions.map { $0.subtype.rawValue })).sorted()) })
    }

    /// The saved case-level split (`OUT/data/split.json`).
    public func split() throws -> PipelineSplit {
        try JSONDecoder().decode(PipelineSplit.self, from: Data(contentsOf: folder(.data).appendingPathComponent("split.json")))
    }

    /// The saved intracranial mask of a case.
    public func intracranial(_ name: String) throws -> MaskVolume {
        try NIfTI.readMask(at: folder(.data).appendingPathComponent("intracranial/\(name).nii.gz"))
    }

    /// The saved CAM of a case (on its grid, 0...1 per slice).
    public func cam(_ name: String) throws -> Volume<Float> {
        try NIfTI.readScan(at: folder(.cams).appendingPathComponent("\(name).nii.gz"))
    }

    /// The saved slice probabilities of every case (`OUT/cams/probabilities.json`).
    public func probabilities() throws -> [String: [Float]] {
        try JSONDecoder().decode([String: [Float]].self, from: Data(contentsOf: folder(.cams).appendingPathComponent("probabilities.json")))
    }

    func cases(_ names: [String], in dataset: Dataset) throws -> [DatasetCase] {
        try names.map { name in
            guard let c = dataset[name] else {
                throw WeakSupervisionError.missingInput(method: "pipeline", input: "case \(name) in \(dataset.root.path)")
            }
            return c
        }
    }

    // MARK: data

    func runData(_ observer: @escaping (PipelineEvent) -> TrainingControl) throws -> StageOutcome {
        let d = config.data
        if d.dataset == nil {
            try Phantom.writeDataset(to: datasetRoot, cases: d.phantomCases, seed: d.phantomSeed, config: d.phantom, overwrite: true) { done, total, c in
                _ = observer(.progress(.data, done: done, total: total, item: c.name))
            }
        }
        if let t = d.sealedTest, t.dataset == nil, let testRoot {
            // Its own seed, and case indices after the training set's, so no name is shared.
            let first = d.dataset == nil ? d.phantomCases : 0
            try Phantom.writeDataset(to: testRoot, cases: t.phantomCases, seed: t.phantomSeed, config: t.phantom ?? d.phantom,
                                     firstCase: first, overwrite: true) { done, total, c in
                _ = observer(.progress(.data, done: done, total: total, item: "sealed test \(c.name)"))
            }
        }
        let training = try Dataset(root: datasetRoot)
        let dataset = try dataset()
        let s = try ClassifierTrainer.split(training.cases, validationFraction: d.validationFraction, testFraction: d.testFraction, seed: d.splitSeed)
        let trainingNames = Set(training.cases.map(\.name))
        let test = d.sealedTest == nil ? s.test.map(\.name) : dataset.cases.map(\.name).filter { !trainingNames.contains($0) }
        guard !s.train.isEmpty, !test.isEmpty else {
            throw WeakSupervisionError.emptyInput(what: "\(dataset.root.path): \(dataset.cases.count) cases leave no training or no test case")
        }
        let split = PipelineSplit(train: s.train.map(\.name), validation: s.validation.map(\.name), test: test)
        try writeJSON(split, to: folder(.data).appendingPathComponent("split.json"))
        let maskFolder = folder(.data).appendingPathComponent("intracranial")
        try FileManager.default.createDirectory(at: maskFolder, withIntermediateDirectories: true)
        // A few cases at a time in parallel (reading and writing gzip are serial per file);
        // each mask depends on its scan only, and progress follows case order.
        let cases = dataset.cases
        try forEachInOrderedChunks(count: cases.count) { i in
            // in LAS whatever the files store (a Dataset's cases are canonical), as segment,
            // classify and the comparison of other datasets bring scans to LAS
            let scan = try cases[i].loadScan()
            try NIfTI.write(try IntracranialMask.compute(scan),
                            to: maskFolder.appendingPathComponent("\(cases[i].name).nii.gz"), overwrite: true)
        } deliver: { i, _ in
            _ = observer(.progress(.data, done: i + 1, total: cases.count, item: "intracranial mask \(cases[i].name)"))
        }
        return StageOutcome(summary: ["cases": Double(dataset.cases.count), "train": Double(split.train.count),
                                      "validation": Double(split.validation.count), "test": Double(split.test.count)])
    }

    // MARK: stage 1

    func runClassifier(_ observer: @escaping (PipelineEvent) -> TrainingControl) throws -> StageOutcome {
        let dataset = try dataset(), split = try split()
        let c = config.classifier.training
        let windows = c.model.windows.map { Window(center: Float($0.center), width: Float($0.width)) }
        let names = split.train + split.validation
        var prepared: [PreparedCase] = []
        for (i, item) in try cases(names, in: dataset).enumerated() {
            prepared.append(try PreparedCase(loading: item, size: c.model.inputSize, windows: windows))
            _ = observer(.progress(.classifier, done: i + 1, total: names.count, item: "prepared \(item.name)"))
        }
        let training = Array(prepared[..<split.train.count]), validation = Array(prepared[split.train.count...])
        let patience = config.classifier.patience, minimum = config.classifier.minimumEpochs
        final class Box: @unchecked Sendable { var sinceBest = 0; var early = false }
        let box = Box()
        let summary = try ClassifierTrainer(config: c).train(
            training: training, validation: validation,
            outputs: TrainingOutputs(model: folder(.classifier).appendingPathComponent("classifier.safetensors")),
            overwrite: true,
            observer: TrainingCallback { event in
                let control = observer(.training(.classifier, event))
                if case .epoch(let e) = event, let patience, e.validationScore != nil {
                    box.sinceBest = e.improved ? 0 : box.sinceBest + 1
                    if box.sinceBest >= patience && e.epoch < e.epochs && e.epoch >= minimum { box.early = true; return .stop }
                }
                return control
            }, communicator: communicator)
        guard isWriter else { return StageOutcome(summary: [:], stopped: summary.stopped && !box.early) }
        try writeJSON(summary, to: folder(.classifier).appendingPathComponent("summary.json"))
        return StageOutcome(summary: ["epochs": Double(summary.epochsCompleted), "bestEpoch": Double(summary.bestEpoch ?? 0),
                                      "validationAUC": summary.bestScore ?? .nan, "earlyStopped": box.early ? 1 : 0],
                            stopped: summary.stopped && !box.early)
    }

    // MARK: stage 2

    func runCAMs(_ observer: @escaping (PipelineEvent) -> TrainingControl) throws -> StageOutcome {
        let dataset = try dataset(), split = try split()
        let model = try ResNetLSTM(contentsOf: folder(.classifier).appendingPathComponent("classifier.safetensors"))
        let method = try CAM.method(config.cam.method, model: model, layer: config.cam.layer)
        let names = split.train + split.validation + split.test
        var probabilities: [String: [Float]] = [:]
        var scores: [Double] = [], labels: [Bool] = []
        for (i, item) in try cases(names, in: dataset).enumerated() {
            let scan = try item.loadScan()
            let result = try method.volume(scan)
            try NIfTI.write(result.map, to: folder(.cams).appendingPathComponent("\(item.name).nii.gz"),
                            datatype: .int16(slope: 1 / 32000, intercept: 0), overwrite: true, descrip: "ichct \(method.name) \(config.cam.layer)")
            probabilities[item.name] = result.probabilities
            if split.validation.contains(item.name) {
                scores += result.probabilities.map(Double.init)
                labels += try item.sliceLabels().map { $0 > 0.5 }
            }
            _ = observer(.progress(.cams, done: i + 1, total: names.count, item: item.name))
        }
        try writeJSON(probabilities, to: folder(.cams).appendingPathComponent("probabilities.json"))
        return StageOutcome(summary: ["cases": Double(names.count), "validationAUC": SliceClassification.rocAUC(scores: scores, labels: labels)])
    }

    // MARK: stages 3 and 4

    func runPseudoMasks(_ observer: @escaping (PipelineEvent) -> TrainingControl) throws -> StageOutcome {
        let dataset = try dataset(), split = try split(), probabilities = try probabilities()
        let segmenter = try config.pseudoMasks.segmenter()
        let names = split.train + split.validation
        var dice: [Double] = [], voxels = 0
        for (i, item) in try cases(names, in: dataset).enumerated() {
            let scan = try item.loadScan()
            let mask = try segmenter.segment(SegmentationCase(name: item.name, scan: scan, intracranial: try intracranial(item.name),
                                                              cam: try cam(item.name), sliceProbabilities: probabilities[item.name]))
            try NIfTI.write(mask, to: folder(.pseudoMasks).appendingPathComponent("\(item.name).nii.gz"), overwrite: true, descrip: "ichct pseudo-mask")
            voxels += mask.voxels.reduce(0) { $0 + Int($1) }
            // Reported only (how good the weak targets are); never used by training.
            if let truth = try item.loadMask(), truth.voxels.contains(where: { $0 > 0 }) {
                dice.append(ConfusionCounts(prediction: mask.voxels.map { $0 > 0 }, truth: truth.voxels.map { $0 > 0 }).dice)
            }
            _ = observer(.progress(.pseudoMasks, done: i + 1, total: names.count, item: item.name))
        }
        return StageOutcome(summary: ["cases": Double(names.count), "voxelsPerCase": Double(voxels) / Double(max(names.count, 1)),
                                      "trainingDice": dice.isEmpty ? .nan : dice.reduce(0, +) / Double(dice.count)])
    }

    // MARK: stage 5 and the upper bound

    func runRefiner(stage: PipelineStage, pseudo: Bool, _ observer: @escaping (PipelineEvent) -> TrainingControl) throws -> StageOutcome {
        let dataset = try dataset(), split = try split()
        let c = config.refiner.training
        let windows = c.model.windows.map { Window(center: Float($0.center), width: Float($0.width)) }
        let names = split.train + split.validation
        var prepared: [PreparedCase] = []
        for (i, item) in try cases(names, in: dataset).enumerated() {
            let scan = try item.loadScan()
            let mask: MaskVolume
            if pseudo {
                mask = try NIfTI.readMask(at: folder(.pseudoMasks).appendingPathComponent("\(item.name).nii.gz"), matching: scan)
            } else {
                guard let truth = try item.loadMask() else {
                    throw WeakSupervisionError.missingInput(method: "upper bound", input: "the true mask of case \(item.name)")
                }
                mask = truth
            }
            prepared.append(try PreparedCase(name: item.name, scan: scan, labels: mask.sliceLabels, mask: mask, size: c.model.inputSize, windows: windows))
            _ = observer(.progress(stage, done: i + 1, total: names.count, item: "prepared \(item.name)"))
        }
        let summary = try RefinerTrainer(config: c).train(
            training: Array(prepared[..<split.train.count]), validation: Array(prepared[split.train.count...]),
            outputs: TrainingOutputs(model: folder(stage).appendingPathComponent("refiner.safetensors")), overwrite: true,
            observer: TrainingCallback { observer(.training(stage, $0)) }, communicator: communicator)
        // the component choice segments the validation cases: rank 0's work alone
        guard isWriter else { return StageOutcome(summary: [:], stopped: summary.stopped) }
        try writeJSON(summary, to: folder(stage).appendingPathComponent("summary.json"))
        var result: [String: Double] = ["epochs": Double(summary.epochsCompleted), "bestEpoch": Double(summary.bestEpoch ?? 0),
                      "validationDice": summary.bestScore ?? .nan]
        if let sizes = config.refiner.componentSizes, !sizes.candidates.isEmpty, !summary.stopped {
            let (chosen, gated) = try selectComponentVolume(stage: stage, sizes: sizes, validation: split.validation, in: dataset, observer)
            result["minimumComponentML"] = chosen
            if let gated { result["minimumComponentML.gated"] = gated }
        }
        return StageOutcome(summary: result, stopped: summary.stopped)
    }

    /// Segments the validation cases with the stage's trained refiner and chooses its minimum
    /// component volume from their **slice labels** (``ComponentSizeSelection``); writes
    /// `OUT/<stage>/components.json` (``ComponentSelectionRecord``). For the pipeline's refiner
    /// with a ``PipelineConfig/RefinerSettings/classifierGate``, the same masks gated by the classifier's saved
    /// probabilities (``ClassifierGated``) choose the gated row's volume, `components.gated.json`.
    /// Returns the volumes, ungated and gated (nil without a gate).
    ///
    /// With `gatedOnly` (the upper bound's gated row, chosen at comparison time because the
    /// upper-bound stage does not read the classifier), only the gated choice is made, written
    /// to `OUT/comparison/upper-bound.components.gated.json`.
    func selectComponentVolume(stage: PipelineStage, sizes: PipelineConfig.ComponentSizeSettings, validation: [String], in dataset: Dataset,
                               gatedOnly: Bool = false,
                               _ observer: @escaping (PipelineEvent) -> TrainingControl) throws -> (Double, Double?) {
        let model = try UNetLite(contentsOf: folder(stage).appendingPathComponent("refiner.safetensors"))
        let gate = stage == .refiner || gatedOnly ? config.refiner.classifierGate : nil
        let probabilities = gate == nil ? [:] : try probabilities()
        let probabilityFile = folder(.cams).appendingPathComponent("probabilities.json").path
        var masks: [MaskVolume] = [], gated: [MaskVolume] = [], labels: [[Bool]] = []
        let items = try cases(validation, in: dataset)
        for (i, item) in items.enumerated() {
            let scan = try item.loadScan()
            let mask = try model.segment(scan, intracranial: try intracranial(item.name)).mask
            masks.append(mask)
            labels.append(try item.sliceLabels().map { $0 > 0.5 })
            if let gate {
                guard let p = probabilities[item.name] else {
                    throw WeakSupervisionError.missingInput(method: "classifier gate", input: "the slice probabilities of case \(item.name) in \(probabilityFile)")
                }
                guard p.count == mask.shape.z else {
                    throw WeakSupervisionError.shapeMismatch(what: "\(item.name): slice probabilities in \(probabilityFile)", expected: "\(mask.shape.z)", got: "\(p.count)")
                }
                gated.append(ClassifierGated.gate(mask, probabilities: p, positiveAt: gate))
            }
            _ = observer(.progress(stage, done: i + 1, total: items.count, item: "component size: \(item.name)"))
        }
        let tolerance = sizes.tolerance, criterion = sizes.criterion, candidates = sizes.candidates
        func choose(_ masks: [MaskVolume], file: URL) throws -> Double {
            let (chosen, scored) = ComponentSizeSelection.select(masks: masks, sliceLabels: labels, candidates: candidates,
                                                                 criterion: criterion, tolerance: tolerance)
            let volume = masks.isEmpty ? 0 : chosen   // no validation case: nothing to choose on, keep every component
            try writeJSON(ComponentSelectionRecord(minimumVolumeML: volume, candidates: scored, criterion: criterion, tolerance: tolerance),
                          to: file)
            return volume
        }
        if gatedOnly {
            return (.nan, try choose(gated, file: upperBoundGatedSelectionURL))
        }
        let plain = try choose(masks, file: folder(stage).appendingPathComponent("components.json"))
        return (plain, gate == nil ? nil : try choose(gated, file: folder(stage).appendingPathComponent("components.gated.json")))
    }

    /// The saved choice of a refiner stage (`OUT/<stage>/components.json`, or with `gated`
    /// `components.gated.json`, the classifier-gated row's), nil when the stage made none (no
    /// ``PipelineConfig/RefinerSettings/componentSizes`` or no gate, or a run from before they existed).
    /// - Throws: a file that exists but does not decode.
    public func componentSelection(_ stage: PipelineStage, gated: Bool = false) throws -> ComponentSelectionRecord? {
        if stage == .upperBound && gated { return try readJSON(ComponentSelectionRecord.self, from: upperBoundGatedSelectionURL) }
        return try readJSON(ComponentSelectionRecord.self, from: folder(stage).appendingPathComponent(gated ? "components.gated.json" : "components.json"))
    }

    /// Where the upper bound's gated row keeps its component choice (made by the comparison stage).
    var upperBoundGatedSelectionURL: URL { folder(.comparison).appendingPathComponent("upper-bound.components.gated.json") }

    /// The minimum component volume the stage's refiner row (or with `gated`, its
    /// classifier-gated row) uses (``componentSelection(_:gated:)``, or 0).
    public func minimumComponentVolume(_ stage: PipelineStage, gated: Bool = false) throws -> Double {
        try componentSelection(stage, gated: gated)?.minimumVolumeML ?? 0
    }
}
