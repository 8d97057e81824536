/// Max pooling over (N, C, H, W), `F.max_pool2d(x, kernel, stride, padding)` (floor mode).
///
/// y[n, c, oy, ox] = max over the window at (oy·s − p, ox·s − p) of size k×k, padding counting
/// as −∞; Ho = ⌊(H + 2p − k) / s⌋ + 1. The argmax (first maximum in row-major window order,
/// as PyTorch) is kept so that the backward pass routes each gradient to one input.
///
/// - Parameters: `kernelSize` k; `stride` (default k); `padding` (default 0, at most k/2).
public func maxPool2d(_ x: Tensor, kernelSize k: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
    precondition(x.rank == 4, "maxPool2d: input must be (N, C, H, W), got \(x.shape)")
    let s = stride ?? k
    precondition(k >= 1 && s >= 1 && padding >= 0 && padding <= k / 2, "maxPool2d: kernel \(k), stride \(s), padding \(padding)")
    let g = WindowGeometry(height: x.shape[2], width: x.shape[3], kernelH: k, kernelW: k, stride: s, padding: padding)
    let planes = x.shape[0] * x.shape[1], hw = g.height * g.width, oh = g.outH, ow = g.outW
    precondition(oh > 0 && ow > 0, "maxPool2d: window larger than input \(x.shape)")
    var argmax = [Int32](repeating: 0, count: planes * oh * ow)
    let out = Tensor(shape: [x.shape[0], x.shape[1], oh, ow]) { y in
        x.withUnsafeBufferPointer { px in
            argmax.withUnsafeMutableBufferPointer { pa in
                let src = SharedPointer(px.baseAddress!), dst = SharedPointer(y.baseAddress!), arg = SharedPointer(pa.baseAddress!)
                Parallel.forEach(planes, costPerItem: oh * ow * k * k) { plane in
                    MaxPoolPlane.forward(src.base + plane * hw, g, dst.base + plane * oh * ow, arg.base + plane * oh * ow)
                }
            }
        }
    }
    let indices = argmax
    // The input's size, not its values: nothing backward reads them.
    let inputCount = x.count, inputShape = x.shape
    return Tensor.record(out, parents: [x], name: "maxPool2d") { gy, _ in
        var dx = Kernel.uninitialized(inputCount)   // planes zeroed below
        dx.withUnsafeMutableBufferPointer { pdx in
            gy.withUnsafeBufferPointer { pg in
                let dst = SharedPointer(pdx.baseAddress!), src = SharedPointer(pg.baseAddress!)
                indices.withUnsafeBufferPointer { pa in
                    let arg = SharedPointer(pa.baseAddress!)
                    Parallel.forEach(planes, costPerItem: hw) { plane in
                        let d = dst.base + plane * hw, q = src.base + plane * oh * ow, a = arg.base + plane * oh * ow
                        d.update(repeating: 0, count: hw)
                        for i in 0 ..< oh * ow { d[Int(a[i])] += q[i] }
                    }
                }
            }
        }
        return [Tensor(shape: inputShape, data: dx)]
    }
}

