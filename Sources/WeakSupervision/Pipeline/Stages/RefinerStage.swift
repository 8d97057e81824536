import CTVolume
import Foundation
import ImageCore
import Metrics
import NeuralCore

/// Stage 5, and the fully supervised upper bound: UNetLite trained on the pseudo-masks
/// (``pipeline``) or on the true masks (``upperBound``) of the training cases with the same
/// budget, validated on the validation cases; then, with
/// ``PipelineConfig/RefinerSettings/componentSizes``, the minimum component volume chosen on the
/// validation cases' labels (and for the pipeline's refiner with a
/// ``PipelineConfig/RefinerSettings/classifierGate``, the gated row's). Reads
/// ``PipelineConfig/refiner``; trains on every rank of a data-parallel run.
///
/// With ``PipelineConfig/RefinerSettings/rounds`` above 1 (the pipeline's refiner only), each
/// round but the last is followed by its component choice and by its pipeline row (which reads
/// the comparison's growth, bone rim and contrast settings) segmenting the training cases, gated
/// by their weak slice labels: the next round's targets (`round-R/targets/`). Then the refiner
/// is trained again: from scratch, or with ``PipelineConfig/RefinerSettings/laterRounds``
/// fine-tuned from the previous round's network. The files directly in the stage's folder are
/// the last round's.
///
/// With ``PipelineConfig/RefinerSettings/members`` above 1, both stages train an ensemble:
/// member m from seed ``memberSeed(_:member:)``, in ``memberFolder(_:member:)``, each with the
/// collapse guard; the component choice and every row use the mean of the members' logits.
public struct RefinerStage: PipelineStageRunner {
    /// What the refiner learns from.
    public enum Target: String, Sendable, Codable {
        /// The pseudo-masks of stage 4: the weakly supervised pipeline.
        case pseudoMasks
        /// The true masks: the upper bound.
        case trueMasks
    }

    /// The refiner stage's numbers.
    public struct Summary: PipelineStageSummary {
        /// Epochs trained.
        public var epochs: Int
        /// The epoch kept (0: none).
        public var bestEpoch: Int
        /// Validation Dice of the kept epoch against the stage's targets (NaN when not validated).
        public var validationDice: Double
        /// The minimum component volume chosen (mL); nil without a component choice.
        public var minimumComponentML: Double?
        /// The gated row's minimum component volume (mL); nil without a gate or component choice.
        public var gatedMinimumComponentML: Double?
        /// Trainings started again because the kept model had collapsed
        /// (``PipelineConfig/RefinerSettings/restartsOnCollapse``), over all members; the kept
        /// network of a member restarted r times was trained with
        /// ``RefinerStage/restartSeed(_:restart:)`` r of its seed.
        public var restarts: Int
        /// Rounds of self-training (``PipelineConfig/RefinerSettings/rounds``); the other numbers
        /// are the last round's.
        public var rounds: Int
        /// Networks of the ensemble (``PipelineConfig/RefinerSettings/members``); epochs, kept
        /// epoch and validation Dice are member 1's, restarts those of all members together.
        public var members: Int

        /// A summary of these numbers.
        public init(epochs: Int, bestEpoch: Int, validationDice: Double, minimumComponentML: Double? = nil, gatedMinimumComponentML: Double? = nil,
                    restarts: Int = 0, rounds: Int = 1, members: Int = 1) {
            self.rounds = rounds
            self.members = members
            self.epochs = epochs
            self.bestEpoch = bestEpoch
            self.validationDice = validationDice
            self.minimumComponentML = minimumComponentML
            self.gatedMinimumComponentML = gatedMinimumComponentML
            self.restarts = restarts
        }

        /// The summary a record's numbers give (``PipelineStageSummary/init(values:)``).
        public init(values: [String: Double]) {
            self.init(epochs: values.count("epochs"), bestEpoch: values.count("bestEpoch"), validationDice: values.number("validationDice"),
                      minimumComponentML: values["minimumComponentML"], gatedMinimumComponentML: values["minimumComponentML.gated"],
                      restarts: values.count("restarts"), rounds: max(1, values.count("rounds")), members: max(1, values.count("members")))
        }

