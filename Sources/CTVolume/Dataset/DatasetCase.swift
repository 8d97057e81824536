import Foundation

/// One case of a ``Dataset``: where its files are, loaded only when asked.
///
/// Holding a case costs nothing; each `load...` call reads its files again (callers cache if
/// they need to). A case's image is a NIfTI file or, for the DICOM layouts (RSNA, CQ500), the
/// files of one DICOM series.
///
/// The cases a ``Dataset`` finds, in every layout, are ``canonical``: scan, mask and slice
/// labels come in the networks' voxel order (LAS, ``Reorientation``), whatever order the files
/// store, so that training and scoring see what inference sees. A per-case output meant to lie
/// beside the files (a baseline's mask) goes back with ``onStoredGrid(_:)``; a per-case input
/// on either grid comes in with ``loadMask(from:scan:)``.
public struct DatasetCase: Sendable, Hashable, Identifiable {
    /// The case name (unique within a dataset, usable as a file name).
    public var name: String
    /// The NIfTI image, or for a DICOM case the first file of its series (by path).
    public var imageURL: URL
    /// The mask (NIfTI, same grid as the image; voxel > 0 is hemorrhage), when there is one.
    public var labelURL: URL?
    /// The lesion map (NIfTI, same grid as the image; 0 background, k ≥ 1 one lesion each),
    /// when the dataset has one: a phantom set's `lesions/` (``PhantomCase/lesionLabels``).
    public var lesionURL: URL?
    /// Per-slice labels in the image's stored slice order (INSTANCE `slices.csv`, PhysioNet's
    /// CSV), when the dataset lists them.
    public var tableLabels: [Float]?
    /// The file the table labels came from (named in errors).
    public var tableURL: URL?
    /// For a DICOM case: the files of its series, sorted by path.
    public var dicomFiles: [URL]?
    /// For a DICOM case with per-file labels (RSNA): one label per file of ``dicomFiles``.
    public var fileLabels: [Float]?
    /// Scan-level labels where the dataset gives them: subtype name -> 0 or 1, plus `"any"`.
    public var scanLabels: [String: Float]?
    /// Load scan, mask and labels in the networks' voxel order (LAS) rather than as stored.
    public var canonical: Bool

    /// The case name (unique within a dataset).
    public var id: String { name }

    /// A case; each argument sets the property of the same name (nothing is read or checked).
    public init(name: String, imageURL: URL, labelURL: URL? = nil, tableLabels: [Float]? = nil, tableURL: URL? = nil,
                dicomFiles: [URL]? = nil, fileLabels: [Float]? = nil, scanLabels: [String: Float]? = nil, canonical: Bool = false,
                lesionURL: URL? = nil) {
        self.name = name
        self.lesionURL = lesionURL
        self.imageURL = imageURL
        self.labelURL = labelURL
        self.tableLabels = tableLabels
        self.tableURL = tableURL
        self.dicomFiles = dicomFiles
        self.fileLabels = fileLabels
        self.scanLabels = scanLabels
        self.canonical = canonical
    }

    /// The subtypes the scan-level labels mark present (sorted), or nil without scan labels.
    public var subtypes: [String]? {
        scanLabels.map { $0.filter { $0.key != "any" && $0.value > 0 }.map(\.key).sorted() }
    }

    /// The image's NIfTI header (no voxels read).
    /// - Throws: `.invalidParameter` for a DICOM case; errors of ``NIfTI/readHeader(at:)``.
    public func imageHeader() throws -> NIfTIHeader {
        guard dicomFiles == nil else {
            throw CTVolumeError.invalidParameter(name: "imageHeader", reason: "case \(name) is a DICOM series, not a NIfTI file")
        }
        return try NIfTI.readHeader(at: imageURL)
    }

    /// The series of a DICOM case, from its files' headers (its UID is the first file's); nil
    /// for a NIfTI case.
    /// - Throws: as ``DICOMHeader/read(at:)``, for the first file that fails.
    /// - Precondition: ``dicomFiles``, when set, is not empty.
    public func dicomSeries() throws -> DICOMSeries? {
        guard let dicomFiles else { return nil }
        let headers = try dicomFiles.map { try DICOMHeader.read(at: $0) }
        return DICOMSeries(uid: headers[0].seriesInstanceUID, headers: headers)
    }

    /// The scan in Hounsfield units (LAS order for a ``canonical`` case); a DICOM case is read
    /// with the default ``DICOMReadSettings``.
    /// - Throws: as ``NIfTI/readScan(at:)``, or ``dicomSeries()`` and
    ///   ``DICOMSeriesReader/read(_:settings:)``.
    public func loadScan() throws -> ScanVolume {
        let stored = try dicomSeries().map { try DICOMSeriesReader.read($0).scan } ?? NIfTI.readScan(at: imageURL)
        return canonical ? Reorientation(stored).apply(stored) : stored
    }

    /// The mask (voxel > 0 -> 1), checked to lie on the image's grid; nil without a label file.
    /// - Throws: as ``NIfTI/readMask(at:)`` and ``imageHeader()``, and `.gridMismatch` naming
    ///   the label file.
    public func loadMask() throws -> MaskVolume? {
        guard let labelURL else { return nil }
        let image = try imageHeader()
        let mask = try NIfTI.readMask(at: labelURL, matching: image.geometry, shape: image.shape)
        // reordered as its scan is (from the scan's geometry, whatever codes the mask file has)
        return canonical ? Reorientation(shape: image.shape, geometry: image.geometry).apply(mask) : mask
    }

