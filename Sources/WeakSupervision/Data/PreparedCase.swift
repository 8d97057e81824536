import Foundation
import CTVolume

/// One case ready for training: every axial slice preprocessed once and kept in memory.
///
/// `slices` is `Preprocessing.preprocess`'s layout, (Z, C, S, S) row-major. A case prepared
/// from a scan keeps one resampled HU plane per slice and windows it when a slice is read
/// (``slice(_:)``, ``slices(_:)``): the values `Preprocessing.preprocess` gives, bit for bit,
/// in a third of the memory with the three default windows (the full preset's refiner cases at
/// 256 held 4 bytes x 3 windows x 65,536 pixels per slice). `labels` holds one
/// weak label per slice (0 or 1); `masks`, for the refiner, holds per-slice targets (Z, S, S)
/// in [0, 1]: the fraction of each network pixel covered by the mask (area averaging of the
/// 0/1 mask as the scan itself is resampled), so small lesions are not lost by a threshold.
public struct PreparedCase: Sendable {
    /// The case name.
    public var name: String
    /// Network side S.
    public var size: Int
    /// Channels C (one per window).
    public var channels: Int
    /// (Z, C, S, S) network input. Reading the whole array builds it (for a case kept as HU,
    /// ``init(name:size:hounsfield:windows:labels:masks:)``); training reads a few slices at a
    /// time (``slices(_:)``). Setting it stores the values as given.
    public var slices: [Float] {
        get {
            if case .windowed(let values) = storage { return values }   // also an outline's empty array
            return Array(slices(0..<sliceCount))
        }
        set { storage = .windowed(newValue) }
    }
    /// Z weak labels.
    public var labels: [Float]
    /// (Z, S, S) segmentation targets in [0, 1], when prepared for the refiner.
    /// Reading it builds the array from the kept targets: those that are all 0 or 1 (a mask
    /// on a grid of the network's side, the full preset's case) are kept as one byte each.
    public var masks: [Float]? {
        get {
            switch targets {
            case nil: return nil
            case .values(let v)?: return v
            case .binary(let b)?: return b.map { Float($0) }
            }
        }
        set { targets = newValue.map(Targets.init) }
    }

    /// What the targets are kept as.
    enum Targets: Sendable {
        /// Any values in [0, 1].
        case values([Float])
        /// Every value 0 or 1, a byte each.
        case binary([UInt8])

        init(_ values: [Float]) {
            self = values.allSatisfy { $0 == 0 || $0 == 1 } ? .binary(values.map { $0 == 1 ? 1 : 0 }) : .values(values)
        }
    }
    var targets: Targets?

    /// What the slices are kept as.
    enum Storage: Sendable {
        /// (Z, C, S, S) windowed values.
        case windowed([Float])
        /// (Z, S, S) resampled HU, and the windows that make the channels.
        case hounsfield([Float], [Window])
    }
    var storage: Storage

    /// The windows of a case kept as HU (nil when its slices were given as values).
    public var windows: [Window]? {
        if case .hounsfield(_, let w) = storage { return w }
        return nil
    }

    /// Z, the number of axial slices.
    public var sliceCount: Int { labels.count }
    /// C · S · S, the values of one slice.
    public var sliceStride: Int { channels * size * size }

    /// A case from values already laid out (tests, or data prepared elsewhere).
    ///
    /// - Parameters:
    ///   - name: case name. - size: S. - channels: C.
    ///   - slices: Z·C·S·S values. - labels: Z values.
    ///   - masks: Z·S·S values or `nil`.
    public init(name: String, size: Int, channels: Int, slices: [Float], labels: [Float], masks: [Float]? = nil) {
        precondition(size > 0 && channels > 0, "PreparedCase: size and channels must be positive")
        precondition(slices.count == labels.count * channels * size * size,
                     "PreparedCase \(name): \(slices.count) values for \(labels.count) slices of \(channels)x\(size)x\(size)")
        precondition(masks == nil || masks!.count == labels.count * size * size, "PreparedCase \(name): masks must be (Z, S, S)")
        self.name = name
        self.size = size
        self.channels = channels
        self.storage = .windowed(slices)
        self.labels = labels
        self.targets = masks.map(Targets.init)
    }

