/// Bilinear resizing of (N, C, H, W) to (outH, outW), `F.interpolate(mode="bilinear",
/// align_corners=False)`.
///
/// For output index d the source coordinate is s = max(0, (d + ½)·r − ½) with r = in/out
/// (equal to 1/scale_factor for an integer scale), i₀ = ⌊s⌋, i₁ = min(i₀ + 1, in − 1),
/// λ = s − i₀; the value mixes rows and columns with weights (1 − λ, λ). The backward pass
/// scatters each output gradient to its four sources with the same weights.
public func bilinearResize(_ x: Tensor, height outH: Int, width outW: Int) -> Tensor {
    precondition(x.rank == 4, "bilinearResize: input must be (N, C, H, W), got \(x.shape)")
    precondition(outH >= 1 && outW >= 1, "bilinearResize: output size \(outH)x\(outW)")
    let h = x.shape[2], w = x.shape[3], planes = x.shape[0] * x.shape[1]
    let rows = BilinearTaps(inSize: h, outSize: outH), cols = BilinearTaps(inSize: w, outSize: outW)
    let out = Tensor(shape: [x.shape[0], x.shape[1], outH, outW]) { y in
        x.withUnsafeBufferPointer { px in
            let src = SharedPointer(px.baseAddress!), dst = SharedPointer(y.baseAddress!)
            if outH >= h {
                // Enlarging: every input row's horizontal interpolation once (h x outW), then each
                // output row a blend of two of them, along contiguous rows. The same products and
                // sums in the same order as the formula below, so the same floats.
                Parallel.forEach(planes, costPerItem: 4 * outH * outW) { plane in
                    let p = src.base + plane * h * w, q = dst.base + plane * outH * outW
                    ScratchPool.shared.with(count: h * outW) { across in
                        for iy in 0 ..< h {
                            let r = p + iy * w, a = across + iy * outW
                            for ox in 0 ..< outW {
                                a[ox] = cols.l0[ox] * r[cols.i0[ox]] + cols.l1[ox] * r[cols.i1[ox]]
                            }
                        }
                        for oy in 0 ..< outH {
                            let h0 = across + rows.i0[oy] * outW, h1 = across + rows.i1[oy] * outW
                            let a0 = rows.l0[oy], a1 = rows.l1[oy]
                            let o = q + oy * outW
                            for ox in 0 ..< outW { o[ox] = a0 * h0[ox] + a1 * h1[ox] }
                        }
                    }
                }
                return
            }
            Parallel.forEach(planes, costPerItem: 8 * outH * outW) { plane in
                let p = src.base + plane * h * w, q = dst.base + plane * outH * outW
                for oy in 0 ..< outH {
                    let r0 = p + rows.i0[oy] * w, r1 = p + rows.i1[oy] * w
                    let a0 = rows.l0[oy], a1 = rows.l1[oy]
                    let o = q + oy * outW
                    for ox in 0 ..< outW {
                        let c0 = cols.i0[ox], c1 = cols.i1[ox], b0 = cols.l0[ox], b1 = cols.l1[ox]
                        o[ox] = a0 * (b0 * r0[c0] + b1 * r0[c1]) + a1 * (b0 * r1[c0] + b1 * r1[c1])
                    }
                }
            }
        }
    }
    // The input's size, not its values: nothing backward reads them.
    let inputCount = x.count, inputShape = x.shape
    return Tensor.record(out, parents: [x], name: "bilinearResize") { gy, _ in
        var dx = Kernel.uninitialized(inputCount)   // planes zeroed below
        dx.withUnsafeMutableBufferPointer { pdx in
            gy.withUnsafeBufferPointer { pg in
                let dst = SharedPointer(pdx.baseAddress!), src = SharedPointer(pg.baseAddress!)
                Parallel.forEach(planes, costPerItem: 8 * outH * outW) { plane in
                    let d = dst.base + plane * h * w, q = src.base + plane * outH * outW
                    d.update(repeating: 0, count: h * w)
                    for oy in 0 ..< outH {
                        let r0 = d + rows.i0[oy] * w, r1 = d + rows.i1[oy] * w
                        let a0 = rows.l0[oy], a1 = rows.l1[oy]
                        let g = q + oy * outW
                        for ox in 0 ..< outW {
                            let c0 = cols.i0[ox], c1 = cols.i1[ox], b0 = cols.l0[ox], b1 = cols.l1[ox]
                            let v = g[ox]
                            r0[c0] += a0 * b0 * v
                            r0[c1] += a0 * b1 * v
                            r1[c0] += a1 * b0 * v
                            r1[c1] += a1 * b1 * v
                        }
                    }
                }
            }
        }
        return [Tensor(shape: inputShape, data: dx)]
    }
}

/// Bilinear upsampling by an integer factor (`scale_factor=k`, `align_corners=False`).
public func upsampleBilinear(_ x: Tensor, scale: Int = 2) -> Tensor {
    precondition(x.rank == 4 && scale >= 1, "upsampleBilinear: input \(x.shape), scale \(scale)")
    return bilinearResize(x, height: x.shape[2] * scale, width: x.shape[3] * scale)
}

/// Source indices and weights along one axis (PyTorch's `area_pixel_compute_source_index`).
struct BilinearTaps {
    var i0: [Int] = [], i1: [Int] = [], l0: [Float] = [], l1: [Float] = []
    init(inSize: Int, outSize: Int) {
        let ratio = Float(inSize) / Float(outSize)
        for d in 0 ..< outSize {
            let s = max(0, (Float(d) + 0.5) * ratio - 0.5)
            let a = min(Int(s), inSize - 1)
            let b = a < inSize - 1 ? a + 1 : a
            let lam = s - Float(a)
            i0.append(a); i1.append(b); l0.append(1 - lam); l1.append(lam)
        }
    }
}

/// `nn.Upsample(scale_factor=k, mode="bilinear", align_corners=False)` or to a fixed size.
public final class UpsampleBilinear: Module {
    /// Integer factor, used when `size` is `nil`.
    public let scale: Int
    /// Fixed output (height, width), or `nil`.
    public let size: (Int, Int)?
    /// Upsampling by `scale` (default 2), or to `size` when given.
    public init(scale: Int = 2, size: (Int, Int)? = nil) {
        self.scale = scale
        self.size = size
        super.init()
    }
    /// Resizes (N, C, H, W).
    override public func forward(_ x: Tensor) -> Tensor {
        if let size { return bilinearResize(x, height: size.0, width: size.1) }
        return upsampleBilinear(x, scale: scale)
    }
}
