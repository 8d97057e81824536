import Foundation

/// 2-D convolution (cross-correlation, as PyTorch), batched over images.
///
/// y[n, o, oy, ox] = b[o] + Σ_{c,i,j} w[o, c, i, j] · x[n, c, oy·s − p + i, ox·s − p + j]
/// (zero outside the image). Output extent: ⌊(H + 2p − k) / s⌋ + 1.
///
/// Few output channels over wide maps run in direct AVX-512 kernels where the CPU has them
/// (``DirectConv``: no column matrix); large maps otherwise in spatial tiles (``TiledConv``);
/// the rest with im2col + `cblas_sgemm`: images in chunks whose im2col matrix (C·k·k rows,
/// chunk·Ho·Wo columns) fits a reusable scratch buffer, so one large GEMM
/// `W (O × Ck²) · col (Ck² × chunk·HoWo)` covers several images when feature maps are small.
/// Backward: dW += G · colᵀ, dcol = Wᵀ · G, then col2im. When the weight gradient will be
/// needed, the im2col forms keep their forward columns for it if they fit ``ConvColumns/limit``;
/// larger ones are built again in the backward pass (memory over a little time).
///
/// - Parameters:
///   - x: input (N, C, H, W).
///   - weight: (O, C, kH, kW).
///   - bias: optional (O).
///   - stride: step in both directions (default 1).
///   - padding: zeros added on each side (default 0).
/// - Returns: (N, O, Ho, Wo).
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0) -> Tensor {
    precondition(x.rank == 4 && weight.rank == 4 && x.shape[1] == weight.shape[1],
                 "conv2d: input \(x.shape) and weight \(weight.shape) do not match (NCHW, OCkk)")
    precondition(stride >= 1 && padding >= 0, "conv2d: stride \(stride), padding \(padding)")
    if let bias { precondition(bias.shape == [weight.shape[0]], "conv2d: bias \(bias.shape) for \(weight.shape[0]) outputs") }
    let n = x.shape[0], c = x.shape[1], o = weight.shape[0]
    let g = WindowGeometry(height: x.shape[2], width: x.shape[3], kernelH: weight.shape[2], kernelW: weight.shape[3], stride: stride, padding: padding)
    precondition(g.outH > 0 && g.outW > 0, "conv2d: kernel \(weight.shape[2])x\(weight.shape[3]) larger than padded input \(x.shape)")
    let plan = ConvPlan(n: n, c: c, o: o, g: g)
    let direct = DirectConv.applies(plan) ? DirectConv(n: n, c: c, o: o, g: g) : nil
    let tiled = direct == nil && TiledConv.applies(plan) ? TiledConv(n: n, c: c, o: o, g: g) : nil
    let kept = direct == nil ? ConvColumns.keep(count: plan.k * n * plan.p, for: weight) : nil
    let out = Tensor(shape: [n, o, g.outH, g.outW]) { y in
        x.withUnsafeBufferPointer { px in
            weight.withUnsafeBufferPointer { pw in
                if let direct {
                    if let bias {
                        bias.withUnsafeBufferPointer { pb in direct.forward(px.baseAddress!, pw.baseAddress!, pb.baseAddress!, y.baseAddress!) }
                    } else {
                        direct.forward(px.baseAddress!, pw.baseAddress!, nil, y.baseAddress!)
                    }
                } else if let tiled {
                    if let bias {
                        bias.withUnsafeBufferPointer { pb in tiled.forward(px.baseAddress!, pw.baseAddress!, pb.baseAddress!, y.baseAddress!, keep: kept?.pointer) }
                    } else {
                        tiled.forward(px.baseAddress!, pw.baseAddress!, nil, y.baseAddress!, keep: kept?.pointer)
                    }
                } else {
                    plan.forward(px.baseAddress!, pw.baseAddress!, bias?.data, y.baseAddress!, keep: kept?.pointer)
                }
            }
        }
    }
    let parents = bias.map { [x, weight, $0] } ?? [x, weight]
    return Tensor.record(out, parents: parents, name: "conv2d") { gy, needs in
        var gx: Tensor? = nil, gw: Tensor? = nil, gb: Tensor? = nil
        if needs.count > 2, needs[2] {
            gb = Tensor(shape: [o]) { db in
                gy.withUnsafeBufferPointer { pg in
                    let p = plan.p
                    for k in 0 ..< o { db[k] = 0 }
                    for img in 0 ..< n {
                        for k in 0 ..< o {
                            var acc: Float = 0
                            let base = pg.baseAddress! + (img * o + k) * p
                            for t in 0 ..< p { acc += base[t] }
                            db[k] += acc
                        }
                    }
                }
            }
        }
        x.withUnsafeBufferPointer { px in
            weight.withUnsafeBufferPointer { pw in
                gy.withUnsafeBufferPointer { pg in
                    var dw: [Float]? = needs[1] ? [Float](repeating: 0, count: weight.count) : nil
                    var dx: [Float]? = nil
                    if let direct {
                        if dw != nil {
                            dw!.withUnsafeMutableBufferPointer { direct.weightGradient(px.baseAddress!, pg.baseAddress!, $0.baseAddress!) }
                        }
                    } else if tiled == nil {
                        // Small maps: both gradients from one pass over the batched chunks.
                        if needs[0] { dx = [Float](repeating: 0, count: x.count) }
                        plan.backward(px.baseAddress!, pw.baseAddress!, pg.baseAddress!, &dw, &dx, kept: kept?.pointer)
                    } else if let tiled, dw != nil {
                        dw!.withUnsafeMutableBufferPointer { tiled.weightGradient(px.baseAddress!, pg.baseAddress!, $0.baseAddress!, kept: kept?.pointer) }
                    }
                    if needs[0], direct != nil || tiled != nil {
                        // the direct and tiled forms: a stride-1 input gradient is the adjoint's
                        // forward pass in the same form; others take col2im
                        if g.adjoint != nil {
                            dx = [Float](unsafeUninitializedCapacity: x.count) { buffer, initialized in
                                if let direct {
                                    direct.inputGradient(pg.baseAddress!, pw.baseAddress!, buffer.baseAddress!)
                                } else {
                                    tiled!.inputGradient(pg.baseAddress!, pw.baseAddress!, buffer.baseAddress!)
                                }
                                initialized = x.count
                            }
                        } else {
                            var none: [Float]? = nil
                            dx = [Float](repeating: 0, count: x.count)
                            plan.backward(px.baseAddress!, pw.baseAddress!, pg.baseAddress!, &none, &dx)
                        }
                    }
                    if let dw { gw = Tensor(shape: weight.shape, data: dw) }
                    if let dx { gx = Tensor(shape: x.shape, data: dx) }
                }
            }
        }
        return needs.count > 2 ? [gx, gw, gb] : [gx, gw]
    }
}