        /// The numbers under the names stage records have always used (`restarts` only when there
        /// were any, `rounds` and `members` only when more than one).
        public var values: [String: Double] {
            var v = ["epochs": Double(epochs), "bestEpoch": Double(bestEpoch), "validationDice": validationDice]
            v["minimumComponentML"] = minimumComponentML
            v["minimumComponentML.gated"] = gatedMinimumComponentML
            if restarts > 0 { v["restarts"] = Double(restarts) }
            if rounds > 1 { v["rounds"] = Double(rounds) }
            if members > 1 { v["members"] = Double(members) }
            return v
        }

        /// Equal numbers, a NaN (a score that could not be computed) equal to a NaN.
        public static func == (a: Self, b: Self) -> Bool {
            a.epochs == b.epochs && a.bestEpoch == b.bestEpoch && a.minimumComponentML == b.minimumComponentML && a.restarts == b.restarts && a.rounds == b.rounds && a.members == b.members
                && a.gatedMinimumComponentML == b.gatedMinimumComponentML && a.validationDice.sameSummaryNumber(b.validationDice)
        }
    }

    /// What this refiner learns from.
    public var target: Target

    /// The pipeline's refiner, on the pseudo-masks (stage ``PipelineStage/refiner``).
    public static let pipeline = RefinerStage(target: .pseudoMasks)
    /// The upper bound, on the true masks (stage ``PipelineStage/upperBound``).
    public static let upperBound = RefinerStage(target: .trueMasks)

    /// A refiner stage learning from `target`.
    public init(target: Target) { self.target = target }

    public var stage: PipelineStage { target == .pseudoMasks ? .refiner : .upperBound }

    public var runsOnEveryRank: Bool { true }

    public var artefacts: [String] {
        ["refiner.safetensors", "refiner.resume.safetensors", "summary.json (TrainingSummary, of the last training when there were restarts; member 1's in an ensemble)",
         "components.json (the component choice, ComponentSelectionRecord)", "components.gated.json (the gated row's, pipeline refiner only)",
         "validation/NAME.nii.gz (the upper bound's validation masks, read by the comparison's gated choice)",
         "validation/NAME.support.nii.gz (with a support threshold: the upper bound's masks at it, read with them)",
         "member-M/ (with members > 1, each member M from 2: its refiner.safetensors, refiner.resume.safetensors and summary.json)",
         "round-R/ (with rounds > 1, each round R but the last: its refiner.safetensors, refiner.resume.safetensors, summary.json, components records and member folders)",
         "round-R/targets/NAME.nii.gz (with rounds > 1, each round R from 2: the training cases' targets, the previous round's pipeline row gated by the slice labels)"]
    }