    /// A case kept as resampled HU, windowed when read: `hounsfield` holds Z·S·S values (each
    /// slice already at the network side S, e.g. a scan's slices through
    /// `Preprocessing.resampleStack`),
    /// and slice `k`'s channel `c` is `windows[c].apply` of its plane.
    ///
    /// - Parameters:
    ///   - name: case name. - size: S. - hounsfield: Z·S·S values. - windows: the C channels.
    ///   - labels: Z values. - masks: Z·S·S values or `nil`.
    public init(name: String, size: Int, hounsfield: [Float], windows: [Window], labels: [Float], masks: [Float]? = nil) {
        precondition(size > 0 && !windows.isEmpty, "PreparedCase: size and windows must be positive")
        precondition(hounsfield.count == labels.count * size * size,
                     "PreparedCase \(name): \(hounsfield.count) HU values for \(labels.count) slices of \(size)x\(size)")
        precondition(masks == nil || masks!.count == labels.count * size * size, "PreparedCase \(name): masks must be (Z, S, S)")
        self.name = name
        self.size = size
        self.channels = windows.count
        self.storage = .hounsfield(hounsfield, windows)
        self.labels = labels
        self.targets = masks.map(Targets.init)
    }

    /// A case's outline: its name, labels and targets without its slices. A rank of a
    /// data-parallel run that shards the data holds the cases other ranks own this way: the
    /// epoch plan needs every case's slice count (and, for the refiner, every target), only the
    /// owner reads the slices (``ClassifierTrainer/prepare(dataset:shard:)``).
    ///
    /// - Parameters:
    ///   - name: case name. - size: S. - channels: C (of the slices the owner holds).
    ///   - labels: Z values. - masks: Z·S·S values or `nil`.
    public init(outlineNamed name: String, size: Int, channels: Int, labels: [Float], masks: [Float]? = nil) {
        precondition(size > 0 && channels > 0, "PreparedCase: size and channels must be positive")
        precondition(masks == nil || masks!.count == labels.count * size * size, "PreparedCase \(name): masks must be (Z, S, S)")
        self.name = name
        self.size = size
        self.channels = channels
        self.storage = .windowed([])
        self.labels = labels
        self.targets = masks.map(Targets.init)
    }

    /// Whether this case holds its slices (`false` for an outline, ``init(outlineNamed:size:channels:labels:masks:)``).
    public var holdsSlices: Bool {
        switch storage {
        case .windowed(let values): return values.count == labels.count * sliceStride
        case .hounsfield(let hu, _): return hu.count == labels.count * size * size
        }
    }

    /// Preprocesses a scan (``Preprocessing/preprocess(_:size:windows:)``) with its slice labels
    /// and, optionally, a mask on its grid.
    ///
    /// - Parameters:
    ///   - name: case name.
    ///   - scan: HU volume.
    ///   - labels: one label per axial slice.
    ///   - mask: a mask on the scan's grid (voxel > 0 is ICH) for refiner targets, or `nil`.
    ///   - size: S. - windows: the channels.
    /// - Throws: ``WeakSupervisionError/shapeMismatch(what:expected:got:)`` when labels or mask
    ///   do not fit the scan.
    public init(name: String, scan: ScanVolume, labels: [Float], mask: MaskVolume? = nil, size: Int, windows: [Window]) throws {
        try Self.check(labels, scan: scan, name: name)
        let targets = try mask.map { try Self.targets($0, scan: scan, name: name, size: size) }
        // Preprocessing.preprocess resamples each slice's HU this way, then windows it
        let hu = Preprocessing.resampleStack(scan.voxels, height: scan.shape.y, width: scan.shape.x, count: scan.shape.z, size: size)
        self.init(name: name, size: size, hounsfield: hu,
                  windows: windows, labels: labels, masks: targets)
    }

