import Foundation

/// One case of a ``Dataset``: where its files are, loaded only when asked.
///
/// Holding a case costs nothing; each `load...` call reads its file again (callers cache if
/// they need to).
public struct DatasetCase: Sendable, Hashable, Identifiable {
    /// The case name: the image's file name without `.nii` / `.nii.gz`.
    public var name: String
    /// `ROOT/data/NAME.nii(.gz)`.
    public var imageURL: URL
    /// `ROOT/label/NAME.nii(.gz)`, when the dataset has a mask for this case.
    public var labelURL: URL?
    /// Per-slice labels from `ROOT/slices.csv`, when it lists this case.
    public var tableLabels: [Float]?
    /// The `slices.csv` the table labels came from (named in errors).
    public var tableURL: URL?

    /// The case name (unique within a dataset).
    public var id: String { name }

    /// - Parameters: see the properties.
    public init(name: String, imageURL: URL, labelURL: URL? = nil, tableLabels: [Float]? = nil, tableURL: URL? = nil) {
        self.name = name
        self.imageURL = imageURL
        self.labelURL = labelURL
        self.tableLabels = tableLabels
        self.tableURL = tableURL
    }

    /// The image's header (no voxels read).
    public func imageHeader() throws -> NIfTIHeader {
        try NIfTI.readHeader(at: imageURL)
    }

    /// The scan in Hounsfield units. - Throws: as ``NIfTI/readScan(at:)``.
    public func loadScan() throws -> ScanVolume {
        try NIfTI.readScan(at: imageURL)
    }

    /// The mask (voxel > 0 -> 1), checked to lie on the image's grid; nil without a label file.
    /// - Throws: as ``NIfTI/readMask(at:)``, and `.gridMismatch` naming the label file.
    public func loadMask() throws -> MaskVolume? {
        guard let labelURL else { return nil }
        let image = try imageHeader()
        return try NIfTI.readMask(at: labelURL, matching: image.geometry, shape: image.shape)
    }

    /// Weak labels, one per axial slice: from the mask when there is one (``Volume/sliceLabels``,
    /// as `ichnets.slice_labels`), else from `slices.csv`.
    ///
    /// - Throws: `.invalidDataset` when the case has neither, or when `slices.csv` lists a
    ///   different number of slices than the image has; errors of ``loadMask()``.
    public func sliceLabels() throws -> [Float] {
        if let mask = try loadMask() { return mask.sliceLabels }
        guard let tableLabels else {
            throw CTVolumeError.invalidDataset(path: imageURL.path, reason: "case \(name) has neither a label file nor rows in slices.csv")
        }
        let slices = try imageHeader().shape.z
        guard tableLabels.count == slices else {
            throw CTVolumeError.invalidDataset(path: tableURL?.path ?? "slices.csv",
                                               reason: "case \(name) has \(tableLabels.count) slice rows but its image has \(slices) slices")
        }
        return tableLabels
    }
}
