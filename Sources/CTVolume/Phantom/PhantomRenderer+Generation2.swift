#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ImageCore

extension PhantomRenderer {
    /// Draws slice `k` as generation 2 does: sections across the slice profile, weighted;
    /// partial volume with the inner table; textured parenchyma and cupping; the point-spread
    /// blur, then noise coloured by the reconstruction kernel. The label is the lesions' own
    /// profile-weighted occupancy (over half) in a voxel that holds less than
    /// ``Generation2Extras/boneShareLimit`` bone, so no HU window reproduces it.
    func renderSlice2(_ k: Int, extras e: Generation2Extras, hu outHU: SharedBuffer<Float>, label outLabel: SharedBuffer<UInt8>,
                      intracranial outIC: SharedBuffer<UInt8>, tissue outTissue: SharedBuffer<UInt8>) -> [Int] {
        let n = nx * ny
        var pure = [UInt8](repeating: 0, count: n)  // 1 + tissue while every section agrees, else 0
        var huSum = [Double](repeating: 0, count: n)
        var bloodW = huSum, icW = huSum, boneW = huSum, parW = huSum, centralDepth = huSum
        var bloodCount = [UInt8](repeating: 0, count: n)
        var lesionAt = [UInt8](repeating: 0, count: n)
        var cls = [Tissue](repeating: .air, count: n)
        var hu = [Double](repeating: -1000, count: n)
        var depth = [Double](repeating: 0, count: n), tableDepth = depth
        var table = SulcusTable(bins: PhantomRenderer.bins)
        let zc = zStart + (Double(k) + 0.5) * thickness
        // the section nearest the slice centre (the later of the two middle ones for an even count)
        let central = e.offsets.count / 2
        let cortical = head.huCortical, csf = head.huCSF
        // A pixel whose centre lies within half a pixel of the inner table shares its area with
        // the other side, about linearly in the distance.
        let half = 0.5 * dx, invDx = 1 / dx

        for (s, offset) in e.offsets.enumerated() {
            let w = e.weights[s]
            let z = zc + offset
            table.build(head.sulci, at: z)
            drawAnatomy(z: z, table: table, cls: &cls, hu: &hu, depth: &depth, tableDepth: &tableDepth)
            drawStructures(z: z, cls: &cls, hu: &hu)
            drawLesions(z: z, cls: &cls, hu: &hu, depth: depth, lesionAt: &lesionAt, bloodCount: &bloodCount)
            for p in 0..<n {
                let c = cls[p]
                var bone = 0.0
                if c == .bone {
                    bone = 1
                    let d = tableDepth[p]
                    if d < 0 && d > -half {
                        bone = 0.5 - d * invDx
                        hu[p] = bone * hu[p] + (1 - bone) * csf
                    }
                } else if c.isIntracranial {
                    let d = tableDepth[p]
                    if d >= 0 && d < half {
                        bone = 0.5 - d * invDx
                        hu[p] = bone * cortical + (1 - bone) * hu[p]
                    }
                    icW[p] += w
                    if c == .blood { bloodW[p] += w } else if c.isParenchyma || c == .oedema { parW[p] += w }
                }
                huSum[p] += w * hu[p]
                boneW[p] += w * bone
                if s == central { centralDepth[p] = depth[p] }
                // a pixel shared with the inner table is not pure, whatever its centre's class
                let t = bone > 0 && bone < 1 ? 0 : c.rawValue &+ 1
                if s == 0 { pure[p] = t } else if pure[p] != t { pure[p] = 0 }
            }
        }

        let total = e.weights.reduce(0, +)
        let inv = 1 / total
        var img = huSum.map { $0 * inv }
        let inside = icW.map { $0 > 0.5 * total }
        // Texture of the parenchyma and cupping belong to the object and the beam: before the blur.
        e.parenchyma.add(to: &img, weight: parW.map { $0 * inv }, slice: zc, of: self)
        if e.cupping != 0 {
            let sIn = profiles[min(profiles.count - 1, Int(max(0, (zc - profileZ0) / PhantomRenderer.profileStep) + 0.5))].0
            for p in 0..<n where inside[p] && sIn > 0 {
                let rr = pr[p] / (rBase[p] * sIn)
                img[p] += e.cupping * min(1, rr * rr)
            }
        }
        applyArtefacts(z: zc, img: &img, inside: inside, centralDepth: centralDepth)
        separableBlur(&img, nx: nx, ny: ny, kernel: gaussianKernel(sigma: head.psfSigmaMM / dx))
        // Noise after the blur, coloured by the reconstruction kernel, of the asked standard deviation.
        // quantum noise: the standard deviation asked holds at 5 mm and grows as 1 / sqrt(thickness)
        let sigma = head.noiseSD * (5 / thickness).squareRoot() * (1 + 0.5 * skullBaseFactor(zc))
        if sigma > 0 {
            var noise = [Double](repeating: 0, count: n)
            var g = SeededGenerator(seed: noiseSeed, stream: UInt64(k))
            addGaussianNoise(&noise, sd: 1, using: &g)
            let kernel = gaussianKernel(sigma: e.noiseCorrelation)
            separableBlur(&noise, nx: nx, ny: ny, kernel: kernel)
            let scale = sigma / kernel.reduce(0) { $0 + $1 * $1 }
            for p in 0..<n { img[p] += scale * noise[p] }
        }

        var lesionVoxels = [Int](repeating: 0, count: lesions.count)
        let base = k * n
        let limit = Generation2Extras.boneShareLimit * total
        for p in 0..<n {
            outHU.pointer[base + p] = Float(max(-1024, min(3071, img[p].rounded())))
            let isBlood = 2 * bloodW[p] > total && boneW[p] < limit
            outLabel.pointer[base + p] = isBlood ? lesionAt[p] : 0   // the lesion that drew here last
            outIC.pointer[base + p] = inside[p] ? 1 : 0
            outTissue.pointer[base + p] = pure[p]
            if isBlood && lesionAt[p] > 0 { lesionVoxels[Int(lesionAt[p]) - 1] += 1 }
        }
        return lesionVoxels
    }
}
