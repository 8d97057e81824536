import ImageCore
/// Inverted dropout, `F.dropout(x, p, training=True)`: each element is zeroed with probability
/// `p` and the survivors are scaled by 1/(1 − p), so the expectation is unchanged.
///
/// - Parameters: `p` in [0, 1); `generator` draws the mask (one draw per element).
public func dropout(_ x: Tensor, p: Float, using generator: inout some RandomNumberGenerator) -> Tensor {
    precondition(p >= 0 && p < 1, "dropout: p must be in [0, 1), got \(p)")
    if p == 0 { return x }
    let scale = 1 / (1 - p)
    let threshold = UInt64(Double(p) * Double(UInt64.max))
    var mask = [Float](repeating: 0, count: x.count)
    for i in 0 ..< x.count where generator.next() >= threshold { mask[i] = scale }
    let m = mask
    let out = Tensor(shape: x.shape, data: Kernel.binary(.mul, x.data, m))
    let inputShape = x.shape   // not its values: the mask is all backward reads
    return Tensor.record(out, parents: [x], name: "dropout") { g, _ in
        [Tensor(shape: inputShape, data: Kernel.binary(.mul, g.data, m))]
    }
}

/// `nn.Dropout(p)`: active in training mode only; its own seeded generator (SplitMix64) makes
/// runs reproducible.
public final class Dropout: Module {
    /// Probability of zeroing an element.
    public let p: Float
    private var state: UInt64

    /// A dropout layer with drop probability `p` (default 0.5) and a generator seed.
    public init(p: Float = 0.5, seed: UInt64 = 0) {
        self.p = p
        self.state = seed
        super.init()
    }

    /// Drops elements in training mode; the identity in evaluation mode.
    override public func forward(_ x: Tensor) -> Tensor {
        guard isTraining else { return x }
        var g = SplitMix64(state: state)
        let y = dropout(x, p: p, using: &g)
        state = g.state
        return y
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): the small generator behind ``Dropout``.
public struct SplitMix64: RandomNumberGenerator {
    /// The generator's state; equal states give equal sequences.
    public var state: UInt64
    /// A generator starting from `state`.
    public init(state: UInt64) { self.state = state }
    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        SeededGenerator.splitMix64(&state)
    }
}
