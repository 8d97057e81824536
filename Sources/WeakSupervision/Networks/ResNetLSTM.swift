import Foundation
import NeuralCore

/// torchvision's ResNet BasicBlock: `relu(bn2(conv2(relu(bn1(conv1(x))))) + identity)`, where
/// identity is `x`, or `downsample(x)` (1x1/stride convolution + BatchNorm, a ``Sequential``
/// named `downsample.0`, `downsample.1`) when the stride or the channel count changes.
public final class BasicBlock: Module {
    /// 3x3/stride, padding 1, no bias.
    public let conv1: Conv2d
    /// After `conv1`.
    public let bn1: BatchNorm2d
    /// 3x3, padding 1, no bias.
    public let conv2: Conv2d
    /// After `conv2`.
    public let bn2: BatchNorm2d
    /// The projection of the identity path, or `nil` when shapes already agree.
    public let downsample: Sequential?

    /// A block from `inChannels` to `outChannels` with the given stride (PyTorch default initialisation).
    public init(_ inChannels: Int, _ outChannels: Int, stride: Int, using generator: inout some RandomNumberGenerator) {
        conv1 = Conv2d(inChannels, outChannels, kernelSize: 3, stride: stride, padding: 1, bias: false, using: &generator)
        bn1 = BatchNorm2d(outChannels)
        conv2 = Conv2d(outChannels, outChannels, kernelSize: 3, stride: 1, padding: 1, bias: false, using: &generator)
        bn2 = BatchNorm2d(outChannels)
        if stride != 1 || inChannels != outChannels {
            downsample = Sequential(Conv2d(inChannels, outChannels, kernelSize: 1, stride: stride, bias: false, using: &generator),
                                    BatchNorm2d(outChannels))
        } else {
            downsample = nil
        }
        super.init()
    }

    /// `conv1`, `bn1`, `conv2`, `bn2`, then `downsample` when present (PyTorch's order).
    override public func children() -> [(key: String, module: Module)] {
        var c: [(key: String, module: Module)] = [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2)]
        if let downsample { c.append(("downsample", downsample)) }
        return c
    }

    /// (N, Cin, H, W) → (N, Cout, H/stride, W/stride).
    override public func forward(_ x: Tensor) -> Tensor {
        let identity = downsample.map { $0(x) } ?? x
        let y = bn2(conv2(relu(bn1(conv1(x)))))
        return relu(y + identity)
    }
}

/// The slice classifier of stage 1, exactly the reference's `ResNetLSTM`: a ResNet encoder per
/// slice, an LSTM across the contiguous slices of a sequence, one logit per slice.
///
/// Encoder: `conv1` 7x7/2 (no bias), `bn1`, ReLU, 3x3/2 max pooling (padding 1), stages
/// `layer1` … `layerK` of ``BasicBlock``s (widths w·2ⁱ, stride 1 for the first stage and 2
/// after), global average pooling (or global max pooling, ``SlicePooling``). Sequence: `lstm` (batch-first, PyTorch gate order and two
/// biases, optionally bidirectional), `fc` Linear(hidden·directions → 1) on every step.
/// Input (B, T, C, S, S), output (B, T) logits. State names are PyTorch's
/// (`layer2.0.downsample.1.running_mean`, `lstm.weight_hh_l0_reverse`, `fc.bias`).
///
/// ``featureMaps(_:)`` and ``head(_:batch:time:)`` are the two halves of ``forward(_:)``:
/// Grad-CAM differentiates the head with respect to the feature maps.
///
/// ```swift
/// let net = try ResNetLSTM(contentsOf: URL(fileURLWithPath: "classifier.safetensors"))
/// let maps = net.featureMaps(slices)                      // (T, 8w, S/32, S/32)
/// let logits = net.head(maps, batch: 1, time: slices.shape[0])   // (1, T)
/// ```
public final class ResNetLSTM: Module, CheckpointedNetwork {
    /// The architecture.
    public let config: ResNetLSTMConfig
    /// 7x7/2 stem convolution, no bias.
    public let conv1: Conv2d
    /// After `conv1`.
    public let bn1: BatchNorm2d
    /// Residual stages `layer1`, `layer2`, … (each a ``Sequential`` of ``BasicBlock``s).
    public let layers: [Sequential]
    /// The recurrent layer over the slices of a sequence.
    public let lstm: LSTM
    /// Linear(hidden · directions → 1), per slice.
    public let fc: Linear

    /// Channels of the feature maps (the last stage's width, 8w for four stages).
    public var featureChannels: Int { config.width << (config.blocks.count - 1) }

