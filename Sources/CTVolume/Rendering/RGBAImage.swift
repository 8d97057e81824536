/// An 8-bit colour with alpha.
public struct RGBA: Hashable, Sendable, Codable {
    /// Red, green, blue and alpha (255 = opaque), 0...255.
    public var r: UInt8, g: UInt8, b: UInt8, a: UInt8

    /// A colour from its channels; opaque unless `a` says otherwise.
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8, _ a: UInt8 = 255) {
        self.r = r; self.g = g; self.b = b; self.a = a
    }

    /// A grey level, opaque.
    public init(grey: UInt8) { self.init(grey, grey, grey) }

    /// (0, 0, 0).
    public static let black = RGBA(0, 0, 0)
    /// (255, 255, 255).
    public static let white = RGBA(255, 255, 255)
    /// (255, 40, 40): ground-truth and predicted masks.
    public static let red = RGBA(255, 40, 40)
    /// (40, 220, 60).
    public static let green = RGBA(40, 220, 60)
    /// (0, 220, 255): the intracranial mask in `ichctl render`.
    public static let cyan = RGBA(0, 220, 255)
    /// (255, 220, 0).
    public static let yellow = RGBA(255, 220, 0)
}

/// A row-major 8-bit RGBA picture: pixel (x, y) is `pixels[4 * (y * width + x) ..< + 4]`,
/// row 0 at the top. What the renderers draw on and ``PNG`` writes.
public struct RGBAImage: Hashable, Sendable {
    /// Columns.
    public let width: Int
    /// Rows.
    public let height: Int
    /// `4 * width * height` bytes, R G B A per pixel.
    public var pixels: [UInt8]

    /// - Precondition: `pixels.count == 4 * width * height`, sizes positive.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == 4 * width * height,
                     "RGBAImage: \(pixels.count) bytes for \(width) x \(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A picture of one colour.
    public init(width: Int, height: Int, fill: RGBA = .black) {
        var px = [UInt8](repeating: 0, count: 4 * width * height)
        for p in 0..<(width * height) {
            px[4 * p] = fill.r; px[4 * p + 1] = fill.g; px[4 * p + 2] = fill.b; px[4 * p + 3] = fill.a
        }
        self.init(width: width, height: height, pixels: px)
    }

    /// Values in [0, 1] (clamped) as opaque grey, `round(255 * v)`: a windowed slice.
    public init<C: Collection>(grey values: C, width: Int, height: Int) where C.Element == Float {
        precondition(values.count == width * height, "RGBAImage(grey:): \(values.count) values for \(width) x \(height)")
        var px = [UInt8](repeating: 255, count: 4 * width * height)
        for (p, v) in values.enumerated() {
            let g = UInt8((min(max(v, 0), 1) * 255).rounded())
            px[4 * p] = g; px[4 * p + 1] = g; px[4 * p + 2] = g
        }
        self.init(width: width, height: height, pixels: px)
    }

    /// The colour at column `x`, row `y`.
    public subscript(x x: Int, y y: Int) -> RGBA {
        get {
            let o = 4 * (y * width + x)
            return RGBA(pixels[o], pixels[o + 1], pixels[o + 2], pixels[o + 3])
        }
        set {
            let o = 4 * (y * width + x)
            pixels[o] = newValue.r; pixels[o + 1] = newValue.g; pixels[o + 2] = newValue.b; pixels[o + 3] = newValue.a
        }
    }

    /// Alpha-blends `color` at opacity `alpha` (0...1) over pixel `p` ("over" with an
    /// opaque destination: `dst = alpha * color + (1 - alpha) * dst`).
    @inline(__always)
    mutating func blend(_ p: Int, _ color: RGBA, _ alpha: Float) {
        let a = min(max(alpha, 0), 1)
        guard a > 0 else { return }
        let o = 4 * p
        pixels[o] = UInt8((a * Float(color.r) + (1 - a) * Float(pixels[o])).rounded())
        pixels[o + 1] = UInt8((a * Float(color.g) + (1 - a) * Float(pixels[o + 1])).rounded())
        pixels[o + 2] = UInt8((a * Float(color.b) + (1 - a) * Float(pixels[o + 2])).rounded())
    }

    /// A vertically mirrored copy (row `y` becomes row `height - 1 - y`).
    public func flippedVertically() -> RGBAImage {
        var out = [UInt8](); out.reserveCapacity(pixels.count)
        let row = 4 * width
        for y in stride(from: height - 1, through: 0, by: -1) { out.append(contentsOf: pixels[(y * row)..<((y + 1) * row)]) }
        return RGBAImage(width: width, height: height, pixels: out)
    }
}
