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
    /// Hounsfield units (smoothed as ``smoothedHU(sigmaMM:)`` when `sigmaMM` > 0) with the scan's
    /// own brightening towards the skull taken out: beam hardening (cupping) and the inner
    /// table's partial volume raise the brain next to the bone by up to tens of HU, into the
    /// range of blood, and k-means then calls a crescent along the inner table hyperdense.
    ///
    ///     band(v)   = floor(depth(v) / spacing)  for depth < depthCorrectionMM, else one deep band
    ///     out(v)    = value(v) - median(band(v)) + median(deep band)
    ///
    /// `depth` is the in-plane distance to the skull (``BoneRimFiltered/boneDepth(_:boneHU:distance:)``
    /// at ``boneHU``), `spacing` the finer in-plane voxel side, and each median is taken over
    /// the mask's voxels of that band on every slice of the scan: the profile is estimated per
    /// scan, from the scan, and no HU value is assumed. Blood is a minority of every band, so
    /// the medians follow the tissue: a bleed keeps its contrast against the tissue at its own
    /// depth. Bands of fewer than ``minimumBandVoxels`` voxels are not corrected; a scan without
    /// bone is returned as the plain (smoothed) values.
    case depthCorrectedHU(sigmaMM: Double)
    /// Any per-voxel value the caller computed (texture, distance to the skull, ...), on the
    /// scan's grid. k-means is scale-sensitive: bring it to a scale comparable with HU.
    case custom(name: String, values: ScanVolume)

    /// A short name for reports.
    public var name: String {
        switch self {
        case .hu: return "hu"
        case .smoothedHU(let s): return "hu-smoothed-\(s)mm"
        case .depthCorrectedHU(let s): return "hu-depth-corrected-\(s)mm"
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
        case .depthCorrectedHU(let sigmaMM):
            guard sigmaMM.isFinite, sigmaMM >= 0 else {
                throw WeakSupervisionError.invalidParameter(name: "smoothing sigma", reason: "\(sigmaMM) mm is not finite and ≥ 0")
            }
            let base = sigmaMM > 0 ? try VoxelFeature.smoothedHU(sigmaMM: sigmaMM).values(scan: scan, intracranial: intracranial) : scan.voxels
            return Self.correctDepth(base, scan: scan, intracranial: intracranial)
        case .custom(let name, let v):
            try checkSameGrid(scan.shape, v.shape, what: "scan and custom feature '\(name)'")
            return v.voxels
        }
    }

    /// How deep below the skull ``depthCorrectedHU(sigmaMM:)`` follows the profile, in mm
    /// (20): cupping and the inner table's partial volume act within a few millimetres; deeper
    /// tissue forms one band, the reference.
    public static let depthCorrectionMM = 20.0
    /// HU from which a voxel counts as bone for the depth (200, as ``BoneRimFiltered/Settings``):
    /// above any blood or brain, below cortical bone.
    public static let boneHU = 200.0
    /// A band with fewer mask voxels than this (32) keeps its values: too few for a median.
    public static let minimumBandVoxels = 32

    /// `values` with the median of each depth band moved to the deep band's (see
    /// ``depthCorrectedHU(sigmaMM:)``); voxels outside `intracranial` keep their values.
    static func correctDepth(_ values: [Float], scan: ScanVolume, intracranial: MaskVolume) -> [Float] {
        let depth = BoneRimFiltered.boneDepth(scan, boneHU: boneHU)
        let spacing = min(abs(scan.geometry.spacing.x), abs(scan.geometry.spacing.y))
        guard spacing > 0 else { return values }
        let deep = Int((depthCorrectionMM / spacing).rounded(.up))
        func band(_ d: Double) -> Int { d < depthCorrectionMM ? min(Int(d / spacing), deep - 1) : deep }
        var members = [[Float]](repeating: [], count: deep + 1)
        for v in values.indices where intracranial.voxels[v] > 0 { members[band(depth[v])].append(values[v]) }
        guard members[deep].count >= minimumBandVoxels else { return values }
        let median = { (band: [Float]) in PercentileThreshold.percentile(band, 50) }
        let reference = median(members[deep])
        let offset = members.map { $0.count >= minimumBandVoxels ? reference - median($0) : 0 }
        var out = values
        for v in out.indices where intracranial.voxels[v] > 0 { out[v] += offset[band(depth[v])] }
        return out
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
