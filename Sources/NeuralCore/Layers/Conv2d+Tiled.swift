import Dispatch
import Foundation
import ImageCore

/// Spatially tiled im2col convolution for large feature maps with few channels (the UNetLite's
/// 3x3 convolutions over 256 x 256 and 128 x 128 maps with 16 to 64 channels), and for 32 x 32
/// maps with very few channels (the classifier's first stage; ``applies(_:)``).
///
/// Each image's output rows are cut into tiles whose column matrix (C·k² rows, rows·Wo columns)
/// fits in a core's L2 cache (``columnBudget`` floats). A worker fills the columns of one tile and
/// multiplies them at once with a single-threaded `cblas_sgemm`, `W (O × Ck²) · col_tile`, writing
/// straight into the NCHW output (row stride Ho·Wo); the workers take tiles from a shared counter.
/// One huge product over a whole 256 x 256 image instead streams a 37 MB column matrix through
/// memory twice, with M = O = 16 rows: half the arithmetic rate of the tiled form.
///
/// The weight gradient sums `G_tile · col_tileᵀ` over the tiles: each worker sums a fixed,
/// contiguous range of tiles into its own buffer and the buffers are added in worker order, so
/// the result is deterministic for a given thread count. The input gradient of a stride-1
/// convolution is itself a convolution (of the output gradient, padded by k − 1 − p, with the
/// flipped, transposed kernel, see ``flippedTransposedKernel(_:o:c:k:)``), so it takes the same
/// tiled forward path: a gather, without col2im's scattered additions.
struct TiledConv {
    let n: Int, c: Int, o: Int
    let g: WindowGeometry
    /// Output pixels per image and rows of the column matrix.
    let p: Int, k: Int
    /// Output rows per tile, tiles per image.
    let rowsPerTile: Int, tilesPerImage: Int

    /// Floats one tile's column matrix may hold (512 KB: half of a core's L2).
    static let columnBudget: Int = {
        if let s = ProcessInfo.processInfo.environment["ICHCT_CONV_TILE"], let v = Int(s), v > 0 { return v }
        return 1 << 17
    }()

    /// Output pixels per image from which the tiled form is used.
    static let minimumPixels: Int = {
        if let s = ProcessInfo.processInfo.environment["ICHCT_CONV_TILE_MIN"], let v = Int(s), v > 0 { return v }
        return 4096
    }()

    /// The few-channel rule: a stride-1 k x k convolution (k > 1) over at least 2 images whose
    /// maps have at least this many output pixels and whose column matrices, forward
    /// (C·k²) and for the input gradient (O·k²), have at most this many rows. The classifier's
    /// 16-channel 3 x 3 convolutions over 32 x 32 maps (144 rows) ran their training step's
    /// backward in 8 ms instead of 14 (bench networks, input 128, width 16), while wider small
    /// maps (UNetLite's 64 and 128 channels at 32 x 32 and 16 x 16) were slower tiled: one batched
    /// GEMM serves them better. Off when `ICHCT_CONV_TILE_MIN` is set (benchmarks then choose
    /// the one threshold).
    static let smallMap: (pixels: Int, rows: Int)? = {
        ProcessInfo.processInfo.environment["ICHCT_CONV_TILE_MIN"] == nil ? (pixels: 1024, rows: 144) : nil
    }()

    /// Whether a convolution takes the tiled form: large maps (``minimumPixels``), or the few-channel rule (``smallMap``).
    static func applies(_ plan: ConvPlan) -> Bool {
        if plan.p >= minimumPixels { return true }
        guard let small = smallMap else { return false }
        let g = plan.g, kk = g.kernelH * g.kernelW
        return g.stride == 1 && kk > 1 && plan.n >= 2 && plan.p >= small.pixels
            && plan.c * kk <= small.rows && plan.o * kk <= small.rows
    }

