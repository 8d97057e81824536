import CTVolume
import Foundation
import Testing
import NeuralCore
import WeakSupervision

@Suite("Contrast filter")
struct ContrastFilterTests {
    /// 1 mm pixels, 5 mm slices; brain of 35 HU everywhere inside the intracranial mask.
    static func head(_ shape: GridShape = GridShape(30, 20, 2)) -> (ScanVolume, MaskVolume, MaskVolume) {
        let geometry = Geometry(spacing: SIMD3(1, 1, 5))
        return (ScanVolume(shape: shape, repeating: 35, geometry: geometry), MaskVolume(shape: shape, repeating: 1, geometry: geometry),
                MaskVolume(shape: shape, repeating: 0, geometry: geometry))
    }

    @Test("a bleed denser than the brain around it stays; a patch as dense as the brain around it goes, whatever its absolute HU")
    func keepsBloodDropsBrightBrain() throws {
        var (scan, inside, mask) = Self.head()
        let s = scan.shape
        // a bleed of 75 HU in brain of 35 (contrast 40)
        for y in 3...6 { for x in 3...6 { scan.voxels[s.index(x, y, 0)] = 75; mask.voxels[s.index(x, y, 0)] = 1 } }
        // brain brightened to 62 HU over a region; the network marks its middle (contrast 0)
        for y in 8...19 { for x in 14...29 { scan.voxels[s.index(x, y, 1)] = 62 } }
        for y in 12...15 { for x in 20...23 { mask.voxels[s.index(x, y, 1)] = 1 } }
        let out = ContrastFiltered.filter(mask, scan: scan, intracranial: inside, settings: .init())
        #expect((3...6).allSatisfy { y in (3...6).allSatisfy { x in out.voxels[s.index(x, y, 0)] == 1 } })
        #expect(out.voxels.count { $0 > 0 } == 16)
        let measured = ContrastFiltered.measure(mask, scan: scan, intracranial: inside, settings: .init())
        #expect(measured.count == 2)
        #expect(measured.map(\.meanHU) == [75, 62] && measured.map(\.ringMedianHU) == [35, 62])
        #expect(measured.map(\.contrastHU) == [40, 0])
        // the threshold decides: at 41 HU the bleed goes as well, at -1 the patch stays
        #expect(ContrastFiltered.filter(mask, scan: scan, intracranial: inside, settings: .init(minimumContrastHU: 41)).voxels.allSatisfy { $0 == 0 })
        #expect(ContrastFiltered.filter(mask, scan: scan, intracranial: inside, settings: .init(minimumContrastHU: -1)).voxels == mask.voxels)
    }

    @Test("the ring: within ringMM in-plane (exact distance, the spacing), on the component's slices, outside every component and the intracranial mask's outside, in ringHU")
    func ringIsExact() throws {
        var (scan, inside, mask) = Self.head(GridShape(25, 25, 3))
        let s = scan.shape
        // spacing 0.5 x 1 mm: a 4 mm ring reaches 8 columns and 4 rows
        scan.geometry = Geometry(spacing: SIMD3(0.5, 1, 5))
        inside.geometry = scan.geometry; mask.geometry = scan.geometry
        var rng = SplitMix64(state: 3)
        for v in scan.voxels.indices { scan.voxels[v] = Float(Int(rng.next() % 140) - 20) }   // -20 ... 119 HU
        for x in 0..<25 { inside.voxels[s.index(x, 15, 1)] = 0 }                            // a row outside the head, 2 mm away
        let component = [(12, 12, 1), (13, 12, 1), (12, 13, 1)]
        for (x, y, z) in component { mask.voxels[s.index(x, y, z)] = 1 }
        mask.voxels[s.index(16, 12, 1)] = 1      // another component, 1.5 mm away: not ring
        // expected ring by brute force
        var ring: [Float] = []
        for y in 0..<25 { for x in 0..<25 {
            let v = s.index(x, y, 1)
            guard mask.voxels[v] == 0, inside.voxels[v] > 0, scan.voxels[v] >= 0, scan.voxels[v] <= 100 else { continue }
            let d = component.map { c -> Double in
                let dx = Double(x - c.0) * 0.5, dy = Double(y - c.1)
                return (dx * dx + dy * dy).squareRoot()
            }.min()!
            if d <= 4 { ring.append(scan.voxels[v]) }
        } }
        ring.sort()
        let median = ring.count % 2 == 1 ? Double(ring[ring.count / 2]) : (Double(ring[ring.count / 2 - 1]) + Double(ring[ring.count / 2])) / 2
        let measured = ContrastFiltered.measure(mask, scan: scan, intracranial: inside, settings: .init())
        #expect(measured.count == 2)
        #expect(measured[0].voxels == 3 && measured[0].ringVoxels == ring.count && measured[0].ringMedianHU == median)
        let mean = component.map { Double(scan.voxels[s.index($0.0, $0.1, $0.2)]) }.reduce(0, +) / 3
        #expect(abs(measured[0].meanHU - mean) < 1e-9)
        // the row outside the head and the other component lie within the ring's reach: without
        // their exclusion the ring would be larger
        var reach = 0
        for y in 0..<25 { for x in 0..<25 where !component.contains(where: { $0.0 == x && $0.1 == y }) {
            let v = s.index(x, y, 1)
            guard scan.voxels[v] >= 0, scan.voxels[v] <= 100 else { continue }
            let d = component.map { c -> Double in
                let dx = Double(x - c.0) * 0.5, dy = Double(y - c.1)
                return (dx * dx + dy * dy).squareRoot()
            }.min()!
            if d <= 4 { reach += 1 }
        } }
        #expect(reach > ring.count + 1)
    }

