#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import ImageCore


/// Draws the slices of one phantom case: for each slice, `subSlices` thin sections are drawn
/// analytically and averaged (partial volume across the slice), then the imaging chain
/// (skull-base artefacts, noise, point-spread blur, int16 quantisation) is applied.
struct PhantomRenderer: Sendable {
    let head: HeadAnatomy
    let lesions: [LesionModel]
    let nx: Int, ny: Int, nz: Int, subSlices: Int
    let dx: Double, thickness: Double, zStart: Double
    let noiseSeed: UInt64

    // Per-pixel head-frame quantities; none depends on the height, so they are computed once.
    let pu: [Double], pv: [Double], pr: [Double], pphi: [Double], rBase: [Double]
    let floorZ: [Double], tentZ: [Double], midDist: [Double], yRel: [Double], bin: [Int32], baseBone: [Double]
    /// Height offset of each pixel's anatomy from the tilt (roll * u + pitch * v), and its bound.
    let zShift: [Double], maxZShift: Double
    /// Profiles of the inner table, outer table and scalp, tabulated every `profileStep` mm from `profileZ0`.
    let profiles: [(Double, Double, Double)], profileZ0: Double
    static let profileStep = 0.1
    let headRadius: Double
    static let bins = 2048
    /// Generation 2's additions (nil: generation 1).
    let extras: Generation2Extras?
    /// What the pixels outside the head hold: air, or the head holder (generation 2).
    let airHU: [Double]
    /// Generation 2's gantry tilt: a row step is `dx * rowScale` mm in the world's
    /// anterior-posterior direction and `dx * rowRise` mm up (1 and 0 without tilt).
    let rowScale: Double, rowRise: Double

    init(head: HeadAnatomy, lesions: [LesionModel], nx: Int, ny: Int, nz: Int, subSlices: Int,
         dx: Double, thickness: Double, zStart: Double, noiseSeed: UInt64, extras: Generation2Extras? = nil) {
        self.head = head; self.lesions = lesions
        self.nx = nx; self.ny = ny; self.nz = nz; self.subSlices = subSlices
        self.dx = dx; self.thickness = thickness; self.zStart = zStart; self.noiseSeed = noiseSeed
        self.extras = extras
        let n = nx * ny
        var airHU = [Double](repeating: -1000, count: n)
        var pu = [Double](repeating: 0, count: n), pv = pu, pr = pu, pphi = pu, rBase = pu
        var floorZ = pu, tentZ = pu, midDist = pu, yRel = pu, zShift = pu
        var bin = [Int32](repeating: 0, count: n)
        var baseBone = [Double](repeating: 0, count: n)
        let c = cos(head.rotation), s = sin(head.rotation)
        let cx = Double(nx - 1) / 2, cy = Double(ny - 1) / 2
        // Generation 2's gantry tilt: row j lies (j - cy) dx cos(tilt) anterior of the field's
        // centre and (j - cy) dx sin(tilt) above the slice's height (the sheared affine's columns)
        let tilt = extras?.gantryTilt ?? 0
        let rowScale = tilt == 0 ? 1 : cos(tilt), rowRise = tilt == 0 ? 0 : sin(tilt)
        self.rowScale = rowScale; self.rowRise = rowRise
        let headRadius = max(head.a, head.b) * 1.12 + head.skullThickness + head.scalpThickness + 2
        self.headRadius = headRadius
        // The inner-table radius as a function of angle, tabulated (it holds harmonics and cos/sin).
        let nb = PhantomRenderer.bins
        let radiusTable = (0..<nb).map { head.baseRadius(-Double.pi + (Double($0) + 0.5) * 2 * .pi / Double(nb)) }
        for j in 0..<ny {
            for i in 0..<nx {
                let p = i + nx * j
                // Rows run from posterior (j = 0) to anterior, as in NIfTI files converted from
                // DICOM (LAS): the head frame's v (posterior) is minus the row direction.
                let x = (Double(i) - cx) * dx - head.shiftX, y = (cy - Double(j)) * dx * rowScale - head.shiftY
                if let holder = extras?.holder, let h = holder.hu(x: x, y: y) { airHU[p] = h }
                let u = c * x + s * y, v = -s * x + c * y
                pu[p] = u; pv[p] = v
                zShift[p] = head.roll * u + head.pitch * v
                if tilt != 0 { zShift[p] += (Double(j) - cy) * dx * rowRise }
                let r = (u * u + v * v).squareRoot()
                pr[p] = r
                yRel[p] = y
                guard r < headRadius else { pr[p] = .infinity; continue }
                let phi = atan2(v, u)
                pphi[p] = phi
                let b = min(nb - 1, max(0, Int((phi + .pi) / (2 * .pi) * Double(nb))))
                bin[p] = Int32(b)
                rBase[p] = radiusTable[b]
                let f = head.floorHeight(u, v)
                floorZ[p] = f.floor
                baseBone[p] = f.boneThickness
                tentZ[p] = f.posteriorFossa ? head.tentoriumHeight(v) : -.infinity
                midDist[p] = u - head.falxU(v)
            }
        }
        self.pu = pu; self.pv = pv; self.pr = pr; self.pphi = pphi; self.rBase = rBase
        let maxZShift = (abs(head.roll) * head.a + abs(head.pitch) * head.b) * 1.15 + 1
            + abs(rowRise) * (headRadius + abs(head.shiftY)) / max(rowScale, 0.5)
        self.zShift = zShift; self.maxZShift = maxZShift
        self.airHU = airHU
        // generation 2's slice profile reaches 0.2 thickness beyond each end of the stack
        let reach = extras == nil ? 0 : thickness
        let z0 = zStart - maxZShift - 1 - reach, z1 = zStart + Double(nz) * thickness + maxZShift + 1 + reach
        profileZ0 = z0
        profiles = (0...Int((z1 - z0) / PhantomRenderer.profileStep) + 1).map { t in
            let z = z0 + Double(t) * PhantomRenderer.profileStep
            return (head.profile(z), head.profile(z, offset: head.skullThickness),
                    head.profile(z, offset: head.skullThickness + head.scalpThickness))
        }
        self.floorZ = floorZ; self.tentZ = tentZ; self.midDist = midDist; self.yRel = yRel; self.bin = bin; self.baseBone = baseBone
    }

