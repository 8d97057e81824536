#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ImageCore

/// A smooth random field: a sum of plane cosine waves in the head frame (mm), of zero mean.
/// With `n` waves of amplitude `a` and independent phases its standard deviation is a sqrt(n / 2).
struct TextureField: Sendable {
    var ku: [Double] = [], kv: [Double] = [], kz: [Double] = [], phase: [Double] = []
    var amplitude: Double = 0

    static let none = TextureField()

    var isEmpty: Bool { amplitude == 0 || ku.isEmpty }

    /// A field of standard deviation `sd` HU and length scale `scale` mm (wavelength about 2 pi scale).
    static func sample(sd: Double, scale: Double, waves: Int = 6, using g: inout SeededGenerator) -> TextureField {
        var f = TextureField()
        for _ in 0..<waves {
            // a direction uniform on the sphere, a wavenumber around 1 / scale
            let cz = g.nextUniform(in: -1...1), az = g.nextUniform(in: 0...(2 * .pi))
            let sz = (1 - cz * cz).squareRoot()
            let k = g.nextUniform(in: 0.7...1.3) / scale
            f.ku.append(k * sz * cos(az)); f.kv.append(k * sz * sin(az)); f.kz.append(k * cz)
            f.phase.append(g.nextUniform(in: 0...(2 * .pi)))
        }
        f.amplitude = sd * (2 / Double(waves)).squareRoot()
        return f
    }

    /// Adds `weight[p]` times the field to `img[p]` over the slice of height `z` of a
    /// renderer's grid (where `weight[p] > 0`). The field's argument is linear in the pixel's
    /// column and row (the head frame, its tilt included, is an affine map of them), so each
    /// wave is cos(a i + b j + c) = cos(a i) cos(b j + c) - sin(a i) sin(b j + c): two
    /// products per pixel and wave instead of a cosine.
    func add(to img: inout [Double], weight: [Double], slice z: Double, of r: PhantomRenderer) {
        guard !isEmpty else { return }
        let h = r.head
        let c = cos(h.rotation), s = sin(h.rotation), dx = r.dx
        let cx = Double(r.nx - 1) / 2, cy = Double(r.ny - 1) / 2
        // rows step dx * rowScale in y and rise dx * rowRise (the gantry tilt; 1 and 0 without)
        let tilted = r.rowRise != 0
        let x0 = -cx * dx - h.shiftX, y0 = (tilted ? cy * dx * r.rowScale : cy * dx) - h.shiftY
        let u0 = c * x0 + s * y0, v0 = -s * x0 + c * y0
        var cosI = [Double](repeating: 0, count: r.nx), sinI = cosI
        var cosJ = [Double](repeating: 0, count: r.ny), sinJ = cosJ
        var field = [Double](repeating: 0, count: r.nx * r.ny)
        for w in ku.indices {
            // the anatomy's height at a pixel is z + roll u + pitch v (+ (j - cy) dx rowRise)
            let KU = ku[w] + kz[w] * h.roll, KV = kv[w] + kz[w] * h.pitch
            let a = (KU * c - KV * s) * dx
            let b = tilted ? -(KU * s + KV * c) * dx * r.rowScale + kz[w] * dx * r.rowRise : -(KU * s + KV * c) * dx
            let c0 = tilted ? KU * u0 + KV * v0 + kz[w] * (z - cy * dx * r.rowRise) + phase[w] : KU * u0 + KV * v0 + kz[w] * z + phase[w]
            for i in 0..<r.nx { cosI[i] = cos(a * Double(i)); sinI[i] = sin(a * Double(i)) }
            for j in 0..<r.ny { cosJ[j] = cos(b * Double(j) + c0); sinJ[j] = sin(b * Double(j) + c0) }
            for j in 0..<r.ny {
                let cj = cosJ[j], sj = sinJ[j], row = j * r.nx
                for i in 0..<r.nx { field[row + i] += cosI[i] * cj - sinI[i] * sj }
            }
        }
        for p in field.indices where weight[p] > 0 { img[p] += weight[p] * amplitude * field[p] }
    }

    @inline(__always) func value(_ u: Double, _ v: Double, _ z: Double) -> Double {
        var s = 0.0
        for w in ku.indices { s += cos(ku[w] * u + kv[w] * v + kz[w] * z + phase[w]) }
        return amplitude * s
    }
}

