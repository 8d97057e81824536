import Foundation

/// What `Phantom.writeDataset` wrote: the seed, the parameters and each case's contents.
/// Saved as `ROOT/phantom.json` beside the data so that a set can be described and regenerated.
public struct PhantomManifest: Codable, Sendable, Hashable {
    /// One case of the set.
    public struct Case: Codable, Sendable, Hashable {
        /// File stem, `phantom_0000`.
        public var name: String
        /// Number of slices.
        public var slices: Int
        /// Number of slices labelled positive in `slices.csv`.
        public var positiveSlices: Int
        /// The hemorrhages of the case.
        public var lesions: [LesionSummary]
    }
    /// Seed of the set.
    public var seed: UInt64
    /// Parameters of the set.
    public var config: PhantomConfig
    /// Cases in order.
    public var cases: [Case]
}

extension Phantom {
    /// The folder of a phantom set's lesion maps (``PhantomCase/lesionLabels``): `lesions`.
    public static let lesionFolderName = "lesions"

    /// Writes cases `firstCase ..< firstCase + cases` of seed `seed` in the INSTANCE 2022 layout:
    ///
    ///     ROOT/data/phantom_0000.nii.gz    int16, slope 1, intercept -1024 (HU)
    ///     ROOT/label/phantom_0000.nii.gz   uint8, 1 = hemorrhage, same grid and affine
    ///     ROOT/lesions/phantom_0000.nii.gz uint8, k = the case's k-th lesion in phantom.json
    ///                                      (``PhantomCase/lesionLabels``), 0 = none
    ///     ROOT/slices.csv                  case,slice,label
    ///     ROOT/phantom.json                seed, parameters and lesions of every case
    ///
    /// Every file is written atomically; the same seed and config give the same bytes.
    ///
    /// - Parameters:
    ///   - root: the dataset folder (created when missing).
    ///   - cases: number of cases (>= 1).
    ///   - seed: the set's seed.
    ///   - config: phantom parameters.
    ///   - firstCase: the index of the first case (default 0): cases `firstCase ..< firstCase + cases`
    ///     are written, so that a second set of another seed (a sealed test set) has other names.
    ///   - overwrite: replace existing files; default false, and then an existing output is
    ///     refused before anything is written.
    ///   - progress: called after each case with (cases done, total, the case).
    /// - Returns: the manifest also written to `phantom.json`.
    /// - Throws: ``CTVolumeError`` `.invalidParameter` (bad count or config), `.outputExists`, `.io`.
    @discardableResult
    public static func writeDataset(to root: URL, cases: Int, seed: UInt64, config: PhantomConfig = .default,
                                    firstCase: Int = 0, overwrite: Bool = false,
                                    progress: (Int, Int, PhantomCase) -> Void = { _, _, _ in }) throws -> PhantomManifest {
        try config.validate()
        guard cases >= 1 && cases <= 100_000 else {
            throw CTVolumeError.invalidParameter(name: "cases", reason: "\(cases) is not a number of cases to write (1 to 100000)")
        }
        let fm = FileManager.default
        let data = root.appendingPathComponent("data"), label = root.appendingPathComponent("label")
        let lesionFolder = root.appendingPathComponent(lesionFolderName)
        let csv = root.appendingPathComponent("slices.csv"), manifestURL = root.appendingPathComponent("phantom.json")
        guard firstCase >= 0 && firstCase <= 100_000 else {
            throw CTVolumeError.invalidParameter(name: "firstCase", reason: "\(firstCase) is not a case index (0 to 100000)")
        }
        let names = (firstCase..<(firstCase + cases)).map(caseName)
        if !overwrite {
            let outputs = [csv, manifestURL] + names.flatMap {
                [data.appendingPathComponent("\($0).nii.gz"), label.appendingPathComponent("\($0).nii.gz"),
                 lesionFolder.appendingPathComponent("\($0).nii.gz")]
            }
            if let existing = outputs.first(where: { fm.fileExists(atPath: $0.path) }) {
                throw CTVolumeError.outputExists(path: existing.path)
            }
        }
        for folder in [root, data, label, lesionFolder] {
            do {
                try fm.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                throw CTVolumeError.io(path: folder.path, reason: "cannot create the folder: \(error.localizedDescription)")
            }
        }
        var table: [String: [Float]] = [:]
        var entries: [PhantomManifest.Case] = []
        // Cases are drawn and written (gzip is serial per file) a few at a time, in parallel;
        // each case has its own seed, so the files do not depend on the scheduling, and the
        // table, manifest and progress follow case order.
        try forEachInOrderedChunks(count: cases) { i in
            let c = try generate(caseIndex: firstCase + i, seed: seed, config: config)
            try NIfTI.write(c.scan, to: data.appendingPathComponent("\(c.name).nii.gz"), datatype: .hounsfieldInt16,
                            overwrite: overwrite, descrip: "ichct phantom seed \(seed)")
            try NIfTI.write(c.mask, to: label.appendingPathComponent("\(c.name).nii.gz"), overwrite: overwrite,
                            descrip: "ichct phantom label")
            try NIfTI.write(c.lesionLabels, to: lesionFolder.appendingPathComponent("\(c.name).nii.gz"), overwrite: overwrite,
                            descrip: "ichct phantom lesion ids")
            return c
        } deliver: { _, c in
            table[c.name] = c.sliceLabels.map { $0 ? 1 : 0 }
            entries.append(.init(name: c.name, slices: c.scan.shape.z, positiveSlices: c.sliceLabels.filter { $0 }.count, lesions: c.lesions))
            progress(entries.count, cases, c)
        }
        try SliceLabelTable(labels: table).write(to: csv, overwrite: overwrite)
        let manifest = PhantomManifest(seed: seed, config: config, cases: entries)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = try encoder.encode(manifest) + Data("\n".utf8)
        try AtomicFile.write(to: manifestURL, overwrite: overwrite, extension: ".json") { temp in
            do {
                try json.write(to: URL(fileURLWithPath: temp))
            } catch {
                throw CTVolumeError.io(path: manifestURL.path, reason: "cannot write: \(error.localizedDescription)")
            }
        }
        return manifest
    }
}
