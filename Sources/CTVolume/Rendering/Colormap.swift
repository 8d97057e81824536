/// A 256-entry colour table for heat maps; ``Colormap/inferno`` is the default.
public struct Colormap: Hashable, Sendable {
    /// A name for messages and the CLI.
    public let name: String
    /// `3 * 256` bytes, R G B per entry.
    public let rgb: [UInt8]

    /// - Precondition: `rgb.count == 768`.
    public init(name: String, rgb: [UInt8]) {
        precondition(rgb.count == 768, "Colormap \(name): need 256 RGB entries, got \(rgb.count / 3)")
        self.name = name
        self.rgb = rgb
    }

    /// The colour of `v` in [0, 1] (clamped): entry `round(255 * v)`.
    public func color(_ v: Float) -> RGBA {
        let i = 3 * Int((min(max(v.isNaN ? 0 : v, 0), 1) * 255).rounded())
        return RGBA(rgb[i], rgb[i + 1], rgb[i + 2])
    }
}
