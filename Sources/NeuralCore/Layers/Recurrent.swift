import Foundation

/// One direction of one LSTM layer over a batch-first sequence, PyTorch `nn.LSTM` arithmetic:
///
/// gates = x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh, split (i, f, g, o) in that order;
/// i, f, o = σ(·), g = tanh(·); c_t = f ⊙ c_{t−1} + i ⊙ g; h_t = o ⊙ tanh(c_t); h₀ = c₀ = 0.
///
/// Variable lengths follow `pack_padded_sequence`: sequence b uses steps `0 ..< lengths[b]`
/// only (the reverse direction starts at `lengths[b] − 1`), and the outputs past its length are 0.
/// The backward pass is back-propagation through time with one GEMM per step for dh and
/// whole-sequence GEMMs for the weight gradients.
///
/// - Parameters:
///   - x: (B, T, In). - weightIh: (4H, In). - weightHh: (4H, H). - biasIh, biasHh: (4H).
///   - lengths: per-sequence lengths in 1...T, or `nil` for all T.
///   - reverse: run from the last step to the first.
/// - Returns: (B, T, H).
public func lstmLayer(_ x: Tensor, weightIh: Tensor, weightHh: Tensor, biasIh: Tensor, biasHh: Tensor,
                      lengths: [Int]? = nil, reverse: Bool = false) -> Tensor {
    precondition(x.rank == 3, "lstmLayer: input must be (B, T, In), got \(x.shape)")
    let b = x.shape[0], t = x.shape[1], inF = x.shape[2]
    let h4 = weightIh.shape[0], h = h4 / 4
    precondition(weightIh.shape == [4 * h, inF] && weightHh.shape == [4 * h, h] && biasIh.shape == [4 * h] && biasHh.shape == [4 * h],
                 "lstmLayer: weights \(weightIh.shape), \(weightHh.shape) do not fit input \(x.shape)")
    let lens = lengths ?? [Int](repeating: t, count: b)
    precondition(lens.count == b && lens.allSatisfy { $0 >= 0 && $0 <= t }, "lstmLayer: lengths \(lens) for batch \(b), \(t) steps")
    let rows = b * t
    // Input projections for every step at once: (B·T, 4H).
    var xg = [Float](repeating: 0, count: rows * h4)
    xg.withUnsafeMutableBufferPointer { pxg in
        let bias = zip(biasIh.data, biasHh.data).map { $0 + $1 }
        for r in 0 ..< rows { (pxg.baseAddress! + r * h4).update(from: bias, count: h4) }
        x.withUnsafeBufferPointer { px in
            weightIh.withUnsafeBufferPointer { pw in
                BLAS.gemm(transA: false, transB: true, m: rows, n: h4, k: inF, a: px.baseAddress!, lda: inF, b: pw.baseAddress!, ldb: inF, beta: 1, c: pxg.baseAddress!, ldc: h4)
            }
        }
    }
    // Saved per (b, t) row: activated gates, previous h and c, new c.
    var acts = [Float](repeating: 0, count: rows * h4)
    var hPrev = [Float](repeating: 0, count: rows * h)
    var cPrev = [Float](repeating: 0, count: rows * h)
    var cNew = [Float](repeating: 0, count: rows * h)
    var output = [Float](repeating: 0, count: rows * h)
    var hState = [Float](repeating: 0, count: b * h), cState = [Float](repeating: 0, count: b * h)
    var gates = [Float](repeating: 0, count: b * h4)
    let steps = reverse ? Array((0 ..< t).reversed()) : Array(0 ..< t)
    weightHh.withUnsafeBufferPointer { pwh in
        for step in steps {
            gates.withUnsafeMutableBufferPointer { pg in
                hState.withUnsafeBufferPointer { ph in
                    BLAS.gemm(transA: false, transB: true, m: b, n: h4, k: h, a: ph.baseAddress!, lda: h, b: pwh.baseAddress!, ldb: h, beta: 0, c: pg.baseAddress!, ldc: h4)
                }
            }
            for s in 0 ..< b where step < lens[s] {
                let r = s * t + step
                for j in 0 ..< h {
                    let gi = gates[s * h4 + j] + xg[r * h4 + j]
                    let gf = gates[s * h4 + h + j] + xg[r * h4 + h + j]
                    let gg = gates[s * h4 + 2 * h + j] + xg[r * h4 + 2 * h + j]
                    let go = gates[s * h4 + 3 * h + j] + xg[r * h4 + 3 * h + j]
                    let i = Tensor.sigmoid(gi), f = Tensor.sigmoid(gf), g = Foundation.tanh(gg), o = Tensor.sigmoid(go)
                    let cp = cState[s * h + j]
                    let c = f * cp + i * g
                    let hv = o * Foundation.tanh(c)
                    acts[r * h4 + j] = i; acts[r * h4 + h + j] = f; acts[r * h4 + 2 * h + j] = g; acts[r * h4 + 3 * h + j] = o
                    hPrev[r * h + j] = hState[s * h + j]
                    cPrev[r * h + j] = cp
                    cNew[r * h + j] = c
                    output[r * h + j] = hv
                }
                for j in 0 ..< h {
                    cState[s * h + j] = cNew[r * h + j]
                    hState[s * h + j] = output[r * h + j]
                }
            }
        }
    }
    let out = Tensor(shape: [b, t, h], data: output)
    let parents = [x, weightIh, weightHh, biasIh, biasHh]
    let savedActs = acts, savedHPrev = hPrev, savedCPrev = cPrev, savedC = cNew
    return Tensor.record(out, parents: parents, name: "lstm") { gOut, needs in
        var dG = [Float](repeating: 0, count: rows * h4)   // gradient w.r.t. pre-activation gates
        var dh = [Float](repeating: 0, count: b * h), dc = [Float](repeating: 0, count: b * h)
        var dhPrev = [Float](repeating: 0, count: b * h)
        var stepGrad = [Float](repeating: 0, count: b * h4)
        let go = gOut.data
        weightHh.withUnsafeBufferPointer { pwh in
            for step in steps.reversed() {
                for s in 0 ..< b {
                    let active = step < lens[s]
                    let r = s * t + step
                    for j in 0 ..< h {
                        if !active { for q in 0 ..< 4 { stepGrad[s * h4 + q * h + j] = 0 }; continue }
                        let i = savedActs[r * h4 + j], f = savedActs[r * h4 + h + j]
                        let g = savedActs[r * h4 + 2 * h + j], o = savedActs[r * h4 + 3 * h + j]
                        let c = savedC[r * h + j], tc = Foundation.tanh(c)
                        let dhv = dh[s * h + j] + go[r * h + j]
                        let dcv = dc[s * h + j] + dhv * o * (1 - tc * tc)
                        let gi = dcv * g * i * (1 - i)
                        let gf = dcv * savedCPrev[r * h + j] * f * (1 - f)
                        let gg = dcv * i * (1 - g * g)
                        let gO = dhv * tc * o * (1 - o)
                        stepGrad[s * h4 + j] = gi; stepGrad[s * h4 + h + j] = gf
                        stepGrad[s * h4 + 2 * h + j] = gg; stepGrad[s * h4 + 3 * h + j] = gO
                        dG[r * h4 + j] = gi; dG[r * h4 + h + j] = gf; dG[r * h4 + 2 * h + j] = gg; dG[r * h4 + 3 * h + j] = gO
                        dc[s * h + j] = dcv * f
                    }
                }
                // dh_{t-1} = dgates · W_hh for active rows; inactive rows pass dh through.
                dhPrev.withUnsafeMutableBufferPointer { pd in
                    stepGrad.withUnsafeBufferPointer { ps in
                        BLAS.gemm(transA: false, transB: false, m: b, n: h, k: h4, a: ps.baseAddress!, lda: h4, b: pwh.baseAddress!, ldb: h, beta: 0, c: pd.baseAddress!, ldc: h)
                    }
                }
                for s in 0 ..< b where step < lens[s] {
                    for j in 0 ..< h { dh[s * h + j] = dhPrev[s * h + j] }
                }
            }
        }
        var grads: [Tensor?] = [nil, nil, nil, nil, nil]
        dG.withUnsafeBufferPointer { pdg in
            if needs[0] {
                grads[0] = Tensor(shape: x.shape) { d in
                    weightIh.withUnsafeBufferPointer { pw in
                        BLAS.gemm(transA: false, transB: false, m: rows, n: inF, k: h4, a: pdg.baseAddress!, lda: h4, b: pw.baseAddress!, ldb: inF, beta: 0, c: d.baseAddress!, ldc: inF)
                    }
                }
            }
            if needs[1] {
                grads[1] = Tensor(shape: weightIh.shape) { d in
                    x.withUnsafeBufferPointer { px in
                        BLAS.gemm(transA: true, transB: false, m: h4, n: inF, k: rows, a: pdg.baseAddress!, lda: h4, b: px.baseAddress!, ldb: inF, beta: 0, c: d.baseAddress!, ldc: inF)
                    }
                }
            }
            if needs[2] {
                grads[2] = Tensor(shape: weightHh.shape) { d in
                    savedHPrev.withUnsafeBufferPointer { ph in
                        BLAS.gemm(transA: true, transB: false, m: h4, n: h, k: rows, a: pdg.baseAddress!, lda: h4, b: ph.baseAddress!, ldb: h, beta: 0, c: d.baseAddress!, ldc: h)
                    }
                }
            }
            if needs[3] || needs[4] {
                var db = [Float](repeating: 0, count: h4)
                for r in 0 ..< rows { for j in 0 ..< h4 { db[j] += pdg[r * h4 + j] } }
                if needs[3] { grads[3] = Tensor(shape: [h4], data: db) }
                if needs[4] { grads[4] = Tensor(shape: [h4], data: db) }
            }
        }
        return grads
    }
}

