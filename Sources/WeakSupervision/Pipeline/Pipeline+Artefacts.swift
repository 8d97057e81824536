import CTVolume
import Foundation
import Metrics
import NeuralCore

/// What a run has saved, read back: its cases, split, intracranial masks, CAMs, probabilities
/// and component choices (the stages themselves are ``PipelineStageRunner`` types).
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

    /// The validation cases of the run (``PipelineSplit/validation``) as dataset cases: where
    /// every choice is made. ``compare(_:extra:statistics:subtypes:visit:keep:)`` on them scores
    /// a run without a sealed number (`ichctl compare --data RUN --split validation`).
    public func validationCases() throws -> [DatasetCase] {
        try cases(split().validation, in: dataset())
    }

    /// What a table on the validation cases was evaluated on.
    public func validationSetDescription(split: PipelineSplit) -> String {
        let source = config.data.dataset.map { "of \($0)" } ?? "of the phantom set of seed \(config.data.phantomSeed)"
        return "validation split: \(split.validation.count) cases \(source) held out of training (split seed \(config.data.splitSeed)); every choice is made on them"
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

    /// The saved slice probabilities of every case (`OUT/cams/probabilities.json`): the run's
    /// slice calls, by the network at ``sliceClassifierURL``.
    public func probabilities() throws -> [String: [Float]] {
        try JSONDecoder().decode([String: [Float]].self, from: Data(contentsOf: folder(.cams).appendingPathComponent("probabilities.json")))
    }

    /// The slice probabilities of the classifier that made the CAMs, which the pseudo-mask stage
    /// gates its slices by: with a slice-call classifier (``PipelineConfig/ClassifierSettings/sliceCalls``)
    /// `OUT/cams/cam-probabilities.json`, else the run's slice calls (``probabilities()``), the same network's.
    public func camProbabilities() throws -> [String: [Float]] {
        guard config.classifier.sliceCalls != nil else { return try probabilities() }
        return try JSONDecoder().decode([String: [Float]].self, from: Data(contentsOf: folder(.cams).appendingPathComponent(Self.camProbabilitiesFile)))
    }

    /// The CAM classifier's slice probabilities beside a slice-call classifier's (``camProbabilities()``).
    static let camProbabilitiesFile = "cam-probabilities.json"

    /// The slice-call classifier, or nil when the configuration has none (the CAM classifier
    /// makes the calls).
    /// - Throws: reading errors naming the file (the classifier stage has not run, or failed).
    func sliceCallClassifier() throws -> ResNetLSTM? {
        config.classifier.sliceCalls == nil ? nil : try ResNetLSTM(contentsOf: sliceClassifierURL)
    }

    /// The classifier that makes the CAMs: `OUT/classifier/classifier.safetensors`.
    public var camClassifierURL: URL { folder(.classifier).appendingPathComponent("classifier.safetensors") }

    /// The classifier that makes the run's slice calls: the slice-call classifier
    /// (`OUT/classifier/slice-calls/classifier.safetensors`) when the configuration has one
    /// (``PipelineConfig/ClassifierSettings/sliceCalls``), else the CAM classifier
    /// (``camClassifierURL``). `ichctl classify --run` reads it.
    public var sliceClassifierURL: URL {
        config.classifier.sliceCalls == nil ? camClassifierURL
            : ClassifierStage.sliceCallFolder(in: self).appendingPathComponent("classifier.safetensors")
    }

    func cases(_ names: [String], in dataset: Dataset) throws -> [DatasetCase] {
        try names.map { name in
            guard let c = dataset[name] else {
                throw WeakSupervisionError.missingInput(method: "pipeline", input: "case \(name) in \(dataset.root.path)")
            }
            return c
        }
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
