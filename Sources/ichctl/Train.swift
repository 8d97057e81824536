import ArgumentParser
import CTVolume
import Dispatch
import Foundation
import NeuralCore
import Synchronization
import WeakSupervision

#if canImport(Glibc)
import Glibc
#endif

/// Turns the first Ctrl-C (SIGINT), or a SIGUSR1, during training into a clean stop: the trainer
/// writes its resume file at the current step and returns; a second one ends the process at
/// once. Under `mpirun`, Ctrl-C ends the ranks (Open MPI sends them SIGTERM), while SIGUSR1 sent to
/// `mpirun` is forwarded to every rank: the clean stop of a distributed run.
/// Set by the signal handler below (a plain handler, not a dispatch source: MPI's own threads,
/// started before it, do not block the signal, so a signalfd-based source would miss it there).
private let interruptRaised = Atomic<Bool>(false)

final class InterruptFlag {
    private static let signals = [SIGINT, SIGUSR1]

    init() {
        interruptRaised.store(false, ordering: .relaxed)
        for number in Self.signals {
            signal(number) { _ in
                // async-signal-safe only: an atomic, write(2), _exit
                if interruptRaised.exchange(true, ordering: .relaxed) { _exit(130) }
                let message: StaticString = "\nstopping: writing the resume file at this step (Ctrl-C again to quit at once)\n"
                _ = write(2, message.utf8Start, message.utf8CodeUnitCount)
            }
        }
    }

    /// Whether Ctrl-C (or SIGUSR1) arrived.
    var isRaised: Bool { interruptRaised.load(ordering: .relaxed) }

    deinit {
        for number in Self.signals { signal(number, SIG_DFL) }
    }
}

extension ModelSelection: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension ScheduleKind: ExpressibleByArgument {}
extension SlicePooling: ExpressibleByArgument {}

/// `ichctl train`: the classifier (stage 1) and the refiner (stage 5). Thin wrappers over
/// ``ClassifierTrainer`` and ``RefinerTrainer``.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the slice classifier or the UNetLite refiner.",
        subcommands: [TrainClassifier.self, TrainRefiner.self])
}

/// Options both trainers share.
struct TrainingOptions: ParsableArguments {
    @Option(name: .long, help: "Dataset folder: INSTANCE (ROOT/data/NAME.nii.gz, ROOT/label/ or ROOT/slices.csv), or the RSNA, CQ500, PhysioNet CT-ICH or BHSD layout (Docs/datasets/).")
    var data: String

    @Option(name: .long, help: "The model to write (the epoch --keep names); the resume file goes beside it as NAME.resume.safetensors.")
    var out: String

    @Option(name: .long, help: "Which epoch's model --out keeps: best (by validation score) or last (the schedule's end; validation is still reported).")
    var keep: ModelSelection = .best

    @Option(name: .long, help: "Epochs (default: classifier 10, refiner 6).")
    var epochs: Int?

    @Option(name: .long, help: "Peak learning rate.")
    var lr: Float = 1e-3

    @Option(name: .long, help: "adam, adamw or sgd.")
    var optimizer: OptimizerKind = .adam

    @Option(name: .long, help: "Linear warm-up steps before the cosine decay.")
    var warmup: Int = 0

    @Option(name: .long, help: "Learning-rate schedule: cosine or constant.")
    var schedule: ScheduleKind = .cosine

    @Option(name: .long, help: "Batch size (classifier: sequences, default 2; refiner: slices, default 8).")
    var batchSize: Int?

    @Option(name: .long, help: "At most N steps per epoch (default: all batches).")
    var steps: Int?

    @Option(name: .long, help: "Seed of initialisation, split, shuffles and augmentation.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Share of cases held out for validation.")
    var valFraction: Double = 0.15

    @Option(name: .long, help: "Share of cases held out for testing (left out of training and validation).")
    var testFraction: Double = 0

    @Flag(name: .long, help: "No augmentation.")
    var noAugment = false

    @Flag(name: .long, help: "Augment geometry only: no intensity scale or shift (the demo presets' classifier).")
    var noIntensityJitter = false

    @Option(name: .long, help: "Augment with a zoom log-uniform in 1/(1+Z) ... 1+Z (e.g. 0.25; default 0: none).")
    var maxZoom: Double = 0

