import ArgumentParser
import Foundation
import Metrics
import WeakSupervision

/// `ichctl compare-runs`: two arms of comparison tables, each one or more replicates (seeds) of
/// one configuration, compared row by row. A thin wrapper over ``ReplicateComparison``.
struct CompareRuns: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare-runs",
        abstract: "Compare two configurations on the same cases, each with one or more replicates (seeds).",
        discussion: """
            Each of --base and --arm is a comma-separated list of comparison tables on the same \
            cases: JSON files written by `ichctl compare --json`, or run folders (their \
            comparison/comparison.json). Every case's Dice (positive cases) and mL called blood \
            (negative cases) is averaged over an arm's tables first, so that seeds count as \
            replicates of one configuration; then arm − base is bootstrapped over the cases. \
            Prints per row each arm's Dice, the paired difference with its interval, mL per \
            negative case and the negative cases clean in every replicate (Docs/evaluation.md). \
            Two tables of one arm that score every case of every row alike (possibly one \
            training counted twice) are named in a warning: under the text, or on stderr with --json.
            """)

    @Option(help: "The reference arm's tables or run folders, comma-separated.")
    var base: String

    @Option(help: "The other arm's tables or run folders, comma-separated.")
    var arm: String

    @Option(name: .customLong("row"), help: "A row to compare, as the tables name it (repeatable; default: every row in all tables).")
    var rows: [String] = []

    @Option(help: "Bootstrap resamples of every interval.")
    var resamples: Int = BootstrapSettings().resamples

    @Option(help: "Seed of the bootstrap resampling.")
    var seed: UInt64 = BootstrapSettings().seed

    @Flag(name: .long, help: "Print the comparison as JSON on stdout.")
    var json = false

    func validate() throws {
        guard resamples >= 1 else { throw ValidationError("--resamples must be at least 1, not \(resamples)") }
        for (name, value) in [("--base", base), ("--arm", arm)] where Self.paths(value).isEmpty {
            throw ValidationError("\(name) names no table")
        }
    }

    static func paths(_ list: String) -> [String] { list.split(separator: ",").map(String.init).filter { !$0.isEmpty } }

    /// A table from a JSON file, or the one a run folder saved (``Pipeline/savedTable(in:)``).
    static func table(_ path: String) throws -> ComparisonTable {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw CLIError.invalid("\(path): no such file or folder") }
        do {
            if isFolder.boolValue { return try Pipeline.savedTable(in: URL(fileURLWithPath: path)) }
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)) else { throw CLIError.invalid("\(path): cannot be read") }
            return try ComparisonTable.decode(data)
        } catch let error as DecodingError {
            throw CLIError.invalid("\(path): not a comparison table (`ichctl compare --json`): \(error)")
        }   // Pipeline.savedTable's own error names the folder
    }

    func run() throws {
        let basePaths = Self.paths(base), armPaths = Self.paths(arm)
        let comparison: ReplicateComparison
        do {
            comparison = try ReplicateComparison(base: try basePaths.map(Self.table), arm: try armPaths.map(Self.table),
                                                 methods: rows.isEmpty ? nil : rows.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } },
                                                 bootstrap: BootstrapSettings(resamples: resamples, seed: seed), sources: basePaths + armPaths)
        } catch WeakSupervisionError.invalidParameter(let name, let reason) {
            throw CLIError.invalid("\(name): \(reason)")   // the name is the file the user gave
        }
        if json {
            for pair in comparison.identicalReplicates ?? [] { CLI.note(ReplicateComparison.identicalWarning(pair)) }
            FileHandle.standardOutput.write(try comparison.jsonData())
            FileHandle.standardOutput.write(Data("\n".utf8))
        } else {
            print(comparison.text(), terminator: "")
        }
    }
}