    /// Throws unless there is one label per slice of `scan`.
    static func check(_ labels: [Float], scan: ScanVolume, name: String) throws {
        guard labels.count == scan.shape.z else {
            throw WeakSupervisionError.shapeMismatch(what: "\(name): slice labels", expected: "\(scan.shape.z) (one per slice)", got: "\(labels.count)")
        }
    }

    /// A dataset case's scan, its mask from `maskURL` on the scan's grid, and its weak labels
    /// (the case's own, else the mask's), as both loading initialisers read them.
    static func read(_ item: DatasetCase, maskURL: URL) throws -> (scan: ScanVolume, mask: MaskVolume, labels: [Float]) {
        let scan = try item.loadScan()
        let mask = try item.loadMask(from: maskURL, scan: scan)
        return (scan, mask, (try? item.sliceLabels()) ?? mask.sliceLabels)
    }

    /// A mask on the scan's grid as (Z, S, S) targets in [0, 1]: each slice's voxels > 0 as 1,
    /// padded with 0 to its square frame and resampled to S as the scan's slices are.
    static func targets(_ mask: MaskVolume, scan: ScanVolume, name: String, size: Int) throws -> [Float] {
        guard mask.shape == scan.shape else {
            throw WeakSupervisionError.shapeMismatch(what: "\(name): mask grid", expected: "\(scan.shape)", got: "\(mask.shape)")
        }
        let binary = mask.voxels.map { $0 > 0 ? Float(1) : 0 }
        return Preprocessing.resampleStack(binary, height: scan.shape.y, width: scan.shape.x, count: scan.shape.z,
                                           size: size, fill: 0).map { min(max($0, 0), 1) }
    }

    /// Loads and preprocesses a dataset case: its scan, its weak labels (from its mask or
    /// `slices.csv`) and, when `maskURL` is given, that mask as refiner target.
    ///
    /// - Parameters:
    ///   - item: the case. - maskURL: a mask file on the image file's grid or on the grid of
    ///     the loaded scan (``DatasetCase/loadMask(from:scan:)``), or `nil`.
    ///   - size: S. - windows: the channels.
    /// - Throws: CTVolume's reading errors (naming the file) and the errors of
    ///   ``init(name:scan:labels:mask:size:windows:)``.
    public init(loading item: DatasetCase, maskURL: URL? = nil, size: Int, windows: [Window]) throws {
        if let maskURL {
            let (scan, mask, labels) = try Self.read(item, maskURL: maskURL)
            try self.init(name: item.name, scan: scan, labels: labels, mask: mask, size: size, windows: windows)
        } else {
            let scan = try item.loadScan()
            try self.init(name: item.name, scan: scan, labels: try item.sliceLabels(), size: size, windows: windows)
        }
    }

    /// A dataset case's outline (``init(outlineNamed:size:channels:labels:masks:)``): its weak
    /// labels as ``init(loading:maskURL:size:windows:)`` reads them and, with `maskURL`, its
    /// targets, without preprocessing its scan (which is read only to place a mask on its grid).
    ///
    /// - Parameters:
    ///   - item: the case. - maskURL: as for ``init(loading:maskURL:size:windows:)``.
    ///   - size: S. - channels: C, the windows the owner of the case preprocesses.
    /// - Throws: as ``init(loading:maskURL:size:windows:)``.
    public init(outlineLoading item: DatasetCase, maskURL: URL? = nil, size: Int, channels: Int) throws {
        guard let maskURL else {
            self.init(outlineNamed: item.name, size: size, channels: channels, labels: try item.sliceLabels())
            return
        }
        let (scan, mask, labels) = try Self.read(item, maskURL: maskURL)
        try Self.check(labels, scan: scan, name: item.name)
        self.init(outlineNamed: item.name, size: size, channels: channels, labels: labels,
                  masks: try Self.targets(mask, scan: scan, name: item.name, size: size))
    }