    public func run(in pipeline: Pipeline, observer: @escaping (PipelineEvent) -> TrainingControl) throws -> PipelineStageOutcome<Summary> {
        let stage = self.stage, pseudo = target == .pseudoMasks, byLabels = pipeline.config.pseudoMasks.positiveSlices == .labels
        let dataset = try pipeline.dataset(), split = try pipeline.split()
        let c = pipeline.config.refiner.training
        let windows = c.model.windows.map { Window(center: Float($0.center), width: Float($0.width)) }
        let names = split.train + split.validation
        let items = try pipeline.cases(names, in: dataset), pseudoFolder = pipeline.folder(.pseudoMasks)
        // With RefinerTrainingConfig.labelledNegatives (set in refiner.training, or below with
        // pseudo-masks made on the labelled-positive slices) the refiner's negatives follow the
        // dataset's weak slice labels, since a positive slice whose pseudo-mask came out empty
        // still holds blood; the cases get those labels (the setting is all that reads them).
        // Otherwise, and for true masks (whose slice labels are the weak labels), the mask's own.
        let weakLabels = pseudo && (byLabels || c.labelledNegatives == true)
        func prepare(_ item: DatasetCase, scan: ScanVolume, mask: MaskVolume) throws -> PreparedCase {
            let labels = weakLabels ? try item.sliceLabels() : mask.sliceLabels
            return try PreparedCase(name: item.name, scan: scan, labels: labels, mask: mask, size: c.model.inputSize, windows: windows)
        }
        var prepared: [PreparedCase] = []
        // a few cases at a time: reading and preprocessing are serial per case
        try forEachInOrderedChunks(count: items.count) { i in
            let item = items[i]
            let scan = try item.loadScan()
            let mask: MaskVolume
            if pseudo {
                mask = try NIfTI.readMask(at: pseudoFolder.appendingPathComponent("\(item.name).nii.gz"), matching: scan)
            } else {
                guard let truth = try item.loadMask() else {
                    throw WeakSupervisionError.missingInput(method: "upper bound", input: "the true mask of case \(item.name)")
                }
                mask = truth
            }
            return try prepare(item, scan: scan, mask: mask)
        } deliver: { i, item in
            prepared.append(item)
            _ = observer(.progress(stage, done: i + 1, total: names.count, item: "prepared \(item.name)"))
        }
        let folder = pipeline.folder(stage)
        let stop = StopRequest()
        // whether any rank's observer asked for a stop: a collective, so every rank decides
        // alike (called by all of them at the same point; one process: its own answer)
        func stopRequestedAnywhere() -> Bool { pipeline.communicator.map { $0.any(stop.requested) } ?? stop.requested }
        let members = pipeline.config.refiner.members
        // member m of one round; a later round, with laterRounds: fine-tunes the previous
        // round's network of the same member with its budget
        func train(member: Int, fineTuning: (later: PipelineConfig.RefinerSettings.LaterRounds, from: Checkpoint)?) throws -> (summary: TrainingSummary, restarts: Int) {
            let out = Self.memberFolder(folder, member: member)
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            return try Self.trainGuarded(seed: Self.memberSeed(c.seed, member: member), restarts: pipeline.config.refiner.restartsOnCollapse, note: {
                _ = observer(.progress(stage, done: 0, total: 0, item: $0))
            }, stopRequested: stopRequestedAnywhere) { seed in
                var attempt = fineTuning?.later.applied(to: c) ?? c
                attempt.seed = seed
                if pseudo && byLabels { attempt.labelledNegatives = true }
                return try RefinerTrainer(config: attempt).train(
                    training: Array(prepared[..<split.train.count]), validation: Array(prepared[split.train.count...]),
                    outputs: TrainingOutputs(model: out.appendingPathComponent("refiner.safetensors")), initial: fineTuning?.from, overwrite: true,
                    observer: TrainingCallback { event in
                        let control = observer(.training(stage, event))
                        if case .stop = control { stop.requested = true }
                        return control
                    }, communicator: pipeline.communicator)
            }
        }
        // every member of round `round` in turn: member 1's summary (written in the stage's
        // folder), the restarts of all, and whether every member was trained to its end; each
        // further member's summary goes beside its network
        func trainMembers(round: Int) throws -> (summary: TrainingSummary, restarts: Int, complete: Bool) {
            var first: TrainingSummary?, restarts = 0
            for member in 1...members {
                if members > 1 {
                    _ = observer(.progress(stage, done: 0, total: 0, item: "member \(member) of \(members) of the ensemble"))
                }
                // every rank reads the previous round's network, moved there before the barrier
                let fineTuning = try round == 1 ? nil : pipeline.config.refiner.laterRounds.map { later in
                    (later: later, from: try Checkpoint(contentsOf: Self.memberFolder(Pipeline.roundFolder(folder, round: round - 1), member: member)
                        .appendingPathComponent("refiner.safetensors")))
                }
                let (summary, done) = try train(member: member, fineTuning: fineTuning)
                restarts += done
                if member > 1 && pipeline.isWriter {
                    try pipeline.writeJSON(summary, to: Self.memberFolder(folder, member: member).appendingPathComponent("summary.json"))
                }
                first = first ?? summary
                // summary.stopped is the same on every rank, so they all stop here or none; a
                // stop asked for in a member's last epoch (a collective) leaves out the others
                if summary.stopped || (member < members && stopRequestedAnywhere()) { return (first!, restarts, false) }
            }
            return (first!, restarts, true)
        }
        var (summary, restarts, complete) = try trainMembers(round: 1)
        // self-training: each round but the last makes the next round's targets
        let rounds = pseudo ? pipeline.config.refiner.rounds : 1
        var round = 1
        while round < rounds {
            // summary.stopped is the same on every rank, so they all reach the collective or none
            if summary.stopped || !complete || stopRequestedAnywhere() {
                if pipeline.isWriter { try pipeline.writeJSON(summary, to: folder.appendingPathComponent("summary.json")) }
                return PipelineStageOutcome(summary: nil, stopped: true)
            }
            round += 1
            _ = observer(.progress(stage, done: 0, total: 0, item: "round \(round) of \(rounds): the training cases' targets from round \(round - 1)'s pipeline row"))
            // rank 0 makes the targets and prepares them as it goes (each case's old one freed
            // then); the other ranks read them once it is done
            if pipeline.isWriter {
                try pipeline.makeRoundTargets(round: round, summary: summary, items: Array(items[..<split.train.count]), observer) { i, scan, mask in
                    prepared[i] = try prepare(items[i], scan: scan, mask: mask)
                }
            }
            pipeline.communicator?.barrier()
            let targets = Pipeline.roundTargetFolder(folder, round: round)
            if !pipeline.isWriter {
                // a few cases at a time, as the first preparation
                try forEachInOrderedChunks(count: split.train.count) { i in
                    let scan = try items[i].loadScan()
                    return try prepare(items[i], scan: scan,
                                       mask: try NIfTI.readMask(at: targets.appendingPathComponent("\(items[i].name).nii.gz"), matching: scan))
                } deliver: { i, item in
                    prepared[i] = item
                }
            }
            let how = pipeline.config.refiner.laterRounds.map {
                "fine-tuning round \(round - 1)'s network, \($0.epochs) epoch(s) from learning rate \($0.learningRate)"
            } ?? "from scratch"
            _ = observer(.progress(stage, done: 0, total: 0, item: "round \(round) of \(rounds): training the refiner again, \(how)"))
            (summary, restarts, complete) = try trainMembers(round: round)
        }
        // an ensemble broken off between members is a stopped stage, whose record is not written
        let stopped = summary.stopped || !complete
        // the component choice segments the validation cases: rank 0's work alone
        guard pipeline.isWriter else { return PipelineStageOutcome(summary: nil, stopped: stopped) }
        try pipeline.writeJSON(summary, to: folder.appendingPathComponent("summary.json"))
        var result = Summary(epochs: summary.epochsCompleted, bestEpoch: summary.bestEpoch ?? 0, validationDice: summary.bestScore ?? .nan,
                             restarts: restarts, rounds: rounds, members: members)
        if let sizes = pipeline.config.refiner.componentSizes, !sizes.candidates.isEmpty, !stopped {
            let (chosen, gated) = try pipeline.selectComponentVolume(stage: stage, sizes: sizes, validation: split.validation, in: dataset, observer)
            result.minimumComponentML = chosen
            result.gatedMinimumComponentML = gated
        }
        return PipelineStageOutcome(summary: result, stopped: stopped)
    }
}

