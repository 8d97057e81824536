import Foundation

/// A folder of CT cases: the INSTANCE 2022 layout below, or one of the public datasets'
/// published layouts (``DatasetLayout``: RSNA, CQ500, PhysioNet CT-ICH, BHSD), recognised from
/// the folder's contents. The INSTANCE layout:
///
///     ROOT/data/NAME.nii.gz     scans (also .nii)
///     ROOT/label/NAME.nii.gz    masks, same grid as the scan (optional)
///     ROOT/slices.csv           case,slice,label (optional; for cases without masks)
///     ROOT/lesions/NAME.nii.gz  lesion maps, one label per lesion (optional; phantom sets)
///
/// Images and labels pair by case name (the file name without `.nii` / `.nii.gz`); cases are
/// sorted by name. Opening reads only folder listings and `slices.csv`; volumes load on demand
/// through each ``DatasetCase``. Files whose names start with "." are ignored.
///
/// ```swift
/// let dataset = try Dataset(root: URL(filePath: "instance2022"), requireMasks: true)
/// for item in dataset.cases {
///     let scan = try item.loadScan()
///     let labels = try item.sliceLabels()   // one 0/1 per axial slice
/// }
/// ```
public struct Dataset: Sendable, Hashable {
    /// The dataset folder.
    public var root: URL
    /// Every case, sorted by name.
    public var cases: [DatasetCase]
    /// The folder's layout.
    public var layout: DatasetLayout = .instance
    /// What opening left out or could not use (a file known to be broken, a label row without
    /// a scan), one line each; empty for a clean folder.
    public var notes: [String] = []

    /// Opens a dataset folder of any ``DatasetLayout``.
    ///
    /// - Parameters:
    ///   - root: the dataset folder.
    ///   - layout: the layout; nil (default) recognises it (``DatasetLayout/detect(at:)``).
    ///   - requireMasks: every case must have a mask; default false.
    /// - Throws: `.invalidDataset` naming the folder or file (see each layout), also when the
    ///   folder holds no case of the layout and, with `requireMasks`, for the first case
    ///   without a mask; `.io` for a folder or label file that cannot be read; errors of
    ///   ``DatasetLayout/detect(at:)`` when `layout` is nil.
    public init(root: URL, layout: DatasetLayout?, requireMasks: Bool = false) throws {
        let chosen = try layout ?? DatasetLayout.detect(at: root)
        let loaded: (cases: [DatasetCase], notes: [String])
        switch chosen {
        case .instance: loaded = (try Self.instance(root: root, requireMasks: requireMasks), [])
        case .rsna: loaded = try Self.rsna(root: root)
        case .cq500: loaded = try Self.cq500(root: root)
        case .physionet: loaded = try Self.physionet(root: root)
        case .bhsd: loaded = try Self.bhsd(root: root)
        }
        guard !loaded.cases.isEmpty else {
            throw CTVolumeError.invalidDataset(path: root.path, reason: "holds no case in the \(chosen.rawValue) layout" + (loaded.notes.first.map { " (\($0))" } ?? ""))
        }
        if requireMasks, let unlabeled = loaded.cases.first(where: { $0.labelURL == nil }) {
            throw CTVolumeError.invalidDataset(path: unlabeled.imageURL.path, reason: "case \(unlabeled.name) has no mask (the \(chosen.rawValue) layout gives masks for: \(chosen == .physionet || chosen == .bhsd ? "the cases with a mask file" : "no case"))")
        }
        self.root = root
        self.cases = loaded.cases.sorted { $0.name < $1.name }
        self.layout = chosen
        self.notes = loaded.notes
    }

    /// Opens a dataset folder: the INSTANCE layout, or (when `root` has no `data/` folder) any
    /// other layout ``DatasetLayout/detect(at:)`` recognises, as ``init(root:layout:requireMasks:)``.
    ///
    /// - Parameters:
    ///   - root: the dataset folder (for INSTANCE, the one holding `data/` and optionally
    ///     `label/`, `slices.csv`).
    ///   - requireMasks: every image must have a label file; default false.
    /// - Throws: for INSTANCE, ``CTVolumeError/invalidDataset(path:reason:)`` naming the folder
    ///   or file: a missing root or `data/`, no NIfTI files in `data/`, two files for one case
    ///   name, a label without an image, a lesion map without a label, an image without a label (with `requireMasks`), a
    ///   malformed `slices.csv` line or a case it lists that has no image; for another layout,
    ///   as ``init(root:layout:requireMasks:)``.
    public init(root: URL, requireMasks: Bool = false) throws {
        var layout = DatasetLayout.instance
        if !Self.isDirectory(root.appendingPathComponent("data")), let other = try? DatasetLayout.detect(at: root) { layout = other }
        try self.init(root: root, layout: layout, requireMasks: requireMasks)
    }