/// The four tensors of one LSTM layer and direction, PyTorch names in parentheses.
public struct LSTMWeights {
    /// Input-to-hidden weights (`weight_ih_l{k}`), (4H, In), gate blocks i, f, g, o.
    public let weightIh: Tensor
    /// Hidden-to-hidden weights (`weight_hh_l{k}`), (4H, H).
    public let weightHh: Tensor
    /// Input bias (`bias_ih_l{k}`), (4H).
    public let biasIh: Tensor
    /// Hidden bias (`bias_hh_l{k}`), (4H).
    public let biasHh: Tensor
}

/// `nn.LSTM(input_size, hidden_size, num_layers, batch_first=True, bidirectional)`.
///
/// Input (B, T, In) → output (B, T, D·H), D = 2 when bidirectional (forward features first,
/// then reverse, as PyTorch). State names: `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`,
/// `bias_hh_l0`, the same with `_reverse`, then `_l1`... Initialisation U(±1/√H) for all.
/// Layers after the first read the previous layer's (B, T, D·H) output.
public final class LSTM: Module {
    /// Features per step of the input.
    public let inputSize: Int
    /// H, features of each direction's hidden state.
    public let hiddenSize: Int
    /// Stacked layers.
    public let numLayers: Int
    /// Whether a reverse direction runs too.
    public let bidirectional: Bool
    /// Weights indexed `layer * D + direction` (direction 1 = reverse).
    public let cells: [LSTMWeights]