    @Option(name: .long, help: "Validate and keep an exponential moving average of the weights with this decay, in [0, 1) (e.g. 0.99; default: none).")
    var averageDecay: Float?

    @Option(name: .long, help: "Validate every N epochs and after the last (default: every epoch); with --keep last the skipped passes only save time (the demo's refiner: 3).")
    var validateEvery: Int?

    @Option(name: .long, help: "Continue a stopped run from its resume file, or from the model it wrote (the resume file beside it is used). The configuration stored there is used; other options are ignored.")
    var resume: String?

    @Flag(name: .long, help: "Start and epoch lines on stderr off a terminal (the default; kept for scripts).")
    var progress = false

    @Flag(name: .long, help: "No start or epoch lines and no progress bar on stderr.")
    var quiet = false

    @Flag(name: .long, help: "Print the summary as JSON on stdout.")
    var json = false

    @Flag(name: .long, help: "Replace existing outputs.")
    var force = false

    @Flag(name: .long, help: "Data-parallel training over the ranks of mpirun (mpirun -np N ichctl train ... --distributed): each rank computes its share of every batch of --batch-size, and the weights are those of one process with that batch. Rank 0 writes the outputs and prints.")
    var distributed = false

    @Flag(name: .long, help: "With --distributed: each rank preprocesses only its shard of the cases (positions r, r + N, ... of the training and validation lists) and keeps the others' labels (and targets) only; each item of a batch is computed by the rank that holds its case. The weights stay one process's; a rank holds about 1/N of the data, and a batch's shares are as uneven as its cases' holders.")
    var shardData = false

    @Option(name: .long, help: "Threads of this process's loops and matrix products (default: all cores; with --distributed, the cores divided by the ranks on this node).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, not \(threads)") }
        if shardData && !distributed { throw ValidationError("--shard-data shards the data over the ranks of --distributed; add --distributed (and run under mpirun)") }
        if !(maxZoom >= 0 && maxZoom.isFinite) { throw ValidationError("--max-zoom must be finite and at least 0, not \(maxZoom)") }
        if maxZoom > 0 && noAugment { throw ValidationError("--max-zoom augments; it cannot go with --no-augment") }
    }

    /// The ranks (MPI's world with --distributed, else none); see ``CLI/withRanks(distributed:threads:quiet:_:)``.
    func withRanks(_ body: (_ communicator: (any Communicator)?, _ quiet: Bool) throws -> Void) throws {
        try CLI.withRanks(distributed: distributed, threads: threads, quiet: quiet, body)
    }

    /// The progress line before the cases are prepared, saying what each rank prepares.
    func preparing(_ cases: String, _ communicator: (any Communicator)?) -> String {
        "preparing \(cases)" + (communicator.map { shardData ? ", each rank its shard of 1/\($0.size)" : " on each of \($0.size) ranks" } ?? "")
    }

    /// The cases this rank preprocesses: its shard with --shard-data, else every case.
    func shard(of communicator: (any Communicator)?) throws -> Shard {
        guard shardData, let communicator else { return .whole }
        return try Shard(index: communicator.rank, count: communicator.size)
    }

    /// The resume file `--resume` names: the file itself, or, when it is a model written by a
    /// run (no training state inside), the resume file beside it.
    func resumeURL() throws -> URL? {
        guard let resume else { return nil }
        return TrainingOutputs.resumeFile(for: URL(fileURLWithPath: resume))
    }

    /// `--keep` as a configuration field: nil for best (the default), so a default run's
    /// configuration JSON stays what it was before the option existed.
    var selection: ModelSelection? { keep == .best ? nil : keep }

    /// `base`, or none with --no-augment, or without its intensity jitter with
    /// --no-intensity-jitter, with --max-zoom's zoom.
    func augmentation(_ base: Augmentation) -> Augmentation {
        if noAugment { return .none }
        var a = base
        a.maxZoom = maxZoom
        if noIntensityJitter {
            a.intensityScale = 0
            a.intensityShift = 0
        }
        return a
    }

    func optimizerSettings() -> OptimizerSettings {
        OptimizerSettings(kind: optimizer, learningRate: lr, schedule: schedule, warmupSteps: warmup)
    }
}

/// Prints a run's events: a line per epoch on stderr, and a live step line on a terminal.
struct TrainingPrinter: TrainingObserver {
    let reporter: ProgressReporter
    let live: Bool
    let interrupt = InterruptFlag()

