/// How a mask is drawn over a slice.
public enum MaskStyle: Hashable, Sendable {
    /// The mask's boundary pixels (inside pixels with a 4-neighbour outside) in a solid colour.
    case outline(RGBA)
    /// Every mask pixel tinted with the colour at this opacity (0...1).
    case fill(RGBA, opacity: Float)
}

extension RGBAImage {
    /// Draws `mask` (row-major, `width * height`, `true` = inside) in `style`.
    public mutating func draw<C: Collection>(mask: C, style: MaskStyle) where C.Element == Bool {
        precondition(mask.count == width * height, "draw(mask:): \(mask.count) values for \(width) x \(height)")
        let m = Array(mask)
        switch style {
        case .fill(let color, let opacity):
            for p in 0..<m.count where m[p] { blend(p, color, opacity) }
        case .outline(let color):
            for y in 0..<height {
                for x in 0..<width where m[y * width + x] {
                    let p = y * width + x
                    let edge = x == 0 || y == 0 || x == width - 1 || y == height - 1
                        || !m[p - 1] || !m[p + 1] || !m[p - width] || !m[p + width]
                    if edge { blend(p, color, Float(color.a) / 255) }
                }
            }
        }
    }

    /// Overlays a heat map (row-major, `width * height`) through `colormap`.
    ///
    /// Each value is first normalised, `t = clamp((v - range.lowerBound) / (range.upperBound
    /// - range.lowerBound), 0, 1)`; pixels with `t <= threshold` are left alone; the others
    /// are blended with `colormap.color(t)` at opacity `maxOpacity * (t - threshold) / (1 -
    /// threshold)`: an alpha ramp, so that low activations fade into the anatomy.
    ///
    /// - Parameters:
    ///   - range: values mapped to 0 and 1 (default 0...1: a normalised CAM or a probability).
    ///   - colormap: default ``Colormap/inferno``.
    ///   - maxOpacity: opacity at `t = 1` (default 0.7).
    ///   - threshold: `t` at and below which nothing is drawn (default 0.1).
    public mutating func overlay<C: Collection>(heatmap: C, range: ClosedRange<Float> = 0...1, colormap: Colormap = .inferno,
                                                maxOpacity: Float = 0.7, threshold: Float = 0.1) where C.Element == Float {
        precondition(heatmap.count == width * height, "overlay(heatmap:): \(heatmap.count) values for \(width) x \(height)")
        precondition(threshold >= 0 && threshold < 1, "overlay(heatmap:): threshold must be in [0, 1)")
        let span = max(range.upperBound - range.lowerBound, .leastNormalMagnitude)
        for (p, v) in heatmap.enumerated() {
            guard v.isFinite else { continue }
            let t = min(max((v - range.lowerBound) / span, 0), 1)
            guard t > threshold else { continue }
            blend(p, colormap.color(t), maxOpacity * (t - threshold) / (1 - threshold))
        }
    }

    /// Tiles `images` into a grid, left to right then top to bottom.
    ///
    /// - Parameters:
    ///   - columns: images per row (default: `ceil(sqrt(count))`, a near-square grid).
    ///   - spacing: pixels between cells and around the grid (default 2).
    ///   - background: colour of the gaps and of empty cells (default black).
    /// Cells are as large as the largest image; smaller images sit at a cell's top left.
    /// - Precondition: `images` is not empty.
    public static func montage(_ images: [RGBAImage], columns: Int? = nil, spacing: Int = 2, background: RGBA = .black) -> RGBAImage {
        precondition(!images.isEmpty, "montage: no images")
        let cols = max(1, columns ?? Int(Double(images.count).squareRoot().rounded(.up)))
        let rows = (images.count + cols - 1) / cols
        let cw = images.map(\.width).max()!, ch = images.map(\.height).max()!
        var out = RGBAImage(width: cols * cw + (cols + 1) * spacing, height: rows * ch + (rows + 1) * spacing, fill: background)
        for (n, image) in images.enumerated() {
            let x0 = spacing + (n % cols) * (cw + spacing), y0 = spacing + (n / cols) * (ch + spacing)
            for y in 0..<image.height {
                let src = 4 * y * image.width, dst = 4 * ((y0 + y) * out.width + x0)
                out.pixels.replaceSubrange(dst..<(dst + 4 * image.width), with: image.pixels[src..<(src + 4 * image.width)])
            }
        }
        return out
    }
}
