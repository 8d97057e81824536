import Testing
import CTVolume
import Foundation
import TestSupport

/// Generation 2 of the phantom (realistic blood, textured anatomy, varied acquisition), on
/// small grids so that debug builds stay fast.
@Suite struct PhantomGenerationTwoTests {
    /// The realistic preset at `size`, every case positive, stacks of at most `maxSlices`.
    static func realistic(size: Int = 64, maxSlices: Int = 12) -> PhantomConfig {
        var c = PhantomConfig.realistic
        c.size = size
        c.slices = 4...maxSlices
        c.positiveFraction = 1
        c.acquisition.storedOrientations = ["LAS"]  // rows and columns as the tests read them
        return c
    }

    /// No noise, blur, texture, cupping, artefact or head holder: what is drawn is what is stored.
    static func clean(_ base: PhantomConfig) -> PhantomConfig {
        var c = base
        c.noiseSD = 0...0
        c.psfSigmaMM = 0...0
        c.beamHardening = 0
        c.blood.heterogeneitySD = 0...0
        c.anatomy.parenchymaTextureSD = 0...0
        c.anatomy.headHolderProbability = 0
        c.acquisition.cuppingHU = 0...0
        return c
    }

    @Test("same seed, same bytes; another case, seed or generation differs")
    func deterministic() throws {
        let config = Self.realistic()
        let a = try Phantom.generate(caseIndex: 2, seed: 11, config: config)
        let b = try Phantom.generate(caseIndex: 2, seed: 11, config: config)
        #expect(a.scan.voxels == b.scan.voxels && a.mask.voxels == b.mask.voxels && a.scan.geometry == b.scan.geometry)
        #expect(a.lesions == b.lesions)
        #expect(try Phantom.generate(caseIndex: 3, seed: 11, config: config).scan.voxels != a.scan.voxels)
        #expect(try Phantom.generate(caseIndex: 2, seed: 12, config: config).scan.voxels != a.scan.voxels)
        var v1 = PhantomConfig.v1
        v1.size = config.size; v1.slices = config.slices; v1.positiveFraction = 1
        #expect(try Phantom.generate(caseIndex: 2, seed: 11, config: v1).scan.voxels != a.scan.voxels)
    }

    @Test("a generation 1 configuration encodes without generation 2's keys; generation 2 round-trips")
    func configuration() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let v1 = String(decoding: try encoder.encode(PhantomConfig.v1), as: UTF8.self)
        for key in ["generation", "blood", "anatomy", "acquisition"] { #expect(!v1.contains("\"\(key)\""), "\(key)") }
        #expect(v1.hasPrefix(#"{"beamHardening":1,"#))
        for preset in [PhantomConfig.realistic, .randomized] {
            let data = try encoder.encode(preset)
            #expect(try JSONDecoder().decode(PhantomConfig.self, from: data) == preset)
            try preset.validate()
        }
        // Keys left out keep their defaults, per nested object too.
        let partial = try JSONDecoder().decode(PhantomConfig.self, from: Data(#"{"generation": 2, "blood": {"tinyFocusProbability": 0.5}}"#.utf8))
        var expected = PhantomConfig()
        expected.generation = 2
        expected.blood.tinyFocusProbability = 0.5
        #expect(partial == expected)
        #expect(PhantomConfig.presetNames.compactMap(PhantomConfig.preset(named:)) == [.v1, .realistic, .randomized])
        #expect(PhantomConfig.preset(named: "v3") == nil)
    }

    @Test("impossible generation 2 values are refused, naming the parameter")
    func refusals() {
        func message(_ change: (inout PhantomConfig) -> Void) -> String {
            var c = PhantomConfig.realistic
            change(&c)
            do { try c.validate(); return "" } catch { return String(describing: error) }
        }
        #expect(message { $0.generation = 3 }.contains("generation"))
        #expect(message { $0.acquisition.sliceThicknessMM = [] }.contains("acquisition.sliceThicknessMM"))
        #expect(message { $0.acquisition.sliceThicknessMM = [5, 0.1] }.contains("acquisition.sliceThicknessMM"))
        #expect(message {
            $0.blood.hyperacute.weight = 0; $0.blood.acute.weight = 0; $0.blood.retracted.weight = 0
        }.contains("blood"))
        #expect(message { $0.blood.chronicSubduralShare = 0.7; $0.blood.subacuteSubduralShare = 0.7 }.contains("shares"))
        #expect(message { $0.blood.haematocritLevelProbability = 1.5 }.contains("haematocritLevelProbability"))
        #expect(message { $0.blood.tinyFocusML = 0...0.5 }.contains("tinyFocusML"))
        #expect(message { $0.anatomy.parenchymaTextureSD = -1...2 }.contains("parenchymaTextureSD"))
        #expect(message { _ in } == "")
        // generation 1 neither draws nor saves generation 2's fields: setting one is refused
        var v1 = PhantomConfig.v1
        v1.blood.tinyFocusProbability = 0.5
        #expect(throws: CTVolumeError.self) { try v1.validate() }
        v1.generation = 2
        #expect(throws: Never.self) { try v1.validate() }
    }

