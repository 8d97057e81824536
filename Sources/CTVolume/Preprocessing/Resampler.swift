import Foundation
import ImageCore

/// Resizes row-major 2-D `Float` images from one size to another exactly as PyTorch does,
/// with the index and weight tables computed once and reused for every image.
///
/// Two modes, both separable (rows first, then columns):
///
/// - ``Mode/area``: `torch.nn.functional.adaptive_avg_pool2d`. Output row `o` of `S` averages
///   input rows `floor(o * H / S) ..< ceil((o + 1) * H / S)`, and likewise for columns;
///   bins may overlap and need not be of equal size, so any ratio works (37 -> 16 included).
///   `out[o, p] = sum over the bin rectangle / (rows in bin * columns in bin)`.
/// - ``Mode/bilinear``: `torch.nn.functional.interpolate(mode="bilinear", align_corners=False)`.
///   For output index `o` on an axis of input length `n` and output length `m`, the source
///   coordinate is `s = max((o + 0.5) * n / m - 0.5, 0)`, `i0 = floor(s)`,
///   `i1 = min(i0 + 1, n - 1)`, `l1 = s - i0`, `l0 = 1 - l1`, and
///   `out = l0y * (l0x * in[i0y, i0x] + l1x * in[i0y, i1x]) + l1y * (l0x * in[i1y, i0x] + l1x * in[i1y, i1x])`.
///
/// ``Resampler/network(height:width:size:)`` picks the mode with `ichnets.resample`'s rule:
/// area when `size <= height && size <= width`, else bilinear.
///
/// Complexity: area is `O(H * W + H * S' + S * S')`-ish per image (each input pixel is read
/// once per bin it belongs to); bilinear is `O(H * W' + H' * W')`. Stacks of images are
/// processed in parallel (`DispatchQueue.concurrentPerform`) when large enough to pay.
public struct Resampler: Sendable {
    /// How values are combined.
    public enum Mode: String, Sendable, Codable {
        /// Adaptive average pooling (torch `adaptive_avg_pool2d`); meant for shrinking.
        case area
        /// Bilinear interpolation with `align_corners=False` (torch `interpolate`).
        case bilinear
    }

    /// Input image height (rows) and width (columns).
    public let inputHeight: Int, inputWidth: Int
    /// Output image height (rows) and width (columns).
    public let outputHeight: Int, outputWidth: Int
    /// The combination rule.
    public let mode: Mode

    private let rows: AxisTable
    private let columns: AxisTable

    /// Tables for resizing `inputHeight x inputWidth` images to `outputHeight x outputWidth`.
    /// - Precondition: all sizes positive.
    public init(inputHeight: Int, inputWidth: Int, outputHeight: Int, outputWidth: Int, mode: Mode) {
        precondition(inputHeight > 0 && inputWidth > 0 && outputHeight > 0 && outputWidth > 0,
                     "Resampler: sizes must be positive (\(inputHeight)x\(inputWidth) -> \(outputHeight)x\(outputWidth))")
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
        self.outputHeight = outputHeight
        self.outputWidth = outputWidth
        self.mode = mode
        switch mode {
        case .area:
            rows = .area(input: inputHeight, output: outputHeight)
            columns = .area(input: inputWidth, output: outputWidth)
        case .bilinear:
            rows = .bilinear(input: inputHeight, output: outputHeight)
            columns = .bilinear(input: inputWidth, output: outputWidth)
        }
    }

    /// The network-input resampler of `ichnets.resample`: `height x width -> size x size`,
    /// area averaging when `size <= height && size <= width`, otherwise bilinear
    /// (`align_corners=False`).
    public static func network(height: Int, width: Int, size: Int) -> Resampler {
        let mode: Mode = (size <= height && size <= width) ? .area : .bilinear
        return Resampler(inputHeight: height, inputWidth: width, outputHeight: size, outputWidth: size, mode: mode)
    }

    /// Number of values in one input image, `inputHeight * inputWidth`.
    public var inputCount: Int { inputHeight * inputWidth }
    /// Number of values in one output image, `outputHeight * outputWidth`.
    public var outputCount: Int { outputHeight * outputWidth }

    /// Resizes one image from `input` (row-major, `inputCount` values) into `output`
    /// (`outputCount` values). `scratch` must hold `inputHeight * outputWidth` values.
    public func apply(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>,
                      scratch: UnsafeMutableBufferPointer<Float>) {
        precondition(input.count >= inputCount && output.count >= outputCount && scratch.count >= inputHeight * outputWidth,
                     "Resampler.apply: buffer too small")
        let ib = input.baseAddress!, ob = output.baseAddress!, sb = scratch.baseAddress!
        // Pass 1: along each input row, inputWidth -> outputWidth (area: column-bin means).
        for r in 0..<inputHeight {
            columns.apply(ib + r * inputWidth, stride: 1, into: sb + r * outputWidth, outStride: 1)
        }
        // Pass 2: along each column of the scratch, inputHeight -> outputHeight (area: row-bin
        // means of the column means, which is the rectangle mean).
        switch rows {
        case .area(let start, let end, let inv):
            // Sum whole rows at a time: contiguous and vectorisable.
            for o in 0..<outputHeight {
                let dst = ob + o * outputWidth
                let s = start[o], e = end[o]
                let src0 = sb + s * outputWidth
                for c in 0..<outputWidth { dst[c] = src0[c] }
                if e - s > 1 {
                    for r in (s + 1)..<e {
                        let src = sb + r * outputWidth
                        for c in 0..<outputWidth { dst[c] += src[c] }
                    }
                }
                let scale = inv[o]
                for c in 0..<outputWidth { dst[c] *= scale }
            }
        case .bilinear(let i0, let i1, let l0, let l1):
            for o in 0..<outputHeight {
                let dst = ob + o * outputWidth
                let a = sb + i0[o] * outputWidth, b = sb + i1[o] * outputWidth
                let w0 = l0[o], w1 = l1[o]
                for c in 0..<outputWidth { dst[c] = w0 * a[c] + w1 * b[c] }
            }
        }
    }

