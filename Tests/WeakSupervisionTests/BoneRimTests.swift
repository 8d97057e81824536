import CTVolume
import Foundation
import Testing
import WeakSupervision

@Suite("Bone-rim filter")
struct BoneRimTests {
    /// Bone (200 to 1500 HU) on the wall x = 0 of `slices`, and on a random walk of `steps` from
    /// it on each (x at most `maxX`); the voxels set, as (x, y, z).
    static func randomSkull(in scan: inout ScanVolume, slices: Range<Int>, steps: Int, maxX: Int,
                            using rng: inout SystemRandomNumberGenerator) -> Set<[Int]> {
        let shape = scan.shape
        var skull = Set<[Int]>()
        for z in slices { for y in 0..<shape.y { skull.insert([0, y, z]) } }
        for z in slices {
            var x = 0, y = Int.random(in: 0..<shape.y, using: &rng)
            for _ in 0..<steps {
                x = min(x + Int.random(in: 0...1, using: &rng), maxX)
                y = max(0, min(shape.y - 1, y + Int.random(in: -1...1, using: &rng)))
                skull.insert([x, y, z])
            }
        }
        for p in skull { scan.voxels[shape.index(p[0], p[1], p[2])] = Float.random(in: 200...1500, using: &rng) }
        return skull
    }

    @Test("the skull is the largest bone component; bone depth is the exact in-plane distance to it (brute force, with the spacing), infinite on a slice without it")
    func boneDepthIsExact() {
        let shape = GridShape(11, 7, 3)
        var scan = ScanVolume(shape: shape, repeating: 30, geometry: Geometry(spacing: SIMD3(0.5, 1.25, 5)))
        var rng = SystemRandomNumberGenerator()
        // a skull: the wall x = 0 on slices 0 and 1, with a random walk of bone growing from it
        let skull = Self.randomSkull(in: &scan, slices: 0..<2, steps: 6, maxX: 6, using: &rng)
        // a calcification apart from it (and one just below the threshold on slice 2)
        scan.voxels[shape.index(10, 6, 0)] = 450
        scan.voxels[shape.index(10, 5, 0)] = 300
        scan.voxels[shape.index(5, 3, 2)] = 199.9
        let found = BoneRimFiltered.skull(scan, boneHU: 200)
        #expect(Set(found.voxels.indices.filter { found.voxels[$0] > 0 }) == Set(skull.map { shape.index($0[0], $0[1], $0[2]) }))
        let depth = BoneRimFiltered.boneDepth(scan, boneHU: 200)
        for z in 0..<3 { for y in 0..<7 { for x in 0..<11 {
            let expected = skull.filter { $0[2] == z }.map { p -> Double in
                let dx = Double(x - p[0]) * 0.5, dy = Double(y - p[1]) * 1.25
                return (dx * dx + dy * dy).squareRoot()
            }.min() ?? .infinity
            let got = depth[shape.index(x, y, z)]
            #expect(expected.isInfinite ? got.isInfinite : abs(got - expected) < 1e-9, "at \(x), \(y), \(z)")
        } } }
    }

