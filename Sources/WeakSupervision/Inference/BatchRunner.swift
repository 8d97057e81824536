import CTVolume
import Foundation
import Metrics
#if canImport(Glibc)
import Glibc
#endif

/// What a batch step keeps of one scan: saved as the item's record `DIR/NAME.json`, and one row
/// of the shard's summary CSV.
public protocol BatchRecord: Codable, Sendable {
    /// The CSV columns this record adds after the summary's own (position, name, input, status,
    /// seconds, error).
    static var csvColumns: [String] { get }
    /// This record's values for ``csvColumns``, in that order.
    var csvValues: [String] { get }
}

/// What became of one item of a batch.
public enum BatchStatus: String, Codable, Sendable {
    /// Processed in this run.
    case done
    /// Finished by an earlier run (its record existed), not processed again.
    case reused
    /// Processing threw, or an output was in the way; ``BatchEntry/error`` says why. The item's
    /// existing files are left as they were, and the next run tries it again.
    case failed
}

/// One item of a shard's summary.
public struct BatchEntry<Record: BatchRecord>: Codable, Sendable {
    /// Position in the list (0-based).
    public let position: Int
    /// The output name.
    public let name: String
    /// The scan's path.
    public let input: String
    /// Done, reused or failed.
    public let status: BatchStatus
    /// Seconds the item took in this run (0 when reused).
    public let seconds: Double
    /// The record (nil when failed).
    public let record: Record?
    /// Why it failed (nil otherwise).
    public let error: String?
}

/// A shard's summary, written as `DIR/shard-K-of-N.json` and `.csv` when the shard ends.
public struct BatchSummary<Record: BatchRecord>: Codable, Sendable {
    /// The shard.
    public let shard: Shard
    /// Items in the whole list (all shards).
    public let listItems: Int
    /// This shard's items, in list order.
    public let entries: [BatchEntry<Record>]

    /// Items that failed.
    public var failures: [BatchEntry<Record>] { entries.filter { $0.status == .failed } }