    /// Resizes one row-major image (`inputCount` values) and returns `outputCount` values.
    public func callAsFunction<C: Collection>(_ image: C) -> [Float] where C.Element == Float {
        resizeStack(image, count: 1)
    }

    /// Resizes `count` images stored back to back (`count * inputCount` values, e.g. the axial
    /// slices of a volume) and returns them back to back (`count * outputCount` values).
    /// Images are processed in parallel when the stack is large.
    public func resizeStack<C: Collection>(_ images: C, count: Int) -> [Float] where C.Element == Float {
        precondition(images.count == count * inputCount, "Resampler: \(images.count) values for \(count) images of \(inputHeight)x\(inputWidth)")
        let input = Array(images)
        var out = [Float](repeating: 0, count: count * outputCount)
        input.withUnsafeBufferPointer { ib in
            out.withUnsafeMutableBufferPointer { ob in
                forEachImage(count: count) { k, scratch in
                    apply(UnsafeBufferPointer(rebasing: ib[(k * inputCount)..<((k + 1) * inputCount)]),
                          into: UnsafeMutableBufferPointer(rebasing: ob[(k * outputCount)..<((k + 1) * outputCount)]),
                          scratch: scratch)
                }
            }
        }
        return out
    }

    /// Runs `body(k, scratch)` for k in 0..<count, in parallel when the work is large enough.
    /// `extraScratch` values more than the resampler's own (`inputHeight * outputWidth`, first)
    /// are allocated for a caller's use.
    func forEachImage(count: Int, extraScratch: Int = 0, _ body: (Int, UnsafeMutableBufferPointer<Float>) -> Void) {
        let scratchCount = inputHeight * outputWidth + extraScratch
        let work = count * (inputCount + outputCount)
        if count > 1 && work >= 1 << 16 {
            withoutActuallyEscaping(body) { body in
                let shared = UncheckedSendable(body)
                DispatchQueue.concurrentPerform(iterations: count) { k in
                    let scratch = UnsafeMutableBufferPointer<Float>.allocate(capacity: scratchCount)
                    defer { scratch.deallocate() }
                    shared.value(k, scratch)
                }
            }
        } else {
            let scratch = UnsafeMutableBufferPointer<Float>.allocate(capacity: scratchCount)
            defer { scratch.deallocate() }
            for k in 0..<count { body(k, scratch) }
        }
    }
}


/// One axis' tables.
private enum AxisTable: Sendable {
    /// Bin `o` is `start[o] ..< end[o]`; `inv[o] = 1 / (end - start)`.
    case area(start: [Int], end: [Int], inv: [Float])
    /// Output `o` = `l0[o] * in[i0[o]] + l1[o] * in[i1[o]]`.
    case bilinear(i0: [Int], i1: [Int], l0: [Float], l1: [Float])

    static func area(input n: Int, output m: Int) -> AxisTable {
        var start = [Int](), end = [Int](), inv = [Float]()
        for o in 0..<m {
            let s = (o * n) / m                 // floor(o * n / m)
            let e = ((o + 1) * n + m - 1) / m   // ceil((o + 1) * n / m)
            start.append(s); end.append(e); inv.append(1 / Float(e - s))
        }
        return .area(start: start, end: end, inv: inv)
    }

    static func bilinear(input n: Int, output m: Int) -> AxisTable {
        // As torch: the scale is a float, `scale * (o + 0.5) - 0.5` is evaluated in double
        // (an integer plus 0.5 is a double in C++) and stored as float.
        let scale = Float(n) / Float(m)
        var i0 = [Int](), i1 = [Int](), l0 = [Float](), l1 = [Float]()
        for o in 0..<m {
            let src = max(Float(Double(scale) * (Double(o) + 0.5) - 0.5), 0)
            let a = min(Int(src), n - 1)
            let b = a < n - 1 ? a + 1 : a
            let w1 = src - Float(a)
            i0.append(a); i1.append(b); l0.append(1 - w1); l1.append(w1)
        }
        return .bilinear(i0: i0, i1: i1, l0: l0, l1: l1)
    }

    /// Resizes one line: `n` values at `src` (stride `stride`) into `m` values at `dst`.
    @inline(__always)
    func apply(_ src: UnsafePointer<Float>, stride: Int, into dst: UnsafeMutablePointer<Float>, outStride: Int) {
        switch self {
        case .area(let start, let end, let inv):
            start.withUnsafeBufferPointer { st in end.withUnsafeBufferPointer { en in inv.withUnsafeBufferPointer { iv in
                for o in 0..<st.count {
                    var acc: Float = 0
                    for i in st[o]..<en[o] { acc += src[i * stride] }
                    dst[o * outStride] = acc * iv[o]
                }
            } } }
        case .bilinear(let i0, let i1, let l0, let l1):
            i0.withUnsafeBufferPointer { a in i1.withUnsafeBufferPointer { b in
                l0.withUnsafeBufferPointer { w0 in l1.withUnsafeBufferPointer { w1 in
                    for o in 0..<a.count {
                        dst[o * outStride] = w0[o] * src[a[o] * stride] + w1[o] * src[b[o] * stride]
                    }
                } }
            } }
        }
    }
}
