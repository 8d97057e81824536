import Foundation
import NeuralCore

/// Two 3x3 convolutions (no bias), each followed by BatchNorm and ReLU:
/// `relu(bn2(conv2(relu(bn1(conv1(x))))))`. State: `conv1.weight`, `bn1.*`, `conv2.weight`, `bn2.*`.
public final class ConvBlock: Module {
    /// 3x3, padding 1, no bias.
    public let conv1: Conv2d
    /// After `conv1`.
    public let bn1: BatchNorm2d
    /// 3x3, padding 1, no bias.
    public let conv2: Conv2d
    /// After `conv2`.
    public let bn2: BatchNorm2d

    /// A block from `inChannels` to `outChannels` with PyTorch's default initialisation.
    public init(_ inChannels: Int, _ outChannels: Int, using generator: inout some RandomNumberGenerator) {
        conv1 = Conv2d(inChannels, outChannels, kernelSize: 3, stride: 1, padding: 1, bias: false, using: &generator)
        bn1 = BatchNorm2d(outChannels)
        conv2 = Conv2d(outChannels, outChannels, kernelSize: 3, stride: 1, padding: 1, bias: false, using: &generator)
        bn2 = BatchNorm2d(outChannels)
        super.init()
    }

    /// (N, Cin, H, W) → (N, Cout, H, W).
    override public func forward(_ x: Tensor) -> Tensor {
        relu(bn2(conv2(relu(bn1(conv1(x))))))
    }
}

/// The light refinement network of stage 5: a small 2-D U-Net, (N, C, S, S) → one logit map
/// (N, 1, S, S), exactly the reference's `UNetLite`.
///
/// With widths w₀ … w_L: encoder ``ConvBlock``s `down.i` (C → w₀ → … → w_{L−1}), each followed
/// by 2x2 max pooling; `bottom` (w_{L−1} → w_L); decoder `up.j` for levels L−1 … 0, each taking
/// the bilinear x2 upsampling (`align_corners=False`) of the level below concatenated (channels,
/// upsampled first) with the skip of the same level; `head`, a 1x1 convolution (with bias) to
/// one channel. S must be divisible by 2^L. State names are PyTorch's (`down.0.bn1.running_var`,
/// `up.1.conv2.weight`, `head.bias`).
///
/// ```swift
/// let net = try UNetLite(contentsOf: URL(fileURLWithPath: "refiner.safetensors"))
/// net.eval()
/// let logits = withoutGradients { net(slices) }     // (N, 1, S, S)
/// ```
public final class UNetLite: Module, CheckpointedNetwork {
    /// The architecture.
    public let config: UNetLiteConfig
    /// Encoder blocks, shallowest first.
    public let down: [ConvBlock]
    /// The bottom block.
    public let bottom: ConvBlock
    /// Decoder blocks, deepest first.
    public let up: [ConvBlock]
    /// 1x1 convolution to one logit channel.
    public let head: Conv2d

    /// A freshly initialised network (PyTorch's default initialisation).
    ///
    /// - Parameters:
    ///   - config: the architecture (default: the method's, widths [16, 32, 64, 128]).
    ///   - generator: the random source.
    public init(config: UNetLiteConfig = UNetLiteConfig(), using generator: inout some RandomNumberGenerator) {
        let w = config.widths
        precondition(w.count >= 2 && w.allSatisfy { $0 > 0 }, "UNetLite needs at least two positive widths, got \(w)")
        self.config = config
        var down: [ConvBlock] = []
        for i in 0..<(w.count - 1) {
            down.append(ConvBlock(i == 0 ? config.inChannels : w[i - 1], w[i], using: &generator))
        }
        self.down = down
        bottom = ConvBlock(w[w.count - 2], w[w.count - 1], using: &generator)
        var up: [ConvBlock] = []
        for i in (0..<(w.count - 1)).reversed() {
            up.append(ConvBlock(w[i + 1] + w[i], w[i], using: &generator))
        }
        self.up = up
        head = Conv2d(w[0], 1, kernelSize: 1, using: &generator)
        super.init()
    }

    /// A freshly initialised network from a seed (SplitMix64).
    public convenience init(config: UNetLiteConfig = UNetLiteConfig(), seed: UInt64) {
        var generator = SplitMix64(state: seed)
        self.init(config: config, using: &generator)
    }

    /// A freshly initialised network of the architecture a checkpoint's configuration
    /// describes (``CheckpointedNetwork``: `init(contentsOf:)`, `init(checkpoint:source:)`,
    /// `checkpoint` and `save(to:overwrite:)` come with the conformance).
    ///
    /// - Throws: ``NeuralCoreError/invalidConfig(source:reason:)`` when it describes a
    ///   network of another kind.
    public convenience init(checkpointConfiguration configuration: ModelConfig, source: String) throws {
        guard case .unetLite(let config) = configuration else {
            throw NeuralCoreError.invalidConfig(source: source, reason: "the checkpoint holds a \(configuration.kind), not a unet_lite")
        }
        self.init(config: config, seed: 0)
    }

    /// `.unetLite(config)`: what this network's checkpoint carries as `ichct.config`.
    public var checkpointConfiguration: ModelConfig { .unetLite(config) }

    /// `down.0`, …, `bottom`, `up.0`, …, `head`, as the reference registers them.
    override public func children() -> [(key: String, module: Module)] {
        down.enumerated().map { ("down.\($0.offset)", $0.element as Module) }
            + [("bottom", bottom)]
            + up.enumerated().map { ("up.\($0.offset)", $0.element as Module) }
            + [("head", head)]
    }

    /// (N, C, S, S) → (N, 1, S, S) logits.
    override public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == config.inChannels, "UNetLite: input must be (N, \(config.inChannels), S, S), got \(x.shape)")
        let factor = 1 << down.count
        precondition(x.shape[2] % factor == 0 && x.shape[3] % factor == 0,
                     "UNetLite: height and width \(x.shape[2])x\(x.shape[3]) must be divisible by \(factor)")
        var h = x
        var skips: [Tensor] = []
        for block in down {
            h = block(h)
            skips.append(h)
            h = maxPool2d(h, kernelSize: 2)
        }
        h = bottom(h)
        for block in up {
            h = upsampleBilinear(h, scale: 2)
            h = block(Tensor.concatenate([h, skips.removeLast()], axis: 1))
        }
        return head(h)
    }
}