    /// The INSTANCE layout's cases.
    static func instance(root: URL, requireMasks: Bool) throws -> [DatasetCase] {
        let data = root.appendingPathComponent("data")
        let label = root.appendingPathComponent("label")
        guard Self.isDirectory(root) else { throw CTVolumeError.invalidDataset(path: root.path, reason: "no such folder") }
        guard Self.isDirectory(data) else {
            throw CTVolumeError.invalidDataset(path: data.path, reason: "no such folder (a dataset keeps its scans in ROOT/data/NAME.nii.gz)")
        }
        let images = try Self.niftiFiles(in: data)
        guard !images.isEmpty else { throw CTVolumeError.invalidDataset(path: data.path, reason: "holds no .nii or .nii.gz files") }
        let labels = Self.isDirectory(label) ? try Self.niftiFiles(in: label) : [:]
        if let orphan = labels.keys.sorted().first(where: { images[$0] == nil }) {
            throw CTVolumeError.invalidDataset(path: labels[orphan]!.path, reason: "label without an image \(orphan).nii(.gz) in \(data.path)")
        }
        if requireMasks, let unlabeled = images.keys.sorted().first(where: { labels[$0] == nil }) {
            throw CTVolumeError.invalidDataset(path: images[unlabeled]!.path, reason: "image without a label \(unlabeled).nii(.gz) in \(label.path)")
        }
        let lesionFolder = root.appendingPathComponent(Phantom.lesionFolderName)
        let lesions = Self.isDirectory(lesionFolder) ? try Self.niftiFiles(in: lesionFolder) : [:]
        if let orphan = lesions.keys.sorted().first(where: { labels[$0] == nil }) {
            throw CTVolumeError.invalidDataset(path: lesions[orphan]!.path, reason: "lesion map without a label \(orphan).nii(.gz) in \(label.path)")
        }
        let csv = root.appendingPathComponent("slices.csv")
        var table: SliceLabelTable?
        if FileManager.default.fileExists(atPath: csv.path) {
            let read = try SliceLabelTable.read(from: csv)
            if let stranger = read.labels.keys.sorted().first(where: { images[$0] == nil }) {
                throw CTVolumeError.invalidDataset(path: csv.path, reason: "case \(stranger) has no image in \(data.path)")
            }
            table = read
        }
        return images.keys.sorted().map { name in
            DatasetCase(name: name, imageURL: images[name]!, labelURL: labels[name],
                        tableLabels: table?.labels[name], tableURL: table == nil ? nil : csv, canonical: true,
                        lesionURL: lesions[name])
        }
    }

    /// The case named `name`; nil when there is none.
    public subscript(name: String) -> DatasetCase? { cases.first { $0.name == name } }

    /// Checks every label's grid against its image from the headers alone (no voxels read);
    /// cases without a label file are passed over.
    /// - Throws: the first `.gridMismatch` (naming the label file) or header error, in case order.
    public func checkGrids() throws {
        for item in cases {
            guard let labelURL = item.labelURL else { continue }
            let image = try item.imageHeader()
            try NIfTI.checkSameGrid(try NIfTI.readHeader(at: labelURL), shape: image.shape, geometry: image.geometry)
        }
    }

    /// Every case's weak slice labels (``DatasetCase/sliceLabels()``), loading masks one by one.
    /// - Throws: the first case's error of ``DatasetCase/sliceLabels()``, in case order (e.g. a
    ///   case with scan-level labels only).
    public func sliceLabelTable() throws -> SliceLabelTable {
        var labels: [String: [Float]] = [:]
        for item in cases { labels[item.name] = try item.sliceLabels() }
        return SliceLabelTable(labels: labels)
    }

    // MARK: - Folder listing

    /// The case name of a NIfTI file name (`NAME.nii.gz` or `NAME.nii` gives `NAME`); nil for
    /// other names and for a bare `.nii` or `.nii.gz`.
    public static func caseName(ofFile name: String) -> String? {
        for ext in [".nii.gz", ".nii"] where name.hasSuffix(ext) && name.count > ext.count {
            return String(name.dropLast(ext.count))
        }
        return nil
    }

    static func isDirectory(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    static func niftiFiles(in folder: URL) throws -> [String: URL] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        } catch {
            throw CTVolumeError.io(path: folder.path, reason: "cannot list the folder")
        }
        var found: [String: URL] = [:]
        for file in names.sorted() where !file.hasPrefix(".") {
            guard let name = caseName(ofFile: file) else { continue }
            if let other = found[name] {
                throw CTVolumeError.invalidDataset(path: folder.appendingPathComponent(file).path,
                                                   reason: "case \(name) also has \(other.lastPathComponent); keep one file per case")
            }
            found[name] = folder.appendingPathComponent(file)
        }
        return found
    }
}
