import CConvKernels
import Dispatch
import Foundation

/// Direct convolution (no column matrix) for few output channels over wide maps: the C kernels of
/// `CConvKernels` (AVX-512), sixteen output columns per register, every tap of a window added
/// with one fused multiply-add in the order (input channel, kernel row, kernel column).
///
/// im2col and a BLAS product serve these shapes badly: the classifier's 7 x 7 stride-2 stem
/// (3 channels in, 16 out, 128 x 128 in) writes 147 column rows per output pixel and hands
/// OpenBLAS a product with 16 rows, which it packs again before multiplying; the layer took 32
/// to 36 ms a training step of 32 slices against PyTorch's 8 (`bench layers`). Here each tap's
/// sixteen columns are one load from a padded copy of the input rows.
///
/// The forward pass and the weight gradient run here; the input gradient of a stride-1
/// convolution is the forward pass of its adjoint (the output gradient padded by k − 1 − p,
/// the flipped, transposed kernel), as in ``TiledConv``; other input gradients take ``ConvPlan``'s
/// col2im path. Used when the CPU has AVX-512 (``available``) and ``applies(_:)`` holds;
/// results differ from the im2col path's by rounding only (another summation order).
struct DirectConv {
    /// Images, input and output channels, and the window.
    let n: Int, c: Int, o: Int
    let g: WindowGeometry
    /// One image's shape as the C kernels take it.
    let shape: ichct_conv_shape
    /// Output rows per work item, work items per image.
    let rowsPerItem: Int, itemsPerImage: Int

    /// Floats of padded input one work item copies (256 KB).
    static let windowBudget = 1 << 16

    /// Whether this CPU runs the kernels; `ICHCT_CONV_DIRECT=0` turns them off (the im2col path
    /// then serves every convolution).
    static let available: Bool = {
        if ProcessInfo.processInfo.environment["ICHCT_CONV_DIRECT"] == "0" { return false }
        return ichct_conv_direct_available() != 0
    }()

    /// `ICHCT_CONV_DIRECT=1`: every convolution the kernels can take (benchmarks of the rule).
    static let forced: Bool = ProcessInfo.processInfo.environment["ICHCT_CONV_DIRECT"] == "1"

    /// On the current task: `false` turns the kernels off, `true` uses them wherever they can run
    /// (``forced``), `nil` keeps the rule (tests compare the paths).
    @TaskLocal static var override: Bool? = nil

    /// Whether a convolution takes this form: the kernels exist here, the kernel is at most
    /// 16 wide, the stride 1 or 2, the output at least 16 wide, and the shape is one where the
    /// kernels measured faster than the im2col paths (``forced`` drops this last part): at
    /// stride 1, at most 128 output channels over outputs at least 32 wide and 64 over outputs
    /// 16 to 31 wide; at stride 2, at most 64 over outputs at least 32 wide. Measured with
    /// `bench layers --conv` (forward and both gradients, 2 threads, 2026-12-06): 1.1 to 3.3x
    /// for such shapes of the two networks (the UNetLite's 16 to 64 channels at 128 down to 32
    /// wide 2.4 to 3.3x, the classifier's stem 1.7x, ResNet-18's 64 to 128 channels at 64 and 32
    /// wide 1.2x, 32 to 64 channels at 16 wide 1.1 to 2.1x); outside them 0.74 to 1.0x (128 or
    /// more channels at 16 wide, stride 2 into 16 wide, 128 channels at stride 2).
    static func applies(_ plan: ConvPlan) -> Bool {
        guard available, override != false, canRun(plan.g) else { return false }
        if forced || override == true { return true }
        let g = plan.g
        if g.stride == 2 { return g.outW >= 32 && plan.o <= 64 }
        return plan.o <= (g.outW >= 32 ? 128 : 64)
    }

    /// The shapes the kernels take at all.
    static func canRun(_ g: WindowGeometry) -> Bool {
        g.kernelH <= 16 && g.kernelW <= 16 && g.stride <= 2 && g.kernelH * g.kernelW > 1 && g.outW >= 16
    }

