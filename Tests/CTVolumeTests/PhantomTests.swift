import Testing
import CTVolume
import Foundation

/// The phantom's contracts, on small grids so that debug builds stay fast.
@Suite struct PhantomTests {
    /// A small, artefact-free configuration: every voxel holds an exact tissue value.
    static func clean(size: Int = 64, slices: Int = 10) -> PhantomConfig {
        var c = PhantomConfig()
        c.size = size
        c.slices = slices...slices
        c.noiseSD = 0...0
        c.psfSigmaMM = 0...0
        c.beamHardening = 0
        c.subSlices = 1
        return c
    }

    static func small(size: Int = 64, slices: Int = 10) -> PhantomConfig {
        var c = PhantomConfig()
        c.size = size
        c.slices = slices...slices
        c.subSlices = 3
        return c
    }

    @Test func sameSeedGivesTheSameCase() throws {
        let config = Self.small()
        let a = try Phantom.generate(caseIndex: 2, seed: 11, config: config)
        let b = try Phantom.generate(caseIndex: 2, seed: 11, config: config)
        #expect(a.scan.voxels == b.scan.voxels)
        #expect(a.mask.voxels == b.mask.voxels)
        #expect(a.scan.geometry == b.scan.geometry)
        let c = try Phantom.generate(caseIndex: 3, seed: 11, config: config)
        #expect(a.scan.voxels != c.scan.voxels)
        let d = try Phantom.generate(caseIndex: 2, seed: 12, config: config)
        #expect(a.scan.voxels != d.scan.voxels)
    }

