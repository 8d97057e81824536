import Foundation
import NeuralCore

/// An intensity window in Hounsfield units: channel value `clamp((hu - (center - width/2)) / width, 0, 1)`.
///
/// Encoded in JSON as the pair `[center, width]`, as the reference configuration writes it.
public struct IntensityWindow: Codable, Sendable, Equatable {
    /// Window centre (HU).
    public var center: Double
    /// Window width (HU), > 0.
    public var width: Double

    /// A window of the given centre and width (HU).
    public init(center: Double, width: Double) {
        self.center = center
        self.width = width
    }

    /// The project's default windows: brain (40, 80), subdural (80, 200), bone (600, 2800).
    public static let defaults: [IntensityWindow] = [
        IntensityWindow(center: 40, width: 80),
        IntensityWindow(center: 80, width: 200),
        IntensityWindow(center: 600, width: 2800),
    ]

    /// Decodes `[center, width]`.
    public init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        center = try c.decode(Double.self)
        width = try c.decode(Double.self)
        guard c.isAtEnd else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "a window is [center, width]")
        }
    }

    /// Encodes `[center, width]`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(center)
        try c.encode(width)
    }
}

/// Architecture of the slice classifier ``ResNetLSTM`` (JSON kind `resnet_lstm`).
///
/// Defaults are the method's: input 256, width 64, blocks [2, 2, 2, 2] (ResNet-18), LSTM hidden
/// 128, bidirectional, the three default windows (one input channel per window).
public struct ResNetLSTMConfig: Codable, Sendable, Equatable {
    /// Side S of the square network input (slices are resampled to S x S).
    public var inputSize: Int
    /// Channels of the first stage, w; stages have w, 2w, 4w, 8w.
    public var width: Int
    /// Number of BasicBlocks in each residual stage (`layer1`, `layer2`, ...).
    public var blocks: [Int]
    /// LSTM hidden size per direction.
    public var hidden: Int
    /// Whether the LSTM runs in both directions.
    public var bidirectional: Bool
    /// Intensity windows, one input channel each.
    public var windows: [IntensityWindow]
    /// How each slice's feature maps become the vector the LSTM reads (default
    /// ``SlicePooling/average``, the method's).
    public var pooling: SlicePooling

    /// A classifier configuration; every parameter has the method's default.
    public init(inputSize: Int = 256, width: Int = 64, blocks: [Int] = [2, 2, 2, 2], hidden: Int = 128,
                bidirectional: Bool = true, windows: [IntensityWindow] = IntensityWindow.defaults,
                pooling: SlicePooling = .average) {
        self.inputSize = inputSize
        self.width = width
        self.blocks = blocks
        self.hidden = hidden
        self.bidirectional = bidirectional
        self.windows = windows
        self.pooling = pooling
    }

    /// Input channels: one per window.
    public var inChannels: Int { windows.count }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case inputSize = "input_size", width, blocks, hidden, bidirectional, windows, pooling
    }

    /// Decodes the JSON form; a missing `pooling` is ``SlicePooling/average`` (every
    /// checkpoint written before the key existed). Any other key (beside a checkpoint's
    /// `kind`) is refused, naming it, so that a misspelt `pooling` cannot quietly give average
    /// pooling.
    public init(from decoder: Decoder) throws {
        try refuseUnknownKeys(decoder, CodingKeys.self, kind: "resnet_lstm")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        inputSize = try c.decode(Int.self, forKey: .inputSize)
        width = try c.decode(Int.self, forKey: .width)
        blocks = try c.decode([Int].self, forKey: .blocks)
        hidden = try c.decode(Int.self, forKey: .hidden)
        bidirectional = try c.decode(Bool.self, forKey: .bidirectional)
        windows = try c.decode([IntensityWindow].self, forKey: .windows)
        pooling = try c.decodeIfPresent(SlicePooling.self, forKey: .pooling) ?? .average
    }

    /// Encodes the JSON form; `pooling` is written only when it is not the default, so the
    /// configuration (and every stage key made from it) of an average-pooled network reads as
    /// it did before the key existed.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(inputSize, forKey: .inputSize)
        try c.encode(width, forKey: .width)
        try c.encode(blocks, forKey: .blocks)
        try c.encode(hidden, forKey: .hidden)
        try c.encode(bidirectional, forKey: .bidirectional)
        try c.encode(windows, forKey: .windows)
        if pooling != .average { try c.encode(pooling, forKey: .pooling) }
    }
}

