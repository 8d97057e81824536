#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The analytic head of one phantom case, in a head frame of millimetres:
// u lateral (+ towards image column +i), v antero-posterior (+ posterior, towards row +j),
// Z height above the floor of the posterior fossa. Every structure is a closed-form test on
// (u, v, Z) so that a slice can be drawn pixel by pixel without meshes.

/// The tissue classes the phantom draws (``PhantomCase/tissue`` stores 1 + the raw value).
public enum PhantomTissue: UInt8, CaseIterable, Codable, Sendable {
    /// Air outside the head (and the head holder's surroundings).
    case air = 0
    /// Scalp.
    case scalp
    /// Skull (cortical tables and diploe) and skull base bone.
    case bone
    /// Soft tissue, fat and air spaces under the skull base.
    case baseTissue
    /// CSF between the brain and the inner table.
    case csfSurface
    /// CSF in the sulci and the interhemispheric fissure.
    case csfSulcus
    /// CSF in the basal cisterns and Sylvian fissures.
    case csfCistern
    /// CSF in the lateral ventricles.
    case csfVentricle
    /// CSF in the third and fourth ventricles.
    case csfMidVentricle
    /// Grey matter (cortex, deep nuclei, cerebellum).
    case grey
    /// White matter and brainstem.
    case white
    /// The falx.
    case falx
    /// Dural venous sinuses.
    case sinus
    /// Physiological calcifications.
    case calcification
    /// Hemorrhage.
    case blood
    /// Perihaematomal oedema.
    case oedema

    /// Inside the inner table and above the skull base.
    public var isIntracranial: Bool { rawValue >= PhantomTissue.csfSurface.rawValue }
    /// Brain parenchyma (where oedema and intraparenchymal blood may sit).
    public var isParenchyma: Bool { self == .grey || self == .white }
}

/// The renderer's name for ``PhantomTissue``.
typealias Tissue = PhantomTissue

/// An axis-tilted ellipse in the (u, v) plane that exists between two heights and tapers
/// towards them (`taper` 0: a prism, 1: an ellipsoid).
struct EllipseStructure: Sendable {
    var cu: Double, cv: Double, au: Double, av: Double, angle: Double
    var z0: Double, z1: Double, taper: Double

    /// Scale of the cross-section at height Z (0 outside the Z range).
    @inline(__always) func scale(_ z: Double) -> Double {
        guard z > z0 && z < z1 else { return 0 }
        let t = (2 * z - z0 - z1) / (z1 - z0)
        return (1 - taper) + taper * (1 - t * t).squareRoot()
    }

    /// Half extent of the bounding box in the head frame.
    var radius: Double { max(au, av) }
}

/// A sulcus: a radial cleft of CSF from the brain surface inwards, at an angle that drifts with height.
struct Sulcus: Sendable {
    var phi0: Double, drift: Double, halfWidth: Double, depth: Double, z0: Double, z1: Double
    /// Lateral bend of the cleft: angular offset bend * depth / radius.
    var bend: Double = 0
    var isSylvian: Bool
}

/// An axis-aligned ellipsoid in the head frame with a value: calcifications (choroid plexus,
/// pineal, falx, basal ganglia), air spaces, orbits, and the lobes of a blob hemorrhage.
struct Ellipsoid: Sendable {
    var cu: Double, cv: Double, cz: Double, ru: Double, rv: Double, rz: Double, hu: Double
}

/// Everything about one case's head except its lesions: shape, pose, tissue values.
struct HeadAnatomy: Sendable {
    // Shape of the inner table at its widest level, and its profile with height.
    var a: Double, b: Double
    var harmonics: [(m: Double, amp: Double, phase: Double)]
    var height: Double, widest: Double, domeExponent: Double
    var skullThickness: Double, innerCortex: Double, outerCortex: Double, scalpThickness: Double