    @Test("a component over several slices takes its ring from each of its slices; the threshold keeps a contrast equal to it")
    func slicesAndThreshold() throws {
        var (scan, inside, mask) = Self.head(GridShape(20, 20, 3))
        let s = scan.shape
        // a bleed of 70 HU on slices 0 and 1; around it 30 HU on slice 0 and 40 on slice 1
        for v in scan.voxels.indices where v / (20 * 20) == 1 { scan.voxels[v] = 40 }
        for v in scan.voxels.indices where v / (20 * 20) == 0 { scan.voxels[v] = 30 }
        for z in 0...1 { for y in 8...11 { for x in 8...11 { scan.voxels[s.index(x, y, z)] = 70; mask.voxels[s.index(x, y, z)] = 1 } } }
        let measured = ContrastFiltered.measure(mask, scan: scan, intracranial: inside, settings: .init())
        #expect(measured.count == 1 && measured[0].voxels == 32 && measured[0].meanHU == 70)
        // the ring holds as many voxels of 30 as of 40: its median is 35, the contrast 35
        #expect(measured[0].ringMedianHU == 35 && measured[0].contrastHU == 35)
        #expect(measured[0].ringVoxels % 2 == 0 && measured[0].ringVoxels > 0)
        #expect(ContrastFiltered.filter(mask, scan: scan, intracranial: inside, settings: .init(minimumContrastHU: 35)).voxels == mask.voxels)
        #expect(ContrastFiltered.filter(mask, scan: scan, intracranial: inside, settings: .init(minimumContrastHU: 35.001)).voxels.allSatisfy { $0 == 0 })
    }

    @Test("too few ring voxels keeps a component; an empty mask stays empty; the wrapper keeps the base's name and refuses bad settings")
    func edges() throws {
        var (scan, inside, mask) = Self.head(GridShape(9, 9, 1))
        let s = scan.shape
        let empty = MaskVolume(shape: s, repeating: 0, geometry: scan.geometry)
        // the component fills the head but for a few voxels, which are bone
        for v in inside.voxels.indices { inside.voxels[v] = 0 }
        for y in 2...6 { for x in 2...6 { inside.voxels[s.index(x, y, 0)] = 1 } }
        for y in 3...5 { for x in 3...5 { mask.voxels[s.index(x, y, 0)] = 1 } }
        for v in scan.voxels.indices where inside.voxels[v] > 0 && mask.voxels[v] == 0 { scan.voxels[v] = 400 }
        #expect(ContrastFiltered.filter(mask, scan: scan, intracranial: inside, settings: .init()).voxels == mask.voxels)
        // the component's HU equals the brain's (35): with k ring voxels of brain it goes when k
        // reaches minimumRingVoxels, and stays below (too few to judge)
        let ringOrder = (2...6).flatMap { y in (2...6).map { x in s.index(x, y, 0) } }.filter { mask.voxels[$0] == 0 }
        #expect(ringOrder.count == 16)
        for k in [1, 9, 10, 16] {
            var brain = scan
            for v in ringOrder.prefix(k) { brain.voxels[v] = 35 }
            let out = ContrastFiltered.filter(mask, scan: brain, intracranial: inside, settings: .init())
            #expect(out.voxels == (k < 10 ? mask.voxels : empty.voxels), "\(k) ring voxels")
        }
        #expect(ContrastFiltered.filter(empty, scan: scan, intracranial: inside, settings: .init()).voxels == empty.voxels)
        let fixed = mask
        let base = ClosureSegmenter(name: "net") { _ in fixed }
        let wrapped = try base.droppingFaintComponents()
        #expect(wrapped.name == "net")
        let input = SegmentationCase(name: "c", scan: scan, intracranial: inside, cam: nil, sliceProbabilities: nil)
        #expect(try wrapped.segment(input).voxels == mask.voxels)
        for bad in [ContrastFiltered.Settings(minimumContrastHU: .nan), .init(ringMM: 0), .init(ringHU: 0 ... .infinity), .init(minimumRingVoxels: 0)] {
            #expect(throws: WeakSupervisionError.self) { try ContrastFiltered(base: base, settings: bad) }
        }
        // settings round-trip through JSON, as a pipeline configuration saves them
        let settings = ContrastFiltered.Settings(minimumContrastHU: 12, ringMM: 3, ringHU: -5...90, minimumRingVoxels: 4)
        #expect(try JSONDecoder().decode(ContrastFiltered.Settings.self, from: JSONEncoder().encode(settings)) == settings)
    }
}
