import CTVolume
import Testing
@testable import WeakSupervision

/// ``VoxelFeature/depthCorrectedHU(sigmaMM:)`` on analytic heads: a square skull of 1000 HU
/// around brain whose HU depends on the depth band alone, so every band's median is known.
@Suite("Depth-corrected HU")
struct DepthCorrectedFeatureTests {
    /// A 1 mm grid of `size`² x `slices` with a skull ring of `wall` voxels at the border and
    /// brain inside; `brain(band)` gives the HU of a brain voxel from its depth band (the
    /// distance to the skull in mm, floored: the grid's spacing is 1 mm).
    static func head(size: Int = 64, slices: Int = 3, wall: Int = 2, brain: (Int) -> Float) -> (ScanVolume, MaskVolume, [Int]) {
        let g = Geometry(spacing: SIMD3(1, 1, 3))
        var scan = ScanVolume(shape: GridShape(size, size, slices), repeating: -1000, geometry: g)
        var mask = MaskVolume(shape: scan.shape, repeating: 0, geometry: g)
        var bands = [Int](repeating: -1, count: scan.voxels.count)
        for z in 0..<slices {
            for y in 0..<size {
                for x in 0..<size {
                    let v = (z * size + y) * size + x
                    let edge = min(x, y, size - 1 - x, size - 1 - y)
                    if edge < wall { scan.voxels[v] = 1000; continue }
                    // the nearest skull voxel lies straight out, (edge − wall + 1) voxels away
                    let band = edge - wall + 1
                    bands[v] = band
                    scan.voxels[v] = brain(band)
                    mask.voxels[v] = 1
                }
            }
        }
        return (scan, mask, bands)
    }