extension Pipeline {
    /// The folder of round `round`'s targets (round ≥ 2) under the refiner's folder:
    /// `OUT/refiner/round-R/targets/`.
    static func roundTargetFolder(_ refinerFolder: URL, round: Int) -> URL {
        roundFolder(refinerFolder, round: round).appendingPathComponent("targets")
    }

    /// The folder of round `round` under the refiner's folder, `OUT/refiner/round-R/`: an earlier
    /// round's network, summary, component records and member folders, or (R ≥ 2) its targets.
    static func roundFolder(_ refinerFolder: URL, round: Int) -> URL {
        refinerFolder.appendingPathComponent("round-\(round)")
    }

    /// The pipeline row of the refiner just trained (its network in `OUT/refiner/`, its
    /// component volume chosen now on the validation cases), gated by the weak slice labels:
    /// ``ClassifierGated`` with the labels in place of the classifier's probabilities.
    /// Segments each training case with it (a case without a positive label gets an empty mask
    /// without running it), writes the masks as `OUT/refiner/round-R/targets/NAME.nii.gz`, then
    /// moves the round's network, summary, component records and member folders
    /// (``RefinerStage/memberFolder(_:member:)``) into `OUT/refiner/round-(R-1)/`.
    /// Hands each target to `made` with its index in `items` and its scan, in order.
    func makeRoundTargets(round: Int, summary: TrainingSummary, items: [DatasetCase],
                          _ observer: @escaping (PipelineEvent) -> TrainingControl,
                          made: (Int, ScanVolume, MaskVolume) throws -> Void) throws {
        let folder = folder(.refiner)
        try writeJSON(summary, to: folder.appendingPathComponent("summary.json"))
        if let sizes = config.refiner.componentSizes, !sizes.candidates.isEmpty {
            _ = try selectComponentVolume(stage: .refiner, sizes: sizes, validation: try split().validation, in: try dataset(), observer)
        }
        let row = ClassifierGated(base: try refinerRow(.refiner, name: Self.pipelineRow))
        let targets = Self.roundTargetFolder(folder, round: round)
        try FileManager.default.createDirectory(at: targets, withIntermediateDirectories: true)
        try forEachInOrderedChunks(count: items.count) { i in
            let item = items[i]
            return (try item.loadScan(), try item.sliceLabels())
        } deliver: { i, loaded in
            // (sliceLabels() gives one label per slice of the scan, or throws)
            let (item, (scan, labels)) = (items[i], loaded)
            let mask = labels.contains(where: { $0 >= 0.5 })
                ? try row.segment(SegmentationCase(name: item.name, scan: scan, intracranial: try intracranial(item.name), cam: nil,
                                                   sliceProbabilities: labels))
                : MaskVolume(shape: scan.shape, repeating: 0, geometry: scan.geometry)
            try NIfTI.write(mask, to: targets.appendingPathComponent("\(item.name).nii.gz"), overwrite: true,
                            descrip: "ichct round \(round) target")
            try made(i, scan, mask)
            _ = observer(.progress(.refiner, done: i + 1, total: items.count, item: "round \(round) target: \(item.name)"))
        }
        // the round's own artefacts, apart from the next round's
        let kept = Self.roundFolder(folder, round: round - 1)
        try FileManager.default.createDirectory(at: kept, withIntermediateDirectories: true)
        let memberFolders = config.refiner.members > 1
            ? (2...config.refiner.members).map { RefinerStage.memberFolder(folder, member: $0).lastPathComponent } : []
        for file in ["refiner.safetensors", "refiner.resume.safetensors", "summary.json", "components.json", "components.gated.json"] + memberFolders {
            let from = folder.appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: from.path) else { continue }
            try FileManager.default.moveItem(at: from, to: kept.appendingPathComponent(file))
        }
    }
}

