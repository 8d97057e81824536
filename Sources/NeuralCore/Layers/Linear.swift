/// Affine map over the last dimension, `F.linear`: y = x Wᵀ + b.
///
/// - Parameters:
///   - x: (..., In).
///   - weight: (Out, In). - bias: optional (Out).
/// - Returns: (..., Out).
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    precondition(weight.rank == 2 && x.rank >= 1 && x.shape.last == weight.shape[1],
                 "linear: input \(x.shape) and weight \(weight.shape) do not match")
    let inF = weight.shape[1], outF = weight.shape[0], m = x.count / max(inF, 1)
    if let bias { precondition(bias.shape == [outF], "linear: bias \(bias.shape) for \(outF) outputs") }
    let outShape = Array(x.shape.dropLast()) + [outF]
    let out = Tensor(shape: outShape) { y in
        x.withUnsafeBufferPointer { px in
            weight.withUnsafeBufferPointer { pw in
                if let bias {
                    bias.withUnsafeBufferPointer { pb in
                        for r in 0 ..< m { (y.baseAddress! + r * outF).update(from: pb.baseAddress!, count: outF) }
                    }
                }
                BLAS.gemm(transA: false, transB: true, m: m, n: outF, k: inF, a: px.baseAddress!, lda: inF,
                          b: pw.baseAddress!, ldb: inF, beta: bias == nil ? 0 : 1, c: y.baseAddress!, ldc: outF)
            }
        }
    }
    let parents = bias.map { [x, weight, $0] } ?? [x, weight]
    return Tensor.record(out, parents: parents, name: "linear") { g, needs in
        var gx: Tensor? = nil, gw: Tensor? = nil, gb: Tensor? = nil
        g.withUnsafeBufferPointer { pg in
            if needs[0] {   // dX = G W
                gx = Tensor(shape: x.shape) { d in
                    weight.withUnsafeBufferPointer { pw in
                        BLAS.gemm(transA: false, transB: false, m: m, n: inF, k: outF, a: pg.baseAddress!, lda: outF, b: pw.baseAddress!, ldb: inF, beta: 0, c: d.baseAddress!, ldc: inF)
                    }
                }
            }
            if needs[1] {   // dW = Gᵀ X
                gw = Tensor(shape: weight.shape) { d in
                    x.withUnsafeBufferPointer { px in
                        BLAS.gemm(transA: true, transB: false, m: outF, n: inF, k: m, a: pg.baseAddress!, lda: outF, b: px.baseAddress!, ldb: inF, beta: 0, c: d.baseAddress!, ldc: inF)
                    }
                }
            }
            if needs.count > 2, needs[2] {
                gb = Tensor(shape: [outF]) { d in
                    for j in 0 ..< outF { d[j] = 0 }
                    for r in 0 ..< m { for j in 0 ..< outF { d[j] += pg[r * outF + j] } }
                }
            }
        }
        return needs.count > 2 ? [gx, gw, gb] : [gx, gw]
    }
}

/// `nn.Linear(in, out, bias)`: `weight` (out, in), `bias` (out); PyTorch's default
/// initialisation U(±1/√in) for both.
public final class Linear: Module {
    /// (out, in).
    public let weight: Tensor
    /// (out), or `nil`.
    public let bias: Tensor?

    /// A linear layer with PyTorch's default initialisation (kaiming_uniform(a=√5) ≡ U(±1/√in), bias U(±1/√in)).
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, using generator: inout some RandomNumberGenerator) {
        weight = Initializers.kaimingUniformDefault([outFeatures, inFeatures], using: &generator)
        self.bias = bias ? Initializers.defaultBias(count: outFeatures, fanIn: inFeatures, using: &generator) : nil
        super.init()
    }

    /// A linear layer over given tensors.
    public init(weight: Tensor, bias: Tensor?) {
        self.weight = weight
        self.bias = bias
        super.init()
    }

    /// (..., in) → (..., out).
    override public func forward(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }
}