/// The columns of a convolution's forward pass, kept for its weight gradient: the backward
/// pass then multiplies them again instead of building them again. Building them (im2col) was a
/// fifth of the classifier's training step (a profile of the full demo): short rows of small
/// maps, and every second float of the stride-2 convolutions.
final class ConvColumns: @unchecked Sendable {
    /// k·N·P floats, uninitialised until the forward pass fills them.
    let pointer: UnsafeMutablePointer<Float>

    private init(count: Int) { pointer = .allocate(capacity: count) }
    deinit { pointer.deallocate() }

    /// Floats one convolution may keep: 2^23 (32 MB). Every im2col convolution of the demo
    /// classifier's training step (32 slices at 128) fits; of ResNet-18 at 256 on 8 slices, the
    /// stages from 32 x 32 down (the stem and the 64 x 64 stage are built again, so that the
    /// step's peak memory stays below PyTorch's). The direct kernels keep nothing.
    /// `ICHCT_CONV_KEEP` overrides it (0: never keep).
    static let limit: Int = {
        if let s = ProcessInfo.processInfo.environment["ICHCT_CONV_KEEP"], let v = Int(s), v >= 0 { return v }
        return 1 << 23
    }()

    /// Replaces ``limit`` on the current task (tests: 0 takes the path that builds the columns again).
    @TaskLocal static var limitOverride: Int? = nil

    /// Room for `count` floats when a graph is being recorded, the weight will get a gradient
    /// and `count` is within ``limit``; else `nil`.
    static func keep(count: Int, for weight: Tensor) -> ConvColumns? {
        guard GradientMode.enabled, weight.requiresGrad, count > 0, count <= (limitOverride ?? limit) else { return nil }
        return ConvColumns(count: count)
    }
}