/// Whether an observer asked a training to stop (read after it returns).
private final class StopRequest: @unchecked Sendable {
    var requested = false
}

extension RefinerStage {
    /// The validation Dice at or below which a refiner counts as collapsed: a network that
    /// outlines anything scores far above it (the full preset's weak refiner 0.22 against its
    /// pseudo-masks, its upper bound 0.64), one that calls every pixel background scores 0.
    public static let collapsedDice = 0.01

    /// Runs `train(seed)`, and while the kept model's validation Dice is finite and at most
    /// ``collapsedDice`` (all background: what one of nine runs with foreground-held crops did
    /// on validation, Docs/experiments/2026-12-06-full-resolution-refiner.md), again with
    /// ``restartSeed(_:restart:)`` 1, 2, ..., at most `restarts` more times; each restart is announced
    /// through `note`. A stopped training, one without a validation score, or one during which
    /// `stopRequested()` became true (a stop asked for in its last epoch) is never restarted.
    /// The score is the same on every rank of a data-parallel run (its counts are summed over
    /// the ranks), so all ranks restart together. Returns the last training's summary and the
    /// number of restarts.
    public static func trainGuarded(seed: UInt64, restarts: Int, note: (String) -> Void = { _ in }, stopRequested: () -> Bool = { false },
                                    train: (UInt64) throws -> TrainingSummary) rethrows -> (summary: TrainingSummary, restarts: Int) {
        var summary = try train(seed)
        var done = 0
        while done < restarts, !summary.stopped, !stopRequested(), let score = summary.bestScore, score.isFinite, score <= collapsedDice {
            done += 1
            note(String(format: "validation Dice %.3f: the network collapsed (Dice at most %.2f); training again with seed %llu (restart %ld of at most %ld)",
                        score, collapsedDice, restartSeed(seed, restart: done), done, restarts))
            summary = try train(restartSeed(seed, restart: done))
        }
        return (summary, done)
    }