    @Test func geometryAndStorageAreINSTANCELike() throws {
        var config = Self.small()
        config.slices = 6...9
        let c = try Phantom.generate(caseIndex: 0, seed: 1, config: config)
        #expect(c.scan.shape.x == 64 && c.scan.shape.y == 64)
        #expect((6...9).contains(c.scan.shape.z))
        #expect(c.mask.shape == c.scan.shape && c.intracranial.shape == c.scan.shape)
        let sp = c.scan.geometry.spacing
        #expect(sp.x >= 0.40 * 8 - 1e-9 && sp.x <= 0.49 * 8 + 1e-9)  // scaled by 512 / 64
        #expect(abs(sp.z - 5) < 1e-9)
        #expect(c.scan.geometry.sformCode == 1 && c.scan.geometry.qformCode == 1)
        // Integer HU in the int16 range of slope 1, intercept -1024.
        for v in c.scan.voxels { #expect(v == v.rounded() && v >= -1024 && v <= 3071) }
    }

    @Test func labelsAreConsistent() throws {
        var config = Self.small()
        config.positiveFraction = 1
        for index in 0..<3 {
            let c = try Phantom.generate(caseIndex: index, seed: 5, config: config)
            let n = c.scan.shape.sliceCount
            #expect(c.isPositive)
            for k in 0..<c.scan.shape.z {
                let any = c.mask.voxels[(k * n)..<((k + 1) * n)].contains { $0 != 0 }
                #expect(c.sliceLabels[k] == any)
            }
            var labelled = 0
            for p in c.mask.voxels.indices where c.mask.voxels[p] != 0 {
                labelled += 1
                #expect(c.mask.voxels[p] == 1)
                #expect(c.intracranial.voxels[p] == 1)  // hemorrhage lies inside the inner table
            }
            let ml = Double(labelled) * c.scan.geometry.voxelVolumeML
            let summed = c.lesions.reduce(0) { $0 + $1.volumeML }
            #expect(abs(ml - summed) < 1e-6 * max(1, ml))
            for l in c.lesions { #expect(l.firstSlice <= l.lastSlice && c.sliceLabels[l.firstSlice] && c.sliceLabels[l.lastSlice]) }
        }
    }

    @Test func positiveFractionIsHonoured() throws {
        for f in [0.0, 0.25, 0.6, 1.0] {
            let positives = (0..<1000).filter { Phantom.isPositive(caseIndex: $0, seed: 3, positiveFraction: f) }.count
            #expect(abs(Double(positives) / 1000 - f) <= 0.01)
        }
        var config = Self.small(slices: 8)
        config.positiveFraction = 0.5
        for i in 0..<6 {
            let c = try Phantom.generate(caseIndex: i, seed: 21, config: config)
            #expect(c.isPositive == Phantom.isPositive(caseIndex: i, seed: 21, positiveFraction: 0.5))
            #expect(c.isPositive == !c.lesions.isEmpty)
        }
    }

    @Test func tissueValuesLieInTheirRanges() throws {
        var config = Self.clean()
        config.positiveFraction = 1
        let c = try Phantom.generate(caseIndex: 1, seed: 8, config: config)
        var brain = 0, brainInRange = 0, csf = 0, bone = 0.0
        var histogram: [Float: Int] = [:]
        for p in c.scan.voxels.indices {
            let hu = c.scan.voxels[p]
            if c.mask.voxels[p] != 0 { #expect(hu >= 50 && hu <= 85, "blood \(hu)") }
            if c.intracranial.voxels[p] != 0 {
                // Nothing inside the inner table is bone or air: CSF (0..15) to calcification (<= 500).
                #expect(hu >= 0 && hu <= 500, "intracranial \(hu)")
                brain += 1
                histogram[hu, default: 0] += 1
                if hu >= 22 && hu <= 45 { brainInRange += 1 }
                if hu <= 15 { csf += 1 }
            }
            bone = max(bone, Double(hu))
        }
        // Grey and white matter make up most of the inside; CSF is present; the commonest
        // value (one tissue, drawn without noise or blur) is grey or white matter.
        #expect(Double(brainInRange) > 0.5 * Double(brain))
        #expect(csf > 0)
        let mode = histogram.max { $0.value < $1.value }!.key
        #expect(mode >= 22 && mode <= 45, "commonest intracranial value \(mode)")
        #expect(bone >= 1200 && bone <= 1600)                   // cortical bone
        #expect(c.scan.voxels[0] == -1000)                      // air in the corner
    }

    @Test func intensityAloneFindsBloodWhereThereIsNone() throws {
        // A negative case without noise: the falx, the sinuses, calcification edges and bone
        // blurred into the brain still put intracranial voxels in the 50..90 HU blood window.
        var config = Self.clean(size: 128, slices: 10)
        config.positiveFraction = 0
        config.psfSigmaMM = 0.6...0.6
        config.subSlices = 3
        let c = try Phantom.generate(caseIndex: 0, seed: 3, config: config)
        #expect(!c.isPositive && c.lesions.isEmpty)
        var mimics = 0
        for p in c.scan.voxels.indices where c.intracranial.voxels[p] != 0 && c.scan.voxels[p] >= 50 && c.scan.voxels[p] <= 90 {
            mimics += 1
        }
        #expect(mimics > 100, "\(mimics) blood-like voxels in a negative case")
    }

    @Test func subduralHugsTheInnerTableAndEpiduralIsALens() throws {
        for subtype in [HemorrhageSubtype.subdural, .epidural] {
            var config = Self.clean(size: 128, slices: 8)
            config.positiveFraction = 1
            config.lesionsPerPositiveCase = 1...1
            config.subtypes = .only(subtype)
            config.lesionVolumeML = 15...30
            let c = try Phantom.generate(caseIndex: 0, seed: 4, config: config)
            #expect(c.lesions.map(\.subtype) == [subtype])
            let nx = c.scan.shape.x, n = c.scan.shape.sliceCount
            // The slice with the most blood.
            let k = (0..<c.scan.shape.z).max { a, b in
                c.mask.voxels[(a * n)..<((a + 1) * n)].reduce(0) { $0 + Int($1) } < c.mask.voxels[(b * n)..<((b + 1) * n)].reduce(0) { $0 + Int($1) }
            }!
            var pixels: [(Int, Int)] = []
            var touching = 0
            for j in 1..<(nx - 1) {
                for i in 1..<(nx - 1) where c.mask.voxels[k * n + j * nx + i] != 0 {
                    pixels.append((i, j))
                    let ring = [(1, 0), (-1, 0), (0, 1), (0, -1), (2, 0), (-2, 0), (0, 2), (0, -2)]
                    if ring.contains(where: { d in
                        let ii = min(nx - 1, max(0, i + d.0)), jj = min(nx - 1, max(0, j + d.1))
                        return c.intracranial.voxels[k * n + jj * nx + ii] == 0
                    }) { touching += 1 }
                }
            }
            #expect(pixels.count > 10)
            if subtype == .subdural {
                // A crescent along the inner table: most of it within two pixels of the skull.
                #expect(Double(touching) > 0.5 * Double(pixels.count), "subdural: \(touching) of \(pixels.count) by the skull")
            } else {
                // A lens with a broad base on the skull.
                #expect(touching >= 8, "epidural: \(touching) of \(pixels.count) by the skull")
                // A biconvex lens is convex: it fills most of its convex hull.
                #expect(solidity(pixels) > 0.8, "epidural solidity \(solidity(pixels))")
            }
            #expect(touching < pixels.count || subtype == .subdural)
        }
    }

    @Test func projectIntracranialMaskKeepsTheHemorrhage() throws {
        // The issue's contract between the phantom and IntracranialMask: at least 98 % of the
        // hemorrhage voxels inside the computed mask, and (almost) no bone in it.
        var config = Self.small(size: 128, slices: 10)
        config.positiveFraction = 1
        config.lesionsPerPositiveCase = 2...3
        config.subtypes = SubtypeMix(intraparenchymal: 0.2, subdural: 0.4, epidural: 0.4, intraventricular: 0, subarachnoid: 0)
        for index in 0..<1 {
            let c = try Phantom.generate(caseIndex: index, seed: 77, config: config)
            let m = try IntracranialMask.compute(c.scan)
            var blood = 0, kept = 0, inside = 0, bone = 0
            for p in c.mask.voxels.indices {
                if c.mask.voxels[p] != 0 { blood += 1; if m.voxels[p] != 0 { kept += 1 } }
                if m.voxels[p] != 0 { inside += 1; if c.scan.voxels[p] >= 700 { bone += 1 } }
            }
            #expect(blood > 0)
            #expect(Double(kept) >= 0.98 * Double(blood), "case \(index): \(kept) of \(blood) hemorrhage voxels kept")
            #expect(Double(bone) < 0.05 * Double(inside), "case \(index): \(bone) of \(inside) mask voxels at or above 700 HU")
        }
    }

    @Test func badParametersAreRefusedWithAMessage() {
        func message(_ change: (inout PhantomConfig) -> Void) -> String {
            var c = PhantomConfig()
            change(&c)
            do { try c.validate(); return "" } catch { return String(describing: error) }
        }
        #expect(message { $0.lesionsPerPositiveCase = -1...2 }.contains("lesionsPerPositiveCase"))
        #expect(message { $0.size = 7 }.contains("size"))
        #expect(message { $0.size = 100_000 }.contains("size"))
        #expect(message { $0.positiveFraction = 1.5 }.contains("positiveFraction"))
        #expect(message { $0.positiveFraction = -0.1 }.contains("positiveFraction"))
        #expect(message { $0.slices = 0...3 }.contains("slices"))
        #expect(message { $0.noiseSD = -1...3 }.contains("noiseSD"))
        #expect(message { $0.subtypes = SubtypeMix(intraparenchymal: 0, subdural: 0, epidural: 0, intraventricular: 0, subarachnoid: 0) }.contains("subtypes"))
        #expect(message { _ in } == "")
        #expect(throws: CTVolumeError.self) { try Phantom.generate(caseIndex: -1, seed: 0, config: Self.small()) }
        var bad = PhantomConfig()
        bad.positiveFraction = 2
        #expect(throws: CTVolumeError.invalidParameter(name: "positiveFraction", reason: "2.0 is outside 0...1")) {
            try Phantom.generate(caseIndex: 0, seed: 0, config: bad)
        }
    }

    @Test func configRoundTripsThroughJSON() throws {
        var c = PhantomConfig.quick
        c.subtypes = .only(.epidural)
        let data = try JSONEncoder().encode(c)
        #expect(try JSONDecoder().decode(PhantomConfig.self, from: data) == c)
        // A file need only name what it changes.
        let partial = try JSONDecoder().decode(PhantomConfig.self, from: Data(#"{"size": 256, "positiveFraction": 1}"#.utf8))
        var expected = PhantomConfig()
        expected.size = 256
        expected.positiveFraction = 1
        #expect(partial == expected)
    }
}

/// Pixel count over the area of the convex hull of the pixels' corners (Andrew's monotone chain).
func solidity(_ pixels: [(Int, Int)]) -> Double {
    var pts: [(Double, Double)] = []
    for (i, j) in pixels {
        for (a, b) in [(-0.5, -0.5), (0.5, -0.5), (-0.5, 0.5), (0.5, 0.5)] { pts.append((Double(i) + a, Double(j) + b)) }
    }
    pts.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
    func cross(_ o: (Double, Double), _ a: (Double, Double), _ b: (Double, Double)) -> Double {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    }
    var lower: [(Double, Double)] = [], upper: [(Double, Double)] = []
    for p in pts {
        while lower.count >= 2 && cross(lower[lower.count - 2], lower[lower.count - 1], p) <= 0 { lower.removeLast() }
        lower.append(p)
    }
    for p in pts.reversed() {
        while upper.count >= 2 && cross(upper[upper.count - 2], upper[upper.count - 1], p) <= 0 { upper.removeLast() }
        upper.append(p)
    }
    let hull = Array(lower.dropLast() + upper.dropLast())
    var area = 0.0
    for i in hull.indices {
        let a = hull[i], b = hull[(i + 1) % hull.count]
        area += a.0 * b.1 - b.0 * a.1
    }
    return Double(pixels.count) / (abs(area) / 2)
}
