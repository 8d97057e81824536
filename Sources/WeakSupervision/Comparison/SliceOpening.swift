import CTVolume

/// Runs another segmenter and removes structures thinner than 2n + 1 pixels from its mask
/// (n = `iterations`; 3 pixels for one): a binary opening (erosion then dilation with the 3 x 3
/// square, `iterations` times each) on every axial slice. Thin hyperdense lines that sit inside
/// a CAM region (the falx, the inner table's rim) leave the pseudo-masks this way; so do bleeds
/// as thin.
///
///     opened = dilate^n(erode^n(mask))   (3 x 3 square, outside the image counts as 0)
public struct SliceOpening: Segmenter {
    /// The method whose masks are opened.
    public var base: any Segmenter
    /// Erosions (then as many dilations), >= 1 (default 1).
    public var iterations: Int

    /// A wrapper of `base`; the row keeps `base`'s name.
    public init(base: any Segmenter, iterations: Int = 1) {
        precondition(iterations >= 1, "SliceOpening: iterations must be at least 1")
        self.base = base
        self.iterations = iterations
    }

    /// `base`'s name.
    public var name: String { base.name }

    /// `base`'s mask, opened slice by slice.
    public func segment(_ input: SegmentationCase) throws -> MaskVolume {
        var mask = try base.segment(input)
        mask.voxels = Self.open(mask.voxels, width: mask.shape.x, height: mask.shape.y, slices: mask.shape.z, iterations: iterations)
        return mask
    }

    /// The opening of a stack of row-major slices (values > 0 are foreground; output 0/1).
    public static func open(_ voxels: [UInt8], width: Int, height: Int, slices: Int, iterations: Int) -> [UInt8] {
        var out = voxels.map { $0 > 0 ? UInt8(1) : 0 }
        let plane = width * height
        for k in 0..<slices {
            var image = Array(out[(k * plane)..<((k + 1) * plane)])
            guard image.contains(1) else { continue }
            for _ in 0..<iterations { image = step(image, width, height, erode: true) }
            for _ in 0..<iterations { image = step(image, width, height, erode: false) }
            out.replaceSubrange((k * plane)..<((k + 1) * plane), with: image)
        }
        return out
    }

    private static func step(_ image: [UInt8], _ w: Int, _ h: Int, erode: Bool) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: image.count)
        for y in 0..<h {
            for x in 0..<w {
                var all = true, any = false
                for dy in -1...1 {
                    for dx in -1...1 {
                        let xx = x + dx, yy = y + dy
                        let v = xx >= 0 && xx < w && yy >= 0 && yy < h ? image[yy * w + xx] : 0
                        if v > 0 { any = true } else { all = false }
                    }
                }
                out[y * w + x] = (erode ? all : any) ? 1 : 0
            }
        }
        return out
    }
}
