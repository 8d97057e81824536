import ArgumentParser
import Foundation
import CTVolume
import Metrics
import NeuralCore
import WeakSupervision

#if canImport(Glibc)
import Glibc
#endif

/// Shared plumbing for subcommands: stdout for results, stderr for progress and warnings.
enum CLI {
    /// Whether standard error is a terminal (progress is shown there only when it is, unless asked).
    static var stderrIsTerminal: Bool { isatty(2) != 0 }

    /// Prints `value` as JSON (sorted keys, pretty) on stdout.
    ///
    /// JSON has no infinity or NaN: non-finite doubles must be mapped by the encodable type
    /// itself (the project writes them as the strings "inf", "-inf" and "nan").
    static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let data = try encoder.encode(value)
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    /// A line on stderr.
    static func note(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// The line `segment --run` and `classify --run` print when a scan's slices are averaged
    /// into slabs (``Pipeline/thinSliceSlabs(for:)``).
    static func slabNote(_ file: String, slabs: SliceSlabs, spacingMM: Double) -> String {
        "\(file): slices \(String(format: "%g", spacingMM)) mm apart, under the run's limit for thin slices (comparison.thinSlices): "
            + "averaged \(slabs.factor) at a time into \(slabs.slabCount) slabs of \(String(format: "%g", spacingMM * Double(slabs.factor))) mm; "
            + "each slab's result is copied to its slices"
    }

    /// The line `segment --run` and `classify --run` print when a scan is seen through a window
    /// around its head (``Pipeline/headFrame(for:)``); span and offset are measured again on the
    /// scan as the frame was (after its slabs), and the note names the one the rule refused.
    static func frameNote(_ file: String, scan: ScanVolume, run: Pipeline, frame: HeadFrame) -> String {
        let rule = run.config.comparison.headSpans
        let extent = HeadExtent.measure(run.thinSliceSlabs(for: scan).average(scan))
        let window = "seen through a \(frame.rows)x\(frame.columns) window centred on it (from row \(frame.top), column \(frame.left)); "
            + "results are put back on the whole slices"
        if let extent, let rule, rule.target(span: extent.span(height: frame.height, width: frame.width)) == nil, let most = rule.mostOffset {
            let offset = extent.offset(height: frame.height, width: frame.width)
            return "\(file): its head lies \(String(format: "%.3f", offset)) of its \(frame.height)x\(frame.width) slices' side off their centre, "
                + "beyond the run's \(String(format: "%.3f", most)) (comparison.headSpans.mostOffset); " + window
        }
        let span = extent.map { String(format: "%.2f", $0.span(height: frame.height, width: frame.width)) } ?? "?"
        let bounds = rule.map { String(format: "%.2f to %.2f", $0.least, $0.most) } ?? "?"
        return "\(file): its head spans \(span) of its \(frame.height)x\(frame.width) slices, outside the run's \(bounds) (comparison.headSpans); " + window
    }

    /// Refuses to replace an existing output unless `force` is set, and, unless the command
    /// creates the folder itself (`createsFolder`), an output whose folder does not exist: both
    /// before any computing, so that a long run does not end in an error at its last write.
    static func checkOutput(_ url: URL, force: Bool, createsFolder: Bool = false) throws {
        if !force && FileManager.default.fileExists(atPath: url.path) {
            throw CLIError.outputExists(url.path)
        }
        if !createsFolder { try checkFolder(of: url) }
    }

    /// Refuses an output whose folder does not exist (outputs that may be replaced, as a
    /// resumed run's, need only this).
    static func checkFolder(of url: URL) throws {
        let folder = url.deletingLastPathComponent()
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw CLIError.invalid("\(url.path): its folder \(folder.path) does not exist")
        }
    }
}

