/// Pictures of axial slices: a slice in a window as grey, with a mask drawn over it
/// (outline or translucent fill) and a heat map (a CAM, a probability map) through a
/// colormap; and montages of many slices.
///
///     var renderer = SliceRenderer(window: .subdural)
///     let picture = try renderer.render(scan, slice: 12, mask: truth, heatmap: cam)
///     try PNG.write(picture, to: URL(fileURLWithPath: "slice12.png"))
///
/// Orientation: with ``radiological`` (the default) the picture follows the affine, in the
/// radiological convention: anterior up, the patient's right on the picture's left, whatever
/// voxel order the file stores (the volume is reordered by ``Reorientation`` before drawing;
/// a volume with no stored orientation, or axes its affine cannot tell apart, is taken to be
/// LAS, the networks' order). Slice numbers are the file's slices when they are axial, else
/// the axial slices inferior to superior. Without it, the picture follows voxel indices:
/// column `x` is index `i`, and with ``flipVertically`` the top row shows the largest `j`.
public struct SliceRenderer: Sendable {
    /// Grey-level window. Default ``Window/brain``.
    public var window: Window
    /// How a mask is drawn. Default a red outline.
    public var maskStyle: MaskStyle
    /// Heat-map values mapped to the colormap's ends. Default 0...1.
    public var heatmapRange: ClosedRange<Float>
    /// Heat-map colours. Default ``Colormap/inferno``.
    public var colormap: Colormap
    /// Heat-map opacity at the top of the range. Default 0.7.
    public var heatmapMaxOpacity: Float
    /// Normalised heat-map level at and below which nothing is drawn, in [0, 1) (a
    /// precondition when a heat map is drawn). Default 0.1.
    public var heatmapThreshold: Float
    /// Show the largest `j` at the top, when not ``radiological``. Default true.
    public var flipVertically: Bool
    /// Draw from the affine in the radiological convention (anterior up, patient's right on
    /// the left). Default true.
    public var radiological: Bool

    /// The voxel order that, drawn row j = 0 at the top, shows the radiological convention:
    /// i towards the patient's left, j towards posterior, k towards superior.
    public static let radiologicalCodes = "LPS"

    /// A renderer; every parameter is the property of the same name, with its default.
    public init(window: Window = .brain, maskStyle: MaskStyle = .outline(.red), heatmapRange: ClosedRange<Float> = 0...1,
                colormap: Colormap = .inferno, heatmapMaxOpacity: Float = 0.7, heatmapThreshold: Float = 0.1,
                flipVertically: Bool = true, radiological: Bool = true) {
        self.window = window
        self.maskStyle = maskStyle
        self.heatmapRange = heatmapRange
        self.colormap = colormap
        self.heatmapMaxOpacity = heatmapMaxOpacity
        self.heatmapThreshold = heatmapThreshold
        self.flipVertically = flipVertically
        self.radiological = radiological
    }

    /// A mask to draw and how.
    public struct MaskOverlay: Sendable {
        /// Drawn where a voxel > 0; must share the scan's grid (same shape).
        public var mask: MaskVolume
        /// Outline or fill, and the colour.
        public var style: MaskStyle
        /// `mask` drawn in `style`.
        public init(_ mask: MaskVolume, style: MaskStyle) {
            self.mask = mask
            self.style = style
        }
    }

    /// Axial slice `k` of `scan` as a picture (`x` wide and `y` high for a scan stored axially).
    ///
    /// - Parameters:
    ///   - mask: drawn in ``maskStyle`` where a voxel > 0; must share the scan's grid.
    ///   - heatmap: drawn under the mask (see ``RGBAImage/overlay(heatmap:range:colormap:maxOpacity:threshold:)``);
    ///     must share the scan's grid.
    /// - Throws: ``CTVolumeError/gridMismatch(path:reason:)`` for a mask or heat map of
    ///   another shape, ``CTVolumeError/invalidParameter(name:reason:)`` for a slice outside
    ///   `0 ..< displayedSliceCount(scan)`.
    public func render(_ scan: ScanVolume, slice k: Int, mask: MaskVolume? = nil, heatmap: ScanVolume? = nil) throws -> RGBAImage {
        try render(scan, slice: k, masks: overlays(mask), heatmap: heatmap)
    }

    /// Axial slice `k` with several masks, drawn in order over the heat map, each in its own style.
    /// - Throws: as ``render(_:slice:mask:heatmap:)``.
    public func render(_ scan: ScanVolume, slice k: Int, masks: [MaskOverlay], heatmap: ScanVolume? = nil) throws -> RGBAImage {
        try check(scan, masks: masks, heatmap: heatmap)
        let shown = displayed(scan, masks: masks, heatmap: heatmap)
        guard k >= 0 && k < shown.scan.shape.z else {
            throw CTVolumeError.invalidParameter(name: "slice", reason: "\(k) is outside 0..<\(shown.scan.shape.z)")
        }
        return draw(shown.scan, shown.slice(k), shown.masks, shown.heatmap)
    }

