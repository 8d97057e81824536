/// `nn.ReLU()`: max(x, 0).
public final class ReLU: Module {
    /// A ReLU layer (no state).
    override public init() { super.init() }
    /// Applies max(x, 0).
    override public func forward(_ x: Tensor) -> Tensor { x.relu() }
}

/// `nn.Sigmoid()`: 1 / (1 + e^(−x)).
public final class Sigmoid: Module {
    /// A sigmoid layer (no state).
    override public init() { super.init() }
    /// Applies the logistic function.
    override public func forward(_ x: Tensor) -> Tensor { x.sigmoid() }
}

/// `nn.Tanh()`.
public final class Tanh: Module {
    /// A tanh layer (no state).
    override public init() { super.init() }
    /// Applies tanh.
    override public func forward(_ x: Tensor) -> Tensor { x.tanh() }
}