    @Test("slice thickness is one of the listed ones, and the count is coverage / thickness within the slice range")
    func acquisition() throws {
        var config = Self.realistic(maxSlices: 200)
        config.slices = 1...200
        config.acquisition.sliceThicknessMM = [2, 8]
        config.acquisition.coverageMM = 96...96
        var seen = Set<Double>()
        for index in 0..<6 {
            let c = try Phantom.generate(caseIndex: index, seed: 5, config: config)
            let t = c.scan.geometry.spacing.z
            #expect(t == 2 || t == 8)
            seen.insert(t)
            #expect(c.scan.shape.z == Int((96 / t).rounded()))
        }
        #expect(seen.count == 2)
        config.slices = 20...30
        let clamped = try Phantom.generate(caseIndex: 0, seed: 5, config: config)
        #expect((20...30).contains(clamped.scan.shape.z))
    }

    @Test("labels follow the lesions' occupancy: each density class shows in the labelled voxels, never on bone")
    func densityClasses() throws {
        for (name, hu) in [("hyperacute", 40.0...55.0), ("acute", 55.0...85.0), ("retracted", 80.0...100.0)] {
            var config = Self.clean(Self.realistic(size: 64, maxSlices: 10))
            config.subtypes = .only(.intraparenchymal)
            config.lesionVolumeML = 5...20
            config.blood.tinyFocusProbability = 0
            config.blood.hyperacute.weight = name == "hyperacute" ? 1 : 0
            config.blood.acute.weight = name == "acute" ? 1 : 0
            config.blood.retracted.weight = name == "retracted" ? 1 : 0
            let c = try Phantom.generate(caseIndex: 0, seed: 9, config: config)
            #expect(!c.lesions.isEmpty)
            for l in c.lesions {
                #expect(l.stage == .acute)
                #expect(hu.contains(l.densityHU ?? -1), "\(name): \(l.densityHU ?? -1)")
            }
            // Without noise or texture, the labelled voxels hold the class's HU, give or take
            // the partial volume of the slice profile's tails (oedema and brain are darker).
            var values: [Float] = []
            for p in c.mask.voxels.indices where c.mask.voxels[p] != 0 { values.append(c.scan.voxels[p]) }
            values.sort()
            #expect(values.count > 20)
            let median = Double(values[values.count / 2])
            #expect(median >= hu.lowerBound - 12 && median <= hu.upperBound + 1, "\(name): median \(median)")
        }
    }

    @Test("labelled subdural voxels are not bone: with blur and noise, under 3 % above 150 HU and a median under 100 HU")
    func labelsStayOffBone() throws {
        var config = Self.realistic(size: 128, maxSlices: 10)
        config.subtypes = .only(.subdural)
        config.lesionVolumeML = 2...10
        config.blood.tinyFocusProbability = 0
        func highShare(_ config: PhantomConfig) throws -> (Double, Double) {
            var high = 0, total = 0
            var all: [Float] = []
            var median: Float { all.sorted()[all.count / 2] }
            for index in 0..<3 {
                let c = try Phantom.generate(caseIndex: index, seed: 23, config: config)
                for p in c.mask.voxels.indices where c.mask.voxels[p] != 0 {
                    total += 1
                    all.append(c.scan.voxels[p])
                    if c.scan.voxels[p] > 150 { high += 1 }
                }
            }
            #expect(total > 50)
            return (Double(high) / Double(max(total, 1)), Double(median))
        }
        let (share, median) = try highShare(config)
        #expect(share < 0.03, "\(share) of labelled voxels above 150 HU")
        #expect(median < 100, "median \(median) HU")
    }