    /// The last validation score, shown on the live line.
    private final class LastScore: @unchecked Sendable { var text = "" }
    private let last = LastScore()

    /// Plain start and epoch lines on stderr, also off a terminal (a long training into a log
    /// shows where it is), and on a terminal a live bar as well; nothing with `quiet`.
    init(quiet: Bool) {
        reporter = ProgressReporter(forced: true, quiet: quiet)
        live = !quiet && CLI.stderrIsTerminal
    }

    func observe(_ event: TrainingEvent) -> TrainingControl {
        show(event)
        return interrupt.isRaised ? .stop : .proceed
    }

    private func show(_ event: TrainingEvent) {
        switch event {
        case .started(let s):
            reporter.report("\(s.resumed ? "resuming" : "training") \(s.kind): \(s.trainCases) training and \(s.validationCases) validation cases, "
                + "\(s.itemsPerEpoch) \(s.kind == "classifier" ? "sequences" : "slices") and \(s.stepsPerEpoch) steps per epoch, \(s.epochs) epochs"
                + (s.posWeight.map { String(format: ", pos_weight %.3f", $0) } ?? ""))
        case .step(let s) where live:
            let filled = max(0, min(20, s.globalStep * 20 / max(s.totalSteps, 1)))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 20 - filled)
            FileHandle.standardError.write(Data(String(format: "\r[%@] epoch %d/%d  step %d/%d  loss %.4f%@  lr %.2e  left %@   ",
                                                       bar, s.epoch, s.epochs, s.step, s.stepsInEpoch, s.loss, last.text, s.learningRate,
                                                       Self.duration(s.remainingSeconds)).utf8))
        case .step:
            break
        case .epoch(let e):
            if live { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            if let v = e.validationScore { last.text = String(format: "  val %@ %.3f", e.scoreName, v) }
            let score = e.validationScore.map { String(format: "  val %@ %.4f  val loss %.4f", e.scoreName, $0, e.validationLoss ?? .nan) } ?? ""
            reporter.report(String(format: "epoch %d/%d  loss %.4f", e.epoch, e.epochs, e.trainLoss) + score + (e.improved ? "  (kept)" : ""))
        }
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}

/// Prints a summary: JSON, or a few lines.
func printSummary(_ summary: TrainingSummary, json: Bool) throws {
    if json { return try CLI.printJSON(summary) }
    let best = summary.bestEpoch.map { e in "kept epoch \(e)" + (summary.selection == .last ? " (the last)" : "") + (summary.bestScore.map { String(format: " (%@ %.4f)", summary.scoreName, $0) } ?? "") } ?? "no epoch completed"
    print("\(summary.kind): \(summary.epochsCompleted)/\(summary.epochs) epochs, \(summary.globalStep) steps, \(best)\(summary.stopped ? ", stopped" : "")")
    print("model: \(summary.modelPath)")
    print("resume: \(summary.resumePath)")
}

/// `ichctl train classifier`.
struct TrainClassifier: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classifier",
        abstract: "Train the ResNet-LSTM slice classifier from slice labels.",
        discussion: """
            Sequences of --seq-len contiguous slices (0: whole volumes), BCE with pos_weight from \
            the training labels, the chosen optimizer with warm-up and cosine decay, seeded flips, \
            rotations, shifts and intensity jitter. After every epoch the validation cases run as \
            whole volumes; the model with the best slice AUC (or, with --keep last, the last \
            epoch's) is written to --out, and a resume file \
            beside it (--resume continues exactly where a run stopped).
            """)

    @OptionGroup var common: TrainingOptions

    @Option(name: .long, help: "Slices per sequence (0 = whole volumes).")
    var seqLen: Int = 16

    @Option(name: .long, help: "Network input size S.")
    var size: Int = 256

    @Option(name: .long, help: "ResNet base width w.")
    var width: Int = 64

    @Option(name: .long, help: "Blocks per stage, comma-separated.")
    var blocks: String = "2,2,2,2"

    @Option(name: .long, help: "LSTM hidden size.")
    var hidden: Int = 128

    @Option(name: .long, help: "How a slice's feature maps reach the LSTM: average (the method's) or max (a slice as positive as its most positive cell).")
    var pooling: SlicePooling = .average

    @Option(name: .long, help: "Weigh each training slice so that, within each of B bands of distance from the scan's middle slice, positives and negatives weigh the same (instead of one pos_weight).")
    var positionBalance: Int?

    @Option(name: .long, help: "BCE pos_weight (default: negatives / positives of the training slices).")
    var posWeight: Float?

    func validate() throws {
        _ = try parsedBlocks()
    }

    private func parsedBlocks() throws -> [Int] {
        let b = blocks.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !b.isEmpty, b.allSatisfy({ ($0 ?? 0) > 0 }) else { throw ValidationError("--blocks must be positive counts like 2,2,2,2, got '\(blocks)'") }
        return b.map { $0! }
    }

    func run() throws {
        let out = URL(fileURLWithPath: common.out)
        let outputs = TrainingOutputs(model: out)
        var config: TrainingConfig
        let resume = try common.resumeURL()
        if let resume {
            config = try ClassifierTrainer.config(ofResumeFile: resume)
            try CLI.checkFolder(of: outputs.model)
        } else {
            try CLI.checkOutput(outputs.model, force: common.force)
            try CLI.checkOutput(outputs.resume, force: common.force)
            config = TrainingConfig(
                model: ResNetLSTMConfig(inputSize: size, width: width, blocks: try parsedBlocks(), hidden: hidden, pooling: pooling),
                optimizer: common.optimizerSettings(), sequenceLength: seqLen, stepsPerEpoch: common.steps, seed: common.seed,
                validationFraction: common.valFraction, testFraction: common.testFraction,
                augmentation: common.augmentation(Augmentation()), posWeight: posWeight,
                selection: common.selection, averageDecay: common.averageDecay, validateEvery: common.validateEvery,
                positionBalance: positionBalance)
            if let e = common.epochs { config.epochs = e }
            if let b = common.batchSize { config.batchSize = b }
        }
        let trainer = ClassifierTrainer(config: config)
        let dataset = try Dataset(root: URL(fileURLWithPath: common.data))
        try common.withRanks { communicator, quiet in
            let printer = TrainingPrinter(quiet: quiet)
            printer.reporter.report(common.preparing("\(dataset.cases.count) cases at \(config.model.inputSize)x\(config.model.inputSize)", communicator))
            let (training, validation) = try trainer.prepare(dataset: dataset, shard: try common.shard(of: communicator))
            let summary = try trainer.train(training: training, validation: validation, outputs: outputs,
                                            resume: resume, overwrite: common.force,
                                            observer: printer, communicator: communicator)
            if communicator?.isWriter ?? true { try printSummary(summary, json: common.json) }
            if summary.stopped { throw ExitCode(130) }
        }
    }
}

