import Foundation

/// Typed choices of a configuration, each Codable as the short text the command line takes and
/// earlier configuration files hold (`"0.3"`, `"otsu"`, `"smoothed:1"`, `"adam"`), so a saved
/// `config.json` reads the same and, in the canonical spellings, its stages keep their keys
/// (another spelling of the same choice is written back canonically). A choice that does not parse is
/// refused when it is decoded or parsed, naming the text, not later when a stage runs.

/// The CAM threshold of the pseudo-mask recipe: Otsu, a percentile, or a fixed value.
/// Text form: `otsu`, `pNN` (a percentile 0...100, e.g. `p90`), or a number (`0.3`).
public enum ThresholdChoice: Sendable, Hashable, Codable, LosslessStringConvertible, ExpressibleByStringLiteral {
    /// ``OtsuThreshold`` per map.
    case otsu
    /// ``PercentileThreshold`` at this percentile (0...100) of each map.
    case percentile(Double)
    /// ``FixedThreshold``: this value.
    case fixed(Float)

    /// A choice from its text form, or nil.
    public init?(_ description: String) {
        guard let parsed = try? Self(parsing: description) else { return nil }
        self = parsed
    }

    /// A choice from its text form.
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` naming the text.
    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if t == "otsu" { self = .otsu; return }
        if t.hasPrefix("p"), let p = Double(t.dropFirst()), p.isFinite, (0...100).contains(p) { self = .percentile(p); return }
        if let v = Float(t), v.isFinite { self = .fixed(v); return }
        throw WeakSupervisionError.invalidParameter(name: "threshold", reason: "\"\(text)\" is not otsu, pNN (a percentile 0...100) or a number")
    }

    /// A literal in the text form (`"otsu"`, `"p90"`, `"0.3"`); a literal that does not parse
    /// is a programming error and stops the program.
    public init(stringLiteral value: String) {
        guard let parsed = Self(value) else { preconditionFailure("ThresholdChoice: \"\(value)\" is not otsu, pNN or a number") }
        self = parsed
    }

    /// The text form: `otsu`, `p90`, `0.3`.
    public var description: String {
        switch self {
        case .otsu: return "otsu"
        case .percentile(let p): return "p" + ChoiceText.number(p)
        case .fixed(let v): return "\(v)"
        }
    }

    /// The threshold this choice names.
    public func threshold() throws -> any MapThreshold {
        switch self {
        case .otsu: return OtsuThreshold()
        case .percentile(let p): return try PercentileThreshold(p)
        case .fixed(let v): return FixedThreshold(v)
        }
    }

    public init(from decoder: any Decoder) throws {
        self = try ChoiceText.decode(from: decoder, Self.init(parsing:))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// A k-means feature of the pseudo-mask recipe (the Codable part of ``VoxelFeature``).
/// Text form: `hu`, `smoothed:SIGMA_MM` (e.g. `smoothed:1`) or `depth:SIGMA_MM` (e.g.
/// `depth:1`: smoothed, then corrected for the brightening towards the skull; `depth:0`
/// corrects the plain HU).
public enum FeatureChoice: Sendable, Hashable, Codable, LosslessStringConvertible, ExpressibleByStringLiteral {
    /// ``VoxelFeature/hu``.
    case hu
    /// ``VoxelFeature/smoothedHU(sigmaMM:)``.
    case smoothedHU(sigmaMM: Double)
    /// ``VoxelFeature/depthCorrectedHU(sigmaMM:)``.
    case depthCorrectedHU(sigmaMM: Double)

    /// A choice from its text form, or nil.
    public init?(_ description: String) {
        guard let parsed = try? Self(parsing: description) else { return nil }
        self = parsed
    }

    /// A choice from its text form.
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` naming the text.
    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if t == "hu" { self = .hu; return }
        if t.hasPrefix("smoothed:"), let s = Double(t.dropFirst("smoothed:".count)), s.isFinite, s > 0 {
            self = .smoothedHU(sigmaMM: s)
            return
        }
        if t.hasPrefix("depth:"), let s = Double(t.dropFirst("depth:".count)), s.isFinite, s >= 0 {
            self = .depthCorrectedHU(sigmaMM: s)
            return
        }
        throw WeakSupervisionError.invalidParameter(name: "features", reason: "\"\(text)\" is not hu, smoothed:SIGMA_MM or depth:SIGMA_MM")
    }

    /// A literal in the text form (`"hu"`, `"smoothed:1"`); a literal that does not parse is a
    /// programming error and stops the program.
    public init(stringLiteral value: String) {
        guard let parsed = Self(value) else { preconditionFailure("FeatureChoice: \"\(value)\" is not hu, smoothed:SIGMA_MM or depth:SIGMA_MM") }
        self = parsed
    }

    /// The text form: `hu`, `smoothed:1`.
    public var description: String {
        switch self {
        case .hu: return "hu"
        case .smoothedHU(let s): return "smoothed:" + ChoiceText.number(s)
        case .depthCorrectedHU(let s): return "depth:" + ChoiceText.number(s)
        }
    }

    /// The feature this choice names.
    public var feature: VoxelFeature {
        switch self {
        case .hu: return .hu
        case .smoothedHU(let s): return .smoothedHU(sigmaMM: s)
        case .depthCorrectedHU(let s): return .depthCorrectedHU(sigmaMM: s)
        }
    }

    public init(from decoder: any Decoder) throws {
        self = try ChoiceText.decode(from: decoder, Self.init(parsing:))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// The optimizer of a training run.
public enum OptimizerKind: String, Sendable, Codable, CaseIterable {
    /// ``Adam`` (L2 weight decay added to the gradient).
    case adam
    /// ``AdamW`` (decoupled weight decay).
    case adamw
    /// ``SGD`` with momentum.
    case sgd
}

/// The learning-rate schedule of a training run.
public enum ScheduleKind: String, Sendable, Codable, CaseIterable {
    /// ``CosineWithWarmup``: linear warm-up, then cosine decay to the minimum rate.
    case cosine
    /// ``ConstantLearningRate``.
    case constant
}

/// The text forms' shared rules.
enum ChoiceText {
    /// A number as the text forms write it: integral values without a fraction (`1`, `90`),
    /// others in Swift's shortest form (`0.5`, `99.5`).
    static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : "\(v)"
    }

    /// Decodes a string and parses it; a parse error becomes a DecodingError naming the text.
    static func decode<T>(from decoder: any Decoder, _ parse: (String) throws -> T) throws -> T {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        do {
            return try parse(text)
        } catch {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "\(error)")
        }
    }
}