    /// The lesion map (``lesionURL``) with its values as stored, checked to lie on the image's
    /// grid and reordered as the scan is; nil without a lesion file.
    /// - Throws: as ``NIfTI/readLabels(at:matching:shape:tolerance:)`` and ``imageHeader()``.
    public func loadLesionLabels() throws -> MaskVolume? {
        guard let lesionURL else { return nil }
        let image = try imageHeader()
        let labels = try NIfTI.readLabels(at: lesionURL, matching: image.geometry, shape: image.shape)
        return canonical ? Reorientation(shape: image.shape, geometry: image.geometry).apply(labels) : labels
    }

    /// The reorientation from the image file's stored grid to the order ``loadScan()`` gives:
    /// nil for a case that is not ``canonical`` or is a DICOM series (its stored order is the
    /// series reader's, which no file holds).
    /// - Throws: errors of ``imageHeader()``.
    public func storedReorientation() throws -> Reorientation? {
        guard canonical, dicomFiles == nil else { return nil }
        let header = try imageHeader()
        return Reorientation(shape: header.shape, geometry: header.geometry)
    }

    /// A volume on the grid ``loadScan()`` gives, taken back to the image file's grid and
    /// geometry, so that it lies beside the file (and pairs with its label file). Unchanged for
    /// a case stored in LAS, one that is not ``canonical``, or a DICOM series.
    /// - Throws: errors of ``imageHeader()``.
    public func onStoredGrid<V>(_ volume: Volume<V>) throws -> Volume<V> {
        guard canonical, dicomFiles == nil else { return volume }
        let header = try imageHeader()  // read once: it gives both the reorientation and the geometry
        let r = Reorientation(shape: header.shape, geometry: header.geometry)
        return r.isIdentity ? volume : r.invert(volume, geometry: header.geometry)
    }

    /// A mask file made for this case (pseudo-masks, another method's output, the label file)
    /// in the order ``loadScan()`` gives: the file may lie on the image file's stored grid or on
    /// the canonical one.
    /// - Parameters:
    ///   - url: the mask file.
    ///   - scan: the case's scan as ``loadScan()`` gave it, when the caller holds it (spares
    ///     reading it again).
    /// - Throws: as ``NIfTI/readMask(at:matching:shape:)`` against the canonical grid when
    ///   the file lies on neither.
    public func loadMask(from url: URL, scan: ScanVolume? = nil) throws -> MaskVolume {
        if let r = try storedReorientation(), !r.isIdentity {
            let header = try imageHeader()
            do {
                return r.apply(try NIfTI.readMask(at: url, matching: header.geometry, shape: header.shape))
            } catch CTVolumeError.gridMismatch {
                // not on the stored grid: on the canonical one, or on neither (refused below)
            }
        }
        let grid = try scan ?? loadScan()
        return try NIfTI.readMask(at: url, matching: grid.geometry, shape: grid.shape)
    }

    /// Weak labels, one per axial slice (inferior to superior for a ``canonical`` case): from
    /// the mask when there is one (``Volume/sliceLabels``, as `ichnets.slice_labels`), else
    /// from the dataset's table or per-file labels.
    ///
    /// - Throws: `.invalidDataset` when the case has no labels of any kind, when a table lists
    ///   a different number of slices than the image has, or when labels given per stored
    ///   slice cannot follow a canonical case whose stored slices are not axial; errors of
    ///   ``loadMask()``, ``dicomSeries()``, ``DICOMSeriesReader/plan(_:settings:)`` and
    ///   ``imageHeader()``.
    public func sliceLabels() throws -> [Float] {
        if let mask = try loadMask() { return mask.sliceLabels }
        if let series = try dicomSeries(), let fileLabels {
            let plan = try DICOMSeriesReader.plan(series)
            let byURL = Dictionary(uniqueKeysWithValues: zip(series.headers.map(\.url), fileLabels))
            let stored = plan.outputValues(plan.headers.map { byURL[$0.url]! })
            return try inCanonicalOrder(stored, shape: plan.shape, geometry: plan.geometry)
        }
        guard let tableLabels else {
            let what = scanLabels == nil ? "neither a mask nor slice labels" : "scan-level labels only (no mask, no slice labels)"
            throw CTVolumeError.invalidDataset(path: imageURL.path, reason: "case \(name) has \(what); training and scoring need slice labels or masks")
        }
        let header = try imageHeader()
        guard tableLabels.count == header.shape.z else {
            throw CTVolumeError.invalidDataset(path: tableURL?.path ?? "slices.csv",
                                               reason: "case \(name) has \(tableLabels.count) slice rows but its image has \(header.shape.z) slices")
        }
        return try inCanonicalOrder(tableLabels, shape: header.shape, geometry: header.geometry)
    }

    /// Labels per stored slice, in the order a ``canonical`` load gives the slices.
    private func inCanonicalOrder(_ labels: [Float], shape: GridShape, geometry: Geometry) throws -> [Float] {
        guard canonical else { return labels }
        let r = Reorientation(shape: shape, geometry: geometry)
        guard r.permutation[2] == 2 else {
            throw CTVolumeError.invalidDataset(path: imageURL.path, reason: "case \(name): its stored slices are not axial (axes \(geometry.affine.axisCodes)), so per-slice labels cannot follow them")
        }
        return r.flipped[2] ? labels.reversed() : labels
    }
}