/// Refuses the first key (in sorted order) of the decoder's object that is neither one of
/// `keys` nor `kind` (a checkpoint's discriminator), naming it and the known ones.
func refuseUnknownKeys<Keys: CodingKey & CaseIterable>(_ decoder: Decoder, _ keys: Keys.Type, kind: String) throws {
    let names = Keys.allCases.map(\.stringValue)
    let present = try decoder.container(keyedBy: AnyCodingKey.self).allKeys.map(\.stringValue)
    if let unknown = present.sorted().first(where: { !names.contains($0) && $0 != "kind" }) {
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
            debugDescription: "unknown \(kind) key \"\(unknown)\" (known: \(names.joined(separator: ", ")))"))
    }
}

/// How ``ResNetLSTM`` reduces a slice's last feature maps (C × h × w) to the C numbers the
/// LSTM reads.
public enum SlicePooling: String, Codable, Sendable, CaseIterable {
    /// The spatial mean of each channel (the method's, torchvision's `avgpool`): a finding that
    /// fills one cell of h · w contributes 1/(h·w) of its response.
    case average
    /// The spatial maximum of each channel (`amax` over h and w): a slice is as positive as its
    /// most positive cell, the pooling of multiple-instance learning, where a slice is
    /// positive when any part of it shows blood.
    case max
}

/// Architecture of the refiner ``UNetLite`` (JSON kind `unet_lite`).
///
/// Defaults are the method's: input 256, widths [16, 32, 64, 128], the three default windows,
/// no neighbouring slices. The input side must be divisible by 2^(widths.count - 1).
///
/// With ``contextSlices`` k > 0 the refiner is 2.5-D: it segments slice z from slices z − k … z + k,
/// each windowed, as (2k + 1) · windows.count input channels (slice-major: all windows of
/// z − k, then of z − k + 1, …); a slice beyond either end of the scan repeats the end slice
/// (``SliceContext``). Its output is still one map, for slice z.
public struct UNetLiteConfig: Codable, Sendable, Equatable {
    /// Side S of the square network input.
    public var inputSize: Int
    /// Channels per level, shallowest first; the last is the bottom block's.
    public var widths: [Int]
    /// Intensity windows, one input channel each per slice seen.
    public var windows: [IntensityWindow]
    /// Neighbouring slices seen on each side of the one segmented (0: the method's 2-D
    /// refiner). JSON `context_slices`, written only when not 0, so that a 2-D checkpoint's
    /// configuration is the one it always was.
    public var contextSlices: Int

    /// A refiner configuration; every parameter has the method's default.
    public init(inputSize: Int = 256, widths: [Int] = [16, 32, 64, 128], windows: [IntensityWindow] = IntensityWindow.defaults,
                contextSlices: Int = 0) {
        self.inputSize = inputSize
        self.widths = widths
        self.windows = windows
        self.contextSlices = contextSlices
    }

    /// Input channels: one per window for each of the 2 · ``contextSlices`` + 1 slices seen.
    public var inChannels: Int { windows.count * slicesSeen }

    /// Slices the network sees for each slice it segments: 2 · ``contextSlices`` + 1.
    public var slicesSeen: Int { 2 * contextSlices + 1 }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case inputSize = "input_size", widths, windows, contextSlices = "context_slices"
    }

    /// Decodes the JSON keys; `context_slices` may be absent (0). Any other key (beside a
    /// checkpoint's `kind`) is refused, naming it, so that a misspelt `contextSlices` cannot
    /// quietly give a 2-D refiner.
    public init(from decoder: Decoder) throws {
        try refuseUnknownKeys(decoder, CodingKeys.self, kind: "unet_lite")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        inputSize = try c.decode(Int.self, forKey: .inputSize)
        widths = try c.decode([Int].self, forKey: .widths)
        windows = try c.decode([IntensityWindow].self, forKey: .windows)
        contextSlices = try c.decodeIfPresent(Int.self, forKey: .contextSlices) ?? 0
    }

    /// Encodes the JSON keys, `context_slices` only when not 0.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(inputSize, forKey: .inputSize)
        try c.encode(widths, forKey: .widths)
        try c.encode(windows, forKey: .windows)
        if contextSlices != 0 { try c.encode(contextSlices, forKey: .contextSlices) }
    }
}

