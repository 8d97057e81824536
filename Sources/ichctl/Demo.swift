import ArgumentParser
import CTVolume
import Foundation
import NeuralCore
import WeakSupervision

/// `ichctl demo`: the whole method end to end on a generated phantom set. A thin wrapper over
/// ``Pipeline``.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole pipeline on a synthetic phantom set and print the comparison table.",
        discussion: """
            Generates the phantom set, splits it by case into training and validation, generates \
            a sealed test set of its own seed, trains the classifier (slice labels only), computes \
            CAMs, builds k-means pseudo-masks, trains UNetLite on them and, with the same budget, on \
            the true masks (the upper bound), then compares every method on the sealed test cases, \
            with bootstrap intervals, Dice by volume and subtype, lesion detection, volume agreement \
            and paired tests. Every artefact stays in --out: config.json, data/, classifier/, cams/, \
            pseudo-masks/, refiner/, upper-bound/, comparison/ (table as text, JSON, CSV and \
            report.html, predicted masks per method, PNG montages). --replicates N trains N seeds \
            on the same data, each run in OUT/replicate-K/.

            Re-running on the same folder reuses every finished stage and redoes unfinished ones; \
            --from STAGE re-runs that stage and those after it. A folder made with another \
            configuration is refused unless --force (then the stages whose settings changed, and \
            those after them, are replaced).
            """)

    @Option(name: .long, help: "Output folder.")
    var out: String = "runs/demo"

    @Flag(name: .long, help: "The quick preset (a smoke run of a few minutes; numbers are not a result).")
    var quick = false

    @Option(name: .long, help: "A PipelineConfig JSON file (e.g. a run's config.json) instead of a preset.")
    var config: String?

    @Option(name: .long, help: "Re-run from this stage: data, classifier, cams, pseudo-masks, refiner, upper-bound, comparison.")
    var from: String?

    @Option(name: .long, help: "Stop after this stage (e.g. refiner): no sealed test case is segmented or scored; judge the run with `ichctl compare --data OUT --split validation`.")
    var through: String?

    @Option(name: .long, help: "Override the number of phantom cases.")
    var cases: Int?

    @Option(name: .long, help: "Override the rounds of self-training of the pipeline's refiner (refiner.rounds; the presets: 1). Each round after the first trains on the previous round's pipeline row, gated by the slice labels (Docs/pipeline.md).")
    var rounds: Int?

    @Option(name: .long, help: "Override the networks per refiner stage (refiner.members; the presets: 1): an ensemble whose logits are averaged at test time, for the pipeline's refiner and the upper bound alike (Docs/pipeline.md).")
    var members: Int?

    @Flag(name: .long, help: "Replace a run folder made with another configuration.")
    var force = false

    @Flag(name: .long, help: "No progress on stderr, even on a terminal.")
    var quiet = false

    @Flag(name: .long, help: "Plain progress lines on stderr off a terminal (the default; kept for scripts).")
    var progress = false

    @Flag(name: .long, help: "Print the comparison table as JSON on stdout.")
    var json = false

    @Flag(name: .long, help: "Under mpirun (mpirun -np N ichctl demo ... --distributed): the training stages run data-parallel on every rank, the other stages on rank 0 (Docs/distributed-training.md).")
    var distributed = false

    @Option(name: .long, help: "Threads of this process (default: all cores; with --distributed, the cores divided by the ranks on this node).")
    var threads: Int?

    @Option(name: .long, help: "Train classifier, refiner and upper bound with this many seeds on the same data (OUT/replicate-K/) and report mean ± sd across seeds beside the pooled intervals.")
    var replicates: Int = 1

    func validate() throws {
        if let from, PipelineStage(rawValue: from) == nil {
            throw ValidationError("--from: \(from) is not one of \(PipelineStage.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let through, PipelineStage(rawValue: through) == nil {
            throw ValidationError("--through: \(through) is not one of \(PipelineStage.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let from, let through, let a = PipelineStage(rawValue: from), let b = PipelineStage(rawValue: through), a > b {
            throw ValidationError("--through \(through) comes before --from \(from)")
        }
        if let cases, cases < 3 { throw ValidationError("--cases must be at least 3") }
        if let rounds, rounds < 1 { throw ValidationError("--rounds must be at least 1 (1: no self-training), not \(rounds)") }
        if let members, members < 1 { throw ValidationError("--members must be at least 1 (1: one network, no ensemble), not \(members)") }
        if quick && config != nil { throw ValidationError("--quick and --config exclude each other") }
        if replicates < 1 { throw ValidationError("--replicates must be at least 1, not \(replicates)") }
        if replicates > 1 && from != nil { throw ValidationError("--from applies to one run; with --replicates, re-run a replicate's folder on its own") }
        if replicates > 1 && distributed { throw ValidationError("--distributed runs one pipeline; run the replicates' folders one after another") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, not \(threads)") }
    }

    /// A stop by Ctrl-C ends with the stage's message on stderr and exit status 130, as `train`.
    func run() throws {
        try CLI.withRanks(distributed: distributed, threads: threads, quiet: quiet) { communicator, quiet in
            do {
                try runDemo(communicator: communicator, quiet: quiet)
            } catch let error as WeakSupervisionError {
                guard case .stopped = error else { throw error }
                if !quiet { CLI.note("\(error)") }
                throw ExitCode(130)
            }
        }
    }

    private func runDemo(communicator: (any Communicator)?, quiet: Bool) throws {
        var settings: PipelineConfig = quick ? .quick : .full
        if let config {
            settings = try PipelineConfig.load(contentsOf: URL(fileURLWithPath: config))
        }
        if let cases { settings.data.phantomCases = cases }
        if let rounds { settings.refiner.rounds = rounds }
        if let members { settings.refiner.members = members }
        let outURL = URL(fileURLWithPath: out)
        let fm = FileManager.default
        let runFile = replicates > 1 ? "replicate-1/config.json" : "config.json"
        if !force, fm.fileExists(atPath: outURL.path), !fm.fileExists(atPath: outURL.appendingPathComponent(runFile).path),
           let items = try? fm.contentsOfDirectory(atPath: outURL.path), !items.isEmpty {
            throw CLIError.invalid("\(out): exists and is not a pipeline run folder (pass --force to write into it, or choose another --out)")
        }
        let printer = PipelinePrinter(quiet: quiet, forced: progress)
        let last = through.flatMap(PipelineStage.init(rawValue:)).flatMap { $0 == .comparison ? nil : $0 }
        if replicates > 1 {
            let runs = try PipelineReplicates(config: settings, output: outURL, count: replicates, overwrite: force)
            let observe = { (k: Int, event: PipelineEvent) -> TrainingControl in
                if case .stage(let s, let reused) = event, !reused, s == .data || s == .classifier { printer.note("replicate \(k) of \(replicates)") }
                return printer.observe(event)
            }
            if let last {
                try runs.run(through: last, observer: observe)
                return try printStopped(after: last, folders: (1...replicates).map { runs.folder($0) })
            }
            let summary = try runs.run(observer: observe)
            if json { return try CLI.printJSON(summary) }
            print(summary.text(), terminator: "")
            print("artefacts: \(out)/replicate-1 ... replicate-\(replicates) (each a whole run), \(out)/replicates.txt, replicates.json")
            return
        }
        var pipeline = try Pipeline(config: settings, output: outURL, overwrite: force)
        pipeline.communicator = communicator
        let start = Date()
        if let last {
            try pipeline.run(from: from.flatMap(PipelineStage.init(rawValue:)), through: last, observer: printer.observe)
            guard communicator?.isWriter ?? true else { return }
            return try printStopped(after: last, folders: [outURL])
        }
        let table = try pipeline.run(from: from.flatMap(PipelineStage.init(rawValue:)), observer: printer.observe)
        guard communicator?.isWriter ?? true else { return }
        if json { return try CLI.printJSON(table) }
        print(table.text(), terminator: "")
        let times = try Self.savedStageSeconds(pipeline, through: .comparison).map { "\($0.stage.rawValue) \(TrainingPrinter.duration($0.seconds))" }
        print("stage times (as saved): " + times.joined(separator: ", ") + "; this run \(TrainingPrinter.duration(Date().timeIntervalSince(start)))")
        print("artefacts: \(out) (comparison/comparison.txt, comparison/montages/*.png, refiner/refiner.safetensors, ...)")
    }

    /// The saved seconds of each finished stage up to `last`, in stage order (the stage records).
    private static func savedStageSeconds(_ pipeline: Pipeline, through last: PipelineStage) throws -> [(stage: PipelineStage, seconds: Double)] {
        try PipelineStage.allCases.filter { $0 <= last }.compactMap { stage in try pipeline.record(stage).map { (stage, $0.seconds) } }
    }

    /// After `--through`: the stages each run folder finished, with their saved times (JSON: one
    /// object per folder), and how to judge it without the sealed set.
    private func printStopped(after last: PipelineStage, folders: [URL]) throws {
        struct Stopped: Encodable { let folder: String; let stoppedAfter: String; let stageSeconds: [String: Double] }
        var rows: [Stopped] = [], lines: [String] = []
        for folder in folders {
            let saved = try Self.savedStageSeconds(Pipeline(config: try Pipeline.savedConfig(in: folder), output: folder), through: last)
            rows.append(Stopped(folder: folder.path, stoppedAfter: last.rawValue,
                                stageSeconds: Dictionary(uniqueKeysWithValues: saved.map { ($0.stage.rawValue, $0.seconds) })))
            lines.append("\(folder.path): stopped after \(last.rawValue); stage times (as saved): "
                         + saved.map { "\($0.stage.rawValue) \(TrainingPrinter.duration($0.seconds))" }.joined(separator: ", "))
        }
        if json { return try CLI.printJSON(rows) }
        for line in lines { print(line) }
        print("no sealed test case was segmented or scored; judge on the validation cases: ichctl compare --data \(folders[0].path) --split validation --json"
              + (folders.count > 1 ? " (each folder), then ichctl compare-runs on those tables" : ""))
    }
}