    /// Height of sub-slice `s` of slice `k` (mm above the posterior fossa floor).
    func height(slice k: Int, sub s: Int) -> Double {
        zStart + (Double(k) + (Double(s) + 0.5) / Double(subSlices)) * thickness
    }

    /// Draws slice `k` into the shared output buffers; returns the voxels labelled per lesion.
    /// `outLabel` receives, at each labelled voxel, the 1-based index (in ``lesions``) of the
    /// lesion drawn there last, and 0 elsewhere.
    func renderSlice(_ k: Int, hu outHU: SharedBuffer<Float>, label outLabel: SharedBuffer<UInt8>,
                     intracranial outIC: SharedBuffer<UInt8>, tissue outTissue: SharedBuffer<UInt8>) -> [Int] {
        if let extras { return renderSlice2(k, extras: extras, hu: outHU, label: outLabel, intracranial: outIC, tissue: outTissue) }
        let n = nx * ny
        var pure = [UInt8](repeating: 0, count: n)  // 1 + tissue while every section agrees, else 0
        var huSum = [Double](repeating: 0, count: n)
        var bloodCount = [UInt8](repeating: 0, count: n)
        var icCount = [UInt8](repeating: 0, count: n)
        var boneCount = [UInt8](repeating: 0, count: n)
        var lesionAt = [UInt8](repeating: 0, count: n)
        var centralDepth = [Double](repeating: 0, count: n)
        var cls = [Tissue](repeating: .air, count: n)
        var hu = [Double](repeating: -1000, count: n)
        var depth = [Double](repeating: 0, count: n), tableDepth = depth
        var table = SulcusTable(bins: PhantomRenderer.bins)

        for s in 0..<subSlices {
            let z = height(slice: k, sub: s)
            table.build(head.sulci, at: z)
            drawAnatomy(z: z, table: table, cls: &cls, hu: &hu, depth: &depth, tableDepth: &tableDepth)
            drawStructures(z: z, cls: &cls, hu: &hu)
            drawLesions(z: z, cls: &cls, hu: &hu, depth: depth, lesionAt: &lesionAt, bloodCount: &bloodCount)
            let central = s == subSlices / 2
            for p in 0..<n {
                huSum[p] += hu[p]
                if cls[p].isIntracranial { icCount[p] &+= 1 } else if cls[p] == .bone { boneCount[p] &+= 1 }
                if central { centralDepth[p] = depth[p] }
                let t = cls[p].rawValue &+ 1
                if s == 0 { pure[p] = t } else if pure[p] != t { pure[p] = 0 }
            }
        }

        // Imaging chain on the averaged slice.
        let zc = zStart + (Double(k) + 0.5) * thickness
        let half = subSlices  // counts are compared as 2 * count > subSlices
        var img = [Double](repeating: 0, count: n)
        let inv = 1 / Double(subSlices)
        for p in 0..<n { img[p] = huSum[p] * inv }
        applyArtefacts(z: zc, img: &img, inside: icCount.map { 2 * Int($0) > subSlices }, centralDepth: centralDepth)
        let bf = skullBaseFactor(zc)
        let sigma = head.noiseSD * (1 + 0.5 * bf)
        var g = SeededGenerator(seed: noiseSeed, stream: UInt64(k))
        let kernel = gaussianKernel(sigma: head.psfSigmaMM / dx)
        let energy = kernel.reduce(0) { $0 + $1 * $1 }  // sum k^2 of one axis; 2-D: energy^2
        addGaussianNoise(&img, sd: sigma / energy, using: &g)
        separableBlur(&img, nx: nx, ny: ny, kernel: kernel)

        var lesionVoxels = [Int](repeating: 0, count: lesions.count)
        let base = k * n
        for p in 0..<n {
            let v = max(-1024, min(3071, img[p].rounded()))
            outHU.pointer[base + p] = Float(v)
            // Blood in more than half of the slice thickness and no bone in it: a voxel that
            // bone brightens to hundreds of HU is not drawn as hemorrhage by an annotator.
            let isBlood = 2 * Int(bloodCount[p]) > half && boneCount[p] == 0
            outLabel.pointer[base + p] = isBlood ? lesionAt[p] : 0   // the lesion that drew here last
            outIC.pointer[base + p] = 2 * Int(icCount[p]) > half ? 1 : 0
            outTissue.pointer[base + p] = pure[p]
            if isBlood && lesionAt[p] > 0 { lesionVoxels[Int(lesionAt[p]) - 1] += 1 }
        }
        return lesionVoxels
    }