    /// How many axial slices the renderer draws for `scan` (its z, or for a scan stored in
    /// another plane under ``radiological``, the z of its axial reordering).
    public func displayedSliceCount(_ scan: ScanVolume) -> Int {
        radiological ? reorientation(of: scan).targetShape.z : scan.shape.z
    }

    /// The reordering that shows `scan` in the radiological convention (a volume with no
    /// usable orientation is taken as LAS, as ``Reorientation`` takes it for the networks).
    private func reorientation(of scan: ScanVolume) -> Reorientation {
        Reorientation(shape: scan.shape, geometry: scan.geometry, target: Self.radiologicalCodes)
    }

    /// The volumes as drawn (reordered for ``radiological``) and the map from a slice number
    /// of the scan to one of the drawn volume.
    private func displayed(_ scan: ScanVolume, masks: [MaskOverlay], heatmap: ScanVolume?)
        -> (scan: ScanVolume, masks: [MaskOverlay], heatmap: ScanVolume?, slice: (Int) -> Int) {
        guard radiological else { return (scan, masks, heatmap, { $0 }) }
        let r = reorientation(of: scan)
        if r.isIdentity { return (scan, masks, heatmap, { $0 }) }
        let z = r.targetShape.z
        let axial = r.permutation[2] == 2, reversed = r.flipped[2]
        return (r.apply(scan), masks.map { MaskOverlay(r.apply($0.mask), style: $0.style) }, heatmap.map { r.apply($0) },
                { k in axial && reversed ? z - 1 - k : k })
    }

    private func overlays(_ mask: MaskVolume?) -> [MaskOverlay] {
        mask.map { [MaskOverlay($0, style: maskStyle)] } ?? []
    }

    /// Several slices (default all, in order) tiled into one picture; see
    /// ``RGBAImage/montage(_:columns:spacing:background:)`` for `columns` and `spacing`.
    /// - Throws: ``CTVolumeError/invalidParameter(name:reason:)`` for an empty `slices` or a
    ///   slice out of range, ``CTVolumeError/gridMismatch(path:reason:)`` for a mask or heat
    ///   map of another shape.
    public func montage(_ scan: ScanVolume, slices: [Int]? = nil, mask: MaskVolume? = nil, heatmap: ScanVolume? = nil,
                        columns: Int? = nil, spacing: Int = 2) throws -> RGBAImage {
        try montage(scan, slices: slices, masks: overlays(mask), heatmap: heatmap, columns: columns, spacing: spacing)
    }

    /// A montage with several masks, each in its own style.
    /// - Throws: as ``montage(_:slices:mask:heatmap:columns:spacing:)``.
    public func montage(_ scan: ScanVolume, slices: [Int]? = nil, masks: [MaskOverlay], heatmap: ScanVolume? = nil,
                        columns: Int? = nil, spacing: Int = 2) throws -> RGBAImage {
        try check(scan, masks: masks, heatmap: heatmap)
        let shown = displayed(scan, masks: masks, heatmap: heatmap)
        let z = shown.scan.shape.z
        let ks = slices ?? Array(0..<z)
        guard !ks.isEmpty else { throw CTVolumeError.invalidParameter(name: "slices", reason: "no slice to draw") }
        if let bad = ks.first(where: { $0 < 0 || $0 >= z }) {
            throw CTVolumeError.invalidParameter(name: "slice", reason: "\(bad) is outside 0..<\(z)")
        }
        return RGBAImage.montage(ks.map { draw(shown.scan, shown.slice($0), shown.masks, shown.heatmap) }, columns: columns, spacing: spacing)
    }

    private func check(_ scan: ScanVolume, masks: [MaskOverlay], heatmap: ScanVolume?) throws {
        for m in masks.map(\.mask) where m.shape != scan.shape {
            throw CTVolumeError.gridMismatch(path: "mask", reason: "mask grid \(m.shape) differs from the scan's \(scan.shape)")
        }
        if let h = heatmap, h.shape != scan.shape {
            throw CTVolumeError.gridMismatch(path: "heatmap", reason: "heat-map grid \(h.shape) differs from the scan's \(scan.shape)")
        }
    }

    private func draw(_ scan: ScanVolume, _ k: Int, _ masks: [MaskOverlay], _ heatmap: ScanVolume?) -> RGBAImage {
        let (w, h) = (scan.shape.x, scan.shape.y)
        var image = RGBAImage(grey: window.apply(scan.slice(k)), width: w, height: h)
        if let heatmap {
            image.overlay(heatmap: heatmap.slice(k), range: heatmapRange, colormap: colormap,
                          maxOpacity: heatmapMaxOpacity, threshold: heatmapThreshold)
        }
        for m in masks { image.draw(mask: m.mask.slice(k).map { $0 > 0 }, style: m.style) }
        return !radiological && flipVertically ? image.flippedVertically() : image
    }
}
