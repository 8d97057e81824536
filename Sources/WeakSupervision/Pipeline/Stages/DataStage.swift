import CTVolume
import Foundation
import Metrics
import NeuralCore

/// The cases (a generated phantom set, or an existing dataset, and the sealed test set), the
/// case-level split and the intracranial mask of every case. Reads ``PipelineConfig/data``.
public struct DataStage: PipelineStageRunner {
    /// The data stage's numbers.
    public struct Summary: PipelineStageSummary {
        /// Cases of the run (training set and sealed test set).
        public var cases: Int
        /// Training, validation and test cases of the split.
        public var train: Int, validation: Int, test: Int

        /// A summary of these numbers.
        public init(cases: Int, train: Int, validation: Int, test: Int) {
            self.cases = cases
            self.train = train
            self.validation = validation
            self.test = test
        }

        /// The summary a record's numbers give (``PipelineStageSummary/init(values:)``).
        public init(values: [String: Double]) {
            self.init(cases: values.count("cases"), train: values.count("train"), validation: values.count("validation"), test: values.count("test"))
        }

        /// The numbers under the names stage records have always used.
        public var values: [String: Double] {
            ["cases": Double(cases), "train": Double(train), "validation": Double(validation), "test": Double(test)]
        }
    }

    /// The stage; it holds no settings of its own (``run(in:observer:)`` reads the pipeline's configuration).
    public init() {}

    public var stage: PipelineStage { .data }

    public var artefacts: [String] {
        ["cases/ (a generated phantom set)", "test-cases/ (a generated sealed test set)", "split.json", "intracranial/NAME.nii.gz"]
    }

    public func run(in pipeline: Pipeline, observer: @escaping (PipelineEvent) -> TrainingControl) throws -> PipelineStageOutcome<Summary> {
        let d = pipeline.config.data
        let datasetRoot = pipeline.datasetRoot, folder = pipeline.folder(.data)
        if d.dataset == nil {
            try Phantom.writeDataset(to: datasetRoot, cases: d.phantomCases, seed: d.phantomSeed, config: d.phantom, overwrite: true) { done, total, c in
                _ = observer(.progress(.data, done: done, total: total, item: c.name))
            }
        }
        if let t = d.sealedTest, t.dataset == nil, let testRoot = pipeline.testRoot {
            // Its own seed, and case indices after the training set's, so no name is shared.
            let first = d.dataset == nil ? d.phantomCases : 0
            try Phantom.writeDataset(to: testRoot, cases: t.phantomCases, seed: t.phantomSeed, config: t.phantom ?? d.phantom,
                                     firstCase: first, overwrite: true) { done, total, c in
                _ = observer(.progress(.data, done: done, total: total, item: "sealed test \(c.name)"))
            }
        }
        let training = try Dataset(root: datasetRoot)
        let dataset = try pipeline.dataset()
        let s = try ClassifierTrainer.split(training.cases, validationFraction: d.validationFraction, testFraction: d.testFraction, seed: d.splitSeed)
        let trainingNames = Set(training.cases.map(\.name))
        let test = d.sealedTest == nil ? s.test.map(\.name) : dataset.cases.map(\.name).filter { !trainingNames.contains($0) }
        guard !s.train.isEmpty, !test.isEmpty else {
            throw WeakSupervisionError.emptyInput(what: "\(dataset.root.path): \(dataset.cases.count) cases leave no training or no test case")
        }
        let split = PipelineSplit(train: s.train.map(\.name), validation: s.validation.map(\.name), test: test)
        try pipeline.writeJSON(split, to: folder.appendingPathComponent("split.json"))
        let maskFolder = folder.appendingPathComponent("intracranial")
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
        return PipelineStageOutcome(summary: Summary(cases: dataset.cases.count, train: split.train.count,
                                                     validation: split.validation.count, test: split.test.count))
    }
}