    @Test("a brightening that depends on depth alone is removed exactly: every brain voxel gets the deep tissue's HU")
    func profileRemoved() throws {
        // 30 HU deep; +25 HU in the first millimetre, +12 in the second, +4 in the third
        let rise: [Int: Float] = [1: 25, 2: 12, 3: 4]
        let (scan, mask, _) = Self.head { 30 + (rise[$0] ?? 0) }
        let out = try VoxelFeature.depthCorrectedHU(sigmaMM: 0).values(scan: scan, intracranial: mask)
        for v in out.indices where mask.voxels[v] > 0 { #expect(out[v] == 30, "voxel \(v): \(out[v])") }
        for v in out.indices where mask.voxels[v] == 0 { #expect(out[v] == scan.voxels[v]) }
        // the plain feature keeps the crescent: its band-1 voxels are 25 HU above the deep ones
        let plain = try VoxelFeature.hu.values(scan: scan, intracranial: mask)
        let crescent = plain.indices.filter { mask.voxels[$0] > 0 && plain[$0] == 55 }
        #expect(crescent.count == 3 * 4 * 59)
    }

    @Test("a bleed keeps its contrast against the tissue at its own depth, deep or against the skull")
    func bleedKeepsContrast() throws {
        let rise: [Int: Float] = [1: 25, 2: 12]
        let (plainScan, mask, bands) = Self.head { 30 + (rise[$0] ?? 0) }
        var scan = plainScan
        let size = 64, plane = size * size
        // a 4 x 4 deep bleed of 70 HU, and a 6-voxel strip of 70 HU in band 1 on one slice
        var deepBleed: [Int] = [], rimBleed: [Int] = []
        for y in 30..<34 { for x in 30..<34 { deepBleed.append(plane + y * size + x) } }
        for x in 20..<26 { rimBleed.append(plane + 2 * size + x) }
        for v in deepBleed + rimBleed { scan.voxels[v] = 70 }
        #expect(rimBleed.allSatisfy { bands[$0] == 1 })
        let out = try VoxelFeature.depthCorrectedHU(sigmaMM: 0).values(scan: scan, intracranial: mask)
        for v in deepBleed { #expect(out[v] == 70) }
        for v in rimBleed { #expect(out[v] == 70 - 55 + 30) }       // 40 HU above its band, as deep blood is
        let tissue = out.indices.filter { mask.voxels[$0] > 0 && scan.voxels[$0] != 70 }
        #expect(tissue.allSatisfy { out[$0] == 30 })
    }

    @Test("no skull, or bands too thin for a median, leave the values as they were; smoothing comes first")
    func untouchedCases() throws {
        let (scan, mask, _) = Self.head { 30 + ($0 == 1 ? 25 : 0) }
        // no bone: the same values as the plain feature
        var boneless = scan
        for v in boneless.voxels.indices where boneless.voxels[v] == 1000 { boneless.voxels[v] = -1000 }
        #expect(try VoxelFeature.depthCorrectedHU(sigmaMM: 0).values(scan: boneless, intracranial: mask) == boneless.voxels)
        // a head of 9 x 9 brain voxels on one slice: the deep band is empty, nothing is corrected
        let (tiny, tinyMask, _) = Self.head(size: 13, slices: 1) { 30 + ($0 == 1 ? 25 : 0) }
        #expect(try VoxelFeature.depthCorrectedHU(sigmaMM: 0).values(scan: tiny, intracranial: tinyMask) == tiny.voxels)
        // with a sigma, the correction applies to the smoothed values (deep voxels, far from
        // the crescent, are 30 either way; the crescent's smoothed values are brought down)
        let smoothed = try VoxelFeature.smoothedHU(sigmaMM: 1).values(scan: scan, intracranial: mask)
        let corrected = try VoxelFeature.depthCorrectedHU(sigmaMM: 1).values(scan: scan, intracranial: mask)
        let centre = 64 * 64 + 32 * 64 + 32
        #expect(abs(corrected[centre] - 30) < 1e-4 && abs(smoothed[centre] - 30) < 1e-4)
        let rim = 64 * 64 + 2 * 64 + 32
        #expect(smoothed[rim] > 40 && abs(corrected[rim] - 30) < 2)
        #expect(throws: WeakSupervisionError.self) { try VoxelFeature.depthCorrectedHU(sigmaMM: -1).values(scan: scan, intracranial: mask) }
        #expect(VoxelFeature.depthCorrectedHU(sigmaMM: 1).name == "hu-depth-corrected-1.0mm")
    }

    @Test("k-means on depth-corrected HU picks the bleed, not the crescent along the skull")
    func pseudoMaskIgnoresTheCrescent() throws {
        // a crescent of 62 HU in band 1 (brain 30), a bleed of 65 HU deep: on plain HU the
        // hyperdense cluster holds both; corrected, the crescent joins the tissue
        let (plainScan, mask, _) = Self.head { 30 + ($0 == 1 ? 32 : 0) }
        var scan = plainScan
        let size = 64, plane = size * size
        var bleed: [Int] = []
        for y in 28..<36 { for x in 28..<36 { bleed.append(plane + y * size + x) } }
        for v in bleed { scan.voxels[v] = 65 }
        for v in scan.voxels.indices where mask.voxels[v] > 0 && scan.voxels[v] == 30 { scan.voxels[v] = v % 3 == 0 ? 20 : 30 }
        let plain = try PseudoMaskBuilder(k: 3, features: [.hu], seed: 1).cluster(scan: scan, intracranial: mask).mask
        let corrected = try PseudoMaskBuilder(k: 3, features: [.depthCorrectedHU(sigmaMM: 0)], seed: 1).cluster(scan: scan, intracranial: mask).mask
        let plainCount = plain.voxels.reduce(0) { $0 + Int($1) }, correctedCount = corrected.voxels.reduce(0) { $0 + Int($1) }
        #expect(bleed.allSatisfy { plain.voxels[$0] == 1 && corrected.voxels[$0] == 1 })
        #expect(plainCount > bleed.count * 10)        // the crescent: 4 x 58 voxels a slice
        #expect(correctedCount == bleed.count)
    }
}