/// Adaptive average pooling to (outH, outW), `F.adaptive_avg_pool2d`: output cell i averages
/// input rows ⌊i·H/outH⌋ ..< ⌈(i+1)·H/outH⌉ (and likewise for columns).
public func adaptiveAvgPool2d(_ x: Tensor, outputSize: (Int, Int)) -> Tensor {
    precondition(x.rank == 4, "adaptiveAvgPool2d: input must be (N, C, H, W), got \(x.shape)")
    let (oh, ow) = outputSize
    let h = x.shape[2], w = x.shape[3], planes = x.shape[0] * x.shape[1]
    precondition(oh >= 1 && ow >= 1, "adaptiveAvgPool2d: output size \(outputSize)")
    func bounds(_ i: Int, _ inSize: Int, _ outSize: Int) -> (Int, Int) {
        (i * inSize / outSize, ((i + 1) * inSize + outSize - 1) / outSize)
    }
    let rows = (0 ..< oh).map { bounds($0, h, oh) }, cols = (0 ..< ow).map { bounds($0, w, ow) }
    let out = Tensor(shape: [x.shape[0], x.shape[1], oh, ow]) { y in
        x.withUnsafeBufferPointer { px in
            let src = SharedPointer(px.baseAddress!), dst = SharedPointer(y.baseAddress!)
            Parallel.forEach(planes, costPerItem: h * w) { plane in
                let p = src.base + plane * h * w, q = dst.base + plane * oh * ow
                for oy in 0 ..< oh {
                    let (y0, y1) = rows[oy]
                    for ox in 0 ..< ow {
                        let (x0, x1) = cols[ox]
                        var acc: Float = 0
                        for iy in y0 ..< y1 { for ix in x0 ..< x1 { acc += p[iy * w + ix] } }
                        q[oy * ow + ox] = acc / Float((y1 - y0) * (x1 - x0))
                    }
                }
            }
        }
    }
    // The input's size, not its values: nothing backward reads them.
    let inputCount = x.count, inputShape = x.shape
    return Tensor.record(out, parents: [x], name: "adaptiveAvgPool2d") { gy, _ in
        var dx = Kernel.uninitialized(inputCount)   // planes zeroed below
        dx.withUnsafeMutableBufferPointer { pdx in
            gy.withUnsafeBufferPointer { pg in
                let dst = SharedPointer(pdx.baseAddress!), src = SharedPointer(pg.baseAddress!)
                Parallel.forEach(planes, costPerItem: h * w) { plane in
                    let d = dst.base + plane * h * w, q = src.base + plane * oh * ow
                    d.update(repeating: 0, count: h * w)
                    for oy in 0 ..< oh {
                        let (y0, y1) = rows[oy]
                        for ox in 0 ..< ow {
                            let (x0, x1) = cols[ox]
                            let v = q[oy * ow + ox] / Float((y1 - y0) * (x1 - x0))
                            for iy in y0 ..< y1 { for ix in x0 ..< x1 { d[iy * w + ix] += v } }
                        }
                    }
                }
            }
        }
        return [Tensor(shape: inputShape, data: dx)]
    }
}

/// Global average pooling (N, C, H, W) → (N, C): the spatial mean, `x.mean(dim=(2, 3))`.
public func globalAvgPool2d(_ x: Tensor) -> Tensor {
    precondition(x.rank == 4, "globalAvgPool2d: input must be (N, C, H, W), got \(x.shape)")
    let planes = x.shape[0] * x.shape[1], hw = x.shape[2] * x.shape[3]
    let out = Tensor(shape: [x.shape[0], x.shape[1]]) { y in
        x.withUnsafeBufferPointer { px in
            for plane in 0 ..< planes {
                var acc = 0.0
                let p = px.baseAddress! + plane * hw
                for i in 0 ..< hw { acc += Double(p[i]) }
                y[plane] = Float(acc / Double(hw))
            }
        }
    }
    // The input's size, not its values: nothing backward reads them.
    let inputShape = x.shape
    return Tensor.record(out, parents: [x], name: "globalAvgPool2d") { gy, _ in
        [Tensor(shape: inputShape) { d in
            for plane in 0 ..< planes {
                let v = gy.data[plane] / Float(hw)
                (d.baseAddress! + plane * hw).update(repeating: v, count: hw)
            }
        }]
    }
}

/// `nn.MaxPool2d(kernel, stride, padding)`; see ``maxPool2d(_:kernelSize:stride:padding:)``.
public final class MaxPool2d: Module {
    /// Window size, stride and padding.
    public let kernelSize: Int, stride: Int, padding: Int
    /// A max pooling layer; `stride` defaults to the kernel size.
    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
        super.init()
    }
    /// Pools (N, C, H, W).
    override public func forward(_ x: Tensor) -> Tensor { maxPool2d(x, kernelSize: kernelSize, stride: stride, padding: padding) }
}

/// `nn.AdaptiveAvgPool2d(size)`; see ``adaptiveAvgPool2d(_:outputSize:)``.
public final class AdaptiveAvgPool2d: Module {
    /// Output height and width.
    public let outputSize: (Int, Int)
    /// Pools to `outputSize`.
    public init(outputSize: (Int, Int)) {
        self.outputSize = outputSize
        super.init()
    }
    /// Pools (N, C, H, W) to (N, C, outH, outW).
    override public func forward(_ x: Tensor) -> Tensor { adaptiveAvgPool2d(x, outputSize: outputSize) }
}