    /// An LSTM with PyTorch's initialisation U(−1/√H, 1/√H).
    public init(inputSize: Int, hiddenSize: Int, numLayers: Int = 1, bidirectional: Bool = false,
                using generator: inout some RandomNumberGenerator) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.numLayers = numLayers
        self.bidirectional = bidirectional
        let d = bidirectional ? 2 : 1
        let bound = 1 / Float(hiddenSize).squareRoot()
        var cells: [LSTMWeights] = []
        for layer in 0 ..< numLayers {
            let inF = layer == 0 ? inputSize : hiddenSize * d
            for _ in 0 ..< d {
                func make(_ shape: [Int]) -> Tensor {
                    Tensor(shape: shape, data: Initializers.uniform(count: shape.reduce(1, *), bound: bound, using: &generator), requiresGrad: true)
                }
                let wih = make([4 * hiddenSize, inF]), whh = make([4 * hiddenSize, hiddenSize])
                let bih = make([4 * hiddenSize]), bhh = make([4 * hiddenSize])
                cells.append(LSTMWeights(weightIh: wih, weightHh: whh, biasIh: bih, biasHh: bhh))
            }
        }
        self.cells = cells
        super.init()
    }

    /// Parameters under PyTorch's names, in `nn.LSTM`'s order.
    override public func ownParameters() -> [(key: String, tensor: Tensor)] {
        let d = bidirectional ? 2 : 1
        var result: [(key: String, tensor: Tensor)] = []
        for layer in 0 ..< numLayers {
            for dir in 0 ..< d {
                let suffix = "_l\(layer)" + (dir == 1 ? "_reverse" : "")
                let w = cells[layer * d + dir]
                result += [("weight_ih" + suffix, w.weightIh), ("weight_hh" + suffix, w.weightHh),
                           ("bias_ih" + suffix, w.biasIh), ("bias_hh" + suffix, w.biasHh)]
            }
        }
        return result
    }

    /// No buffers.
    override public func ownBuffers() -> [(key: String, tensor: Tensor)] { [] }

    /// Runs every sequence to its full length T.
    override public func forward(_ x: Tensor) -> Tensor { run(x, lengths: nil) }

    /// Runs sequences of different lengths (padding after `lengths[b]` steps), then calls
    /// ``Module/forwardHook``.
    ///
    /// - Parameters: `x` (B, T, In); `lengths` one per sequence, in 1...T.
    /// - Returns: (B, T, D·H), zero past each sequence's length.
    public func callAsFunction(_ x: Tensor, lengths: [Int]?) -> Tensor {
        let y = run(x, lengths: lengths)
        forwardHook?(self, y)
        return y
    }

    private func run(_ x: Tensor, lengths: [Int]?) -> Tensor {
        precondition(x.rank == 3 && x.shape[2] == inputSize, "LSTM: input must be (B, T, \(inputSize)), got \(x.shape)")
        let d = bidirectional ? 2 : 1
        var input = x
        for layer in 0 ..< numLayers {
            var outs: [Tensor] = []
            for dir in 0 ..< d {
                let w = cells[layer * d + dir]
                outs.append(lstmLayer(input, weightIh: w.weightIh, weightHh: w.weightHh, biasIh: w.biasIh, biasHh: w.biasHh,
                                      lengths: lengths, reverse: dir == 1))
            }
            input = d == 1 ? outs[0] : Tensor.concatenate(outs, axis: 2)
        }
        return input
    }
}