/// `ichctl train refiner`.
struct TrainRefiner: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refiner",
        abstract: "Train the UNetLite refiner on (slice, mask) pairs: pseudo-masks, or true masks for the upper bound.",
        discussion: """
            --masks holds one mask per case (NAME.nii.gz on the scan's grid): pseudo-masks for the \
            weakly supervised pipeline, or the dataset's label folder for the fully supervised \
            upper bound (same code, same budget). Every slice with a non-empty mask and a fresh \
            sample of --negative-fraction of the empty ones per epoch (with --labelled-negatives, \
            only of those the dataset labels negative); BCE + soft Dice; seeded \
            flips and shifts. Cases without a mask in --masks are left out.
            """)

    @OptionGroup var common: TrainingOptions

    @Option(name: .long, help: "Folder of target masks, NAME.nii(.gz) per case.")
    var masks: String

    @Option(name: .long, help: "Network input size S (divisible by 2^(levels-1)).")
    var size: Int = 256

    @Option(name: .long, help: "UNetLite widths, comma-separated.")
    var widths: String = "16,32,64,128"

    @Option(name: .long, help: "Share of empty-mask slices sampled per epoch.")
    var negativeFraction: Double = 0.25

    @Flag(name: .long, help: "Start the output bias at the logit of the targets' foreground share (default: the layer's usual initialisation).")
    var priorBias = false

    @Option(name: .long, help: "Train on square crops of this side, holding a target pixel when the slice has one (default: whole slices).")
    var cropSize: Int?

    @Option(name: .long, help: "With --crop-size: share of crops on slices with blood that hold a target pixel; the others lie anywhere (nnU-Net's foreground oversampling: 0.33; default 1).")
    var cropForeground: Double?

    @Flag(name: .long, help: "Leave out slices the dataset labels positive whose mask is empty, rather than drawing them as negatives (for pseudo-masks made with --positive-slices labels).")
    var labelledNegatives = false

    @Flag(name: .long, help: "Average the loss's Dice term over the slices (or crops) whose target holds blood only; empty ones are taught by BCE alone.")
    var diceSkipsEmptyTargets = false

    @Option(name: .long, help: "Hard-negative mining: from the second epoch, up to this share (0 to 1] of each epoch's negatives are empty slices the network calls blood on, each cropped around a called pixel (default: off).")
    var hardNegatives: Double?

    @Option(name: .long, help: "With --hard-negatives: empty slices segmented whole per epoch to find them (default 800).")
    var hardNegativePool: Int?

    @Option(name: .long, help: "Neighbouring slices the refiner sees on each side of the one it segments, as extra input channels (2.5-D; 0 to \(SliceContext.maximum); default 0).")
    var contextSlices: Int = 0

    func validate() throws {
        _ = try parsedWidths()
        if hardNegativePool != nil && hardNegatives == nil {
            throw ValidationError("--hard-negative-pool needs --hard-negatives")
        }
        if hardNegatives != nil && common.distributed {
            throw ValidationError("--hard-negatives mines in one process; it does not run with --distributed")
        }
        guard (0...SliceContext.maximum).contains(contextSlices) else {
            throw ValidationError("--context-slices must be 0 to \(SliceContext.maximum), got \(contextSlices)")
        }
    }

    private func parsedWidths() throws -> [Int] {
        let w = widths.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard w.count >= 2, w.allSatisfy({ ($0 ?? 0) > 0 }) else { throw ValidationError("--widths must be two or more positive counts like 16,32,64,128, got '\(widths)'") }
        return w.map { $0! }
    }

    func run() throws {
        let outputs = TrainingOutputs(model: URL(fileURLWithPath: common.out))
        var config: RefinerTrainingConfig
        let resume = try common.resumeURL()
        if let resume {
            config = try RefinerTrainer.config(ofResumeFile: resume)
            try CLI.checkFolder(of: outputs.model)
        } else {
            try CLI.checkOutput(outputs.model, force: common.force)
            try CLI.checkOutput(outputs.resume, force: common.force)
            config = RefinerTrainingConfig(
                model: UNetLiteConfig(inputSize: size, widths: try parsedWidths(), contextSlices: contextSlices), optimizer: common.optimizerSettings(),
                stepsPerEpoch: common.steps, seed: common.seed, validationFraction: common.valFraction,
                testFraction: common.testFraction, negativeFraction: negativeFraction,
                augmentation: common.augmentation(.flipsAndShifts),
                selection: common.selection, averageDecay: common.averageDecay,
                priorBias: priorBias ? true : nil, cropSize: cropSize, validateEvery: common.validateEvery,
                cropForeground: cropForeground, labelledNegatives: labelledNegatives ? true : nil,
                diceSkipsEmptyTargets: diceSkipsEmptyTargets ? true : nil,
                hardNegatives: hardNegatives.map { .init(share: $0, pool: hardNegativePool ?? RefinerTrainingConfig.HardNegatives().pool) })
            if let e = common.epochs { config.epochs = e }
            if let b = common.batchSize { config.batchSize = b }
        }
        let trainer = RefinerTrainer(config: config)
        let dataset = try Dataset(root: URL(fileURLWithPath: common.data))
        try common.withRanks { communicator, quiet in
            let printer = TrainingPrinter(quiet: quiet)
            printer.reporter.report(common.preparing("\(dataset.cases.count) cases with their masks at \(config.model.inputSize)x\(config.model.inputSize)", communicator))
            let (training, validation, skipped) = try trainer.prepare(dataset: dataset, masks: URL(fileURLWithPath: masks),
                                                                      shard: try common.shard(of: communicator))
            if !skipped.isEmpty && !quiet { CLI.note("left out \(skipped.count) case(s) without a mask in \(masks): \(skipped.prefix(5).joined(separator: ", "))\(skipped.count > 5 ? ", ..." : "")") }
            let summary = try trainer.train(training: training, validation: validation, outputs: outputs,
                                            resume: resume, overwrite: common.force,
                                            observer: printer, communicator: communicator)
            if communicator?.isWriter ?? true { try printSummary(summary, json: common.json) }
            if summary.stopped { throw ExitCode(130) }
        }
    }
}