    @Test("subdurals may be subacute (isodense) or chronic (hypodense) and are labelled")
    func subduralStages() throws {
        for stage in [HemorrhageStage.subacute, .chronic] {
            var config = Self.clean(Self.realistic(size: 64, maxSlices: 10))
            config.subtypes = .only(.subdural)
            config.lesionVolumeML = 10...30
            config.blood.tinyFocusProbability = 0
            config.blood.subacuteSubduralShare = stage == .subacute ? 1 : 0
            config.blood.chronicSubduralShare = stage == .chronic ? 1 : 0
            let c = try Phantom.generate(caseIndex: 1, seed: 3, config: config)
            #expect(c.isPositive)
            let range = stage == .subacute ? config.blood.subacuteHU : config.blood.chronicHU
            for l in c.lesions {
                #expect(l.stage == stage)
                #expect(range.contains(l.densityHU ?? -1000))
            }
        }
    }

    @Test("a haematocrit level: the dependent (posterior) blood is denser than the rest")
    func haematocritLevel() throws {
        var config = Self.clean(Self.realistic(size: 128, maxSlices: 10))
        config.subtypes = .only(.intraventricular)
        config.lesionVolumeML = 20...40
        config.lesionsPerPositiveCase = 1...1
        config.blood.tinyFocusProbability = 0
        config.blood.haematocritLevelProbability = 1
        config.blood.haematocritContrastHU = 30...30
        config.blood.acute = BloodDensityClass(weight: 1, hu: 60...60)
        config.blood.hyperacute.weight = 0
        config.blood.retracted.weight = 0
        let c = try Phantom.generate(caseIndex: 0, seed: 4, config: config)
        #expect(c.lesions.first?.haematocritLevel == true)
        // Voxels of pure blood hold 60 - 15 or 60 + 15 HU; the denser ones lie posterior (row j small).
        let nx = c.scan.shape.x, n = c.scan.shape.sliceCount
        var dense: [Int] = [], light: [Int] = []
        for p in c.mask.voxels.indices where c.mask.voxels[p] != 0 {
            let j = (p % n) / nx
            if abs(c.scan.voxels[p] - 75) <= 1 { dense.append(j) } else if abs(c.scan.voxels[p] - 45) <= 1 { light.append(j) }
        }
        #expect(dense.count > 5 && light.count > 5, "\(dense.count) dense, \(light.count) light")
        let meanRow = { (rows: [Int]) in Double(rows.reduce(0, +)) / Double(max(rows.count, 1)) }
        #expect(meanRow(dense) < meanRow(light), "dense rows \(meanRow(dense)), light rows \(meanRow(light))")
    }

    @Test("tiny foci of 0.02 to 0.5 mL are drawn and labelled")
    func tinyFoci() throws {
        var config = Self.realistic(size: 128, maxSlices: 16)
        config.blood.tinyFocusProbability = 1
        config.lesionsPerPositiveCase = 2...3
        config.acquisition.sliceThicknessMM = [2.5]
        var labelled = 0
        for index in 0..<3 {
            let c = try Phantom.generate(caseIndex: index, seed: 6, config: config)
            for l in c.lesions {
                #expect(l.targetVolumeML >= 0.02 && l.targetVolumeML <= 0.5)
                #expect(l.subtype == .intraparenchymal || l.subtype == .subarachnoid)
                #expect(l.volumeML < 2, "\(l.subtype) \(l.volumeML) mL")
                labelled += 1
            }
        }
        #expect(labelled >= 3)
    }