    /// Slice `k`'s C·S·S input values.
    public func slice(_ k: Int) -> ArraySlice<Float> { slices(k..<(k + 1)) }

    /// The C·S·S input values of the slices in `range`, back to back: a view of the values
    /// given, or the windows applied to the kept HU planes (`Preprocessing.preprocess`'s
    /// arithmetic, the same floats).
    public func slices(_ range: Range<Int>) -> ArraySlice<Float> {
        switch storage {
        case .windowed(let values):
            return values[(range.lowerBound * sliceStride)..<(range.upperBound * sliceStride)]
        case .hounsfield(let hu, let windows):
            let plane = size * size
            // the pointers below are unchecked: the layout must be the one the case was made with
            precondition(range.lowerBound >= 0 && range.upperBound <= sliceCount && hu.count == sliceCount * plane && channels == windows.count,
                         "PreparedCase \(name): slices \(range) of \(sliceCount), or its size, channels or labels changed after it was made")
            var out = [Float](repeating: 0, count: range.count * sliceStride)
            hu.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for (j, k) in range.enumerated() {
                        Preprocessing.window(src.baseAddress! + k * plane, count: plane, windows: windows,
                                             into: dst.baseAddress! + j * sliceStride)
                    }
                }
            }
            return out[...]
        }
    }

    /// Whether the case has refiner targets (without building ``masks``).
    public var hasTargets: Bool { targets != nil }

    /// Slice `k`'s S·S target (requires ``masks``).
    public func mask(_ k: Int) -> ArraySlice<Float> { masks(k..<(k + 1)) }

    /// The S·S targets of the slices in `range`, back to back (requires ``masks``).
    public func masks(_ range: Range<Int>) -> ArraySlice<Float> {
        let plane = size * size, span = (range.lowerBound * plane)..<(range.upperBound * plane)
        switch targets {
        case nil: preconditionFailure("PreparedCase \(name): no targets")
        case .values(let v)?: return v[span]
        case .binary(let b)?: return b[span].map { Float($0) }[...]
        }
    }
}

/// A run of contiguous slices of one case: what one row of a classifier batch holds.
public struct SliceSequence: Hashable, Sendable, Codable {
    /// Index of the case in the training list.
    public var caseIndex: Int
    /// First slice.
    public var start: Int
    /// Number of slices T.
    public var length: Int

    /// A sequence.
    public init(caseIndex: Int, start: Int, length: Int) {
        self.caseIndex = caseIndex
        self.start = start
        self.length = length
    }

    /// The sequences that cover a case of `sliceCount` slices with runs of `length`:
    /// starts 0, L, 2L, … and, when L does not divide Z, one last run ending at the last slice
    /// (it overlaps the one before). A case shorter than L, or `length == 0` (whole volumes),
    /// gives one sequence of all its slices.
    ///
    /// - Parameters:
    ///   - caseIndex: stored in each sequence. - sliceCount: Z. - length: L ≥ 0.
    public static func covering(caseIndex: Int, sliceCount: Int, length: Int) -> [SliceSequence] {
        precondition(length >= 0 && sliceCount > 0, "SliceSequence.covering: need Z > 0 and L ≥ 0")
        guard length > 0, sliceCount > length else { return [SliceSequence(caseIndex: caseIndex, start: 0, length: sliceCount)] }
        var out = stride(from: 0, through: sliceCount - length, by: length).map { SliceSequence(caseIndex: caseIndex, start: $0, length: length) }
        if out.last!.start + length < sliceCount {
            out.append(SliceSequence(caseIndex: caseIndex, start: sliceCount - length, length: length))
        }
        return out
    }
}