    @Test("a crescent within the rim is dropped; a collection against the bone that reaches past the rim keeps every voxel, its rim too; a component far from bone and one on a slice without bone stay")
    func keepsCoresDropsCrescents() throws {
        // 1 mm pixels; a wall of bone at x = 0 on slices 0 and 1; slice 2 has none
        let shape = GridShape(20, 12, 3)
        let geometry = Geometry(spacing: SIMD3(1, 1, 5))
        var scan = ScanVolume(shape: shape, repeating: 35, geometry: geometry)
        for z in 0..<2 { for y in 0..<12 { scan.voxels[shape.index(0, y, z)] = 1200 } }
        var mask = MaskVolume(shape: shape, repeating: 0, geometry: geometry)
        func set(_ xs: ClosedRange<Int>, _ ys: ClosedRange<Int>, _ z: Int) {
            for y in ys { for x in xs { mask.voxels[shape.index(x, y, z)] = 1 } }
        }
        set(1...2, 0...3, 0)      // crescent: x 1 and 2, depth 1 and 2 mm
        set(1...5, 7...10, 0)     // a collection against the bone, 5 mm deep
        set(12...14, 4...6, 1)    // far from bone
        set(1...1, 2...4, 2)      // next to where bone would be, on a slice without bone
        // a calcification in the middle of slice 1 with a speck of blood against it: not skull
        for x in 15...16 { scan.voxels[shape.index(x, 9, 1)] = 400 }
        set(15...16, 10...10, 1)
        let filtered = BoneRimFiltered.filter(mask, scan: scan, settings: .init(boneHU: 200, rimMM: 2))
        var expected = mask
        for y in 0...3 { for x in 1...2 { expected.voxels[shape.index(x, y, 0)] = 0 } }
        #expect(filtered.voxels == expected.voxels)
        // with a rim of 1.5 mm the crescent has a core (its deepest voxel lies 2 mm from bone), so it stays
        let narrow = BoneRimFiltered.filter(mask, scan: scan, settings: .init(boneHU: 200, rimMM: 1.5))
        #expect(narrow.voxels == mask.voxels)
        // a rim of 5 mm drops the 5 mm collection too; the far one (11 mm) stays
        let wide = BoneRimFiltered.filter(mask, scan: scan, settings: .init(boneHU: 200, rimMM: 5))
        #expect(wide.voxels[shape.index(3, 8, 0)] == 0 && wide.voxels[shape.index(13, 5, 1)] == 1 && wide.voxels[shape.index(1, 3, 2)] == 1)
        #expect(wide.voxels[shape.index(15, 10, 1)] == 1)
        // a bone threshold above the wall's HU: no bone anywhere, nothing dropped
        #expect(BoneRimFiltered.filter(mask, scan: scan, settings: .init(boneHU: 1500, rimMM: 5)).voxels == mask.voxels)
        // an empty mask stays empty
        let empty = MaskVolume(shape: shape, repeating: 0, geometry: geometry)
        #expect(BoneRimFiltered.filter(empty, scan: scan, settings: .init()).voxels == empty.voxels)
    }

    @Test("the wrapper filters its base's mask, keeps its name, and refuses settings that are not a finite HU and a distance ≥ 0")
    func wrapper() throws {
        let shape = GridShape(8, 8, 1)
        let geometry = Geometry(spacing: SIMD3(1, 1, 5))
        var scan = ScanVolume(shape: shape, repeating: 35, geometry: geometry)
        for y in 0..<8 { scan.voxels[shape.index(0, y, 0)] = 900 }
        var mask = MaskVolume(shape: shape, repeating: 0, geometry: geometry)
        mask.voxels[shape.index(1, 1, 0)] = 1
        mask.voxels[shape.index(6, 6, 0)] = 1
        let specks = mask
        let base = ClosureSegmenter(name: "two specks") { _ in specks }
        let row = try base.droppingBoneRim(.init(rimMM: 2))
        #expect(row.name == "two specks")
        let input = SegmentationCase(name: "c", scan: scan, intracranial: MaskVolume(shape: shape, repeating: 1, geometry: geometry))
        let out = try row.segment(input)
        #expect(out.voxels.reduce(0) { $0 + Int($1) } == 1 && out.voxels[shape.index(6, 6, 0)] == 1)
        for bad in [BoneRimFiltered.Settings(boneHU: .nan), .init(rimMM: 0), .init(rimMM: -1), .init(rimMM: .infinity)] {
            #expect(throws: WeakSupervisionError.self) { try base.droppingBoneRim(bad) }
        }
    }

