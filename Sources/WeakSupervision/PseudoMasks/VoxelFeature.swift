import CTVolume

/// One feature of the voxels that k-means clusters (inside the intracranial mask).
public enum VoxelFeature: Sendable {
    /// The scan's Hounsfield units.
    case hu
    /// Hounsfield units smoothed in-plane by a Gaussian of standard deviation `sigmaMM`
    /// millimetres, *inside the intracranial mask only* (normalised convolution):
    ///
    ///     smoothed = G * (hu . m) / G * m        (m the intracranial mask of the slice)
    ///
    /// so that bone outside the mask does not bleed into the brain next to it. Each axial slice
    /// is filtered on its own, separably, with the kernel truncated at 4 sigma (scipy's
    /// `gaussian_filter` default) and zero outside the image; sigma in voxels is
    /// `sigmaMM / spacing` along x and y.
    case smoothedHU(sigmaMM: Double)
    /// Any per-voxel value the caller computed (texture, distance to the skull, ...), on the
    /// scan's grid. k-means is scale-sensitive: bring it to a scale comparable with HU.
    case custom(name: String, values: ScanVolume)

    /// A short name for reports.
    public var name: String {
        switch self {
        case .hu: return "hu"
        case .smoothedHU(let s): return "hu-smoothed-\(s)mm"
        case .custom(let name, _): return name
        }
    }

    /// This feature's value at every voxel of the scan's grid.
    ///
    /// - Throws: ``WeakSupervisionError/shapeMismatch(what:expected:got:)`` for a custom volume
    ///   on another grid, ``WeakSupervisionError/invalidParameter(name:reason:)`` for a sigma
    ///   that is not finite and > 0.
    public func values(scan: ScanVolume, intracranial: MaskVolume) throws -> [Float] {
        switch self {
        case .hu:
            return scan.voxels
        case .smoothedHU(let sigmaMM):
            guard sigmaMM.isFinite, sigmaMM > 0 else {
                throw WeakSupervisionError.invalidParameter(name: "smoothing sigma", reason: "\(sigmaMM) mm is not finite and > 0")
            }
            let sx = sigmaMM / scan.geometry.spacing.x, sy = sigmaMM / scan.geometry.spacing.y
            return maskedGaussian(scan, mask: intracranial, sigmaX: sx, sigmaY: sy)
        case .custom(let name, let v):
            try checkSameGrid(scan.shape, v.shape, what: "scan and custom feature '\(name)'")
            return v.voxels
        }
    }
}

/// Normalised in-plane Gaussian of `scan` inside `mask`; 0 outside the mask.
func maskedGaussian(_ scan: ScanVolume, mask: MaskVolume, sigmaX: Double, sigmaY: Double) -> [Float] {
    let nx = scan.shape.x, ny = scan.shape.y, n = scan.shape.sliceCount
    let kx = gaussianKernel(sigmaX), ky = gaussianKernel(sigmaY)
    var out = [Float](repeating: 0, count: scan.shape.count)
    scan.voxels.withUnsafeBufferPointer { hu in
        mask.voxels.withUnsafeBufferPointer { m in
            out.withUnsafeMutableBufferPointer { o in
                parallelFor(scan.shape.z) { k in
                    var num = [Double](repeating: 0, count: n), den = num
                    for p in 0..<n where m[k * n + p] > 0 {
                        num[p] = Double(hu[k * n + p])
                        den[p] = 1
                    }
                    num = convolve(num, nx: nx, ny: ny, kx: kx, ky: ky)
                    den = convolve(den, nx: nx, ny: ny, kx: kx, ky: ky)
                    for p in 0..<n where m[k * n + p] > 0 {
                        o[k * n + p] = Float(num[p] / den[p])
                    }
                }
            }
        }
    }
    return out
}

/// scipy's Gaussian kernel: radius `Int(4 sigma + 0.5)`, weights `exp(-x^2 / (2 sigma^2))`
/// normalised to sum 1.
func gaussianKernel(_ sigma: Double) -> [Double] {
    let r = Int(4 * sigma + 0.5)
    var w = (-r...r).map { x in Foundation.exp(-0.5 * Double(x * x) / (sigma * sigma)) }
    let s = w.reduce(0, +)
    for i in w.indices { w[i] /= s }
    return w
}

/// Separable convolution of a row-major `ny x nx` image, zero outside. Inner loops run along
/// contiguous rows (vectorised): for each tap, a shifted row is added with the tap's weight.
private func convolve(_ img: [Double], nx: Int, ny: Int, kx: [Double], ky: [Double]) -> [Double] {
    let rx = kx.count / 2, ry = ky.count / 2
    var tmp = [Double](repeating: 0, count: img.count)
    var out = [Double](repeating: 0, count: img.count)
    img.withUnsafeBufferPointer { src in
        tmp.withUnsafeMutableBufferPointer { t in
            for j in 0..<ny {
                let row = j * nx
                for tap in -rx...rx {
                    let w = kx[tap + rx]
                    let lo = Swift.max(0, -tap), hi = Swift.min(nx, nx - tap)
                    if lo >= hi { continue }
                    for i in lo..<hi { t[row + i] += w * src[row + i + tap] }
                }
            }
        }
    }
    tmp.withUnsafeBufferPointer { t in
        out.withUnsafeMutableBufferPointer { o in
            for j in 0..<ny {
                for tap in Swift.max(-ry, -j)...Swift.min(ry, ny - 1 - j) {
                    let w = ky[tap + ry]
                    let dst = j * nx, from = (j + tap) * nx
                    for i in 0..<nx { o[dst + i] += w * t[from + i] }
                }
            }
        }
    }
    return out
}

import Foundation
import ImageCore