/// Sizes and chunking of one convolution call.
struct ConvPlan {
    let n: Int, c: Int, o: Int
    let g: WindowGeometry
    /// Output pixels per image, rows of the column matrix, images per chunk.
    let p: Int, k: Int, chunk: Int
    /// Floats of scratch the column matrix may use (16 MB).
    static let columnBudget = 1 << 22

    init(n: Int, c: Int, o: Int, g: WindowGeometry) {
        self.n = n; self.c = c; self.o = o; self.g = g
        p = g.outH * g.outW
        k = c * g.kernelH * g.kernelW
        chunk = max(1, min(n, ConvPlan.columnBudget / max(1, k * p)))
    }

    var isPointwise: Bool { g.kernelH == 1 && g.kernelW == 1 && g.stride == 1 && g.padding == 0 }

    /// Fills `col` (k × cols·p) for images `first ..< first+count`.
    func fillColumns(_ x: UnsafePointer<Float>, first: Int, count: Int, _ col: UnsafeMutablePointer<Float>) {
        let ld = count * p, hw = g.height * g.width, kk = g.kernelH * g.kernelW
        let src = SharedPointer(x), dst = SharedPointer(col)
        let geometry = g, pp = p, cc = c
        let pointwise = isPointwise
        Parallel.forEach(count * c, costPerItem: kk * p) { item in
            let b = item / cc, ch = item % cc
            let plane = UnsafePointer(src.base + ((first + b) * cc + ch) * hw)
            if pointwise {
                (dst.base + ch * ld + b * pp).update(from: plane, count: pp)
            } else {
                ConvKernels.im2col(plane, geometry, dst.base + ch * kk * ld, colOffset: b * pp, ld: ld)
            }
        }
    }

    /// With `keep` (k·N·P floats), the columns of the chunk of images `first ..<` are built at
    /// `keep + first·k·P` and left there for ``backward(_:_:_:_:_:kept:)``.
    func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: [Float]?, _ y: UnsafeMutablePointer<Float>,
                 keep: UnsafeMutablePointer<Float>? = nil) {
        ScratchPool.shared.with(count: keep == nil ? k * chunk * p : 1) { scratch in
            ScratchPool.shared.with(count: o * chunk * p) { tmp in
                var first = 0
                while first < n {
                    let count = min(chunk, n - first)
                    let cols = count * p
                    let col = keep.map { $0 + first * k * p } ?? scratch
                    fillColumns(x, first: first, count: count, col)
                    let direct = count == 1
                    let target = direct ? y + first * o * p : tmp
                    BLAS.gemm(transA: false, transB: false, m: o, n: cols, k: k, a: w, lda: k, b: col, ldb: cols, beta: 0, c: target, ldc: cols)
                    // Scatter (O, count·P) into NCHW and add the bias.
                    let t = SharedPointer(target), out = SharedPointer(y)
                    let oo = o, pp = p, f = first
                    Parallel.forEach(count * o, costPerItem: p) { item in
                        let b = item / oo, ch = item % oo
                        let dst = out.base + ((f + b) * oo + ch) * pp
                        if !direct { dst.update(from: t.base + ch * cols + b * pp, count: pp) }
                        if let bias {
                            let v = bias[ch]
                            for i in 0 ..< pp { dst[i] += v }
                        }
                    }
                    first += count
                }
            }
        }
    }

    /// dw += G · colᵀ (the columns from `kept`, as ``forward(_:_:_:_:keep:)`` left them, or built
    /// again) and dx += col2im(Wᵀ · G), chunk by chunk.
    func backward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                  _ dw: inout [Float]?, _ dx: inout [Float]?, kept: UnsafePointer<Float>? = nil) {
        ScratchPool.shared.with(count: k * chunk * p) { col in
            ScratchPool.shared.with(count: o * chunk * p) { gtmp in
                var first = 0
                while first < n {
                    let count = min(chunk, n - first)
                    let cols = count * p
                    // Gather the output gradient of the chunk as (O, count·P).
                    let gmat: UnsafePointer<Float>
                    if count == 1 {
                        gmat = gy + first * o * p
                    } else {
                        let src = SharedPointer(gy), dst = SharedPointer(gtmp)
                        let oo = o, pp = p, f = first
                        Parallel.forEach(count * o, costPerItem: p) { item in
                            let b = item / oo, ch = item % oo
                            (dst.base + ch * cols + b * pp).update(from: src.base + ((f + b) * oo + ch) * pp, count: pp)
                        }
                        gmat = UnsafePointer(gtmp)
                    }
                    if dw != nil {
                        let columns: UnsafePointer<Float>
                        if let kept {
                            columns = kept + first * k * p
                        } else {
                            fillColumns(x, first: first, count: count, col)
                            columns = UnsafePointer(col)
                        }
                        dw!.withUnsafeMutableBufferPointer { pdw in
                            BLAS.gemm(transA: false, transB: true, m: o, n: k, k: cols, a: gmat, lda: cols, b: columns, ldb: cols, beta: 1, c: pdw.baseAddress!, ldc: k)
                        }
                    }
                    if dx != nil {
                        BLAS.gemm(transA: true, transB: false, m: k, n: cols, k: o, a: w, lda: k, b: gmat, ldb: cols, beta: 0, c: col, ldc: cols)
                        dx!.withUnsafeMutableBufferPointer { pdx in
                            let dst = SharedPointer(pdx.baseAddress!), src = SharedPointer(col)
                            let hw = g.height * g.width, kk = g.kernelH * g.kernelW, cc = c, pp = p
                            let geometry = g, pointwise = isPointwise, f = first
                            Parallel.forEach(count * c, costPerItem: kk * p) { item in
                                let b = item / cc, ch = item % cc
                                let plane = dst.base + ((f + b) * cc + ch) * hw
                                if pointwise {
                                    let s = src.base + ch * cols + b * pp
                                    for i in 0 ..< pp { plane[i] += s[i] }
                                } else {
                                    ConvKernels.col2im(src.base + ch * kk * cols, colOffset: b * pp, ld: cols, geometry, plane)
                                }
                            }
                        }
                    }
                    first += count
                }
            }
        }
    }
}