    /// The seed of restart `restart` (1, 2, ...) of a training seeded `seed`: `seed` plus
    /// `restart` times 0x9E3779B97F4A7C15 (2⁶⁴ over the golden ratio, SplitMix64's increment),
    /// wrapping. Replicates use neighbouring seeds (``PipelineReplicates``: seed + k − 1), so
    /// restarting with seed + 1, as the guard did until 2026-12-06, made a collapsed replicate
    /// train exactly as the next replicate did: two tables of one training counted as two
    /// seeds. Restart seeds now lie far from any small seed.
    public static func restartSeed(_ seed: UInt64, restart: Int) -> UInt64 {
        seed &+ UInt64(restart) &* 0x9E37_79B9_7F4A_7C15
    }

    /// The seed of member `member` (1, 2, ...) of an ensemble trained with seed `seed`
    /// (``PipelineConfig/RefinerSettings/members``): `seed` itself for member 1, so that a
    /// one-member stage trains as before, then `seed` plus (member − 1) times
    /// 0xD1B54A32D192ED03 (2⁶⁴ divided by 1.22074..., the root of x⁴ = x + 1, as in the step
    /// of Roberts' four-dimensional R-sequence; odd), wrapping:
    /// far from the neighbouring seeds of replicates and from the restart seeds of
    /// ``restartSeed(_:restart:)``.
    public static func memberSeed(_ seed: UInt64, member: Int) -> UInt64 {
        precondition(member >= 1, "memberSeed: members are numbered from 1")
        return seed &+ UInt64(member - 1) &* 0xD1B5_4A32_D192_ED03
    }

    /// The folder of member `member`'s files in a refiner stage's folder (or a round's):
    /// the folder itself for member 1, `member-M/` below it for member M from 2.
    public static func memberFolder(_ folder: URL, member: Int) -> URL {
        member == 1 ? folder : folder.appendingPathComponent("member-\(member)")
    }
}

