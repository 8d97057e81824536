import Foundation
@testable import NeuralCore
import Testing

/// Convolutions over maps that take NeuralCore's spatially tiled path (64 x 64 outputs and more,
/// or 32 x 32 with C·k² ≤ 144: several tiles per image, a partial last tile, several images, both workers), checked
/// against a direct evaluation of the definition in this file:
/// y[n,o,i,j] = b[o] + Σ w[o,c,a,b'] x[n,c,i·s−p+a, j·s−p+b'], and its exact gradients for the
/// loss Σ y ⊙ r: dW[o,c,a,b'] = Σ r[n,o,i,j] x[n,c,…], dx[n,c,u,v] = Σ r[n,o,i,j] w[o,c,…], db[o] = Σ r.
@Suite("Tiled convolution against the direct definition")
struct ConvolutionTilingTests {
    typealias Case = ConvolutionCase

    @Test("which convolutions take the tiled path: large maps, and stride-1 k x k few-channel maps of 32 x 32 over several images only")
    func tilingRule() {
        func tiled(n: Int = 32, c: Int, o: Int, side: Int, k: Int = 3, stride: Int = 1) -> Bool {
            let g = WindowGeometry(height: side, width: side, kernelH: k, kernelW: k, stride: stride, padding: k / 2)
            return TiledConv.applies(ConvPlan(n: n, c: c, o: o, g: g))
        }
        #expect(tiled(c: 3, o: 16, side: 128, k: 7, stride: 2))   // the stem: 64 x 64 outputs
        #expect(tiled(c: 16, o: 16, side: 32))                    // the classifier's layer1
        #expect(!tiled(n: 1, c: 16, o: 16, side: 32))             // one image: the batched GEMM uses both cores
        #expect(!tiled(c: 16, o: 32, side: 32))                   // 288 rows for the input gradient
        #expect(!tiled(c: 32, o: 32, side: 32))                   // UNetLite-like width
        #expect(!tiled(c: 16, o: 16, side: 16))                   // under 1024 pixels
        #expect(!tiled(c: 16, o: 32, side: 64, k: 1, stride: 2))  // strided 1 x 1 downsample, 32 x 32 out
        #expect(!tiled(c: 16, o: 16, side: 32, k: 1))             // pointwise
    }

    @Test(arguments: [
        Case(n: 2, c: 8, o: 3, h: 64, w: 64, k: 3, stride: 1, padding: 1, bias: false),
        Case(n: 1, c: 5, o: 4, h: 66, w: 71, k: 3, stride: 1, padding: 0, bias: true),
        Case(n: 1, c: 3, o: 2, h: 131, w: 130, k: 3, stride: 2, padding: 1, bias: true),
        Case(n: 1, c: 4, o: 2, h: 64, w: 80, k: 1, stride: 1, padding: 0, bias: true),
        // small maps with few channels (the classifier's layer1: C·k² = 144, 32 x 32), an odd
        // number of images
        Case(n: 2, c: 16, o: 5, h: 32, w: 32, k: 3, stride: 1, padding: 1, bias: true),
        Case(n: 3, c: 7, o: 16, h: 33, w: 32, k: 3, stride: 1, padding: 1, bias: false),
    ])
    func matchesDefinition(_ t: Case) {
        // the im2col paths only (the direct kernels have their own suite)
        DirectConv.$override.withValue(false) {
            let plan = ConvPlan(n: t.n, c: t.c, o: t.o, g: WindowGeometry(height: t.h, width: t.w, kernelH: t.k, kernelW: t.k, stride: t.stride, padding: t.padding))
            #expect(TiledConv.applies(plan), "the case must take the tiled path")
            #expect(!DirectConv.applies(plan))
            expectConvolutionMatchesDefinition(t, seed: 11)
        }
    }

