import Foundation
import ImageCore

/// The network input of Docs/method.md#0-data-and-preprocessing, and the way back from network-sized maps to a
/// scan's grid. The arithmetic is `ichnets.preprocess_volume`: set each axial slice that is
/// not square in the middle of a square of air (``SquareFrame``; never stretched), resample its
/// HU to `size x size` (area averaging to shrink, bilinear `align_corners=False` to grow; see
/// ``Resampler``), then window into channels (see ``Window``). The way back resizes to the
/// frame and cuts the slice out (`ichnets.to_slices`).
///
///     let scan: ScanVolume = ...
///     let input = Preprocessing.preprocess(scan, size: 256)      // (Z, 3, 256, 256)
///     // ... a network turns input slice k into a 256 x 256 map ...
///     let probs = Preprocessing.resizeToVolume(maps, size: 256, shape: scan.shape)
///
/// Layouts are row-major and flat, so that another module (NeuralCore) consumes them with no
/// dependency on this one.
public enum Preprocessing {
    /// The default in-plane network size `S` (method.md: `input_size`, default 256).
    public static let defaultSize = 256

    /// Every axial slice of `volume` as network input.
    ///
    /// - Parameters:
    ///   - volume: HU scan of shape `X x Y x Z`.
    ///   - size: output side `S` (default 256).
    ///   - windows: channels, in order (default ``Window/defaults``: brain, subdural, bone).
    /// - Returns: `Z * C * S * S` values laid out `(Z, C, S, S)` row-major: the value of slice
    ///   `z`, channel `c`, row `r`, column `q` is at `((z * C + c) * S + r) * S + q`, with rows
    ///   following the slice's `y` index and columns its `x` index (no transpose).
    public static func preprocess(_ volume: ScanVolume, size: Int = defaultSize, windows: [Window] = Window.defaults) -> [Float] {
        precondition(size > 0, "preprocess: size must be positive")
        precondition(!windows.isEmpty, "preprocess: need at least one window")
        let shape = volume.shape
        let framed = Framed(frame: SquareFrame(shape), size: size, fill: air)
        let plane = size * size, channels = windows.count
        var out = [Float](repeating: 0, count: shape.z * channels * plane)
        volume.voxels.withUnsafeBufferPointer { ib in
            out.withUnsafeMutableBufferPointer { ob in
                let base = UncheckedSendable(ob)
                framed.forEachImage(count: shape.z) { k, scratch in
                    let hu = UnsafeMutableBufferPointer<Float>.allocate(capacity: plane)
                    defer { hu.deallocate() }
                    framed.apply(ib.baseAddress! + k * shape.sliceCount, into: hu.baseAddress!, scratch: scratch)
                    window(UnsafePointer(hu.baseAddress!), count: plane, windows: windows,
                           into: base.value.baseAddress! + k * channels * plane)
                }
            }
        }
        return out
    }

    /// Windows `count` HU values into `windows.count` consecutive runs of `count` values at
    /// `output` (run `c` holding `windows[c].apply` of each value): the channels of one slice,
    /// as ``preprocess(_:size:windows:)`` makes them from its resampled plane. A caller that
    /// keeps resampled HU and windows it later gets the same floats by calling this.
    public static func window(_ hu: UnsafePointer<Float>, count: Int, windows: [Window], into output: UnsafeMutablePointer<Float>) {
        for (c, w) in windows.enumerated() {
            let lo = w.lower, width = w.width
            let d = output + c * count
            for i in 0..<count { d[i] = min(max((hu[i] - lo) / width, 0), 1) }
        }
    }

    /// Axial slice `k` of `volume` as network input: `C * S * S` values laid out `(C, S, S)`,
    /// equal to slice `k` of ``preprocess(_:size:windows:)``.
    public static func preprocessSlice(_ volume: ScanVolume, slice k: Int, size: Int = defaultSize,
                                       windows: [Window] = Window.defaults) -> [Float] {
        precondition(k >= 0 && k < volume.shape.z, "preprocessSlice: slice \(k) outside 0..<\(volume.shape.z)")
        return Window.stack(resample(volume.slice(k), height: volume.shape.y, width: volume.shape.x, size: size), windows: windows)
    }

    /// Air in HU (-1000, water 0 by the Hounsfield scale's definition): what a slice that is not
    /// square is padded with to its ``SquareFrame`` before it is resampled. Every default
    /// window maps it to 0, as it maps a scanner's own air and padding (-1024, -3024).
    public static let air: Float = -1000

    /// One row-major `height x width` image as the networks see it, `size x size`: padded to its
    /// ``SquareFrame`` with `fill` (air by default, 0 for a mask), then resampled by the network
    /// rule (``Resampler/network(height:width:size:)``, `ichnets.resample`). A square image is
    /// not padded, so this is `ichnets.resample` itself there.
    public static func resample<C: Collection>(_ image: C, height: Int, width: Int, size: Int,
                                               fill: Float = air) -> [Float] where C.Element == Float {
        resampleStack(image, height: height, width: width, count: 1, size: size, fill: fill)
    }