    @Test("a case stored in another voxel order is the LAS case reordered: voxels, world positions, slice labels, lesion slices")
    func storedOrientation() throws {
        var las = Self.realistic(size: 64, maxSlices: 10)
        las.lesionsPerPositiveCase = 2...3
        for order in ["RPI", "ALS", "LPS"] {
            var other = las
            other.acquisition.storedOrientations = [order]
            let a = try Phantom.generate(caseIndex: 1, seed: 8, config: las)
            let b = try Phantom.generate(caseIndex: 1, seed: 8, config: other)
            #expect(b.scan.geometry.affine.axisCodes == order)
            let back = Reorientation(b.scan)
            #expect(back.apply(b.scan).voxels == a.scan.voxels, "\(order)")
            #expect(back.apply(b.mask).voxels == a.mask.voxels && back.apply(b.intracranial).voxels == a.intracranial.voxels)
            #expect(back.apply(b.lesionLabels).voxels == a.lesionLabels.voxels)
            let affine = back.apply(b.scan).geometry.affine
            for r in 0..<4 { for c in 0..<4 { #expect(abs(affine[r, c] - a.scan.geometry.affine[r, c]) < 1e-9) } }
            let flipped = order.hasSuffix("I")
            #expect(b.sliceLabels == (flipped ? a.sliceLabels.reversed() : a.sliceLabels))
            #expect(b.sliceLabels == b.mask.sliceLabels.map { $0 > 0 })
            let nz = a.scan.shape.z
            #expect(b.lesions.map(\.firstSlice) == a.lesions.map { flipped ? nz - 1 - $0.lastSlice : $0.firstSlice })
        }
        #expect(PhantomConfig.randomized.acquisition.storedOrientations.contains("ARI"))
        var bad = PhantomConfig.realistic
        bad.acquisition.storedOrientations = ["LSA"]
        #expect(throws: CTVolumeError.self) { try bad.validate() }
    }

    @Test("a set written in several voxel orders loads through Dataset as the LAS set: scans, masks, slice labels from masks and from slices.csv")
    func datasetLoadsCanonically() throws {
        let folder = TemporaryFolder(prefix: "phantom-orders"), root = folder.url
        defer { folder.cleanup() }
        var las = Self.realistic(size: 48, maxSlices: 8)
        las.positiveFraction = 0.7
        var mixed = las
        mixed.acquisition.storedOrientations = ["RPI", "ALS", "LPS"]
        try Phantom.writeDataset(to: root, cases: 4, seed: 12, config: mixed)
        let dataset = try Dataset(root: root)
        var reordered = 0
        for (index, item) in dataset.cases.enumerated() {
            let truth = try Phantom.generate(caseIndex: index, seed: 12, config: las)
            let header = try item.imageHeader()
            if header.geometry.affine.axisCodes != "LAS" { reordered += 1 }
            #expect(try item.loadScan().voxels == truth.scan.voxels, "\(item.name)")
            #expect(try item.loadMask()?.voxels == truth.mask.voxels)
            #expect(try item.loadLesionLabels()?.voxels == truth.lesionLabels.voxels)
            #expect(try item.sliceLabels() == truth.sliceLabels.map { $0 ? 1 : 0 })
            // the table's rows follow the stored slices, and come back in LAS order too
            var tableOnly = item
            tableOnly.labelURL = nil
            #expect(try tableOnly.sliceLabels() == truth.sliceLabels.map { $0 ? 1 : 0 })
            // a mask on the stored grid goes back there, and reads in again from either grid
            let stored = try item.onStoredGrid(truth.mask)
            #expect(stored.shape == header.shape && stored.geometry.affine.axisCodes == header.geometry.affine.axisCodes)
            let url = root.appendingPathComponent("\(item.name)-stored.nii.gz"), url2 = root.appendingPathComponent("\(item.name)-las.nii.gz")
            try NIfTI.write(stored, to: url)
            try NIfTI.write(truth.mask, to: url2)
            #expect(try item.loadMask(from: url).voxels == truth.mask.voxels)
            #expect(try item.loadMask(from: url2).voxels == truth.mask.voxels)
        }
        #expect(reordered >= 2)
    }

    @Test("the lesion map labels exactly the mask's voxels, one label per listed lesion with its volume and slices",
          arguments: [1, 2])
    func lesionMapFollowsTheLesionList(generation: Int) throws {
        var config = generation == 1 ? PhantomConfig.v1 : Self.realistic(size: 64, maxSlices: 12)
        if generation == 1 { config.size = 64; config.slices = 8...12; config.positiveFraction = 1 }
        config.lesionsPerPositiveCase = 2...3
        for index in 0..<4 {
            let c = try Phantom.generate(caseIndex: index, seed: 31, config: config)
            #expect(c.lesionLabels.shape == c.mask.shape && c.lesionLabels.geometry == c.mask.geometry)
            #expect(zip(c.lesionLabels.voxels, c.mask.voxels).allSatisfy { ($0 > 0) == ($1 > 0) }, "\(c.name)")
            let voxelML = c.scan.geometry.voxelVolumeML
            let nx = c.scan.shape.x * c.scan.shape.y
            for (k, lesion) in c.lesions.enumerated() {
                let id = UInt8(k + 1)
                let voxels = c.lesionLabels.voxels.indices.filter { c.lesionLabels.voxels[$0] == id }
                #expect(Double(voxels.count) * voxelML == lesion.volumeML, "\(c.name) lesion \(k + 1)")
                #expect(voxels.map { $0 / nx }.min() == lesion.firstSlice && voxels.map { $0 / nx }.max() == lesion.lastSlice)
            }
            #expect(Set(c.lesionLabels.voxels.filter { $0 > 0 }) == Set((0..<c.lesions.count).map { UInt8($0 + 1) }))
        }
    }

    @Test("a gantry tilt shears the affine and draws the head where that affine puts it; an untilted case is unchanged by the tilt's settings")
    func gantryTilt() throws {
        var flat = Self.realistic(size: 64, maxSlices: 60)
        flat.acquisition.sliceThicknessMM = [2.5]
        flat.acquisition.coverageMM = 140...140
        flat.acquisition.gantryTiltProbability = 0
        var tilted = flat
        tilted.acquisition.gantryTiltProbability = 1
        tilted.acquisition.gantryTiltDegrees = 20...20
        let a = try Phantom.generate(caseIndex: 2, seed: 13, config: flat)
        let b = try Phantom.generate(caseIndex: 2, seed: 13, config: tilted)
        let fa = a.scan.geometry.affine, fb = b.scan.geometry.affine
        let angle = atan2(fb[2, 1], fb[1, 1]) * 180 / .pi
        #expect(abs(abs(angle) - 20) < 1e-9, "\(fb)")
        #expect(fb[2, 2] == fa[2, 2] && fb[1, 2] == 0 && fb[0, 0] == fa[0, 0])   // the slice step stays on the body axis
        #expect(b.scan.geometry.qformCode == 0 && b.scan.geometry.sformCode > 0)
        // the sheared sform survives a NIfTI round trip
        let folder = TemporaryFolder(prefix: "phantom-tilt")
        defer { folder.cleanup() }
        let url = folder.url.appendingPathComponent("tilted.nii.gz")
        try NIfTI.write(b.scan, to: url, datatype: .hounsfieldInt16)
        let back = try NIfTI.readScan(at: url)
        for r in 0..<3 { for c in 0..<4 { #expect(abs(back.geometry.affine[r, c] - fb[r, c]) < 1e-4) } }

        // each intracranial voxel of the tilted case, taken to the world by its affine and into
        // the untilted grid: the untilted case has its intracranial region there too
        func overlap(_ affine: Affine, _ inside: (PhantomCase, Int, Int, Int) -> Bool = { $0.intracranial[$1, $2, $3] > 0 }) -> Double {
            var both = 0, either = 0
            let s = b.scan.shape
            for k in 0..<s.z { for j in 0..<s.y { for i in 0..<s.x {
                let w = affine.apply(SIMD3(Double(i), Double(j), Double(k)))
                let q = SIMD3((w.x - fa[0, 3]) / fa[0, 0], (w.y - fa[1, 3]) / fa[1, 1], (w.z - fa[2, 3]) / fa[2, 2])
                let (qi, qj, qk) = (Int(q.x.rounded()), Int(q.y.rounded()), Int(q.z.rounded()))
                guard (0..<s.x).contains(qi), (0..<s.y).contains(qj), (0..<a.scan.shape.z).contains(qk) else { continue }
                let inB = inside(b, i, j, k), inA = inside(a, qi, qj, qk)
                if inA && inB { both += 1 }
                if inA || inB { either += 1 }
            } } }
            return Double(both) / Double(max(1, either))
        }
        // structures drawn in a box around their centre (ventricles, blob lesions) and the blood
        let ventricle = UInt8(1 + PhantomTissue.csfVentricle.rawValue)
        let ventricles = overlap(fb) { c, i, j, k in c.tissue[i, j, k] == ventricle }
        let blood = overlap(fb) { c, i, j, k in c.mask[i, j, k] > 0 }
        let sheared = overlap(fb)
        var unsheared = fb
        unsheared[1, 1] = fa[1, 1]; unsheared[2, 1] = 0; unsheared[1, 3] = fa[1, 3]; unsheared[2, 3] = fa[2, 3]
        let ignored = overlap(unsheared)
        #expect(sheared > 0.85, "tilted head against the untilted one through the sheared affine: \(sheared)")
        #expect(sheared > ignored + 0.1, "reading the tilted case as axial must fit worse: \(sheared) against \(ignored)")
        let axialVentricles = overlap(unsheared) { c, i, j, k in c.tissue[i, j, k] == ventricle }
        let axialBlood = overlap(unsheared) { c, i, j, k in c.mask[i, j, k] > 0 }
        #expect(ventricles > 0.75 && ventricles > axialVentricles + 0.1, "ventricles \(ventricles) against \(axialVentricles) read as axial")
        #expect(blood > axialBlood + 0.2, "blood \(blood) against \(axialBlood) read as axial")

        // a case the draw leaves untilted is the case of a configuration without tilt
        var sometimes = flat
        sometimes.acquisition.gantryTiltProbability = 0.5
        var untouched = 0
        for index in 0..<6 {
            let c = try Phantom.generate(caseIndex: index, seed: 13, config: sometimes)
            guard c.scan.geometry.qformCode != 0 else { continue }
            untouched += 1
            #expect(c.scan.voxels == (try Phantom.generate(caseIndex: index, seed: 13, config: flat)).scan.voxels)
        }
        #expect(untouched > 0 && untouched < 6)
        // the tilt keys are written only when set, and a configuration without them has no tilt
        let plain = String(decoding: try JSONEncoder().encode(flat.acquisition), as: UTF8.self)
        #expect(!plain.contains("gantryTilt"))
        let preset = try JSONEncoder().encode(PhantomConfig.realistic)
        #expect(String(decoding: preset, as: UTF8.self).contains("\"gantryTiltProbability\":0.15"))
        #expect(try JSONDecoder().decode(PhantomConfig.self, from: preset) == PhantomConfig.realistic)
        #expect(try JSONDecoder().decode(PhantomAcquisition.self, from: Data(plain.utf8)).gantryTiltProbability == 0)
        var bad = flat
        bad.acquisition.gantryTiltDegrees = 0...45
        #expect(throws: CTVolumeError.self) { try bad.validate() }
    }

    @Test("patient motion: a block of consecutive slices after the first shows the head moved, scan and masks together; every other slice and every other draw is the still case's")
    func motion() throws {
        var still = Self.realistic(size: 64, maxSlices: 16)
        still.acquisition.motionProbability = 0
        still.acquisition.gantryTiltProbability = 0
        var moving = still
        moving.acquisition.motionProbability = 1
        moving.acquisition.motionMM = 4...4
        moving.acquisition.motionDegrees = 3...3
        let n = 64 * 64
        for index in 0..<4 {
            let a = try Phantom.generate(caseIndex: index, seed: 21, config: still)
            let b = try Phantom.generate(caseIndex: index, seed: 21, config: moving)
            #expect(a.scan.shape == b.scan.shape && a.scan.geometry == b.scan.geometry)
            let nz = a.scan.shape.z
            func slice<T>(_ v: [T], _ k: Int) -> ArraySlice<T> { v[(k * n)..<((k + 1) * n)] }
            let differs = (0..<nz).filter { k in slice(a.scan.voxels, k) != slice(b.scan.voxels, k) }
            // one block, not starting at the first slice
            #expect(!differs.isEmpty && differs.first! >= 1 && differs == Array(differs.first!...differs.last!), "case \(index): \(differs)")
            for k in 0..<nz where !differs.contains(k) {
                #expect(slice(a.mask.voxels, k) == slice(b.mask.voxels, k) && slice(a.intracranial.voxels, k) == slice(b.intracranial.voxels, k))
            }
            // in the block, the head moved rigidly: the intracranial region's area is kept (within
            // the pixelation of its edge) and its centroid moved by about 4 mm
            let spacing = a.scan.geometry.spacing.x
            for k in differs {
                func region(_ c: PhantomCase) -> (area: Int, cx: Double, cy: Double) {
                    var area = 0, sx = 0.0, sy = 0.0
                    for p in 0..<n where c.intracranial.voxels[k * n + p] > 0 { area += 1; sx += Double(p % 64); sy += Double(p / 64) }
                    return (area, sx / Double(max(area, 1)), sy / Double(max(area, 1)))
                }
                let ra = region(a), rb = region(b)
                guard ra.area > 200 else { continue }   // a cap of the head: its centroid says little
                #expect(abs(Double(rb.area - ra.area)) / Double(ra.area) < 0.05, "case \(index) slice \(k): area \(ra.area) → \(rb.area)")
                let moved = ((rb.cx - ra.cx) * (rb.cx - ra.cx) + (rb.cy - ra.cy) * (rb.cy - ra.cy)).squareRoot() * spacing
                #expect(moved > 1.5 && moved < 7, "case \(index) slice \(k): centroid moved \(moved) mm")
            }
            #expect(a.lesions.map(\.subtype) == b.lesions.map(\.subtype))
        }
        // the keys are written only when set; out-of-range values are refused
        let encoder = JSONEncoder()
        #expect(!String(decoding: try encoder.encode(PhantomAcquisition()), as: UTF8.self).contains("motion"))
        let data = try encoder.encode(moving)
        let decoded = try JSONDecoder().decode(PhantomConfig.self, from: data)
        #expect(String(decoding: data, as: UTF8.self).contains("motionProbability") && decoded == moving)
        for edit in [{ (c: inout PhantomConfig) in c.acquisition.motionProbability = 1.5 }, { $0.acquisition.motionMM = 0...50 },
                     { $0.acquisition.motionDegrees = -1...2 }] {
            var bad = moving
            edit(&bad)
            #expect(throws: CTVolumeError.self) { try bad.validate() }
        }
    }

    @Test("the head holder sits behind the head when drawn, and air stays air without it")
    func headHolder() throws {
        for probability in [0.0, 1.0] {
            var config = Self.clean(Self.realistic(size: 128, maxSlices: 8))
            config.positiveFraction = 0
            config.anatomy.headHolderProbability = probability
            config.maxShiftMM = 0
            config.pixelSpacingMM = 0.5...0.5  // a field of 256 mm holds head and holder
            let c = try Phantom.generate(caseIndex: 0, seed: 2, config: config)
            let nx = c.scan.shape.x, n = c.scan.shape.sliceCount, k = c.scan.shape.z / 2
            // the column through the centre, from the posterior edge (row 0) inwards
            let column = (0..<(nx / 2)).map { c.scan.voxels[k * n + $0 * nx + nx / 2] }
            let solid = column.prefix(while: { $0 < -500 || $0 > 100 }).filter { $0 > 100 }.count
            if probability == 0 { #expect(solid == 0) } else { #expect(solid > 0, "no shell behind the head") }
        }
    }

    @Test("the project's intracranial mask keeps at least 98 % of the blood on every generation 2 preset, thick, thin, tilted and reoriented")
    func intracranialMaskKeepsTheBlood() throws {
        var thick = Self.realistic(size: 128, maxSlices: 20)
        thick.acquisition.sliceThicknessMM = [10]
        var thin = Self.realistic(size: 128, maxSlices: 40)
        thin.acquisition.sliceThicknessMM = [2]
        thin.acquisition.coverageMM = 70...80
        var tilted = PhantomConfig.randomized
        tilted.size = 128; tilted.slices = 4...24; tilted.positiveFraction = 1
        tilted.maxTiltDegrees = 10
        var reoriented = Self.realistic(size: 128, maxSlices: 20)
        reoriented.acquisition.storedOrientations = ["ARI"]  // i/j swapped, both flipped, head to foot
        for (name, base) in [("thick", thick), ("thin", thin), ("randomized, tilted", tilted), ("stored in ARI", reoriented)] {
            var config = base
            config.lesionsPerPositiveCase = 2...3
            config.blood.tinyFocusProbability = 0
            config.subtypes = SubtypeMix(intraparenchymal: 0.2, subdural: 0.4, epidural: 0.4, intraventricular: 0, subarachnoid: 0)
            let c = try Phantom.generate(caseIndex: 1, seed: 77, config: config)
            let m = try IntracranialMask.compute(c.scan)
            var blood = 0, kept = 0
            for p in c.mask.voxels.indices where c.mask.voxels[p] != 0 {
                blood += 1
                if m.voxels[p] != 0 { kept += 1 }
            }
            #expect(blood > 0, "\(name)")
            #expect(Double(kept) >= 0.98 * Double(blood), "\(name): \(kept) of \(blood) hemorrhage voxels kept")
        }
    }
}

/// The realism report, on small sets.
@Suite struct PhantomRealismTests {
    @Test("without noise or blur, each tissue's pure voxels hold the HU the anatomy draws; lesion counts follow the cases")
    func cleanTissues() throws {
        var config = PhantomConfig.v1
        config.size = 64; config.slices = 12...12; config.noiseSD = 0...0; config.psfSigmaMM = 0...0
        config.beamHardening = 0; config.subSlices = 3; config.positiveFraction = 0.7
        var realism = PhantomRealism()
        var lesions = 0, positive = 0
        for index in 0..<3 {
            let c = try Phantom.generate(caseIndex: index, seed: 14, config: config)
            realism.add(c)
            lesions += c.lesions.count
            if c.isPositive { positive += 1 }
            // pure voxels are a minority near edges and a majority overall
            let pure = c.tissue.voxels.filter { $0 > 0 }.count
            #expect(pure > c.tissue.voxels.count / 2 && pure < c.tissue.voxels.count)
        }
        let r = realism.report()
        #expect(r.cases == 3 && r.positiveCases == positive)
        #expect(r.subtypes.values.reduce(0, +) == lesions && r.volumes.values.reduce(0, +) == lesions)
        #expect(r.densities["one density (generation 1)"] == lesions)
        func row(_ name: String) -> PhantomRealism.TissueRow { r.tissues.first { $0.tissue == name }! }
        // generation 1's drawn values (Docs/phantom.md): grey 36..44 (deep nuclei 2 lower,
        // cerebellum 34..42), white 23..31 (brainstem 28..34), CSF 2..12, blood 52..85
        for (name, range) in [("grey matter", 34.0...44.0), ("white matter", 23.0...34.0), ("CSF", 2.0...12.0)] {
            let t = row(name)
            #expect(t.voxels > 100, "\(name)")
            #expect(range.contains(t.p5!) && range.contains(t.p95!), "\(name): \(t.p5!)...\(t.p95!)")
        }
        if lesions > 0 { #expect((52.0...85.0).contains(row("hemorrhage").median!)) }
        #expect(row("bone").median! >= 500)
        #expect(r.text().contains("grey matter") && r.text().contains("lesions by subtype"))
    }

    @Test("on the realistic preset, grey, white, CSF and blood medians fall in their published ranges")
    func realisticMedians() throws {
        var config = PhantomConfig.realistic
        config.size = 64; config.slices = 4...12; config.positiveFraction = 1
        config.blood.tinyFocusProbability = 0
        var realism = PhantomRealism()
        for index in 0..<3 { realism.add(try Phantom.generate(caseIndex: index, seed: 21, config: config)) }
        let r = realism.report()
        for name in ["grey matter", "white matter", "CSF", "hemorrhage"] {
            let t = r.tissues.first { $0.tissue == name }!
            #expect(t.medianInPublished == true, "\(name): median \(t.median ?? .nan), published \(String(describing: t.published))")
        }
        #expect(r.densities.keys.allSatisfy { !$0.contains("generation 1") })
    }
}
