#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One hemorrhage as drawn: its subtype, geometry in the head frame and density.
struct LesionModel: Sendable {
    enum Shape: Sendable {
        /// Union of tilted ellipsoids (irregular blob) with an oedema rim `rim` mm wide.
        case blobs(lobes: [Ellipsoid], rim: Double)
        /// Blood between the inner table and a thickness surface over an angular and height
        /// window: `lens` true gives the biconvex epidural profile t = T sqrt(1 - q^2),
        /// false the flat subdural crescent t = T sqrt(1 - q^4).
        case extraAxial(phi: Double, halfSpan: Double, zc: Double, halfHeight: Double, thickness: Double, lens: Bool)
        /// Blood filling the dependent part of the ventricles posterior of `level` (world y, mm
        /// from the head centre) in the chosen lateral ventricles; `cast` also fills the third and fourth.
        case ventricular(right: Bool, left: Bool, level: Double, cast: Bool)
        /// Blood in sulcal / surface CSF over an angular and height window (`basal` false), or
        /// in the basal cisterns and Sylvian fissures below `zc + halfHeight` (`basal` true).
        case subarachnoid(phi: Double, halfSpan: Double, zc: Double, halfHeight: Double, basal: Bool)
    }

    var subtype: HemorrhageSubtype
    var shape: Shape
    var hu: Double
    var oedemaDrop: Double
    /// Height range the lesion may occupy (for skipping sub-slices quickly).
    var zRange: ClosedRange<Double>
    /// Generation 2: texture inside the lesion (none in generation 1).
    var texture = TextureField.none
    /// Generation 2: a haematocrit level at world y `levelY`, the part below it (posterior)
    /// `levelContrast` HU denser than the part above (0: no level).
    var levelY: Double = 0, levelContrast: Double = 0
    /// Generation 2: the age of the blood.
    var stage: HemorrhageStage = .acute
}