/// What generation 2 adds to the drawing of one case.
struct Generation2Extras: Sendable {
    /// Sample heights relative to the slice centre (mm) and the slice profile's weight at each.
    var offsets: [Double], weights: [Double]
    /// Texture of grey and white matter (and oedema).
    var parenchyma: TextureField
    /// Sigma (pixels) of the Gaussian that colours the noise.
    var noiseCorrelation: Double
    /// Brightening of the brain at the inner table, HU (grows with the square of the radius).
    var cupping: Double
    /// The head holder, when there is one.
    var holder: HeadHolder?
    /// The voxel order the case's files are stored in (drawn in LAS, then reordered).
    var storedOrientation = "LAS"
    /// Gantry tilt, radians (0: axial planes): the slice planes turn about the left-right axis.
    var gantryTilt = 0.0
    /// Patient motion: slices `slices` show the head turned by `rotation` (radians) and
    /// displaced by (`shiftX`, `shiftY`) mm in-plane.
    var motion: (slices: Range<Int>, rotation: Double, shiftX: Double, shiftY: Double)?
    /// Bone share above which a voxel is never labelled blood.
    static let boneShareLimit = 0.05

    /// Trapezoid slice sensitivity profile of full width at half maximum `thickness`: flat to
    /// 0.3 T from the centre, zero from 0.7 T; sampled about every 1.4 mm (2 to 12 samples:
    /// as many as generation 1 draws at 5 mm).
    static func sliceProfile(thickness t: Double) -> (offsets: [Double], weights: [Double]) {
        let m = max(2, min(12, Int((t - 1e-9).rounded(.up))))  // 1.4 T of support, one per 1.4 mm
        let step = 1.4 * t / Double(m)
        let offsets = (0..<m).map { -0.7 * t + (Double($0) + 0.5) * step }
        let weights = offsets.map { max(0, min(1, (0.7 * t - abs($0)) / (0.4 * t))) }
        return (offsets, weights)
    }
}

/// A carbon-fibre head holder under the occiput with a foam pad: fixed to the table (world
/// frame), so it does not turn with the head.
struct HeadHolder: Sendable {
    /// Inner radius of the shell from the head centre, its thickness (mm), and the HU of shell and pad.
    var radius: Double, thickness: Double, shellHU: Double, padHU: Double, padThickness: Double
    /// Half-angle of the cradle around the posterior direction (radians).
    var halfAngle: Double

    /// The HU at world offset (x, y) from the head centre (y posterior), or nil outside the holder.
    func hu(x: Double, y: Double) -> Double? {
        let r = (x * x + y * y).squareRoot()
        guard r > radius - padThickness, r < radius + thickness, y > 0, atan2(abs(x), y) < halfAngle else { return nil }
        return r >= radius ? shellHU : padHU
    }
}

extension Phantom {
    /// The HU of fresh blood for one lesion, drawn from the density classes by weight.
    static func drawBloodHU(_ blood: PhantomBlood, using g: inout SeededGenerator) -> Double {
        let classes = blood.classes
        var x = g.nextUniform() * classes.reduce(0) { $0 + $1.weight }
        for c in classes {
            x -= c.weight
            if x < 0 { return g.nextUniform(in: c.hu) }
        }
        return g.nextUniform(in: classes.last { $0.weight > 0 }!.hu)
    }

    /// Generation 2's density, texture and haematocrit level of a drawn lesion.
    static func dressLesion(_ lesion: inout LesionModel, head: HeadAnatomy, blood: PhantomBlood, using g: inout SeededGenerator) {
        lesion.hu = drawBloodHU(blood, using: &g)
        if lesion.subtype == .subdural {
            let x = g.nextUniform()
            if x < blood.subacuteSubduralShare {
                lesion.hu = g.nextUniform(in: blood.subacuteHU)
                lesion.stage = .subacute
            } else if x < blood.subacuteSubduralShare + blood.chronicSubduralShare {
                lesion.hu = g.nextUniform(in: blood.chronicHU)
                lesion.stage = .chronic
            }
        }
        lesion.texture = TextureField.sample(sd: g.nextUniform(in: blood.heterogeneitySD),
                                             scale: g.nextUniform(in: blood.heterogeneityScaleMM), using: &g)
        let layered = lesion.subtype == .subdural || lesion.subtype == .intraventricular
        if layered && g.nextBernoulli(blood.haematocritLevelProbability) {
            // The level lies across the lesion's extent in world y (posterior, down for a
            // supine patient): cells settle below it.
            let (lo, hi) = lesion.worldYExtent(head: head)
            lesion.levelY = lo + g.nextUniform(in: 0.3...0.7) * (hi - lo)
            lesion.levelContrast = g.nextUniform(in: blood.haematocritContrastHU)
        }
    }