    // Skull base: floor heights of the fossae and the petrous ridges.
    var posteriorFloor: Double, middleFloor: Double, anteriorFloor: Double, anteriorFossaV: Double
    var ridgeHeight: Double, clivusHeight: Double, baseBoneThickness: Double
    var tentoriumZ: Double
    var airCells: [Ellipsoid]  // reused as ellipsoids: sphenoid, ethmoid/frontal air
    var orbits: [Ellipsoid]    // orbital fat cones, each with a globe at its front (`hu` unused)

    // Tissue values in HU.
    var huScalp: Double, huCortical: Double, huDiploe: Double, huBaseBone: Double, huBaseTissue: Double
    var huGrey: Double, huWhite: Double, huCSF: Double, huSinus: Double, huFalx: Double
    var huCerebellum: Double, huBrainstem: Double

    // Brain.
    var surfaceGap: Double, greyThickness: Double, atrophy: Double
    var sulci: [Sulcus]
    var falxShift: Double, falxWaveAmp: Double, falxWavePhase: Double, falxHalf: Double, fissureHalf: Double
    /// Mass effect: the midline bows by this much (mm, + towards +u) at its centre.
    var midlineShift: Double = 0
    var callosumFront: Double, callosumBack: Double, callosumTop: Double
    var lateralVentricles: [EllipseStructure]  // [right body, left body, right atrium, left atrium, right frontal horn, left frontal horn]
    var otherVentricles: [EllipseStructure]    // [third, fourth]
    var deepGrey: [EllipseStructure]
    var cisterns: [EllipseStructure]
    var brainstem: [EllipseStructure]
    var calcifications: [Ellipsoid]

    // Sinuses.
    var sssHalfWidth: Double, sssDepth: Double, sssPosteriorZ: Double, sssAnteriorZ: Double
    var transverseZ: Double, transverseThickness: Double, transverseHalfHeight: Double
    var transverseScale: (Double, Double)

    // Pose of the head in the field of view and artefact strengths.
    var rotation: Double, shiftX: Double, shiftY: Double
    /// Out-of-plane tilt as slopes: the anatomy's height at a pixel is Z + roll * u + pitch * v.
    var roll: Double = 0, pitch: Double = 0
    var noiseSD: Double, psfSigmaMM: Double, pseudoEnhancement: Double, pseudoEnhancementLength: Double
    var hounsfieldBar: Double
    var streaks: [(angle: Double, pu: Double, pv: Double, amplitude: Double, width: Double)]

    /// Inner-table radius at angle phi, at the widest level (mm).
    func baseRadius(_ phi: Double) -> Double {
        let c = cos(phi), s = sin(phi)
        var r = 1 / ((c * c) / (a * a) + (s * s) / (b * b)).squareRoot()
        var f = 1.0
        for h in harmonics { f += h.amp * cos(h.m * phi + h.phase) }
        // The frontal region (v < 0, phi near -pi/2) is a little narrower than the occiput.
        f -= 0.04 * max(0, -s) * max(0, -s)
        r *= f
        return r
    }

    /// Fraction of the widest radius that a surface of this height offset has at height Z;
    /// `offset` > 0 for the outer table and the scalp (which also reach higher).
    @inline(__always) func profile(_ z: Double, offset: Double = 0) -> Double {
        let top = height + offset
        if z >= widest {
            let t = (z - widest) / (top - widest)
            if t >= 1 { return 0 }
            return pow(1 - pow(t, domeExponent), 1 / domeExponent)
        }
        let t = (widest - z) / widest
        return max(0.72, 1 - 0.22 * t * t)
    }