    @Test("wrappers sharing a bone depth give the masks each would alone; another scan under the same name is measured anew")
    func sharedDepthIsExact() throws {
        let shape = GridShape(12, 8, 2)
        let geometry = Geometry(spacing: SIMD3(1, 1, 5))
        // two scans: bone along x = 0, or along x = 11
        func scan(boneAt x: Int) -> ScanVolume {
            var s = ScanVolume(shape: shape, repeating: 35, geometry: geometry)
            for z in 0..<2 { for y in 0..<8 { s.voxels[shape.index(x, y, z)] = 1000 } }
            return s
        }
        var mask = MaskVolume(shape: shape, repeating: 0, geometry: geometry)
        for y in 1...3 { mask.voxels[shape.index(1, y, 0)] = 1; mask.voxels[shape.index(10, y, 1)] = 1 }   // one speck at each wall
        let specks = mask
        let base = ClosureSegmenter(name: "specks") { _ in specks }
        let first = try base.droppingBoneRim(.init(rimMM: 2))
        let second = first.sharingBoneDepth(around: base.named("other row"))
        #expect(second.name == "other row" && second.settings == first.settings)
        let alone = try base.droppingBoneRim(.init(rimMM: 2))
        func input(_ s: ScanVolume) -> SegmentationCase {
            SegmentationCase(name: "same name", scan: s, intracranial: MaskVolume(shape: shape, repeating: 1, geometry: geometry))
        }
        let a = input(scan(boneAt: 0)), b = input(scan(boneAt: 11))
        let onA = try first.segment(a), onB = try alone.segment(b)
        #expect(onA.voxels != onB.voxels)   // so a stale depth would show
        #expect(onA.voxels[shape.index(1, 2, 0)] == 0 && onA.voxels[shape.index(10, 2, 1)] == 1)
        #expect(try second.segment(a).voxels == onA.voxels)
        #expect(try second.segment(b).voxels == onB.voxels)
        #expect(try first.segment(b).voxels == onB.voxels)
        #expect(try second.segment(a).voxels == alone.segment(a).voxels)
    }

    @Test("between slabs, bone depth is the exact distance with (|Δz| − 1)·t along z (brute force, anisotropic), never above the in-plane depth; no skull, no depth")
    func slabDepthIsExact() {
        let shape = GridShape(9, 7, 6)
        let spacing = SIMD3(0.75, 1.25, 4.0)
        var scan = ScanVolume(shape: shape, repeating: 30, geometry: Geometry(spacing: spacing))
        var rng = SystemRandomNumberGenerator()
        // a skull: the wall x = 0 on slices 0 to 2 with a random walk from it; slices 3 to 5 hold none
        let skull = Self.randomSkull(in: &scan, slices: 0..<3, steps: 5, maxX: 5, using: &rng)
        scan.voxels[shape.index(8, 6, 5)] = 900   // a calcification apart from the skull: not bone here
        let slab = BoneRimFiltered.boneDepth(scan, boneHU: 200, distance: .slab)
        let inPlane = BoneRimFiltered.boneDepth(scan, boneHU: 200, distance: .inPlane)
        #expect(inPlane == BoneRimFiltered.boneDepth(scan, boneHU: 200))
        for z in 0..<6 { for y in 0..<7 { for x in 0..<9 {
            let expected = skull.map { p -> Double in
                let dx = Double(x - p[0]) * 0.75, dy = Double(y - p[1]) * 1.25, dz = Double(max(0, abs(z - p[2]) - 1)) * 4
                return (dx * dx + dy * dy + dz * dz).squareRoot()
            }.min()!
            let got = slab[shape.index(x, y, z)]
            #expect(abs(got - expected) < 1e-9, "at \(x), \(y), \(z): \(got) against \(expected)")
            #expect(got <= inPlane[shape.index(x, y, z)], "at \(x), \(y), \(z)")
        } } }
        // slice 3 touches the skull's last slice; slice 4 lies one slab away (4 mm) from bone at least
        #expect(slab[shape.index(0, 3, 3)] == 0 && inPlane[shape.index(0, 3, 3)].isInfinite)
        #expect(slab[shape.index(0, 3, 4)] == 4)
        let empty = ScanVolume(shape: shape, repeating: 30, geometry: Geometry(spacing: spacing))
        #expect(BoneRimFiltered.boneDepth(empty, boneHU: 200, distance: .slab).allSatisfy { $0.isInfinite })
    }

