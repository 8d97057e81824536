import CTVolume
import Dispatch
import Foundation
import ImageCore

extension MapThreshold {
    /// Thresholds a CAM volume slice by slice inside the intracranial mask, on the slices the
    /// classifier calls positive (Docs/method.md#3-crf-free-thresholding).
    ///
    ///     out[slice k] = region(cam[k], within: intracranial[k])   when probabilities[k] >= positiveAt
    ///                  = 0                                          otherwise
    ///
    /// Each slice gets its own cutoff (a percentile or Otsu cutoff of that slice's ROI values).
    /// Slices run concurrently.
    ///
    /// - Parameters:
    ///   - cam: the maps on the scan's grid (Float, normally 0...1 per slice).
    ///   - intracranial: the region of interest, same grid.
    ///   - probabilities: one classifier probability per axial slice (`cam.shape.z` of them);
    ///     `nil` treats every slice as positive.
    ///   - positiveAt: a slice is positive when its probability is >= this (default 0.5).
    /// - Returns: a mask on the CAM's grid and geometry, 1 inside the region, 0 elsewhere.
    /// - Throws: ``WeakSupervisionError/shapeMismatch(what:expected:got:)`` for grids or a
    ///   probability count that do not match; whatever the threshold throws.
    public func region(
        cam: Volume<Float>, within intracranial: MaskVolume,
        probabilities: [Float]?, positiveAt: Float = 0.5
    ) throws -> MaskVolume {
        try checkSameGrid(cam.shape, intracranial.shape, what: "CAM volume and intracranial mask")
        let positive = try positiveSlices(probabilities, slices: cam.shape.z, positiveAt: positiveAt)
        var out = MaskVolume(shape: cam.shape, repeating: 0, geometry: cam.geometry)
        let n = cam.shape.sliceCount
        let failures = ErrorBox()
        out.voxels.withUnsafeMutableBufferPointer { dst in
            parallelFor(cam.shape.z) { k in
                guard positive[k] else { return }
                do {
                    let r = try region(map: cam.slice(k), within: intracranial.slice(k))
                    for p in 0..<n { dst[k * n + p] = r[p] }
                } catch {
                    failures.record(k, error)
                }
            }
        }
        if let e = failures.first { throw e }
        return out
    }
}

/// Throws when two grids differ.
func checkSameGrid(_ a: GridShape, _ b: GridShape, what: String) throws {
    guard a == b else { throw WeakSupervisionError.shapeMismatch(what: what, expected: "\(a)", got: "\(b)") }
}

/// Which slices count as positive: all when `probabilities` is nil.
func positiveSlices(_ probabilities: [Float]?, slices: Int, positiveAt: Float) throws -> [Bool] {
    guard let p = probabilities else { return [Bool](repeating: true, count: slices) }
    guard p.count == slices else {
        throw WeakSupervisionError.shapeMismatch(
            what: "slice probabilities", expected: "one per slice (\(slices))", got: "\(p.count)")
    }
    return p.map { $0 >= positiveAt }
}

/// Collects the error of the lowest-numbered failing task of a concurrent loop, so that the
/// error thrown does not depend on scheduling.
final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var index = Int.max
    private var error: (any Error)?

    func record(_ i: Int, _ e: any Error) {
        lock.lock(); defer { lock.unlock() }
        if i < index { index = i; error = e }
    }

    var first: (any Error)? {
        lock.lock(); defer { lock.unlock() }
        return error
    }
}