    /// 0 well above the skull base, 1 at and below the petrous ridges: where beam hardening bites.
    func skullBaseFactor(_ z: Double) -> Double {
        1 - smooth(z, head.ridgeHeight - 4, head.ridgeHeight + 18)
    }

    // MARK: - Anatomy

    /// Scalp, skull (cortical tables and diploe), skull base, brain surface CSF, cortex, white
    /// matter, sulci, cerebellum, interhemispheric fissure and falx, dural venous sinuses.
    func drawAnatomy(z: Double, table: SulcusTable, cls: inout [Tissue], hu: inout [Double], depth: inout [Double],
                     tableDepth: inout [Double]) {
        let h = head
        let gap = h.surfaceGap, gm = h.greyThickness
        let fissure = h.fissureHalf, falx = h.falxHalf
        let sectionZ = z
        let invStep = 1 / PhantomRenderer.profileStep
        for p in 0..<(nx * ny) {
            let r = pr[p]
            if r == .infinity { cls[p] = .air; hu[p] = airHU[p]; depth[p] = -100; continue }
            // The anatomy's height at this pixel (the head may be tilted out of the axial plane).
            let z = sectionZ + zShift[p]
            let prof = profiles[min(profiles.count - 1, Int(max(0, (z - profileZ0) * invStep) + 0.5))]
            let sIn = prof.0, sOut = prof.1, sScalp = prof.2
            let rb = rBase[p]
            let rScalp = (rb + h.skullThickness + h.scalpThickness) * sScalp
            if r >= rScalp { cls[p] = .air; hu[p] = airHU[p]; depth[p] = -100; continue }
            let rOut = (rb + h.skullThickness) * sOut
            if r >= rOut { cls[p] = .scalp; hu[p] = h.huScalp; depth[p] = -100; continue }
            let rIn = rb * sIn
            let d = rIn - r
            depth[p] = d
            tableDepth[p] = d
            if d < 0 {
                cls[p] = .bone
                let fromInner = -d, fromOuter = rOut - r
                hu[p] = (fromInner < h.innerCortex || fromOuter < h.outerCortex) ? h.huCortical : h.huDiploe
                continue
            }
            let lowZ = z < h.ridgeHeight + 15
            let fl = floorZ[p]
            if z < fl {
                // Under the anterior fossa a thin orbital roof over the orbits; elsewhere a
                // thick base (petrous, clivus, occiput) over soft tissue and air spaces.
                let boneT = baseBone[p]
                if z > fl - boneT {
                    cls[p] = .bone; hu[p] = h.huBaseBone
                } else {
                    cls[p] = .baseTissue
                    var value = h.huBaseTissue
                    if lowZ {
                        for o in h.orbits {
                            let a = (pu[p] - o.cu) / o.ru, b = (pv[p] - o.cv) / o.rv, c = (z - o.cz) / o.rz
                            if a * a + b * b + c * c < 1 {
                                // Fat, and the globe (vitreous, about 10 HU) in the front of the orbit.
                                let ga = (pu[p] - o.cu) / 11, gb = (pv[p] - (o.cv - 0.45 * o.rv)) / 11, gc = (z - o.cz) / 11
                                value = ga * ga + gb * gb + gc * gc < 1 ? 10 : o.hu
                            }
                        }
                        for cell in h.airCells {
                            let a = (pu[p] - cell.cu) / cell.ru, b = (pv[p] - cell.cv) / cell.rv, c = (z - cell.cz) / cell.rz
                            if a * a + b * b + c * c < 1 { value = -1000 }
                        }
                    }
                    hu[p] = value
                }
                depth[p] = -1  // below the floor: not a convexity depth
                continue
            }
            // Intracranial.
            let depthIn = min(d, z - fl)
            let v = pv[p]
            var c: Tissue
            var value: Double
            let b = Int(bin[p])
            var dphi = pphi[p] - table.phi[b] - table.bend[b] * depthIn / max(r, 10)
            if dphi > .pi { dphi -= 2 * .pi } else if dphi < -.pi { dphi += 2 * .pi }
            let arc = abs(dphi) * r
            let sw = table.halfWidth[b] * (1 - 0.4 * min(1, depthIn / max(table.depth[b], 1)))
            let sd = table.depth[b]
            if depthIn < gap {
                c = .csfSurface; value = h.huCSF
            } else if arc < sw && depthIn < sd {
                c = table.sylvian[b] ? .csfCistern : .csfSulcus; value = h.huCSF
            } else if depthIn < gap + gm || (arc < sw + gm && depthIn < sd + gm) {
                c = .grey; value = h.huGrey
            } else {
                c = .white; value = h.huWhite
            }
            let inPosteriorFossa = z < tentZ[p]
            if inPosteriorFossa && c.isParenchyma { c = .grey; value = h.huCerebellum }
            // Interhemispheric fissure with the falx in it.
            let m = abs(midDist[p])
            if m < fissure && !inPosteriorFossa && h.fissurePresent(v, z) {
                if m < falx { c = .falx; value = h.huFalx } else { c = .csfSulcus; value = h.huCSF }
            }
            // Superior sagittal sinus: a triangle at the midline against the inner table.
            let sssPost = z > h.sssPosteriorZ, sssAnt = z > h.sssAnteriorZ
            if m < h.sssHalfWidth && d < h.sssDepth && ((v > 0 && sssPost) || (v < 0 && sssAnt)) {
                if m < h.sssHalfWidth * (1 - d / h.sssDepth) { c = .sinus; value = h.huSinus }
            }
            let nearTransverse = abs(z - h.transverseZ) < h.transverseHalfHeight + 8
            let sigmoid = z < h.transverseZ - 3 && z > -5
            let straight = z > h.transverseZ && z < h.transverseZ + 28
            if v > 0 && (nearTransverse || sigmoid || straight) {
                // 0 at the posterior midline, +-pi/2 laterally: atan2(u, v) = pi/2 - atan2(v, u).
                var phiPost = Double.pi / 2 - pphi[p]
                if phiPost > .pi { phiPost -= 2 * .pi }
                let side = phiPost >= 0 ? h.transverseScale.0 : h.transverseScale.1
                if nearTransverse && abs(phiPost) < 1.35 {
                    // Transverse sinuses and the confluence along the posterior inner table,
                    // descending laterally towards the sigmoid sinuses.
                    let t = abs(phiPost) / 1.35
                    let zc = h.transverseZ - 6 * t * t
                    let th = h.transverseThickness * side * (t < 0.15 ? 1.3 : 1)
                    let a = (d - th / 2) / (th / 2), bz = (z - zc) / h.transverseHalfHeight
                    if a * a + bz * bz < 1 { c = .sinus; value = h.huSinus }
                }
                if sigmoid && abs(abs(phiPost) - 1.3) * r < 5 * side && d < 8 * side {
                    c = .sinus; value = h.huSinus
                }
                if straight && m < 2.8 {
                    let vss = rb * sIn - 6 - (z - h.transverseZ) / tan(0.6)
                    if abs(v - vss) < 4.5 { c = .sinus; value = h.huSinus }
                }
            }
            cls[p] = c; hu[p] = value
        }
    }