    init(n: Int, c: Int, o: Int, g: WindowGeometry) {
        self.n = n; self.c = c; self.o = o; self.g = g
        p = g.outH * g.outW
        k = c * g.kernelH * g.kernelW
        rowsPerTile = max(1, min(g.outH, TiledConv.columnBudget / max(1, k * g.outW)))
        tilesPerImage = (g.outH + rowsPerTile - 1) / rowsPerTile
    }

    /// Image and output rows of tile `t`.
    @inline(__always)
    func tile(_ t: Int) -> (image: Int, rows: Range<Int>) {
        let img = t / tilesPerImage, r0 = (t % tilesPerImage) * rowsPerTile
        return (img, r0 ..< min(g.outH, r0 + rowsPerTile))
    }

    /// Fills the column matrix (k × rows·Wo) of one tile.
    func fillColumns(_ x: UnsafePointer<Float>, image: Int, rows: Range<Int>, _ col: UnsafeMutablePointer<Float>) {
        let hw = g.height * g.width, kk = g.kernelH * g.kernelW, ld = rows.count * g.outW
        for ch in 0 ..< c {
            ConvKernels.im2col(x + (image * c + ch) * hw, g, col + ch * kk * ld, colOffset: 0, ld: ld, outRows: rows)
        }
    }

    /// Where tile `t`'s columns (k × rows·Wo) start in a kept copy of every tile's columns
    /// (``ConvColumns``: k·N·P floats, image by image, each image's tiles in row order).
    @inline(__always)
    func keptOffset(_ t: Int) -> Int {
        let (img, rows) = tile(t)
        return img * k * p + k * rows.lowerBound * g.outW
    }