extension CLI {
    /// The threads of one rank by default: the cores this process may run on (its CPU affinity,
    /// which `mpirun` narrows when it binds ranks to cores), and no more than the node's cores
    /// divided by the ranks on the node (Open MPI's `OMPI_COMM_WORLD_LOCAL_SIZE`, SLURM's
    /// `SLURM_NTASKS_PER_NODE`, else the world's size).
    static func defaultThreads(worldSize: Int) -> Int {
        let env = ProcessInfo.processInfo.environment
        let local = ["OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE"].lazy.compactMap { env[$0].flatMap { Int($0) } }.first ?? worldSize
        let cores = ProcessInfo.processInfo.activeProcessorCount
        // Linux: "Cpus_allowed:\t00000000,0000000f" in /proc/self/status, a hex mask
        var allowed = cores
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) {
            let mask = line.dropFirst("Cpus_allowed:".count).filter { $0.isHexDigit }
            let count = mask.reduce(0) { $0 + (Int(String($1), radix: 16) ?? 0).nonzeroBitCount }
            if count > 0 { allowed = count }
        }
        return max(1, min(allowed, cores / max(local, 1)))
    }

    /// Runs `body` with the ranks of `mpirun` (MPI's world) when `distributed`, else with none,
    /// after setting this process's thread count: `threads`, or with `distributed`
    /// ``defaultThreads(worldSize:)``. Only rank 0 prints
    /// (`body` gets `quiet` true elsewhere). A rank's error ends every rank (`MPI_Abort`), since
    /// the others would wait on it forever.
    static func withRanks(distributed: Bool, threads: Int?, quiet: Bool,
                          _ body: (_ communicator: (any Communicator)?, _ quiet: Bool) throws -> Void) throws {
        guard distributed else {
            if let threads { Threading.setThreadCount(threads) }
            return try body(nil, quiet)
        }
        let world = try MPICommunicator.world()
        Threading.setThreadCount(threads ?? defaultThreads(worldSize: world.size))
        do {
            try body(world, quiet || !world.isWriter)
        } catch let exit as ExitCode {
            MPICommunicator.finalize()
            throw exit
        } catch {
            CLI.note("Error: rank \(world.rank) of \(world.size): \(error)")
            if world.size > 1 { MPICommunicator.abort(code: 1) }
            MPICommunicator.finalize()
            throw ExitCode(1)
        }
        MPICommunicator.finalize()
    }
}

/// Errors the command line itself raises (library errors carry their own descriptions).
enum CLIError: Error, CustomStringConvertible {
    case outputExists(String)
    case invalid(String)

    var description: String {
        switch self {
        case .outputExists(let path): return "\(path): already exists (pass --force to replace it)"
        case .invalid(let message): return message
        }
    }
}

/// Progress lines on stderr: shown on a terminal, or anywhere when `forced` (`--progress`);
/// silent otherwise so that piped and CI runs stay clean.
struct ProgressReporter: Sendable {
    let enabled: Bool

    init(forced: Bool = false, quiet: Bool = false) {
        enabled = !quiet && (forced || CLI.stderrIsTerminal)
    }

    func report(_ message: @autoclosure () -> String) {
        guard enabled else { return }
        CLI.note(message())
    }
}

/// The statistics options shared by `compare` and `evaluate`: the bootstrap and the lesion rule
/// of ``SegmentationStatistics/Settings``.
struct StatisticsOptions: ParsableArguments {
    @Option(help: "Bootstrap resamples of every interval.")
    var resamples: Int = BootstrapSettings().resamples

    @Option(help: "Seed of the bootstrap resampling.")
    var seed: UInt64 = BootstrapSettings().seed

    @Option(help: "Share of a true lesion's voxels the prediction must cover for the lesion to count as found (0: any overlap).")
    var coverage: Double = LesionDetection.Settings().minimumCoverage

    func validate() throws {
        guard resamples >= 1 else { throw ValidationError("--resamples must be at least 1, not \(resamples)") }
        guard coverage >= 0 && coverage <= 1 else { throw ValidationError("--coverage must be a share in 0...1, not \(coverage)") }
    }

    /// The library settings these options give.
    var settings: SegmentationStatistics.Settings {
        SegmentationStatistics.Settings(bootstrap: BootstrapSettings(resamples: resamples, seed: seed),
                                        detection: LesionDetection.Settings(minimumCoverage: coverage))
    }
}

/// The scan argument of `segment`, `classify`, `cam` and `render`: a NIfTI file or a DICOM
/// folder (``ScanReader``), with `--series` to pick a series in the folder.
struct ScanInputOptions: ParsableArguments {
    @Option(name: .long, help: "With a DICOM folder as the scan: the Series Instance UID to read (default: the axial CT series with the most files; `ichctl convert DIR --list` shows them).")
    var series: String?

    /// Reads `file` (NIfTI file or DICOM folder); DICOM warnings go to stderr.
    func read(_ file: String) throws -> ScanVolume {
        let result = try ScanReader.readWithReport(at: URL(fileURLWithPath: file), seriesUID: series)
        for warning in result.dicom?.warnings ?? [] { CLI.note("warning: \(file): \(warning)") }
        return result.scan
    }
}

/// A CAM threshold on the command line: its text form (`otsu`, `p90`, `0.3`).
extension ThresholdChoice: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
    public var defaultValueDescription: String { description }
}