    /// A freshly initialised network (PyTorch's default initialisation of every layer).
    ///
    /// - Parameters:
    ///   - config: the architecture (default: the method's ResNet-18 + BiLSTM(128)).
    ///   - generator: the random source.
    public init(config: ResNetLSTMConfig = ResNetLSTMConfig(), using generator: inout some RandomNumberGenerator) {
        precondition(config.width > 0 && !config.blocks.isEmpty && config.blocks.allSatisfy { $0 > 0 } && config.hidden > 0,
                     "ResNetLSTM: invalid configuration \(config)")
        self.config = config
        conv1 = Conv2d(config.inChannels, config.width, kernelSize: 7, stride: 2, padding: 3, bias: false, using: &generator)
        bn1 = BatchNorm2d(config.width)
        var cin = config.width
        var layers: [Sequential] = []
        for (i, n) in config.blocks.enumerated() {
            let cout = config.width << i
            var blocks: [Module] = [BasicBlock(cin, cout, stride: i == 0 ? 1 : 2, using: &generator)]
            for _ in 1..<n { blocks.append(BasicBlock(cout, cout, stride: 1, using: &generator)) }
            layers.append(Sequential(blocks))
            cin = cout
        }
        self.layers = layers
        lstm = LSTM(inputSize: cin, hiddenSize: config.hidden, bidirectional: config.bidirectional, using: &generator)
        fc = Linear(config.hidden * (config.bidirectional ? 2 : 1), 1, using: &generator)
        super.init()
    }

    /// A freshly initialised network from a seed (SplitMix64).
    public convenience init(config: ResNetLSTMConfig = ResNetLSTMConfig(), seed: UInt64) {
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
        guard case .resnetLSTM(let config) = configuration else {
            throw NeuralCoreError.invalidConfig(source: source, reason: "the checkpoint holds a \(configuration.kind), not a resnet_lstm")
        }
        self.init(config: config, seed: 0)
    }

    /// `.resnetLSTM(config)`: what this network's checkpoint carries as `ichct.config`.
    public var checkpointConfiguration: ModelConfig { .resnetLSTM(config) }

    /// `conv1`, `bn1`, `layer1` … `layerK`, `lstm`, `fc`, as the reference registers them.
    override public func children() -> [(key: String, module: Module)] {
        [("conv1", conv1 as Module), ("bn1", bn1)]
            + layers.enumerated().map { ("layer\($0.offset + 1)", $0.element as Module) }
            + [("lstm", lstm), ("fc", fc)]
    }

    /// The last residual stage's output (the default CAM target layer).
    ///
    /// - Parameter x: slices (N, C, S, S).
    /// - Returns: (N, ``featureChannels``, h, w), h = w ≈ S / 32 for four stages.
    public func featureMaps(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == config.inChannels, "ResNetLSTM: slices must be (N, \(config.inChannels), S, S), got \(x.shape)")
        var h = maxPool2d(relu(bn1(conv1(x))), kernelSize: 3, stride: 2, padding: 1)
        for layer in layers { h = layer(h) }
        return h
    }

    /// Per-slice logits from feature maps: spatial mean (or maximum, ``ResNetLSTMConfig/pooling``),
    /// LSTM over each sequence, `fc`.
    ///
    /// - Parameters:
    ///   - maps: (B·T, C, h, w), sequence-major (sequence b's slices are rows b·T ..< (b+1)·T).
    ///   - batch: B. - time: T.
    /// - Returns: (B, T).
    public func head(_ maps: Tensor, batch b: Int, time t: Int) -> Tensor {
        precondition(maps.rank == 4 && maps.shape[0] == b * t, "ResNetLSTM.head: \(maps.shape) is not (\(b)·\(t), C, h, w)")
        let pooled: Tensor
        switch config.pooling {
        case .average:
            pooled = maps.mean(axes: [2, 3]).reshaped([b, t, maps.shape[1]])
        case .max:
            // one window over the whole square map: its maximum, the gradient to the argmax
            precondition(maps.shape[2] == maps.shape[3], "ResNetLSTM.head: max pooling needs square maps, got \(maps.shape)")
            pooled = maxPool2d(maps, kernelSize: maps.shape[2]).reshaped([b, t, maps.shape[1]])
        }
        let sequence = lstm(pooled)
        return fc(sequence).squeezed(axis: 2)
    }

    /// (B, T, C, S, S) → (B, T) logits.
    override public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 5, "ResNetLSTM: input must be (B, T, C, S, S), got \(x.shape)")
        let (b, t) = (x.shape[0], x.shape[1])
        return head(featureMaps(x.flattened(from: 0, to: 1)), batch: b, time: t)
    }
}