    /// ``resample(_:height:width:size:fill:)`` of `count` images stored back to back (the axial
    /// slices of a volume: `count * height * width` values), returned back to back
    /// (`count * size * size` values). Images run in parallel when the stack is large.
    public static func resampleStack<C: Collection>(_ images: C, height: Int, width: Int, count: Int, size: Int,
                                                    fill: Float = air) -> [Float] where C.Element == Float {
        let framed = Framed(frame: SquareFrame(height: height, width: width), size: size, fill: fill)
        let input = Array(images)
        precondition(input.count == count * height * width,
                     "resampleStack: \(input.count) values for \(count) images of \(height)x\(width)")
        let plane = size * size
        var out = [Float](repeating: 0, count: count * plane)
        input.withUnsafeBufferPointer { ib in
            out.withUnsafeMutableBufferPointer { ob in
                let base = UncheckedSendable(ob)
                framed.forEachImage(count: count) { k, scratch in
                    framed.apply(ib.baseAddress! + k * height * width, into: base.value.baseAddress! + k * plane, scratch: scratch)
                }
            }
        }
        return out
    }

    /// Resizes one `size x size` map (a CAM, a probability or logit map) back to a slice's
    /// `height x width` grid (`y x x`): bilinear `align_corners=False` to the slice's
    /// ``SquareFrame`` (`F.interpolate(map, size=(side, side))`), then the slice's rectangle cut
    /// out, so a pixel goes back to where ``resample(_:height:width:size:fill:)`` took it from.
    /// For a square slice this is the plain resize.
    public static func resizeToSlice<C: Collection>(_ map: C, size: Int, height: Int, width: Int) -> [Float] where C.Element == Float {
        resizeToSlices(map, size: size, height: height, width: width, count: 1)
    }

    /// Resizes `shape.z` maps of `size x size` (laid out `(Z, S, S)`) back to the scan grid, each
    /// as ``resizeToSlice(_:size:height:width:)``. The result is in NIfTI voxel order
    /// (`shape.count` values), ready for `Volume(shape:voxels:geometry:)`.
    public static func resizeToVolume<C: Collection>(_ maps: C, size: Int, shape: GridShape) -> [Float] where C.Element == Float {
        resizeToSlices(maps, size: size, height: shape.y, width: shape.x, count: shape.z)
    }

    static func resizeToSlices<C: Collection>(_ maps: C, size: Int, height: Int, width: Int, count: Int) -> [Float] where C.Element == Float {
        let frame = SquareFrame(height: height, width: width)
        let r = Resampler(inputHeight: size, inputWidth: size, outputHeight: frame.side, outputWidth: frame.side, mode: .bilinear)
        if frame.isSquare { return r.resizeStack(maps, count: count) }
        let input = Array(maps)
        precondition(input.count == count * size * size, "resizeToSlice(s): \(input.count) values for \(count) maps of \(size)x\(size)")
        let plane = height * width, square = frame.side * frame.side
        var out = [Float](repeating: 0, count: count * plane)
        input.withUnsafeBufferPointer { ib in
            out.withUnsafeMutableBufferPointer { ob in
                let base = UncheckedSendable(ob)
                let own = r.inputHeight * r.outputWidth
                r.forEachImage(count: count, extraScratch: square) { k, scratch in
                    // the resampler's scratch first, the resized square after it
                    let full = UnsafeMutableBufferPointer(rebasing: scratch[own..<(own + square)])
                    r.apply(UnsafeBufferPointer(rebasing: ib[(k * size * size)..<((k + 1) * size * size)]), into: full,
                            scratch: UnsafeMutableBufferPointer(rebasing: scratch[0..<own]))
                    frame.crop(UnsafePointer(full.baseAddress!), into: base.value.baseAddress! + k * plane)
                }
            }
        }
        return out
    }
}

/// One slice's way to the network grid: pad to its ``SquareFrame`` (skipped when square), then
/// the network resampler of the square. `scratch` of ``forEachImage(count:_:)`` holds the
/// resampler's scratch followed by the padded square (when the slice is not square).
struct Framed {
    let frame: SquareFrame
    let resampler: Resampler
    let fill: Float

    init(frame: SquareFrame, size: Int, fill: Float) {
        precondition(size > 0, "resample: size must be positive")
        self.frame = frame
        self.resampler = Resampler.network(height: frame.side, width: frame.side, size: size)
        self.fill = fill
    }

    private var paddedCount: Int { frame.isSquare ? 0 : frame.side * frame.side }

    /// Runs `body(k, scratch)` for k in 0..<count, in parallel when the stack is large, with
    /// scratch for ``apply(_:into:scratch:)``.
    func forEachImage(count: Int, _ body: (Int, UnsafeMutableBufferPointer<Float>) -> Void) {
        resampler.forEachImage(count: count, extraScratch: paddedCount, body)
    }

    /// One `frame.height x frame.width` image at `input` to `size x size` at `output`.
    func apply(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, scratch: UnsafeMutableBufferPointer<Float>) {
        let rs = resampler.inputHeight * resampler.outputWidth
        let out = UnsafeMutableBufferPointer(start: output, count: resampler.outputCount)
        if frame.isSquare {
            resampler.apply(UnsafeBufferPointer(start: input, count: resampler.inputCount), into: out,
                            scratch: UnsafeMutableBufferPointer(rebasing: scratch[0..<rs]))
            return
        }
        let padded = scratch.baseAddress! + rs
        frame.pad(input, into: padded, fill: fill)
        resampler.apply(UnsafeBufferPointer(start: UnsafePointer(padded), count: resampler.inputCount), into: out,
                        scratch: UnsafeMutableBufferPointer(rebasing: scratch[0..<rs]))
    }
}