/// A 2-D convolution layer, `nn.Conv2d(in, out, kernel, stride, padding, bias)`.
///
/// State: `weight` (O, C, k, k) and, when enabled, `bias` (O).
public final class Conv2d: Module {
    /// How a new convolution's weight is drawn.
    public enum Initialization: Sendable {
        /// `nn.Conv2d`'s default: kaiming_uniform(a = √5), i.e. U(±1/√fan_in); bias U(±1/√fan_in).
        case pytorchDefault
        /// torchvision ResNet: kaiming_normal(mode = fan_out, relu), std √(2/fan_out); bias 0.
        case kaimingNormalFanOut
    }

    /// The kernel, (out, in, k, k).
    public let weight: Tensor
    /// The per-output bias, or `nil`.
    public let bias: Tensor?
    /// Step of the window (both directions).
    public let stride: Int
    /// Zero padding on each side.
    public let padding: Int

    /// A convolution with freshly initialised weights.
    ///
    /// - Parameters:
    ///   - inChannels, outChannels: C and O.
    ///   - kernelSize: k (square kernels).
    ///   - stride: default 1. - padding: default 0. - bias: default `true` (as PyTorch).
    ///   - initialization: default ``Initialization/pytorchDefault``.
    ///   - generator: the random source.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true,
                initialization: Initialization = .pytorchDefault, using generator: inout some RandomNumberGenerator) {
        let shape = [outChannels, inChannels, kernelSize, kernelSize]
        switch initialization {
        case .pytorchDefault:
            weight = Initializers.kaimingUniformDefault(shape, using: &generator)
            self.bias = bias ? Initializers.defaultBias(count: outChannels, fanIn: Initializers.fans(shape).fanIn, using: &generator) : nil
        case .kaimingNormalFanOut:
            weight = Initializers.kaimingNormalFanOut(shape, using: &generator)
            self.bias = bias ? Tensor(zeros: [outChannels], requiresGrad: true) : nil
        }
        self.stride = stride
        self.padding = padding
        super.init()
    }

    /// A convolution with the given weight (and bias) tensors, used as parameters as they are.
    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0) {
        precondition(weight.rank == 4, "Conv2d weight must be (O, C, k, k), got \(weight.shape)")
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
        super.init()
    }

    /// (N, C, H, W) → (N, O, Ho, Wo); see ``conv2d(_:weight:bias:stride:padding:)``.
    override public func forward(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding)
    }
}