    /// y = conv(x, w) (+ bias), written into every element of y (N, O, Ho, Wo). With `keep`
    /// (k·N·P floats), every tile's columns are built there and left for ``weightGradient(_:_:_:kept:)``.
    func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>,
                 keep: UnsafeMutablePointer<Float>? = nil) {
        let src = SharedPointer(x), wt = SharedPointer(w), out = SharedPointer(y)
        let b = bias.map { SharedPointer($0) }, kept = keep.map { SharedPointer($0) }
        let plan = self
        TiledConv.dynamicTiles(count: n * tilesPerImage, scratch: keep == nil ? k * rowsPerTile * g.outW : 1) { t, scratch in
            let (img, rows) = plan.tile(t)
            let cols = rows.count * plan.g.outW
            let col = kept.map { $0.base + plan.keptOffset(t) } ?? scratch
            plan.fillColumns(UnsafePointer(src.base), image: img, rows: rows, col)
            let dst = out.base + img * plan.o * plan.p + rows.lowerBound * plan.g.outW
            BLAS.call(false, false, plan.o, cols, plan.k, 1, UnsafePointer(wt.base), plan.k, UnsafePointer(col), cols, 0, dst, plan.p)
            if let b {
                for ch in 0 ..< plan.o {
                    let v = b.base[ch], d = dst + ch * plan.p
                    for i in 0 ..< cols { d[i] += v }
                }
            }
        }
    }

    /// dw (O × k, row-major) += Σ over images and pixels of gy · columns(x)ᵀ; the columns are
    /// read from `kept` (what ``forward(_:_:_:_:keep:)`` left) or built again.
    func weightGradient(_ x: UnsafePointer<Float>, _ gy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
                        kept: UnsafePointer<Float>? = nil) {
        let src = SharedPointer(x), grad = SharedPointer(gy)
        let columns = kept.map { SharedPointer(UnsafeMutablePointer(mutating: $0)) }
        let plan = self
        TiledConv.sumPerWorker(items: n * tilesPerImage, size: o * k, into: dw,
                               scratch: columns == nil ? k * rowsPerTile * g.outW : 1) { range, acc, scratch in
            for t in range {
                let (img, rows) = plan.tile(t)
                let cols = rows.count * plan.g.outW
                let col: UnsafeMutablePointer<Float>
                if let columns {
                    col = columns.base + plan.keptOffset(t)
                } else {
                    col = scratch
                    plan.fillColumns(UnsafePointer(src.base), image: img, rows: rows, col)
                }
                let gt = grad.base + img * plan.o * plan.p + rows.lowerBound * plan.g.outW
                BLAS.call(false, true, plan.o, plan.k, cols, 1, UnsafePointer(gt), plan.p, UnsafePointer(col), cols, 1, acc, plan.k)
            }
        }
    }

    /// Sums a gradient of `size` floats over work items `0..<items` into `target` (+=):
    /// `body(range, accumulator, scratch)` adds the items of `range` into `accumulator`. Each of
    /// up to ``Threading/threadCount`` workers takes a fixed, contiguous range of items and its
    /// own accumulator (the first worker `target` itself, the others zeroed buffers, added to
    /// `target` in worker order), so the result depends on the thread count only. Each worker
    /// gets a scratch buffer of `scratch` floats.
    static func sumPerWorker(items total: Int, size: Int, into target: UnsafeMutablePointer<Float>, scratch: Int,
                             _ body: (Range<Int>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        let workers = max(1, min(Threading.threadCount, total))
        let dst = SharedPointer(target)
        ScratchPool.shared.with(count: max(1, (workers - 1) * size)) { partials in
            let part = SharedPointer(partials)
            withoutActuallyEscaping(body) { body in
                let box = UncheckedSendable(body)
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    let acc = worker == 0 ? dst.base : part.base + (worker - 1) * size
                    if worker > 0 { acc.update(repeating: 0, count: size) }
                    ScratchPool.shared.with(count: scratch) { buffer in
                        box.value(total * worker / workers ..< total * (worker + 1) / workers, acc, buffer)
                    }
                }
            }
            for worker in 1 ..< workers {
                let s = partials + (worker - 1) * size
                for i in 0 ..< size { target[i] += s[i] }
            }
        }
    }

    /// dx (N, C, H, W) = conv(gy padded by k − 1 − p, flipped transposed kernel), written into
    /// every element of dx. Needs the window's ``WindowGeometry/adjoint``.
    func inputGradient(_ gy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>) {
        let flipped = TiledConv.flippedTransposedKernel(w, o: o, c: c, k: g.kernelH)
        flipped.withUnsafeBufferPointer { pf in
            TiledConv(n: n, c: o, o: c, g: g.adjoint!).forward(gy, pf.baseAddress!, nil, dx)
        }
    }

    /// w'[c, o, i, j] = w[o, c, k−1−i, k−1−j]: the kernel of the adjoint of a stride-1 convolution.
    static func flippedTransposedKernel(_ w: UnsafePointer<Float>, o: Int, c: Int, k: Int) -> [Float] {
        let kk = k * k
        return [Float](unsafeUninitializedCapacity: o * c * kk) { buffer, initialized in
            for oc in 0 ..< o {
                for ch in 0 ..< c {
                    let s = w + (oc * c + ch) * kk, d = buffer.baseAddress! + (ch * o + oc) * kk
                    for t in 0 ..< kk { d[t] = s[kk - 1 - t] }
                }
            }
            initialized = o * c * kk
        }
    }

    /// Runs `body(tile, scratch)` for every tile in `0..<count` on up to ``Threading/threadCount``
    /// workers that take the next tile from a shared counter (a busy core takes fewer), each with
    /// its own scratch buffer of `scratch` floats.
    static func dynamicTiles(count: Int, scratch: Int, _ body: (Int, UnsafeMutablePointer<Float>) -> Void) {
        let workers = max(1, min(Threading.threadCount, count))
        if workers == 1 {
            ScratchPool.shared.with(count: scratch) { buffer in
                for t in 0 ..< count { body(t, buffer) }
            }
            return
        }
        let counter = TileCounter()
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                ScratchPool.shared.with(count: scratch) { buffer in
                    while true {
                        let t = counter.next()
                        if t >= count { break }
                        box.value(t, buffer)
                    }
                }
            }
        }
    }
}

/// A lock-protected counter handing out tile numbers.
final class TileCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    /// The next number (0, 1, 2, ...).
    func next() -> Int {
        lock.lock(); defer { lock.unlock() }
        value += 1
        return value - 1
    }
}
