import NeuralCore

/// The classifier's encoder cut at any residual stage, so that a CAM can be taken at
/// `layer1` … `layerK` with the rest of the network differentiable from there.
///
/// `ResNetLSTM` exposes its stem (`conv1`, `bn1`) and stages (`layers`) publicly, so the cut
/// is written here over that public API and the network itself is unchanged:
///
///     features(x) = encoderTail(encoderHead(x, through: s), after: s)   for every s in 1...K
///
/// and `featureMaps(x) == encoderHead(x, through: K)`.
extension ResNetLSTM {
    /// PyTorch names of the residual stages: `layer1` … `layerK`.
    public var stageNames: [String] { (1...layers.count).map { "layer\($0)" } }

    /// The 1-based stage index of a PyTorch stage name (`"layer3"` → 3).
    ///
    /// - Throws: ``WeakSupervisionError/invalidParameter(name:reason:)`` naming the valid stages.
    public func stageIndex(of name: String) throws -> Int {
        guard let i = stageNames.firstIndex(of: name) else {
            throw WeakSupervisionError.invalidParameter(
                name: "layer", reason: "\"\(name)\" is not a stage of this network (\(stageNames.joined(separator: ", ")))")
        }
        return i + 1
    }

    /// The output of residual stage `stage` (1-based): stem (`conv1`, `bn1`, ReLU, 3x3/2 max
    /// pooling), then `layer1` … `layer<stage>`.
    ///
    /// - Parameters:
    ///   - x: slices (N, C, S, S).
    ///   - stage: 1 ... K (K = number of stages, 4 by default).
    /// - Returns: (N, w·2^(stage−1), h, w).
    public func encoderHead(_ x: Tensor, through stage: Int) -> Tensor {
        precondition((1...layers.count).contains(stage), "encoderHead: stage \(stage) outside 1...\(layers.count)")
        precondition(x.rank == 4 && x.shape[1] == config.inChannels, "ResNetLSTM: slices must be (N, \(config.inChannels), S, S), got \(x.shape)")
        var h = maxPool2d(relu(bn1(conv1(x))), kernelSize: 3, stride: 2, padding: 1)
        for layer in layers[0..<stage] { h = layer(h) }
        return h
    }

    /// The remaining stages after `stage`: `layer<stage+1>` … `layerK` (identity for the last).
    ///
    /// - Parameters:
    ///   - a: the output of stage `stage`.
    ///   - stage: 1 ... K.
    /// - Returns: the last stage's feature maps, input of ``head(_:batch:time:)``.
    public func encoderTail(_ a: Tensor, after stage: Int) -> Tensor {
        precondition((1...layers.count).contains(stage), "encoderTail: stage \(stage) outside 1...\(layers.count)")
        var h = a
        for layer in layers[stage...] { h = layer(h) }
        return h
    }
}