    /// Height of the skull base under head-frame point (u, v): the posterior fossa bowl,
    /// the middle fossae in front of the petrous ridges, the anterior fossa, and the ridges.
    func floorHeight(_ u: Double, _ v: Double) -> (floor: Double, posteriorFossa: Bool, boneThickness: Double) {
        let rn2 = (u * u) / (a * a) + (v * v) / (b * b)
        // The posterior fossa: a shallow bowl with the foramen magnum open at its centre.
        let fu = u / 15, fv = (v - 0.12 * b) / 17
        var f = posteriorFloor + 6 * rn2 - 14 * exp(-(fu * fu + fv * fv))
        // Petrous line on each side from lateral-posterior (0.85a, 0.28b) to the apex (0.12a, -0.04b).
        let side: Double = u >= 0 ? 1 : -1
        let p1u = side * 0.85 * a, p1v = 0.28 * b, p2u = side * 0.12 * a, p2v = -0.04 * b
        let du = p2u - p1u, dv = p2v - p1v, len2 = du * du + dv * dv
        let t = max(0, min(1, ((u - p1u) * du + (v - p1v) * dv) / len2))
        let qu = p1u + t * du - u, qv = p1v + t * dv - v
        let dist = (qu * qu + qv * qv).squareRoot()
        // Positive cross product: in front of (anterior to) the ridge line, in a middle fossa.
        let cross = (du * (v - p1v) - dv * (u - p1u)) * side
        let anteriorOfRidge = cross > 0 && abs(u) > 0.15 * a
        let wMid = anteriorOfRidge ? smooth(dist, 0, 4) : 0
        let middle = middleFloor + 8 * rn2
        f = f + (middle - f) * wMid
        // The anterior fossa ends at the sphenoid wings, which sweep backwards laterally.
        let front = anteriorFossaV + 0.3 * b * (u / a) * (u / a)
        let wAnt = smooth(front - v, -4, 4)
        let anterior = anteriorFloor + 4 * rn2 - 5 * exp(-(u * u) / 128)
        f = f + (anterior - f) * wAnt
        // Thin bone under the fossae (orbital roofs, greater sphenoid wings), thick under the
        // posterior fossa, solid under the petrous ridges and the clivus.
        var thickness = wAnt > 0.5 ? 3.5 : (wMid > 0.5 ? 4.5 : baseBoneThickness)
        let ridge = ridgeHeight * exp(-dist * dist / 40) * (0.55 + 0.45 * (1 - t))
        if ridge > f { f = ridge; thickness = 16 }
        let cu = u / 7, cv = (v + 0.03 * b) / 6
        let clivus = clivusHeight * exp(-(cu * cu + cv * cv) / 2)
        if clivus > f { f = clivus; thickness = 16 }
        let posteriorFossa = wMid < 0.5 && wAnt < 0.5 && v > -0.04 * b
        return (f, posteriorFossa, thickness)
    }

    /// Lateral position of the falx at antero-posterior position v (a gently waving midline).
    @inline(__always) func falxU(_ v: Double) -> Double {
        let t = v / (0.95 * b)
        return falxShift + falxWaveAmp * sin(v / 23 + falxWavePhase) + midlineShift * max(0, 1 - t * t)
    }

    /// Applies the mass effect of lesions: `push` (mm, signed along u) bows the falx and moves
    /// the ventricles away from the lesions, compressing the ventricle on the lesions' side.
    mutating func applyMassEffect(push: Double) {
        guard push != 0 else { return }
        midlineShift = push
        for i in lateralVentricles.indices {
            let e = lateralVentricles[i]
            lateralVentricles[i].cu += 0.8 * push
            // The ventricle on the side the push comes from (opposite to its direction) is squeezed.
            if e.cu * push < 0 { lateralVentricles[i].au *= max(0.45, 1 - abs(push) / 14) }
        }
        otherVentricles[0].cu += 0.8 * push
    }

    /// Whether the interhemispheric fissure (and falx) exists at (v, Z): everywhere above the
    /// corpus callosum, only in front of and behind it lower down.
    @inline(__always) func fissurePresent(_ v: Double, _ z: Double) -> Bool {
        if z > callosumTop { return true }
        if z < tentoriumZ + 4 { return false }
        return v < callosumFront || v > callosumBack
    }

    /// Tentorium height at antero-posterior position v: the cerebellum lies below it.
    @inline(__always) func tentoriumHeight(_ v: Double) -> Double {
        tentoriumZ + 0.10 * height * max(0, 1 - v / b)
    }
}

@inline(__always) func smooth(_ x: Double, _ lo: Double, _ hi: Double) -> Double {
    let t = max(0, min(1, (x - lo) / (hi - lo)))
    return t * t * (3 - 2 * t)
}