    /// Deep grey nuclei, basal cisterns, brainstem, ventricles and calcifications, each drawn
    /// inside its own bounding box.
    func drawStructures(z: Double, cls: inout [Tissue], hu: inout [Double]) {
        let h = head
        let reach = maxZShift
        func near(_ e: EllipseStructure) -> Bool { z + reach > e.z0 && z - reach < e.z1 }
        for e in h.deepGrey where near(e) {
            paint(e, z: z, cls: &cls, hu: &hu) { c in c.isParenchyma } to: { _ in (.grey, h.huGrey - 2) }
        }
        for e in h.cisterns where near(e) {
            paint(e, z: z, cls: &cls, hu: &hu) { c in c.isParenchyma || c == .csfSurface || c == .csfSulcus } to: { _ in (.csfCistern, h.huCSF) }
        }
        for e in h.brainstem where near(e) {
            paint(e, z: z, cls: &cls, hu: &hu) { c in c.isIntracranial } to: { _ in (.white, h.huBrainstem) }
        }
        for e in h.lateralVentricles where near(e) {
            paint(e, z: z, cls: &cls, hu: &hu) { c in c.isParenchyma || c == .csfCistern } to: { _ in (.csfVentricle, h.huCSF) }
        }
        for e in h.otherVentricles where near(e) {
            paint(e, z: z, cls: &cls, hu: &hu) { c in c.isIntracranial && c != .sinus } to: { _ in (.csfMidVentricle, h.huCSF) }
        }
        for c in h.calcifications where abs(z - c.cz) < c.rz + reach {
            forEachPixel(cu: c.cu, cv: c.cv, radius: max(c.ru, c.rv)) { p in
                let a = (pu[p] - c.cu) / c.ru, b = (pv[p] - c.cv) / c.rv, d = (z + zShift[p] - c.cz) / c.rz
                if a * a + b * b + d * d < 1 && cls[p].isIntracranial { cls[p] = .calcification; hu[p] = c.hu }
            }
        }
    }

