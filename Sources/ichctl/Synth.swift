import ArgumentParser
import CTVolume
import Foundation

/// `ichctl synth --out DIR --cases N --seed S`: writes a synthetic head-CT dataset in the
/// INSTANCE 2022 layout. Wraps ``Phantom/writeDataset(to:cases:seed:config:overwrite:progress:)``.
struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write synthetic head CTs with hemorrhage labels in the INSTANCE 2022 layout.",
        discussion: """
        Writes DIR/data/phantom_NNNN.nii.gz (int16 HU, slope 1, intercept -1024), DIR/label/phantom_NNNN.nii.gz \
        (uint8, 1 = hemorrhage), DIR/lesions/phantom_NNNN.nii.gz (uint8, k = the case's k-th lesion in phantom.json), \
        DIR/slices.csv (case,slice,label) and DIR/phantom.json (seed, parameters, lesions). \
        The same seed and parameters give the same bytes. Every parameter of the phantom can be set with \
        --config FILE.json (a PhantomConfig, see Docs/phantom.md), or a preset chosen with --preset; the options \
        below override either. Without both, the realistic preset (generation 2) is written.
        """)

    @Option(help: "Output folder.") var out: String
    @Option(help: "Number of cases.") var cases: Int = 20
    @Option(help: "Seed of the set.") var seed: UInt64 = 2022
    @Option(help: "Index of the first case: cases K ..< K + --cases are written (phantom_K ...), so that a second set of another seed, such as a sealed test set, gets other names. The pipeline writes its sealed set after the training cases this way.")
    var firstCase: Int = 0
    @Option(help: "In-plane matrix (e.g. 128 or 256 for quick runs; spacing is scaled to keep the field of view).")
    var size: Int?
    @Option(help: "Slices per case (default: the preset's range; generation 2 draws coverage / thickness within it).") var slices: Int?
    @Option(help: "Fraction of cases with hemorrhage, 0...1 (default 0.6).") var positiveFraction: Double?
    @Option(help: "Preset: realistic (default; generation 2), randomized (generation 2, wider ranges, for training) or v1 (generation 1, as before).")
    var preset: String?
    @Option(help: "A JSON file holding a PhantomConfig (all parameters; keys it leaves out take generation 1's defaults, or generation 2's for its own keys).")
    var config: String?
    @Flag(help: "Also write DIR/realism.json and DIR/realism.txt: each tissue's HU against published ranges, lesion subtypes, ages, densities and volumes (PhantomRealism); the text goes to stdout too.")
    var report = false
    @Flag(help: "Replace existing outputs.") var force = false
    @Flag(help: "Show progress on stderr even when it is not a terminal.") var progress = false
    @Flag(help: "Print the manifest as JSON on stdout.") var json = false

    func makeConfig() throws -> PhantomConfig {
        var c = PhantomConfig.realistic
        if let preset {
            guard let p = PhantomConfig.preset(named: preset) else {
                throw CLIError.invalid("--preset \(preset): not one of \(PhantomConfig.presetNames.joined(separator: ", "))")
            }
            c = p
        }
        if let config {
            let url = URL(fileURLWithPath: config)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw CLIError.invalid("\(config): cannot read the config file")
            }
            do {
                c = try JSONDecoder().decode(PhantomConfig.self, from: data)
            } catch {
                throw CLIError.invalid("\(config): not a PhantomConfig JSON (\(error))")
            }
        }
        if let size { c.size = size }
        if let slices {
            guard slices >= 1 else { throw CLIError.invalid("--slices \(slices): a case needs at least one slice") }
            c.slices = slices...slices
        }
        if let positiveFraction { c.positiveFraction = positiveFraction }
        return c
    }

    func validate() throws {
        guard cases >= 1 else { throw ValidationError("--cases \(cases): give at least one case") }
        guard firstCase >= 0 else { throw ValidationError("--first-case \(firstCase): a case index is 0 or more") }
        if preset != nil && config != nil { throw ValidationError("--preset and --config exclude each other: a config file holds every parameter") }
        do {
            try makeConfig().validate()
        } catch let error as CTVolumeError {
            throw ValidationError(error.description)
        } catch let error as CLIError {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let reporter = ProgressReporter(forced: progress)
        let start = Date()
        let root = URL(fileURLWithPath: out)
        // refused before any case is written, like the cases themselves
        if report { for name in ["realism.json", "realism.txt"] { try CLI.checkOutput(root.appendingPathComponent(name), force: force, createsFolder: true) } }
        var realism = PhantomRealism()
        let manifest = try Phantom.writeDataset(to: root, cases: cases, seed: seed, config: try makeConfig(),
                                                firstCase: firstCase, overwrite: force) { done, total, c in
            if report { realism.add(c) }
            let lesions = c.lesions.map { "\($0.subtype.rawValue) \(String(format: "%.1f", $0.volumeML)) mL" }
            reporter.report("[\(done)/\(total)] \(c.name): \(c.scan.shape), "
                + (lesions.isEmpty ? "no hemorrhage" : lesions.joined(separator: ", ")))
        }
        let table = realism.report()
        if report { try table.write(to: root, overwrite: force) }
        if json {
            try CLI.printJSON(manifest)
        } else {
            if report { print(table.text()) }
            let positive = manifest.cases.filter { $0.positiveSlices > 0 }.count
            print("wrote \(manifest.cases.count) cases (\(positive) with hemorrhage) to \(out) in "
                + String(format: "%.1f s", Date().timeIntervalSince(start)))
        }
    }
}