extension HeadAnatomy {
    /// Draws one case's anatomy. Ranges are the HU values listed in Docs/phantom.md.
    static func sample(config: PhantomConfig, using g: inout SeededGenerator) -> HeadAnatomy {
        func U(_ lo: Double, _ hi: Double) -> Double { g.nextUniform(in: lo...hi) }
        let a = U(64, 72), b = U(80, 90)
        var harmonics: [(Double, Double, Double)] = []
        for m in 2...5 { harmonics.append((Double(m), U(0.004, 0.018), U(0, 2 * .pi))) }
        let height = U(122, 138)
        let atrophy = pow(U(0, 1), 1.5)

        // Skull base.
        let ridge = U(25, 31)
        let tentZ = U(0.19, 0.23) * height

        var airCells: [Ellipsoid] = []
        airCells.append(Ellipsoid(cu: 0, cv: -0.22 * b, cz: U(4, 10), ru: U(9, 14), rv: U(8, 12), rz: U(7, 10), hu: -1000))
        airCells.append(Ellipsoid(cu: 0, cv: -0.68 * b, cz: U(12, 20), ru: U(5, 7), rv: U(14, 18), rz: U(8, 11), hu: -1000))

        var orbits: [Ellipsoid] = []
        let orbitZ = U(14, 20)
        for side in [1.0, -1.0] {
            orbits.append(Ellipsoid(cu: side * U(0.3, 0.36) * a, cv: -U(0.66, 0.74) * b, cz: orbitZ,
                                        ru: U(13, 16), rv: U(17, 21), rz: U(13, 16), hu: -90))
        }

        // Sulci around the convexity, roughly every 9 to 14 mm of circumference.
        var sulci: [Sulcus] = []
        let nSulci = Int(U(38, 50))
        for _ in 0..<nSulci {
            let z0 = U(0.15, 0.7) * height
            sulci.append(Sulcus(phi0: U(-.pi, .pi), drift: U(-0.006, 0.006),
                                halfWidth: U(0.4, 1.0) * (1 + 1.2 * atrophy), depth: U(8, 22),
                                z0: z0, z1: min(height, z0 + U(35, 90)), bend: U(-0.7, 0.7), isSylvian: false))
        }
        for side in [0.0, 1.0] {
            let phi = side == 0 ? -U(0.1, 0.35) : Double.pi + U(0.1, 0.35)
            sulci.append(Sulcus(phi0: phi, drift: 0, halfWidth: U(1.0, 2.0) * (1 + atrophy), depth: U(26, 34),
                                z0: 0.17 * height, z1: 0.42 * height, bend: 0, isSylvian: true))
        }

        // Ventricles, deep grey, cisterns, brainstem.
        let au0 = U(3.5, 6) * (1 + 0.9 * atrophy), av0 = U(20, 27)
        let vc = U(-0.10, -0.02) * b
        var lateral: [EllipseStructure] = []
        for s in [1.0, -1.0] {
            lateral.append(EllipseStructure(cu: s * (au0 + 3), cv: vc, au: au0, av: av0, angle: s * U(0.05, 0.15),
                                            z0: 0.36 * height, z1: 0.63 * height, taper: 0.8))
        }
        for s in [1.0, -1.0] {
            lateral.append(EllipseStructure(cu: s * (au0 + 10), cv: vc + 0.75 * av0, au: U(4.5, 7) * (1 + 0.5 * atrophy), av: U(8, 11),
                                            angle: -s * U(0.35, 0.6), z0: 0.29 * height, z1: 0.47 * height, taper: 0.7))
        }
        for s in [1.0, -1.0] {
            lateral.append(EllipseStructure(cu: s * (0.6 * au0 + 4), cv: vc - 0.6 * av0, au: 0.8 * au0 + 1, av: U(7, 10),
                                            angle: s * 0.2, z0: 0.30 * height, z1: 0.42 * height, taper: 0.6))
        }
        let third = EllipseStructure(cu: 0, cv: vc + 6, au: U(1.2, 2.2) * (1 + atrophy), av: U(9, 12), angle: 0,
                                     z0: 0.24 * height, z1: 0.37 * height, taper: 0.5)
        let fourth = EllipseStructure(cu: 0, cv: 0.36 * b, au: U(4, 6), av: U(3, 4.5), angle: 0,
                                      z0: 0.05 * height, z1: 0.18 * height, taper: 0.7)
        var deep: [EllipseStructure] = []
        for s in [1.0, -1.0] {
            deep.append(EllipseStructure(cu: s * U(21, 26), cv: U(-0.06, 0.0) * b, au: U(6, 8), av: U(13, 17), angle: -s * U(0.15, 0.3),
                                         z0: 0.27 * height, z1: 0.46 * height, taper: 0.7))
            deep.append(EllipseStructure(cu: s * U(8, 11), cv: vc + U(12, 16), au: U(6.5, 8.5), av: U(10, 12.5), angle: s * 0.2,
                                         z0: 0.25 * height, z1: 0.41 * height, taper: 0.7))
            deep.append(EllipseStructure(cu: s * (au0 + 5), cv: vc - 0.55 * av0, au: U(4, 5.5), av: U(7, 9), angle: 0,
                                         z0: 0.31 * height, z1: 0.50 * height, taper: 0.6))
        }
        let cisterns = [
            EllipseStructure(cu: 0, cv: -0.08 * b, au: U(10, 13), av: U(8, 11), angle: 0, z0: 0.16 * height, z1: 0.27 * height, taper: 0.4),
            EllipseStructure(cu: 0, cv: 0.06 * b, au: U(15, 17), av: U(14, 16), angle: 0, z0: 0.18 * height, z1: 0.31 * height, taper: 0.5),
            EllipseStructure(cu: 0, cv: -0.02 * b, au: U(10, 12), av: U(4, 5), angle: 0, z0: 0.04 * height, z1: 0.18 * height, taper: 0.3),
        ]
        let brainstem = [
            EllipseStructure(cu: 0, cv: 0.06 * b, au: U(10, 12), av: U(9.5, 11), angle: 0, z0: 0.17 * height, z1: 0.32 * height, taper: 0.2),
            EllipseStructure(cu: 0, cv: 0.12 * b, au: U(12, 14), av: U(11, 13), angle: 0, z0: 0.02 * height, z1: 0.18 * height, taper: 0.2),
        ]

        // Physiological calcifications (present in most adults).
        var calcs: [Ellipsoid] = []
        for s in [1.0, -1.0] where g.nextBernoulli(0.75) {
            let at = lateral[s > 0 ? 2 : 3]
            calcs.append(Ellipsoid(cu: at.cu + U(-1.5, 1.5), cv: at.cv + U(-1.5, 1.5), cz: 0.38 * height + U(-3, 3),
                                       ru: U(2, 4.5), rv: U(2, 4.5), rz: U(2, 4), hu: U(100, 400)))
        }
        if g.nextBernoulli(0.65) {
            calcs.append(Ellipsoid(cu: 0, cv: vc + U(17, 21), cz: 0.33 * height, ru: U(2, 3.5), rv: U(2, 4), rz: U(2, 3.5), hu: U(100, 400)))
        }
        for s in [1.0, -1.0] where g.nextBernoulli(0.15) {
            calcs.append(Ellipsoid(cu: s * U(15, 19), cv: U(-0.05, 0) * b, cz: 0.36 * height, ru: U(1.2, 2.5), rv: U(1.5, 3), rz: U(1.5, 3), hu: U(100, 250)))
        }
        let falxShift = U(-1.5, 1.5), falxWaveAmp = U(0.3, 1.5), falxWavePhase = U(0, 2 * .pi)
        if g.nextBernoulli(0.3) {
            let v = U(-0.6, 0.6) * b
            calcs.append(Ellipsoid(cu: falxShift + falxWaveAmp * sin(v / 23 + falxWavePhase), cv: v, cz: U(0.6, 0.85) * height,
                                       ru: U(0.8, 1.4), rv: U(3, 7), rz: U(2, 5), hu: U(150, 500)))
        }

        // Artefacts: streaks radiate from the petrous bones and the clivus.
        var streaks: [(Double, Double, Double, Double, Double)] = []
        let nStreaks = Int(U(4, 9))
        for _ in 0..<nStreaks {
            let side: Double = g.nextBernoulli(0.5) ? 1 : -1
            let t = U(0.1, 0.9)
            let pu = side * (0.85 * a + t * (0.12 - 0.85) * a), pv = 0.28 * b + t * (-0.04 - 0.28) * b
            let amp = (g.nextBernoulli(0.6) ? -1.0 : 1.0) * U(10, 40)
            streaks.append((U(0, .pi), pu, pv, amp, U(0.5, 1.5)))
        }

        let maxTilt = config.maxTiltDegrees * .pi / 180
        let roll = tan(U(-1, 1) * maxTilt), pitch = tan(U(-1, 1) * maxTilt)
        var head = HeadAnatomy(
            a: a, b: b, harmonics: harmonics, height: height, widest: U(0.38, 0.46) * height, domeExponent: U(2.0, 2.6),
            skullThickness: U(5, 8), innerCortex: U(1.4, 2.2), outerCortex: U(1.5, 2.5), scalpThickness: U(4, 7),
            posteriorFloor: U(-3, 2), middleFloor: U(12, 17), anteriorFloor: U(30, 38), anteriorFossaV: U(-0.5, -0.42) * b,
            ridgeHeight: ridge, clivusHeight: U(18, 24), baseBoneThickness: U(7, 12), tentoriumZ: tentZ, airCells: airCells, orbits: orbits,
            huScalp: U(20, 60), huCortical: U(1200, 1600), huDiploe: U(500, 800), huBaseBone: U(900, 1400), huBaseTissue: U(35, 55),
            huGrey: U(36, 44), huWhite: U(23, 31), huCSF: U(2, 12), huSinus: U(50, 70), huFalx: U(60, 100),
            huCerebellum: U(34, 42), huBrainstem: U(28, 34),
            surfaceGap: U(0.6, 1.6) * (1 + 1.5 * atrophy), greyThickness: U(2.4, 3.4), atrophy: atrophy, sulci: sulci,
            falxShift: falxShift, falxWaveAmp: falxWaveAmp, falxWavePhase: falxWavePhase,
            falxHalf: U(0.6, 1.1), fissureHalf: U(1.4, 2.4) * (1 + atrophy),
            callosumFront: vc - av0 - U(6, 10), callosumBack: vc + av0 + U(4, 8), callosumTop: 0.6 * height,
            lateralVentricles: lateral, otherVentricles: [third, fourth], deepGrey: deep, cisterns: cisterns, brainstem: brainstem,
            calcifications: calcs,
            sssHalfWidth: U(3.5, 5.5), sssDepth: U(6, 9), sssPosteriorZ: 0.3 * height, sssAnteriorZ: U(0.5, 0.6) * height,
            transverseZ: tentZ, transverseThickness: U(5, 8), transverseHalfHeight: U(3.5, 5),
            transverseScale: (U(0.8, 1.2), U(0.7, 1.1)),
            rotation: U(-1, 1) * config.maxRotationDegrees * .pi / 180,
            shiftX: U(-1, 1) * config.maxShiftMM, shiftY: U(-1, 1) * config.maxShiftMM,
            noiseSD: g.nextUniform(in: config.noiseSD), psfSigmaMM: g.nextUniform(in: config.psfSigmaMM),
            pseudoEnhancement: config.beamHardening * U(3, 8), pseudoEnhancementLength: U(2.5, 5),
            hounsfieldBar: config.beamHardening * U(12, 35),
            streaks: streaks.map { (angle: $0.0, pu: $0.1, pv: $0.2, amplitude: $0.3 * config.beamHardening, width: $0.4) })
        head.roll = roll
        head.pitch = pitch
        return head
    }
}
