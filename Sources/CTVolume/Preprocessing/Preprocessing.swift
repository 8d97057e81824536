import Foundation
import ImageCore

/// The network input of Docs/method.md#0-data-and-preprocessing, and the way back from network-sized maps to a
/// scan's grid. The arithmetic is `ichnets.preprocess_volume`: resample each axial slice's
/// HU to `size x size` first (area averaging to shrink, bilinear `align_corners=False` to
/// grow; see ``Resampler``), then window into channels (see ``Window``).
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
        let resampler = Resampler.network(height: shape.y, width: shape.x, size: size)
        let plane = size * size, channels = windows.count
        var out = [Float](repeating: 0, count: shape.z * channels * plane)
        volume.voxels.withUnsafeBufferPointer { ib in
            out.withUnsafeMutableBufferPointer { ob in
                let base = UncheckedSendable(ob)
                resampler.forEachImage(count: shape.z) { k, scratch in
                    let hu = UnsafeMutableBufferPointer<Float>.allocate(capacity: plane)
                    defer { hu.deallocate() }
                    resampler.apply(UnsafeBufferPointer(rebasing: ib[(k * shape.sliceCount)..<((k + 1) * shape.sliceCount)]),
                                    into: hu, scratch: scratch)
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
        let r = Resampler.network(height: volume.shape.y, width: volume.shape.x, size: size)
        return Window.stack(r(volume.slice(k)), windows: windows)
    }

    /// `ichnets.resample` of one row-major `height x width` image to `size x size`.
    public static func resample<C: Collection>(_ image: C, height: Int, width: Int, size: Int) -> [Float] where C.Element == Float {
        Resampler.network(height: height, width: width, size: size)(image)
    }

    /// Resizes one `size x size` map (a CAM, a probability or logit map) back to a slice's
    /// original `height x width` grid (`y x x`) with bilinear `align_corners=False`, as
    /// `F.interpolate(map, size=(height, width), mode="bilinear", align_corners=False)`.
    public static func resizeToSlice<C: Collection>(_ map: C, size: Int, height: Int, width: Int) -> [Float] where C.Element == Float {
        Resampler(inputHeight: size, inputWidth: size, outputHeight: height, outputWidth: width, mode: .bilinear)(map)
    }

    /// Resizes `shape.z` maps of `size x size` (laid out `(Z, S, S)`) back to the scan grid.
    /// The result is in NIfTI voxel order (`shape.count` values), ready for
    /// `Volume(shape:voxels:geometry:)`.
    public static func resizeToVolume<C: Collection>(_ maps: C, size: Int, shape: GridShape) -> [Float] where C.Element == Float {
        let r = Resampler(inputHeight: size, inputWidth: size, outputHeight: shape.y, outputWidth: shape.x, mode: .bilinear)
        return r.resizeStack(maps, count: shape.z)
    }
}