extension Pipeline {
    /// Segments the validation cases with the stage's trained refiner (every member of an
    /// ensemble, ``refinerNetworkFiles(_:)``) and chooses its minimum
    /// component volume from their **slice labels** (``ComponentSizeSelection``); writes
    /// `OUT/<stage>/components.json` (``ComponentSelectionRecord``). For the pipeline's refiner
    /// with a ``PipelineConfig/RefinerSettings/classifierGate``, the same masks gated by the classifier's saved
    /// probabilities (``ClassifierGated``) choose the gated row's volume, `components.gated.json`.
    /// Returns the volumes, ungated and gated (nil without a gate).
    ///
    /// For the upper bound, the validation masks are also written to `OUT/upper-bound/validation/`.
    /// With `gatedOnly` (the upper bound's gated row, chosen at comparison time because the
    /// upper-bound stage does not read the classifier), only the gated choice is made, from
    /// those kept masks (a case without one is segmented again), written to
    /// `OUT/comparison/upper-bound.components.gated.json`.
    func selectComponentVolume(stage: PipelineStage, sizes: PipelineConfig.ComponentSizeSettings, validation: [String], in dataset: Dataset,
                               gatedOnly: Bool = false,
                               _ observer: @escaping (PipelineEvent) -> TrainingControl) throws -> (Double, Double?) {
        let members = try refinerNetworkFiles(stage).map { try UNetLite(contentsOf: $0) }
        let gate = stage == .refiner || gatedOnly ? config.refiner.classifierGate : nil
        let probabilities = gate == nil ? [:] : try probabilities()
        let probabilityFile = folder(.cams).appendingPathComponent("probabilities.json").path
        var masks: [MaskVolume] = [], gated: [MaskVolume] = [], labels: [[Bool]] = [], supports: [MaskVolume] = []
        // hysteresis: the network's own mask at the support threshold keeps the small components it touches
        let supportThreshold = sizes.supportThreshold
        let items = try cases(validation, in: dataset)
        // The upper bound keeps its validation masks, so that the comparison's gated choice
        // reads them instead of running the networks again. They always belong to the folder's
        // networks: the pipeline empties a stage's folder whenever the stage runs, and the
        // comparison runs only after the upper-bound stage has finished.
        let kept = folder(.upperBound).appendingPathComponent("validation")
        if stage == .upperBound && !gatedOnly {
            try FileManager.default.createDirectory(at: kept, withIntermediateDirectories: true)
        }
        for (i, item) in items.enumerated() {
            let keptURL = kept.appendingPathComponent("\(item.name).nii.gz")
            let supportURL = kept.appendingPathComponent("\(item.name).support.nii.gz")
            let mask: MaskVolume, support: MaskVolume?
            // the kept masks (and, with a support threshold, their supports), when all are there
            let saved = stage == .upperBound && gatedOnly ? try? NIfTI.readMask(at: keptURL) : nil
            let savedSupport = saved.flatMap { m in supportThreshold == nil ? nil : try? NIfTI.readMask(at: supportURL, matching: m) }
            if let saved, supportThreshold == nil || savedSupport != nil {
                mask = saved
                support = savedSupport
            } else {
                let result = try UNetLite.segment(try item.loadScan(), ensemble: members, intracranial: try intracranial(item.name))
                mask = result.mask
                support = supportThreshold.map { result.thresholded(at: $0) }
                if stage == .upperBound && !gatedOnly {
                    try NIfTI.write(mask, to: keptURL, overwrite: true, descrip: "ichct upper bound, validation")
                    if let support { try NIfTI.write(support, to: supportURL, overwrite: true, descrip: "ichct upper bound, support") }
                }
            }
            masks.append(mask)
            if let support { supports.append(support) }
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
                                                                 criterion: criterion, tolerance: tolerance,
                                                                 supports: supportThreshold == nil ? nil : supports)
            let volume = masks.isEmpty ? 0 : chosen   // no validation case: nothing to choose on, keep every component
            try writeJSON(ComponentSelectionRecord(minimumVolumeML: volume, candidates: scored, criterion: criterion, tolerance: tolerance,
                                                   supportThreshold: supportThreshold),
                          to: file)
            return volume
        }
        if gatedOnly {
            return (.nan, try choose(gated, file: upperBoundGatedSelectionURL))
        }
        let plain = try choose(masks, file: folder(stage).appendingPathComponent("components.json"))
        return (plain, gate == nil ? nil : try choose(gated, file: folder(stage).appendingPathComponent("components.gated.json")))
    }
}