    init(n: Int, c: Int, o: Int, g: WindowGeometry) {
        self.n = n; self.c = c; self.o = o; self.g = g
        shape = ichct_conv_shape(channels: Int32(c), height: Int32(g.height), width: Int32(g.width), outputs: Int32(o),
                                 kernel_h: Int32(g.kernelH), kernel_w: Int32(g.kernelW), stride: Int32(g.stride),
                                 padding: Int32(g.padding), out_h: Int32(g.outH), out_w: Int32(g.outW))
        var s = shape
        let perRow = max(1, ichct_conv_scratch_floats(&s, 1) / max(1, g.kernelH))
        let windowRows = max(g.kernelH, DirectConv.windowBudget / perRow)
        rowsPerItem = max(1, min(g.outH, (windowRows - g.kernelH) / g.stride + 1))
        itemsPerImage = (g.outH + rowsPerItem - 1) / rowsPerItem
    }

    /// Image and output rows of work item `t`.
    @inline(__always)
    func item(_ t: Int) -> (image: Int, rows: Range<Int>) {
        let img = t / itemsPerImage, r0 = (t % itemsPerImage) * rowsPerItem
        return (img, r0 ..< min(g.outH, r0 + rowsPerItem))
    }

    /// Floats of scratch one work item needs (its padded input window).
    var scratchFloats: Int {
        var s = shape
        return ichct_conv_scratch_floats(&s, Int32(rowsPerItem))
    }

    /// y = conv(x, w) (+ bias), written into every element of y (N, O, Ho, Wo).
    func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>) {
        let src = SharedPointer(x), wt = SharedPointer(w), out = SharedPointer(y)
        let b = bias.map { SharedPointer($0) }
        let plan = self
        let inPlane = c * g.height * g.width, outPlane = o * g.outH * g.outW
        TiledConv.dynamicTiles(count: n * itemsPerImage, scratch: scratchFloats) { t, scratch in
            let (img, rows) = plan.item(t)
            var s = plan.shape
            ichct_conv_forward_rows(&s, src.base + img * inPlane, wt.base, b.map { UnsafePointer($0.base) },
                                    out.base + img * outPlane, Int32(rows.lowerBound), Int32(rows.upperBound), scratch)
        }
    }

    /// dw (O, C, k, k) += the weight gradient over every image, by fixed per-worker ranges of
    /// work items (``TiledConv/sumPerWorker(items:size:into:scratch:_:)``: the result depends on
    /// the thread count only).
    func weightGradient(_ x: UnsafePointer<Float>, _ gy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>) {
        let src = SharedPointer(x), grad = SharedPointer(gy)
        let plan = self
        let inPlane = c * g.height * g.width, outPlane = o * g.outH * g.outW
        TiledConv.sumPerWorker(items: n * itemsPerImage, size: o * c * g.kernelH * g.kernelW, into: dw,
                               scratch: scratchFloats) { range, acc, scratch in
            for t in range {
                let (img, rows) = plan.item(t)
                var s = plan.shape
                ichct_conv_weight_grad_rows(&s, src.base + img * inPlane, grad.base + img * outPlane, acc,
                                            Int32(rows.lowerBound), Int32(rows.upperBound), scratch)
            }
        }
    }

    /// dx (N, C, H, W) = conv(gy padded by k − 1 − p, flipped transposed kernel), written into
    /// every element of dx, with these kernels. Needs the window's ``WindowGeometry/adjoint``.
    func inputGradient(_ gy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>) {
        let flipped = TiledConv.flippedTransposedKernel(w, o: o, c: c, k: g.kernelH)
        flipped.withUnsafeBufferPointer { pf in
            DirectConv(n: n, c: o, o: c, g: g.adjoint!).forward(gy, pf.baseAddress!, nil, dx)
        }
    }
}
