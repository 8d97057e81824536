import Foundation
@testable import NeuralCore
import Testing

/// The direct convolution kernels (``DirectConv``, C with AVX-512) against the definition
/// evaluated in Double (``convolutionByDefinition(x:w:bias:r:stride:padding:)``): output, weight,
/// input and bias gradients. The shapes reach every register block and tail of the kernels:
/// output channels 1 to 4 over a block of 4, output widths that are and are not multiples of 16
/// and more or fewer than the 64 columns of a block, outputs 16 wide (blocks of rows) with 1 to 4
/// rows over a block of 4, strides 1 and 2, paddings 0 to 3, kernels
/// 2 to 7, several work items per image and several images. Skipped where the CPU has no AVX-512
/// (the kernels then never run).
@Suite("Direct convolution kernels against the definition")
struct ConvolutionDirectTests {
    typealias Case = ConvolutionCase

    @Test(.enabled(if: DirectConv.available), arguments: [
        // the classifier's stem: 7 x 7, stride 2, padding 3, 64 outputs wide
        Case(n: 2, c: 3, o: 16, h: 128, w: 128, k: 7, stride: 2, padding: 3, bias: false),
        // UNetLite-like 3 x 3 with bias, 3 output channels (a partial block), odd width
        Case(n: 2, c: 5, o: 3, h: 40, w: 37, k: 3, stride: 1, padding: 1, bias: true),
        // 16 columns exactly, 6 outputs (one block and a tail of 2), no padding
        Case(n: 1, c: 2, o: 6, h: 20, w: 18, k: 3, stride: 1, padding: 0, bias: true),
        // 100 columns: one whole block of 4 vectors, then 3 with a partial last one
        Case(n: 1, c: 4, o: 5, h: 12, w: 100, k: 5, stride: 1, padding: 2, bias: false),
        // stride 2 with an odd input width and a padding larger than half the kernel
        Case(n: 3, c: 3, o: 7, h: 35, w: 71, k: 3, stride: 2, padding: 3, bias: true),
        // an even kernel, stride 2, no padding
        Case(n: 2, c: 2, o: 1, h: 41, w: 67, k: 2, stride: 2, padding: 0, bias: false),
        // tall images: several work items per image
        Case(n: 2, c: 24, o: 9, h: 300, w: 33, k: 3, stride: 1, padding: 1, bias: true),
        // outputs 16 wide (blocks of 4 rows) at stride 2: 125 rows, several items, a row tail of 1
        Case(n: 2, c: 20, o: 5, h: 250, w: 32, k: 3, stride: 2, padding: 1, bias: true),
    ])
    func matchesDefinition(_ t: Case) {
        DirectConv.$override.withValue(true) {
            let g = WindowGeometry(height: t.h, width: t.w, kernelH: t.k, kernelW: t.k, stride: t.stride, padding: t.padding)
            let plan = ConvPlan(n: t.n, c: t.c, o: t.o, g: g)
            #expect(DirectConv.applies(plan), "the case must take the direct path")
            expectConvolutionMatchesDefinition(t, seed: 31)
            if t.h >= 250 { #expect(DirectConv(n: t.n, c: t.c, o: t.o, g: g).itemsPerImage > 1, "several work items per image") }
        }
    }

    /// Each output is computed on its own (bias, then every tap in a fixed order), so the output
    /// of one image does not depend on the batch it is in, nor the weight gradient on the split
    /// of the rows into work items beyond the fixed per-thread partition: the same image alone and
    /// inside a batch gives bit-identical outputs.
    @Test(.enabled(if: DirectConv.available))
    func outputDoesNotDependOnTheBatch() {
        DirectConv.$override.withValue(true) {
            let x = randomTensor([3, 4, 50, 70], seed: 41, requiresGrad: false)
            let wt = randomTensor([6, 4, 3, 3], seed: 42, requiresGrad: false)
            let all = conv2d(x, weight: wt, stride: 1, padding: 1).data
            let second = Tensor(shape: [1, 4, 50, 70], data: Array(x.data[4 * 50 * 70 ..< 2 * 4 * 50 * 70]))
            let alone = conv2d(second, weight: wt, stride: 1, padding: 1).data
            #expect(Array(all[6 * 50 * 70 ..< 2 * 6 * 50 * 70]) == alone)
        }
    }

    /// Which convolutions the rule sends to the kernels (when the CPU runs them): at stride 1 up
    /// to 128 output channels over outputs at least 32 wide and 64 over 16 to 31 wide, at stride 2
    /// up to 64 over at least 32 wide; never a 1 x 1, a stride over 2 or outputs under 16 wide,
    /// even when forced.
    @Test(.enabled(if: DirectConv.available))
    func rule() {
        func direct(n: Int = 8, c: Int, o: Int, side: Int, k: Int = 3, stride: Int = 1) -> Bool {
            let g = WindowGeometry(height: side, width: side, kernelH: k, kernelW: k, stride: stride, padding: k / 2)
            return DirectConv.applies(ConvPlan(n: n, c: c, o: o, g: g))
        }
        #expect(direct(n: 32, c: 3, o: 16, side: 128, k: 7, stride: 2))   // the classifier's stem
        #expect(direct(c: 16, o: 16, side: 128))                          // UNetLite's first level
        #expect(direct(c: 128, o: 128, side: 32))                         // ResNet-18's second stage at 256
        #expect(direct(c: 32, o: 64, side: 64, stride: 2))
        #expect(!direct(c: 64, o: 128, side: 64, stride: 2))              // 128 outputs at stride 2
        #expect(!direct(c: 128, o: 256, side: 64))                        // 256 outputs
        #expect(!direct(c: 64, o: 128, side: 16))                         // 128 outputs 16 wide
        #expect(direct(c: 32, o: 32, side: 16))                           // the classifier's second stage
        #expect(!direct(n: 32, c: 16, o: 32, side: 32, stride: 2))        // stride 2 into 16 wide
        DirectConv.$override.withValue(true) {
            #expect(!direct(c: 16, o: 16, side: 32, k: 1))                // pointwise
            #expect(!direct(c: 16, o: 16, side: 64, stride: 3))
            #expect(!direct(c: 16, o: 16, side: 8))                       // 8 wide
            #expect(direct(c: 64, o: 128, side: 16))
        }
        DirectConv.$override.withValue(false) {
            #expect(!direct(n: 32, c: 3, o: 16, side: 128, k: 7, stride: 2))
        }
    }
}
