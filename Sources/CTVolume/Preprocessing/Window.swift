import Foundation

/// A CT display window: maps Hounsfield units linearly onto [0, 1] and clamps.
///
///     apply(hu) = clamp((hu - (center - width / 2)) / width, 0, 1)
///
/// This is `ichnets.window` for one channel. Several windows stacked give the network's
/// input channels (``Window/defaults`` = brain, subdural, bone, as in Docs/method.md#0-data-and-preprocessing).
public struct Window: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Centre (level) of the window in HU.
    public var center: Float
    /// Width of the window in HU; must be positive.
    public var width: Float

    /// A window of this centre and width (HU).
    /// - Precondition: `width > 0` and both are finite.
    public init(center: Float, width: Float) {
        precondition(center.isFinite && width.isFinite && width > 0, "Window: need a finite positive width, got \(width)")
        self.center = center
        self.width = width
    }

    /// Brain window (40, 80): grey/white matter and fresh blood.
    public static let brain = Window(center: 40, width: 80)
    /// Subdural window (80, 200): thin extra-axial collections against the skull.
    public static let subdural = Window(center: 80, width: 200)
    /// Bone window (600, 2800).
    public static let bone = Window(center: 600, width: 2800)
    /// Stroke window (40, 40): narrow, for subtle grey/white contrast.
    public static let stroke = Window(center: 40, width: 40)

    /// The network's default channels, in order: brain, subdural, bone (`ichnets.DEFAULT_WINDOWS`).
    public static let defaults: [Window] = [.brain, .subdural, .bone]

    /// Presets by name, as accepted by ``Window/parse(_:)``.
    public static let presets: [String: Window] = [
        "brain": .brain, "subdural": .subdural, "bone": .bone, "stroke": .stroke,
    ]

    /// Lower edge `center - width / 2`: HU at or below it map to 0.
    @inlinable public var lower: Float { center - width / 2 }

    /// The windowed value `clamp((hu - lower) / width, 0, 1)`.
    @inlinable
    public func apply(_ hu: Float) -> Float {
        let v = (hu - (center - width / 2)) / width
        return min(max(v, 0), 1)
    }

    /// Windows every value of `hu`, in place order: `result[i] = apply(hu[i])`.
    public func apply<C: Collection>(_ hu: C) -> [Float] where C.Element == Float {
        let lo = lower, w = width
        return hu.map { min(max(($0 - lo) / w, 0), 1) }
    }

    /// A window from a preset name (`brain`, `subdural`, `bone`, `stroke`, any case) or from
    /// `"C,W"` (centre and width in HU, e.g. `"40,80"`, `"-600,1500"`).
    /// - Throws: ``CTVolumeError/invalidParameter(name:reason:)`` naming the text.
    public static func parse(_ text: String) throws -> Window {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if let preset = presets[trimmed] { return preset }
        let parts = trimmed.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 2,
              let c = Float(parts[0].trimmingCharacters(in: .whitespaces)),
              let w = Float(parts[1].trimmingCharacters(in: .whitespaces)) else {
            throw CTVolumeError.invalidParameter(
                name: "window", reason: "'\(text)' is neither a preset (\(presets.keys.sorted().joined(separator: ", "))) nor 'CENTER,WIDTH'")
        }
        guard c.isFinite, w.isFinite, w > 0 else {
            throw CTVolumeError.invalidParameter(name: "window", reason: "'\(text)': width must be positive and both numbers finite")
        }
        return Window(center: c, width: w)
    }

    /// Stacks several windows of the same image as channels: the result is `(C, N)`
    /// row-major, channel `c` holding `windows[c].apply(hu)` (`ichnets.window`).
    public static func stack<C: Collection>(_ hu: C, windows: [Window] = Window.defaults) -> [Float] where C.Element == Float {
        var out = [Float]()
        out.reserveCapacity(hu.count * windows.count)
        for w in windows { out.append(contentsOf: w.apply(hu)) }
        return out
    }

    /// `"C,W"`, the form ``parse(_:)`` reads back.
    public var description: String { "\(center.formatted()),\(width.formatted())" }
}

extension Float {
    /// Shortest decimal text: "40" for 40.0, "0.5" for 0.5.
    fileprivate func formatted() -> String {
        self == rounded() && abs(self) < 1e7 ? String(Int(self)) : String(self)
    }
}