    /// The weight gradient from the columns the forward pass kept equals, bit for bit, the one
    /// from columns built again (the path of convolutions over ``ConvColumns/limit``), and so do
    /// the output and the input gradient: tiled (several tiles per image, a partial last tile),
    /// batched small maps (one chunk), strided, pointwise.
    @Test(arguments: [
        Case(n: 3, c: 2, o: 4, h: 130, w: 131, k: 7, stride: 2, padding: 3, bias: false),
        Case(n: 2, c: 16, o: 5, h: 32, w: 32, k: 3, stride: 1, padding: 1, bias: true),
        Case(n: 4, c: 6, o: 8, h: 12, w: 11, k: 3, stride: 2, padding: 1, bias: true),
        Case(n: 3, c: 5, o: 7, h: 9, w: 9, k: 1, stride: 1, padding: 0, bias: false),
    ])
    func keptColumnsEqualRebuiltOnes(_ t: Case) {
        func run(limit: Int?) -> (y: [Float], dw: [Float], dx: [Float]) {
            DirectConv.$override.withValue(false) { ConvColumns.$limitOverride.withValue(limit) {
                let x = randomTensor([t.n, t.c, t.h, t.w], seed: 21)
                let wt = randomTensor([t.o, t.c, t.k, t.k], seed: 22, scale: 0.5)
                let b = t.bias ? randomTensor([t.o], seed: 23) : nil
                let y = conv2d(x, weight: wt, bias: b, stride: t.stride, padding: t.padding)
                (y * randomTensor(y.shape, seed: 24, requiresGrad: false)).sum().backward()
                return (y.data, wt.grad!.data, x.grad!.data)
            } }
        }
        let kept = run(limit: nil), rebuilt = run(limit: 0)
        #expect(kept.y == rebuilt.y, "forward \(t)")
        #expect(kept.dw == rebuilt.dw, "weight gradient \(t)")
        #expect(kept.dx == rebuilt.dx, "input gradient \(t)")
        #expect(ConvColumns.keep(count: 10, for: randomTensor([2, 2, 1, 1], seed: 1)) != nil)
        #expect(ConvColumns.keep(count: ConvColumns.limit + 1, for: randomTensor([2, 2, 1, 1], seed: 1)) == nil)
        #expect(withoutGradients { ConvColumns.keep(count: 10, for: randomTensor([2, 2, 1, 1], seed: 1)) } == nil)
        #expect(ConvColumns.keep(count: 10, for: randomTensor([2, 2, 1, 1], seed: 1, requiresGrad: false)) == nil)
    }

    /// im2col against its definition, value for value: every kernel offset (i, j) and output
    /// pixel (oy, ox) of a tile holds the input at (oy·s − p + i, ox·s − p + j), or 0 outside.
    /// Odd widths, paddings larger than the kernel reach and partial tiles included; the widths
    /// reach every branch of ``RowCopy`` (runs of 1-3, 4-7, 8-15, 16-63 and 64 or more floats;
    /// stride 2 with whole 16- and 4-wide shuffles and a scalar tail, up to the end of the input).
    @Test(arguments: [(h: 9, w: 11, k: 3, s: 1, p: 1), (h: 9, w: 11, k: 3, s: 2, p: 1), (h: 16, w: 16, k: 7, s: 2, p: 3),
                      (h: 13, w: 17, k: 1, s: 2, p: 0), (h: 10, w: 15, k: 5, s: 3, p: 2), (h: 7, w: 8, k: 3, s: 2, p: 4),
                      (h: 12, w: 9, k: 4, s: 4, p: 1), (h: 5, w: 3, k: 3, s: 1, p: 1), (h: 5, w: 6, k: 3, s: 1, p: 1),
                      (h: 5, w: 37, k: 3, s: 1, p: 1), (h: 4, w: 70, k: 3, s: 1, p: 1), (h: 6, w: 130, k: 7, s: 2, p: 3),
                      (h: 5, w: 67, k: 3, s: 2, p: 1), (h: 5, w: 64, k: 1, s: 2, p: 0), (h: 5, w: 41, k: 2, s: 2, p: 0)])
    func im2colMatchesDefinition(_ t: (h: Int, w: Int, k: Int, s: Int, p: Int)) {
        let g = WindowGeometry(height: t.h, width: t.w, kernelH: t.k, kernelW: t.k, stride: t.s, padding: t.p)
        let x = (0 ..< t.h * t.w).map { Float($0) * 0.5 + 1 }
        for tile in [0 ..< g.outH, 1 ..< max(1, g.outH - 1)] where !tile.isEmpty {
            let ld = tile.count * g.outW + 3, offset = 2
            var col = [Float](repeating: .nan, count: t.k * t.k * ld)
            x.withUnsafeBufferPointer { src in
                col.withUnsafeMutableBufferPointer { ConvKernels.im2col(src.baseAddress!, g, $0.baseAddress!, colOffset: offset, ld: ld, outRows: tile) }
            }
            var mismatches = 0
            for i in 0 ..< t.k {
                for j in 0 ..< t.k {
                    for oy in tile {
                        for ox in 0 ..< g.outW {
                            let u = oy * t.s - t.p + i, v = ox * t.s - t.p + j
                            let expected: Float = (u >= 0 && u < t.h && v >= 0 && v < t.w) ? x[u * t.w + v] : 0
                            if col[(i * t.k + j) * ld + offset + (oy - tile.lowerBound) * g.outW + ox] != expected { mismatches += 1 }
                        }
                    }
                }
            }
            #expect(mismatches == 0, "\(t), tile \(tile)")
        }
    }
}