extension CAM.Kind: ExpressibleByArgument {}
extension PipelineConfig.PseudoMaskSettings.PositiveSlices: ExpressibleByArgument {}
extension BoneRimFiltered.Distance: ExpressibleByArgument {}

extension CLI {
    /// A path made absolute and standard (for settings saved in batch records).
    static func absolute(_ path: String?) -> String? {
        path.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
    }
}

/// `--list`, `--out-dir`, `--shard` and `--quiet` of `segment`, `classify` and `cam`: one step
/// over many scans, or over one shard of them (``BatchRunner``).
struct BatchOptions: ParsableArguments {
    @Option(name: .long, help: "A file listing scans (NIfTI files or DICOM folders), one per line; blank lines and # comments skipped; relative paths from the list's folder. Needs --out-dir.")
    var list: String?

    @Option(name: .customLong("out-dir"), help: "With --list: the folder of the outputs (NAME.nii.gz, the record NAME.json, and the summary shard-K-of-N.json / .csv). Finished items are skipped, so a killed run resumes.")
    var outDir: String?

    @Option(name: .long, help: "With --list: process only shard K of N (0-based K, round robin over the list), e.g. --shard $SLURM_ARRAY_TASK_ID/8. Default 0/1: the whole list.")
    var shard: String?

    @Flag(name: .long, help: "With --list: no progress lines on stderr.")
    var quiet = false

    /// Whether the command runs over a list.
    var isBatch: Bool { list != nil }

    func validate() throws {
        if list != nil && outDir == nil { throw ValidationError("--list needs --out-dir") }
        if list == nil {
            for (name, set) in [("--out-dir", outDir != nil), ("--shard", shard != nil), ("--quiet", quiet)] where set {
                throw ValidationError("\(name) needs --list")
            }
        }
        do { _ = try parsedShard() } catch { throw ValidationError("--shard: \(error)") }
    }

    /// The shard (``Shard/whole`` by default).
    func parsedShard() throws -> Shard { try shard.map(Shard.init(parsing:)) ?? .whole }

    /// Runs `process` (given the item, the staged outputs to write and the final ones to
    /// report) over the shard of the list, with progress on stderr; prints the summary (its JSON
    /// with `json`) and exits with status 1 when an item failed. `settings` is what the outputs
    /// depend on besides the scan (``BatchRunner/settings``), as JSON.
    func run<R: BatchRecord, S: Encodable>(command: String, force: Bool, json: Bool, settings: S, outputs: @escaping (ScanList.Item, URL) -> [URL],
                                           process: (ScanList.Item, [URL], [URL]) throws -> R) throws {
        let scans = try ScanList(contentsOf: URL(fileURLWithPath: list!))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let settingsText = String(decoding: try encoder.encode(settings), as: UTF8.self)
        let runner = BatchRunner(folder: URL(fileURLWithPath: outDir!), shard: try parsedShard(), force: force, settings: settingsText)
        let mine = scans.items(in: runner.shard).count
        if !quiet { CLI.note("\(command): shard \(runner.shard) holds \(mine) of \(scans.items.count) scan(s), outputs in \(runner.folder.path)") }
        let summary = try runner.run(scans, outputs: { outputs($0, runner.folder) }, observer: { event in
            guard !quiet, case let .ended(item, done, total, status, seconds, error) = event else { return }
            let detail = error.map { ": \($0)" } ?? (status == .done ? String(format: " in %.1f s", seconds) : "")
            CLI.note("\(command) \(done)/\(total) \(item.name): \(status.rawValue)\(detail)")
        }, process: { item, staged in try process(item, staged, outputs(item, runner.folder)) })
        if json {
            try CLI.printJSON(summary)
        } else {
            let counts = [BatchStatus.done, .reused, .failed].map { s in "\(summary.entries.filter { $0.status == s }.count) \(s.rawValue)" }
            print("shard \(runner.shard): \(counts.joined(separator: ", ")); summary \(runner.summaryURLs.csv.path)")
        }
        if !summary.failures.isEmpty {
            CLI.note("\(summary.failures.count) of \(summary.entries.count) scan(s) failed (see \(runner.summaryURLs.json.path)); run again to retry them")
            throw ExitCode(1)
        }
    }
}

/// The window around the head a scan was seen through (``HeadFrame``), as `segment --run` and
/// `classify --run` report it: rows and columns of the scan's slices in the networks' voxel
/// order (LAS; ``Reorientation``), negative or past the slice where the window reaches beyond it.
struct HeadWindow: Codable, Sendable {
    let top: Int, left: Int, rows: Int, columns: Int
    init(_ frame: HeadFrame) { (top, left, rows, columns) = (frame.top, frame.left, frame.rows, frame.columns) }
}