    /// Generation 2's extras of one case.
    static func extras(config: PhantomConfig, thickness: Double, head: HeadAnatomy, using g: inout SeededGenerator) -> Generation2Extras {
        let profile = Generation2Extras.sliceProfile(thickness: thickness)
        let texture = TextureField.sample(sd: g.nextUniform(in: config.anatomy.parenchymaTextureSD),
                                          scale: g.nextUniform(in: config.anatomy.parenchymaTextureScaleMM), using: &g)
        var holder: HeadHolder?
        if g.nextBernoulli(config.anatomy.headHolderProbability) {
            // the pad, pressed by the occiput, fills the gap between scalp and shell
            let back = head.b + head.skullThickness + head.scalpThickness
            let pad = g.nextUniform(in: 4...10)
            holder = HeadHolder(radius: back + 0.5 * pad, thickness: g.nextUniform(in: 2.5...5), shellHU: g.nextUniform(in: 150...400),
                                padHU: g.nextUniform(in: -900 ... -700), padThickness: pad, halfAngle: g.nextUniform(in: 0.8...1.2))
        }
        let orientations = config.acquisition.storedOrientations
        return Generation2Extras(offsets: profile.offsets, weights: profile.weights, parenchyma: texture,
                                 noiseCorrelation: g.nextUniform(in: config.acquisition.noiseCorrelationPixels),
                                 cupping: g.nextUniform(in: config.acquisition.cuppingHU), holder: holder,
                                 storedOrientation: orientations[g.nextInt(in: 0...(orientations.count - 1))])
    }
}

extension LesionModel {
    /// The blood's HU at head-frame point (u, v, z) with world y `y`.
    @inline(__always) func value(u: Double, v: Double, z: Double, y: Double) -> Double {
        var h = hu
        if !texture.isEmpty { h += texture.value(u, v, z) }
        if levelContrast != 0 { h += y > levelY ? levelContrast / 2 : -levelContrast / 2 }
        return h
    }

    /// The lowest and highest world y (posterior) the lesion reaches, roughly.
    func worldYExtent(head h: HeadAnatomy) -> (Double, Double) {
        let s = sin(h.rotation), c = cos(h.rotation)
        func y(_ u: Double, _ v: Double) -> Double { s * u + c * v }
        switch shape {
        case .blobs(let lobes, _):
            let ys = lobes.flatMap { [y($0.cu, $0.cv) - max($0.ru, $0.rv), y($0.cu, $0.cv) + max($0.ru, $0.rv)] }
            return (ys.min()!, ys.max()!)
        case .extraAxial(let phi, let span, _, _, _, _), .subarachnoid(let phi, let span, _, _, _):
            let ys = stride(from: phi - span, through: phi + span, by: span / 4).map { a in
                let r = h.baseRadius(a)
                return y(r * cos(a), r * sin(a))
            }
            return (ys.min()!, ys.max()!)
        case .ventricular(_, _, let level, _):
            let lv = h.lateralVentricles
            return (level, max(level + 1, y(lv[2].cu, lv[2].cv + lv[2].av)))
        }
    }
}

extension LesionModel {
    /// A thin trace of subarachnoid blood in the sulci of a small window of the convexity
    /// (generation 2's tiny foci), of about `volumeML`.
    static func subarachnoidTrace(volumeML: Double, head h: HeadAnatomy, visible: ClosedRange<Double>,
                                  using g: inout SeededGenerator) -> LesionModel {
        let H = h.height
        let lo = max(0.45 * H, visible.lowerBound + 2), hi = min(0.85 * H, visible.upperBound - 2)
        let zc = lo <= hi ? g.nextUniform(in: lo...hi) : 0.6 * H
        // sulcal CSF is a few per cent of a convexity window: scale the window with the volume
        let scale = min(1, max(0.35, pow(volumeML / 0.5, 1.0 / 3)))
        let hz = g.nextUniform(in: 5...10) * scale
        return LesionModel(subtype: .subarachnoid,
                           shape: .subarachnoid(phi: g.nextUniform(in: -.pi ... .pi), halfSpan: g.nextUniform(in: 0.12...0.25) * scale,
                                                zc: zc, halfHeight: hz, basal: false),
                           hu: 60, oedemaDrop: 0, zRange: (zc - hz)...(zc + hz))
    }
}