    /// One header line and one line per entry: position, name, input, status, seconds, error,
    /// then the record's ``BatchRecord/csvColumns`` (empty for a failed item).
    public func csv() -> String {
        let field = SegmentationReport.csvField
        var lines = [(["position", "name", "input", "status", "seconds", "error"] + Record.csvColumns).map(field).joined(separator: ",")]
        for e in entries {
            let values = e.record?.csvValues ?? Array(repeating: "", count: Record.csvColumns.count)
            let row = ["\(e.position)", e.name, e.input, e.status.rawValue, String(format: "%.3f", e.seconds), e.error ?? ""] + values
            lines.append(row.map(field).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// What a ``BatchRunner`` reports while it works; the library prints nothing.
public enum BatchEvent: Sendable {
    /// Item `done + 1` of the shard's `total` starts.
    case started(ScanList.Item, done: Int, total: Int)
    /// An item ended (processed, reused or failed).
    case ended(ScanList.Item, done: Int, total: Int, status: BatchStatus, seconds: Double, error: String?)
}

/// Runs one step (segment, classify, CAM, or a user's own) over one ``Shard`` of a ``ScanList``,
/// so that job arrays (SLURM, Kubernetes indexed jobs, GNU parallel) can spread an archive:
///
/// - **Its own outputs only.** Shard `K/N` touches only its items' outputs, their records
///   `DIR/NAME.json`, and its summary `DIR/shard-K-of-N.json` / `.csv`.
/// - **Atomic.** The step writes each output to a staging file (``stagingURL(for:)``). When it
///   returns, the record is staged (marking the item as being committed), the outputs are
///   renamed into place, and the record last, which marks the item finished. A step that throws
///   leaves the item's earlier files as they were.
/// - **Resumable.** An item whose record exists (and whose outputs all exist, with no staged
///   record beside them) is reused, not processed again, so a killed shard started again
///   continues where it stopped; an item killed while being committed is redone. `force`
///   processes every item again and replaces its outputs.
/// - **Same settings.** A finished item made with other ``settings`` is refused, not reused.
/// - **Nothing foreign replaced.** An output that exists with neither a record nor a staged
///   record fails that item, unless `force`. An output that is an input of the list is refused
///   before any work.
/// - **One runner per shard at a time.** Staging names are fixed per item, so two processes
///   running the same shard into one folder at once would disturb each other.
/// - **A failed item does not end the shard.** It is reported with its error; the summary is
///   written; the caller decides the exit status (``BatchSummary/failures``).
public struct BatchRunner: Sendable {
    /// The output folder (created when missing, with its parents).
    public let folder: URL
    /// The part of the list this runner processes.
    public let shard: Shard
    /// Process finished items again and replace existing outputs.
    public let force: Bool
    /// What the step's outputs depend on besides the scan (the model, thresholds, ...), as
    /// text; saved in every record as `batch_settings`. A finished item made with other
    /// settings is not reused but refused (unless `force`): the folder would otherwise mix two
    /// methods' outputs. Empty (default): none.
    public let settings: String

    /// A runner writing into `folder`.
    public init(folder: URL, shard: Shard = .whole, force: Bool = false, settings: String = "") {
        self.folder = folder.standardizedFileURL
        self.shard = shard
        self.force = force
        self.settings = settings
    }

    /// The key of the settings in a record.
    public static let settingsKey = "batch_settings"

    /// A record: the record's own JSON with ``settingsKey`` added (when `settings` is not
    /// empty), written all or nothing.
    static func writeRecord<T: Encodable>(_ value: T, settings: String, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var object = try JSONSerialization.jsonObject(with: try encoder.encode(value))
        if !settings.isEmpty, var dictionary = object as? [String: Any] {
            dictionary[settingsKey] = settings
            object = dictionary
        }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try AtomicFile.write(to: url, overwrite: true, extension: ".json") { temp in
            try data.write(to: URL(fileURLWithPath: temp))
        }
    }

    /// The settings saved in a record ("" when none).
    static func settings(ofRecord url: URL) -> String {
        guard let data = try? Data(contentsOf: url), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return "" }
        return object[settingsKey] as? String ?? ""
    }

    /// The record of an item: `DIR/NAME.json`.
    public func recordURL(for item: ScanList.Item) -> URL { folder.appendingPathComponent(item.name + ".json") }

    /// Where an output is written before it is moved into place: `.partial-` before its name,
    /// in its folder (so the move is a rename on one file system, and the extension is kept).
    public func stagingURL(for output: URL) -> URL {
        output.deletingLastPathComponent().appendingPathComponent(".partial-" + output.lastPathComponent)
    }

    /// The shard's summary files: `DIR/shard-K-of-N.json` and `.csv`.
    public var summaryURLs: (json: URL, csv: URL) {
        (folder.appendingPathComponent(shard.fileStem + ".json"), folder.appendingPathComponent(shard.fileStem + ".csv"))
    }

    /// Runs `process` on every item of the shard that is not finished, and writes the summary.
    ///
    /// - Parameters:
    ///   - list: the whole list (every shard must be given the same one).
    ///   - outputs: the files an item's step writes, besides its record (e.g. `DIR/NAME.nii.gz`).
    ///   - observer: progress.
    ///   - process: the step on one item: writes its outputs to the staging files it is given
    ///     (one per URL of `outputs`, in that folder and with the same extension, e.g.
    ///     `DIR/.partial-NAME.nii.gz`) and returns its record. The runner moves them into place.
    /// - Returns: the summary (also written to ``summaryURLs``).
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` before any work when an
    ///   output would replace an input of the list or take a summary's name, or the folder cannot
    ///   be made; errors writing the summary. An item's own error is in its entry, not thrown.
    public func run<Record: BatchRecord>(_ list: ScanList, outputs: (ScanList.Item) -> [URL],
                                         observer: (BatchEvent) -> Void = { _ in },
                                         process: (ScanList.Item, [URL]) throws -> Record) throws -> BatchSummary<Record> {
        let mine = list.items(in: shard)
        let inputs = Set(list.items.map { $0.input.resolvingSymlinksInPath().path })
        for item in mine {
            for url in outputs(item) + [recordURL(for: item)] {
                if inputs.contains(url.standardizedFileURL.resolvingSymlinksInPath().path) {
                    throw WeakSupervisionError.invalidParameter(
                        name: url.path, reason: "the output of \(item.name) would replace an input of the list; choose another output folder")
                }
            }
            if item.name.hasPrefix("shard-") && item.name.contains("-of-") {
                throw WeakSupervisionError.invalidParameter(
                    name: item.input.path, reason: "its output name \(item.name) has the form of a shard summary (shard-K-of-N); rename it")
            }
        }
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw WeakSupervisionError.invalidParameter(name: folder.path, reason: "cannot create the output folder: \(error.localizedDescription)")
        }
        var entries: [BatchEntry<Record>] = []
        let fm = FileManager.default
        func exists(_ url: URL) -> Bool { fm.fileExists(atPath: url.path) }
        for (k, item) in mine.enumerated() {
            let record = recordURL(for: item), stagedRecord = stagingURL(for: record), files = outputs(item)
            func end(_ status: BatchStatus, _ seconds: Double, _ value: Record?, _ error: String?) {
                entries.append(BatchEntry(position: item.position, name: item.name, input: item.input.path, status: status,
                                          seconds: seconds, record: value, error: error))
                observer(.ended(item, done: k + 1, total: mine.count, status: status, seconds: seconds, error: error))
            }
            // A staged record means a run was moving this item's files into place when it
            // stopped: the item is this step's, and unfinished.
            if !force, exists(record), !exists(stagedRecord), files.allSatisfy(exists) {
                guard let saved = try? Self.readJSON(Record.self, from: record) else {
                    end(.failed, 0, nil, "\(record.path) exists but is not a record of this step; remove it or pass --force")
                    continue
                }
                let made = Self.settings(ofRecord: record)
                guard made == settings else {
                    end(.failed, 0, nil, "\(record.path) was made with other settings (\(made.isEmpty ? "none recorded" : made)); "
                        + "pass --force to redo it with these (\(settings.isEmpty ? "none" : settings)), or use another output folder")
                    continue
                }
                end(.reused, 0, saved, nil)
                continue
            }
            let ours = exists(record) || exists(stagedRecord)
            if !force, !ours, let stray = files.first(where: exists) {
                end(.failed, 0, nil, "\(stray.path) exists but no finished run of this step wrote it (no record \(record.lastPathComponent)); remove it or pass --force")
                continue
            }
            observer(.started(item, done: k, total: mine.count))
            let start = Date()
            let staged = files.map(stagingURL)
            for url in staged + [stagedRecord] { try? fm.removeItem(at: url) }   // left by a killed run
            do {
                let value = try process(item, staged)
                for url in staged where !exists(url) {
                    throw WeakSupervisionError.missingInput(method: "the batch step", input: "its output \(url.lastPathComponent)")
                }
                // The staged record marks the item as being committed (a run killed from here
                // on leaves it, and the next run redoes the item); then the outputs, then the
                // record, each by a rename.
                try Self.writeRecord(value, settings: settings, to: stagedRecord)
                for (from, to) in zip(staged, files) where rename(from.path, to.path) != 0 {
                    throw WeakSupervisionError.invalidParameter(name: to.path, reason: "cannot move the finished output into place: \(String(cString: strerror(errno)))")
                }
                guard rename(stagedRecord.path, record.path) == 0 else {
                    throw WeakSupervisionError.invalidParameter(name: record.path, reason: "cannot move the record into place: \(String(cString: strerror(errno)))")
                }
                end(.done, Date().timeIntervalSince(start), value, nil)
            } catch {
                for url in staged { try? fm.removeItem(at: url) }
                end(.failed, Date().timeIntervalSince(start), nil, "\(error)")
            }
        }
        let summary = BatchSummary(shard: shard, listItems: list.items.count, entries: entries)
        try Self.writeJSON(summary, to: summaryURLs.json)
        try AtomicFile.write(to: summaryURLs.csv, overwrite: true, extension: ".csv") { temp in
            try Data(summary.csv().utf8).write(to: URL(fileURLWithPath: temp))
        }
        return summary
    }

    /// Writes `value` as JSON (sorted keys, non-finite numbers as "inf", "-inf", "nan") all or nothing.
    public static func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let data = try encoder.encode(value)
        try AtomicFile.write(to: url, overwrite: true, extension: ".json") { temp in
            try data.write(to: URL(fileURLWithPath: temp))
        }
    }

    /// Reads JSON written by ``writeJSON(_:to:)``.
    public static func readJSON<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(T.self, from: Data(contentsOf: url))
    }
}