extension LesionModel {
    /// Draws one lesion of `subtype` with target volume `volumeML`, placed where the stack
    /// covers heights `visible`.
    static func sample(_ subtype: HemorrhageSubtype, volumeML: Double, head h: HeadAnatomy,
                       visible: ClosedRange<Double>, using g: inout SeededGenerator) -> LesionModel {
        func U(_ lo: Double, _ hi: Double) -> Double { g.nextUniform(in: lo...hi) }
        func clampZ(_ z: Double, _ lo: Double, _ hi: Double) -> Double {
            let l = max(lo, visible.lowerBound + 3), u = min(hi, visible.upperBound - 3)
            return l <= u ? max(l, min(u, z)) : (lo + hi) / 2
        }
        let v = volumeML * 1000  // mm^3
        let H = h.height
        switch subtype {
        case .intraparenchymal:
            let nLobes = v > 4000 ? Int(U(3, 5)) : Int(U(1, 3.99))
            let main = 0.55 * v
            let rMain = pow(3 * main / (4 * .pi), 1.0 / 3)
            // Location: deep (basal ganglia / thalamus), lobar, or cerebellar.
            let where_ = U(0, 1)
            var cu: Double, cv: Double, cz: Double
            if where_ < 0.45 {
                let s: Double = g.nextBernoulli(0.5) ? 1 : -1
                cu = s * U(14, 24); cv = U(-0.06, 0.12) * h.b; cz = clampZ(U(0.3, 0.44) * H, 0.3 * H, 0.46 * H)
            } else if where_ < 0.9 {
                cz = clampZ(U(0.4, 0.8) * H, 0.38 * H, 0.82 * H)
                let phi = U(-.pi, .pi)
                let rIn = h.baseRadius(phi) * h.profile(cz)
                let depth = min(rIn * 0.6, rMain + U(6, 18))
                cu = (rIn - depth) * cos(phi); cv = (rIn - depth) * sin(phi)
            } else {
                let s: Double = g.nextBernoulli(0.5) ? 1 : -1
                cu = s * U(15, 30); cv = U(0.4, 0.55) * h.b; cz = clampZ(U(0.07, 0.15) * H, 0.06 * H, 0.16 * H)
            }
            var lobes: [Ellipsoid] = []
            let e = (U(0.75, 1.3), U(0.75, 1.3))
            lobes.append(Ellipsoid(cu: cu, cv: cv, cz: cz, ru: rMain * e.0, rv: rMain * e.1, rz: rMain / (e.0 * e.1).squareRoot(), hu: 0))
            for _ in 1..<max(nLobes, 1) {
                let r = pow(3 * (0.45 * v / Double(max(nLobes - 1, 1))) / (4 * .pi), 1.0 / 3)
                let dir = U(-.pi, .pi), elev = U(-0.6, 0.6)
                let off = rMain * U(0.5, 0.9)
                lobes.append(Ellipsoid(cu: cu + off * cos(dir) * cos(elev), cv: cv + off * sin(dir) * cos(elev), cz: cz + off * sin(elev),
                                           ru: r * U(0.7, 1.3), rv: r * U(0.7, 1.3), rz: r * U(0.7, 1.2), hu: 0))
            }
            let rim = U(1.5, 3) + 0.25 * rMain
            let zr = lobes.reduce((cz, cz)) { (min($0.0, $1.cz - $1.rz - rim), max($0.1, $1.cz + $1.rz + rim)) }
            return LesionModel(subtype: subtype, shape: .blobs(lobes: lobes, rim: rim), hu: U(55, 82), oedemaDrop: U(6, 12),
                               zRange: zr.0...zr.1)

        case .subdural, .epidural:
            let lens = subtype == .epidural
            let side: Double = g.nextBernoulli(0.5) ? 0 : .pi
            var phi = side + U(-0.7, 0.7)
            if !lens && g.nextBernoulli(0.25) { phi = U(-.pi, .pi) }
            var span = lens ? U(0.25, 0.5) : U(0.5, 1.1)
            var hz = lens ? U(14, 28) : U(20, 45)
            let zc = lens ? clampZ(U(0.3, 0.6) * H, 0.25 * H, 0.7 * H) : clampZ(U(0.4, 0.7) * H, 0.3 * H, 0.75 * H)
            let r = h.baseRadius(phi) * h.profile(zc)
            let factor = lens ? 2 * Double.pi / 3 : Double.pi * Double.pi / 4
            var t = v / (r * span * hz * factor)
            let tRange: ClosedRange<Double> = lens ? 6...32 : 1.5...20
            if t < tRange.lowerBound {
                let shrink = (t / tRange.lowerBound).squareRoot()
                span *= max(shrink, 0.2); hz *= max(shrink, 0.3); t = tRange.lowerBound
            } else if t > tRange.upperBound {
                let grow = min((t / tRange.upperBound).squareRoot(), lens ? 1.4 : 1.6)
                span *= grow; hz *= grow
                t = min(tRange.upperBound, v / (r * span * hz * factor))
            }
            return LesionModel(subtype: subtype, shape: .extraAxial(phi: phi, halfSpan: span, zc: zc, halfHeight: hz, thickness: t, lens: lens),
                               hu: lens ? U(58, 85) : U(52, 80), oedemaDrop: 0, zRange: (zc - hz)...(zc + hz))

        case .intraventricular:
            let both = g.nextBernoulli(0.6)
            let right = both || g.nextBernoulli(0.5)
            let left = both || !right
            let lv = h.lateralVentricles
            let vAnt = lv[4].cv - lv[4].av, vPost = lv[2].cv + lv[2].av
            // Rough volume of one lateral ventricle: body + atrium + frontal horn.
            func ellV(_ e: EllipseStructure) -> Double { Double.pi * e.au * e.av * (e.z1 - e.z0) * 0.75 }
            let one = ellV(lv[0]) + ellV(lv[2]) + ellV(lv[4])
            let fill = min(1, max(0.15, v / (one * (both ? 2 : 1))))
            let level = vPost - fill * (vPost - vAnt)
            return LesionModel(subtype: subtype, shape: .ventricular(right: right, left: left, level: level, cast: fill > 0.85),
                               hu: U(50, 80), oedemaDrop: 0, zRange: (0.04 * H)...(0.64 * H))

        case .subarachnoid:
            let basal = g.nextBernoulli(0.45)
            let scale = min(1.6, max(0.5, pow(volumeML / 5, 0.3)))
            if basal {
                let top = U(0.3, 0.45) * H
                return LesionModel(subtype: subtype, shape: .subarachnoid(phi: 0, halfSpan: .pi, zc: top / 2, halfHeight: top / 2, basal: true),
                                   hu: U(50, 75), oedemaDrop: 0, zRange: 0...top)
            }
            let zc = clampZ(U(0.4, 0.8) * H, 0.35 * H, 0.85 * H)
            let hz = U(12, 25) * scale
            return LesionModel(subtype: subtype, shape: .subarachnoid(phi: U(-.pi, .pi), halfSpan: U(0.3, 0.7) * scale, zc: zc, halfHeight: hz, basal: false),
                               hu: U(50, 75), oedemaDrop: 0, zRange: (zc - hz)...(zc + hz))
        }
    }
}
