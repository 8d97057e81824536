import Foundation

/// The stages of a pipeline run, in order. Each writes its artefacts under `OUT/<rawValue>/`
/// and, when it completes, a manifest `OUT/<rawValue>/stage.json` (``PipelineStageRecord``).
public enum PipelineStage: String, Codable, Sendable, CaseIterable, Comparable {
    /// The cases (a generated phantom set, or an existing dataset), the case-level split, and
    /// the intracranial mask of every case (`data/intracranial/NAME.nii.gz`).
    case data
    /// Stage 1: the ResNet-LSTM slice classifier from slice labels (`classifier/classifier.safetensors`),
    /// and with ``PipelineConfig/ClassifierSettings/sliceCalls`` its fine-tuned copy for the slice
    /// calls (`classifier/slice-calls/classifier.safetensors`).
    case classifier
    /// Stage 2: CAMs and slice probabilities of every case (`cams/NAME.nii.gz`, `cams/probabilities.json`;
    /// with a slice-call classifier also `cams/cam-probabilities.json`, the CAM classifier's).
    case cams
    /// Stages 3 and 4: pseudo-masks of the training and validation cases (`pseudo-masks/NAME.nii.gz`).
    case pseudoMasks = "pseudo-masks"
    /// Stage 5: UNetLite trained on the pseudo-masks (`refiner/refiner.safetensors`; an
    /// ensemble's further members in `refiner/member-M/`).
    case refiner
    /// The fully supervised upper bound: UNetLite on the true masks, same budget and members
    /// (`upper-bound/refiner.safetensors`, and `upper-bound/member-M/`).
    case upperBound = "upper-bound"
    /// The comparison table on the test cases (`comparison/comparison.txt`, `.json`, predicted
    /// masks per method, PNG montages).
    case comparison

    /// Order of the stages.
    public static func < (a: PipelineStage, b: PipelineStage) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// The stages whose artefacts this one reads.
    public var dependencies: [PipelineStage] {
        switch self {
        case .data: return []
        case .classifier: return [.data]
        case .cams: return [.data, .classifier]
        case .pseudoMasks: return [.data, .classifier, .cams]
        case .refiner: return [.data, .classifier, .cams, .pseudoMasks]
        case .upperBound: return [.data]
        case .comparison: return [.data, .classifier, .cams, .pseudoMasks, .refiner, .upperBound]
        }
    }
}

/// What a finished stage wrote into `OUT/<stage>/stage.json`: the configuration it depends on
/// (so that a changed configuration invalidates it and what depends on it), its time and a
/// short summary.
public struct PipelineStageRecord: Codable, Sendable, Equatable {
    /// The stage.
    public var stage: PipelineStage
    /// JSON of the configuration parts this stage and its dependencies read.
    public var configKey: String
    /// Wall-clock seconds the stage took.
    public var seconds: Double
    /// The stage's numbers, name → number: its runner's ``PipelineStageRunner/Summary``
    /// (``PipelineStageSummary/values``); ``Pipeline/summary(_:)`` reads them typed.
    public var summary: [String: Double]
    /// When it finished (ISO 8601).
    public var finished: String
}

/// What the pipeline reports while it runs; the library prints nothing.
public enum PipelineEvent: Sendable {
    /// A stage starts (`reused` false) or is skipped because its saved artefacts match (`reused` true).
    case stage(PipelineStage, reused: Bool)
    /// A stage finished, with its typed summary (e.g. ``ClassifierStage/Summary``).
    case finished(PipelineStage, seconds: Double, summary: any PipelineStageSummary)
    /// Progress over cases within a stage: (stage, done, total, case name).
    case progress(PipelineStage, done: Int, total: Int, item: String)
    /// An event of a training stage (classifier, refiner, upper bound).
    case training(PipelineStage, TrainingEvent)
}

/// The case-level split a run uses, saved as `OUT/data/split.json`.
public struct PipelineSplit: Codable, Sendable, Equatable {
    /// Training case names.
    public var train: [String]
    /// Validation case names (each network's validation score and kept epoch, the component size).
    public var validation: [String]
    /// Held-out test case names (the comparison only).
    public var test: [String]
}

/// A refiner stage's choice of minimum component volume (`OUT/refiner/components.json`,
/// `OUT/upper-bound/components.json`): every candidate's slice-level scores on the validation
/// cases and the one chosen (``ComponentSizeSelection``).
public struct ComponentSelectionRecord: Codable, Sendable, Equatable {
    /// The chosen volume (mL); 0 keeps every component.
    public var minimumVolumeML: Double
    /// Every candidate, smallest first.
    public var candidates: [ComponentSizeSelection.Candidate]
    /// The score the choice used (`.slices` in a record written before this field existed,
    /// the rule of that time).
    public var criterion: ComponentSizeSelection.Criterion
    /// The score tolerance the choice used (nil: none, the best score, the smallest on exact ties).
    public var tolerance: Double?
    /// The refiner probability that kept a smaller component in the choice
    /// (``PipelineConfig/ComponentSizeSettings/supportThreshold``; nil: size alone).
    public var supportThreshold: Float?

    /// A record.
    public init(minimumVolumeML: Double, candidates: [ComponentSizeSelection.Candidate],
                criterion: ComponentSizeSelection.Criterion = .slices, tolerance: Double? = nil, supportThreshold: Float? = nil) {
        self.minimumVolumeML = minimumVolumeML
        self.candidates = candidates
        self.criterion = criterion
        self.tolerance = tolerance
        self.supportThreshold = supportThreshold
    }

    private enum CodingKeys: String, CodingKey { case minimumVolumeML, candidates, criterion, tolerance, supportThreshold }

    /// Reads a record; one without `criterion` (written before it existed) was chosen by `.slices`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(minimumVolumeML: try c.decode(Double.self, forKey: .minimumVolumeML),
                  candidates: try c.decode([ComponentSizeSelection.Candidate].self, forKey: .candidates),
                  criterion: try c.decodeIfPresent(ComponentSizeSelection.Criterion.self, forKey: .criterion) ?? .slices,
                  tolerance: try c.decodeIfPresent(Double.self, forKey: .tolerance),
                  supportThreshold: try c.decodeIfPresent(Float.self, forKey: .supportThreshold))
    }
}