    /// Calls `body` for every pixel within `radius` mm (a square box) of head-frame point (cu, cv).
    @inline(__always)
    func forEachPixel(cu: Double, cv: Double, radius: Double, _ body: (Int) -> Void) {
        let c = cos(head.rotation), s = sin(head.rotation)
        let x = c * cu - s * cv + head.shiftX, y = s * cu + c * cv + head.shiftY
        // a row step covers dx * rowScale mm of y (the gantry tilt; 1 without)
        let rowStep = rowScale == 1 ? dx : dx * rowScale
        let ci = x / dx + Double(nx - 1) / 2, cj = Double(ny - 1) / 2 - y / rowStep
        let rp = radius / dx + 1, rq = radius / rowStep + 1
        let i0 = max(0, Int((ci - rp).rounded(.down))), i1 = min(nx - 1, Int((ci + rp).rounded(.up)))
        let j0 = max(0, Int((cj - rq).rounded(.down))), j1 = min(ny - 1, Int((cj + rq).rounded(.up)))
        guard i0 <= i1 && j0 <= j1 else { return }
        for j in j0...j1 { for i in i0...i1 { body(i + nx * j) } }
    }

    private func paint(_ e: EllipseStructure, z: Double, cls: inout [Tissue], hu: inout [Double],
                       where allowed: (Tissue) -> Bool, to value: (Int) -> (Tissue, Double)) {
        let c = cos(e.angle), sn = sin(e.angle)
        forEachPixel(cu: e.cu, cv: e.cv, radius: e.radius) { p in
            let scale = e.scale(z + zShift[p])
            guard scale > 0 else { return }
            let du = pu[p] - e.cu, dv = pv[p] - e.cv
            let x = (c * du + sn * dv) / (e.au * scale), y = (-sn * du + c * dv) / (e.av * scale)
            if x * x + y * y < 1 && allowed(cls[p]) {
                let (t, v) = value(p)
                cls[p] = t; hu[p] = v
            }
        }
    }
}