/// A checkpoint of one of the method's networks (``ResNetLSTM`` or ``UNetLite``): NeuralCore's
/// ``NetworkCheckpoint`` with a ``ModelConfig``.
public typealias Checkpoint = NetworkCheckpoint<ModelConfig>

/// The configuration a checkpoint carries in its `ichct.config` metadata: which network and
/// its architecture, input size and windows.
///
/// JSON: `{"kind": "resnet_lstm", "input_size": 256, "width": 64, "blocks": [2,2,2,2],
/// "hidden": 128, "bidirectional": true, "windows": [[40, 80], ...]}` or
/// `{"kind": "unet_lite", "input_size": 256, "widths": [16, 32, 64, 128], "windows": [...]}`
/// (a 2.5-D refiner adds `"context_slices": k`)
/// (the reference's `classifier_config` / `refiner_config`).
public enum ModelConfig: NetworkConfiguration {
    /// The slice classifier.
    case resnetLSTM(ResNetLSTMConfig)
    /// The refinement U-Net.
    case unetLite(UNetLiteConfig)

    /// `resnet_lstm` or `unet_lite`.
    public var kind: String {
        switch self {
        case .resnetLSTM: return "resnet_lstm"
        case .unetLite: return "unet_lite"
        }
    }

    /// Side of the square network input.
    public var inputSize: Int {
        switch self {
        case .resnetLSTM(let c): return c.inputSize
        case .unetLite(let c): return c.inputSize
        }
    }

    /// Intensity windows (one input channel each per slice seen).
    public var windows: [IntensityWindow] {
        switch self {
        case .resnetLSTM(let c): return c.windows
        case .unetLite(let c): return c.windows
        }
    }

    private enum KindKey: String, CodingKey { case kind }

    /// Decodes either kind, dispatching on `kind`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: KindKey.self)
        let kind = try c.decode(String.self, forKey: .kind)
        switch kind {
        case "resnet_lstm": self = .resnetLSTM(try ResNetLSTMConfig(from: decoder))
        case "unet_lite": self = .unetLite(try UNetLiteConfig(from: decoder))
        default:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: c,
                                                   debugDescription: "unknown model kind \"\(kind)\" (expected resnet_lstm or unet_lite)")
        }
    }

    /// Encodes the architecture fields plus `kind`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: KindKey.self)
        try c.encode(kind, forKey: .kind)
        switch self {
        case .resnetLSTM(let config): try config.encode(to: encoder)
        case .unetLite(let config): try config.encode(to: encoder)
        }
    }

    /// Checks that the values describe a buildable network.
    ///
    /// - Throws: ``NeuralCoreError/invalidConfig(source:reason:)`` naming the first bad field.
    public func validate(source: String) throws {
        func bad(_ reason: String) -> NeuralCoreError { .invalidConfig(source: source, reason: reason) }
        guard inputSize > 0 else { throw bad("input_size \(inputSize) must be positive") }
        guard !windows.isEmpty else { throw bad("windows must hold at least one [center, width]") }
        for w in windows where !(w.width > 0) || !w.center.isFinite {
            throw bad("window [\(w.center), \(w.width)] needs a finite center and a positive width")
        }
        switch self {
        case .resnetLSTM(let c):
            guard c.width > 0 else { throw bad("width \(c.width) must be positive") }
            guard !c.blocks.isEmpty, c.blocks.allSatisfy({ $0 > 0 }) else {
                throw bad("blocks \(c.blocks) must be a non-empty list of positive counts")
            }
            guard c.hidden > 0 else { throw bad("hidden \(c.hidden) must be positive") }
            guard c.blocks.count <= 16 else { throw bad("blocks has \(c.blocks.count) stages; at most 16 are supported") }
        case .unetLite(let c):
            guard (2...16).contains(c.widths.count), c.widths.allSatisfy({ $0 > 0 }) else {
                throw bad("widths \(c.widths) must list 2 to 16 positive channel counts")
            }
            let factor = 1 << (c.widths.count - 1)
            guard c.inputSize % factor == 0 else {
                throw bad("input_size \(c.inputSize) must be divisible by \(factor) for \(c.widths.count) levels")
            }
            guard (0...SliceContext.maximum).contains(c.contextSlices) else {
                throw bad("context_slices \(c.contextSlices) must be 0 to \(SliceContext.maximum)")
            }
        }
    }
}