    @Test("a patch over the skull-base floor is dropped between slabs and kept in-plane; one a slab higher, or reaching there, stays")
    func slabRimDropsPartialVolumeOverTheFloor() {
        // 1 mm pixels, 5 mm slices; a floor of bone on slice 0 and a wall at x = 0 on every slice
        let shape = GridShape(24, 16, 5)
        let geometry = Geometry(spacing: SIMD3(1, 1, 5))
        var scan = ScanVolume(shape: shape, repeating: 35, geometry: geometry)
        for y in 0..<16 { for x in 0..<24 { scan.voxels[shape.index(x, y, 0)] = 1000 } }
        for z in 0..<5 { for y in 0..<16 { scan.voxels[shape.index(0, y, z)] = 1000 } }
        var mask = MaskVolume(shape: shape, repeating: 0, geometry: geometry)
        func set(_ xs: ClosedRange<Int>, _ ys: ClosedRange<Int>, _ zs: ClosedRange<Int>) {
            for z in zs { for y in ys { for x in xs { mask.voxels[shape.index(x, y, z)] = 1 } } }
        }
        set(10...13, 2...5, 1...1)     // on the slice above the floor, 10 mm from the wall: partial volume of the floor
        set(10...13, 10...13, 2...2)   // two slices above the floor: 5 mm away along z
        set(18...20, 2...4, 1...3)     // from the slice above the floor up two more: keeps its voxels on all three
        let inPlane = BoneRimFiltered.filter(mask, scan: scan, settings: .init(rimMM: 2))
        #expect(inPlane.voxels == mask.voxels)
        let slab = BoneRimFiltered.filter(mask, scan: scan, settings: .init(rimMM: 2, distance: .slab))
        var expected = mask
        for y in 2...5 { for x in 10...13 { expected.voxels[shape.index(x, y, 1)] = 0 } }
        #expect(slab.voxels == expected.voxels)
        // a rim wider than one slab drops the patch two slices up too, not the one reaching higher
        let wide = BoneRimFiltered.filter(mask, scan: scan, settings: .init(rimMM: 5, distance: .slab))
        #expect(wide.voxels[shape.index(11, 11, 2)] == 0 && wide.voxels[shape.index(19, 3, 1)] == 1)
    }

    @Test("the saved settings: no distance key when in-plane (as configurations saved before it), slab round-trips, an unknown key or value is refused by name")
    func settingsCoding() throws {
        let old = #"{"boneHU":200,"rimMM":2}"#
        let decoded = try JSONDecoder().decode(BoneRimFiltered.Settings.self, from: Data(old.utf8))
        #expect(decoded == BoneRimFiltered.Settings() && decoded.distance == .inPlane)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(String(decoding: try encoder.encode(BoneRimFiltered.Settings()), as: UTF8.self) == old)
        let slab = BoneRimFiltered.Settings(boneHU: 250, rimMM: 3, distance: .slab)
        let text = String(decoding: try encoder.encode(slab), as: UTF8.self)
        #expect(text == #"{"boneHU":250,"distance":"slab","rimMM":3}"#)
        #expect(try JSONDecoder().decode(BoneRimFiltered.Settings.self, from: Data(text.utf8)) == slab)
        do {
            _ = try JSONDecoder().decode(BoneRimFiltered.Settings.self, from: Data(#"{"boneHU":200,"rimMM":2,"distanse":"slab"}"#.utf8))
            Issue.record("a misspelt key was read")
        } catch let DecodingError.dataCorrupted(context) {
            #expect(context.debugDescription.contains("\"distanse\""), "\(context.debugDescription)")
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(BoneRimFiltered.Settings.self, from: Data(#"{"boneHU":200,"rimMM":2,"distance":"3d"}"#.utf8))
        }
    }

    @Test("the slab distance changes the comparison's stage key alone")
    func slabStageKey() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("slab-rim-keys-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var config = PipelineConfig.full
        config.comparison.boneRim = BoneRimFiltered.Settings(distance: .inPlane)
        let old = try Pipeline(config: config, output: folder)
        config.comparison.boneRim?.distance = .slab
        let new = try Pipeline(config: config, output: folder, overwrite: true)
        for stage in PipelineStage.allCases {
            #expect((old.configKey(stage) != new.configKey(stage)) == (stage == .comparison), "\(stage)")
        }
    }
}