/// One plane of ``maxPool2d(_:kernelSize:stride:padding:)``'s forward pass.
enum MaxPoolPlane {
    /// The outputs `ox0 ..< ox1` of row `oy`, one window at a time: the definition (padding is
    /// −∞; the first maximum in row-major window order; a NaN wins, the first of its row).
    @inline(__always)
    static func scalar(_ p: UnsafePointer<Float>, _ g: WindowGeometry, _ q: UnsafeMutablePointer<Float>, _ a: UnsafeMutablePointer<Int32>,
                       oy: Int, ox0: Int, ox1: Int) {
        let k = g.kernelH, s = g.stride, ow = g.outW
        let y0 = oy * s - g.padding
        let ys = max(0, y0), ye = min(g.height, y0 + k)
        for ox in ox0 ..< ox1 {
            let x0 = ox * s - g.padding
            let xs = max(0, x0), xe = min(g.width, x0 + k)
            var best = -Float.infinity, where_ = ys * g.width + xs
            for iy in ys ..< ye {
                for ix in xs ..< xe {
                    let v = p[iy * g.width + ix]
                    if v > best || v.isNaN { best = v; where_ = iy * g.width + ix; if v.isNaN { break } }
                }
            }
            q[oy * ow + ox] = best
            a[oy * ow + ox] = Int32(where_)
        }
    }

    /// The plane's outputs: windows that lie wholly inside the row, eight outputs at a time
    /// for strides 1 and 2 (a vector per window tap, `>` and a blend: the same first maximum
    /// in the same order), the rest and any eight whose windows hold a NaN by ``scalar``.
    /// Results equal ``scalar``'s everywhere (values and argmax).
    static func forward(_ p: UnsafePointer<Float>, _ g: WindowGeometry, _ q: UnsafeMutablePointer<Float>, _ a: UnsafeMutablePointer<Int32>) {
        let k = g.kernelH, s = g.stride, pad = g.padding, ow = g.outW, w = g.width
        // ox whose window columns ox·s − pad ..< ox·s − pad + k lie in 0 ..< w
        let first = (pad + s - 1) / s
        let last = w - k + pad >= 0 ? (w - k + pad) / s : -1   // inclusive
        guard s <= 2, last - first + 1 >= 8 else {
            for oy in 0 ..< g.outH { scalar(p, g, q, a, oy: oy, ox0: 0, ox1: ow) }
            return
        }
        let lanes = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) &* Int32(s)
        let raw = UnsafeRawPointer(p)
        for oy in 0 ..< g.outH {
            let y0 = oy * s - pad
            let ys = max(0, y0), ye = min(g.height, y0 + k)
            scalar(p, g, q, a, oy: oy, ox0: 0, ox1: first)
            var ox = first
            while ox + 8 <= last + 1 {
                let x0 = ox * s - pad
                var best = SIMD8<Float>(repeating: -.infinity)
                var index = SIMD8<Int32>(repeating: Int32(ys * w + x0)) &+ lanes
                var nan = SIMDMask<SIMD8<Int32>>(repeating: false)
                for iy in ys ..< ye {
                    for ix in 0 ..< k {
                        let at = iy * w + x0 + ix
                        let v: SIMD8<Float>
                        if s == 1 {
                            v = raw.loadUnaligned(fromByteOffset: at &* 4, as: SIMD8<Float>.self)
                        } else {
                            // the 8 window taps are every second float of 15 from `at`
                            v = SIMD8(p[at], p[at + 2], p[at + 4], p[at + 6], p[at + 8], p[at + 10], p[at + 12], p[at + 14])
                        }
                        let more = v .> best
                        best.replace(with: v, where: more)
                        index.replace(with: SIMD8<Int32>(repeating: Int32(at)) &+ lanes, where: more)
                        nan .|= v .!= v
                    }
                }
                if any(nan) {
                    scalar(p, g, q, a, oy: oy, ox0: ox, ox1: ox + 8)
                } else {
                    UnsafeMutableRawPointer(q + oy * ow + ox).storeBytes(of: best, as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(a + oy * ow + ox).storeBytes(of: index, as: SIMD8<Int32>.self)
                }
                ox += 8
            }
            scalar(p, g, q, a, oy: oy, ox0: ox, ox1: ow)
        }
    }
}
