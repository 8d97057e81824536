import Foundation
import CTVolume
import Testing
import WeakSupervision
import TestSupport

/// A seeded generator independent of the library's.
private struct Counter: RandomNumberGenerator {
    var calls = 0
    var inner = TestGenerator(seed: 3)
    mutating func next() -> UInt64 { calls += 1; return inner.next() }
}

@Suite("Slice sequences and augmentation")
struct TrainingDataTests {
    @Test("sequences cover every slice: runs of L, the last one ending at the last slice")
    func covering() {
        let s = SliceSequence.covering(caseIndex: 2, sliceCount: 10, length: 4)
        #expect(s.map(\.start) == [0, 4, 6] && s.allSatisfy { $0.length == 4 && $0.caseIndex == 2 })
        #expect(SliceSequence.covering(caseIndex: 0, sliceCount: 8, length: 4).map(\.start) == [0, 4])
        #expect(SliceSequence.covering(caseIndex: 0, sliceCount: 3, length: 4) == [SliceSequence(caseIndex: 0, start: 0, length: 3)])
        #expect(SliceSequence.covering(caseIndex: 0, sliceCount: 9, length: 0) == [SliceSequence(caseIndex: 0, start: 0, length: 9)])
    }

    private func image(_ s: Int, planes: Int = 1) -> [Float] { (0..<(planes * s * s)).map { Float($0 % 97) / 7 } }

    @Test("the identity draw changes nothing; a flip mirrors exactly; 90 degrees is an exact rotation")
    func geometry() {
        let s = 6
        let x = image(s, planes: 2)
        var same = x[...]
        AugmentationDraw().apply(to: &same, size: s, intensity: true)
        #expect(Array(same) == x)
        var flipped = x[...]
        AugmentationDraw(flipX: true).apply(to: &flipped, size: s, intensity: false)
        for p in 0..<2 { for r in 0..<s { for q in 0..<s {
            #expect(flipped[p * 36 + r * s + q] == x[p * 36 + r * s + (s - 1 - q)])
        } } }
        var turned = x[...]
        AugmentationDraw(angle: .pi / 2).apply(to: &turned, size: s, intensity: false)
        // out(r, q) = in(y = -(q - c) + c, x = (r - c) + c): in(row s-1-q, column r).
        for r in 0..<s { for q in 0..<s {
            #expect(abs(turned[r * s + q] - x[(s - 1 - q) * s + r]) <= 1e-4)
        } }
        var shifted = x[...]
        AugmentationDraw(shiftX: 2).apply(to: &shifted, size: s, intensity: false)
        for r in 0..<s { for q in 0..<s { #expect(shifted[r * s + q] == (q >= 2 ? x[r * s + q - 2] : 0)) } }
        var jittered = x[...]
        AugmentationDraw(scale: 2, offset: -1).apply(to: &jittered, size: s, intensity: true)
        #expect(Array(jittered) == x.map { 2 * $0 - 1 })
    }

    @Test("draws are seeded, take seven numbers each, and stay in their ranges")
    func draws() throws {
        let a = Augmentation()
        var g1 = Counter(), g2 = Counter()
        let d1 = (0..<50).map { _ in a.draw(size: 32, using: &g1) }
        let d2 = (0..<50).map { _ in a.draw(size: 32, using: &g2) }
        #expect(d1 == d2 && g1.calls == 350)
        #expect(d1.allSatisfy { abs($0.angle) <= 10 * .pi / 180 && abs($0.shiftX) <= 0.06 * 32 && abs($0.scale - 1) <= 0.1 && abs($0.offset) <= 0.05 })
        #expect(d1.contains { $0.flipX } && d1.contains { !$0.flipX } && !d1.contains { $0.flipY })
        var g3 = Counter()
        #expect(Augmentation.none.draw(size: 32, using: &g3).isGeometricIdentity)
        #expect(throws: WeakSupervisionError.self) { try Augmentation(horizontalFlip: 2).validate() }
    }

    @Test("zoom: a linear ramp stays linear about the centre, slope times z; a draw with zoom takes an eighth number after the seven it took without")
    func zoom() throws {
        // Analytic: f(q) = q - c along columns; zoomed by z, output column q samples the input at
        // c + (q - c) / z, so it holds (q - c) / z wherever that source lies inside.
        let s = 16, c = Float(s - 1) / 2
        let ramp = (0..<(s * s)).map { Float($0 % s) - c }
        for z in [2.0, 0.5, 1.25] {
            var zoomed = ramp[...]
            AugmentationDraw(zoom: z).apply(to: &zoomed, size: s, intensity: false)
            for r in [7, 8] {   // rows whose source row lies inside at every z here
                for q in 0..<s {
                    let source = c + (Float(q) - c) / Float(z)
                    guard source >= 0 && source <= Float(s - 1) else { continue }
                    #expect(abs(zoomed[zoomed.startIndex + r * s + q] - (Float(q) - c) / Float(z)) < 1e-4, "z \(z) at \(r),\(q)")
                }
            }
        }
        // with a shift: the shift is undone first, in output pixels, then the zoom
        var moved = ramp[...]
        AugmentationDraw(zoom: 2, shiftX: 3).apply(to: &moved, size: s, intensity: false)
        for q in 0..<s { #expect(abs(moved[moved.startIndex + 8 * s + q] - (Float(q) - c - 3) / 2) < 1e-4, "shifted at \(q)") }
        #expect(!AugmentationDraw(zoom: 1.1).isGeometricIdentity && AugmentationDraw(zoom: 1).isGeometricIdentity)
        // the draw: the same seven numbers first, then z log-uniform in 1/(1+m) ... 1+m
        let plain = Augmentation(), zooming = Augmentation(maxZoom: 0.25)
        var g1 = Counter(), g2 = Counter()
        for _ in 0..<40 {
            var a = plain.draw(size: 32, using: &g1)
            let b = zooming.draw(size: 32, using: &g2)
            _ = g1.next()   // keep the streams in step: the zooming draw took one more
            #expect(b.zoom >= 1 / 1.25 - 1e-12 && b.zoom <= 1.25 + 1e-12)
            a.zoom = b.zoom
            #expect(a == b)
        }
        #expect(g2.calls == 40 * 8)
        var g3 = Counter()
        let zooms = (0..<200).map { _ in zooming.draw(size: 32, using: &g3).zoom }
        #expect(zooms.contains { $0 < 0.9 } && zooms.contains { $0 > 1.12 })
        // JSON: no key when 0 (a configuration written before zoom existed reads the same), the
        // value when set; a negative range is refused
        let plainJSON = String(decoding: try JSONEncoder().encode(plain), as: UTF8.self)
        #expect(!plainJSON.contains("maxZoom"))
        #expect(try JSONDecoder().decode(Augmentation.self, from: Data(plainJSON.utf8)) == plain)
        let zoomJSON = try JSONEncoder().encode(zooming)
        #expect(try JSONDecoder().decode(Augmentation.self, from: zoomJSON) == zooming)
        #expect(String(decoding: zoomJSON, as: UTF8.self).contains("\"maxZoom\":0.25"))
        #expect(throws: WeakSupervisionError.self) { try Augmentation(maxZoom: -0.1).validate() }
        #expect(throws: (any Error).self) { try JSONDecoder().decode(Augmentation.self, from: Data(#"{"maxZoom":0.2}"#.utf8)) }
    }

    @Test("a prepared case's mask targets are area fractions on the network grid")
    func maskTargets() throws {
        let shape = GridShape(8, 8, 2)
        var mask = [UInt8](repeating: 0, count: shape.count)
        for j in 0..<4 { for i in 0..<2 { mask[shape.index(i, j, 1)] = 1 } }   // x 0..<2, y 0..<4 on slice 1
        let geometry = Geometry(spacing: SIMD3(1, 1, 1))
        let scan = ScanVolume(shape: shape, repeating: 40, geometry: geometry)
        let item = try PreparedCase(name: "m", scan: scan, labels: [0, 1], mask: MaskVolume(shape: shape, voxels: mask, geometry: geometry),
                                    size: 4, windows: Window.defaults)
        #expect(item.slices.count == 2 * 3 * 16 && item.masks!.count == 2 * 16)
        #expect(item.mask(0).allSatisfy { $0 == 0 })
        // 2x2 area pooling: output (row 0 and 1, column 0) fully covered, everything else empty.
        #expect(Array(item.mask(1)) == [1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(throws: WeakSupervisionError.self) {
            try PreparedCase(name: "m", scan: scan, labels: [0], size: 4, windows: Window.defaults)
        }
    }

    @Test("a case prepared from a scan keeps HU and windows it when read: every slice, range and the whole array equal Preprocessing.preprocess bit for bit")
    func keptAsHounsfield() throws {
        // a non-square scan with values across every window (air to bone), shrunk and grown
        let shape = GridShape(12, 10, 5), geometry = Geometry(spacing: SIMD3(0.8, 0.9, 3))
        let voxels: [Float] = (0..<shape.count).map { (i: Int) -> Float in
            let base = Float((i * 7919) % 3001) - 1000
            return base + 0.37 * Float(i % 11)
        }
        let scan = ScanVolume(shape: shape, voxels: voxels, geometry: geometry)
        for size in [6, 16] {
            let windows = [Window.brain, .subdural, .bone, Window(center: -600, width: 1500)]
            let item = try PreparedCase(name: "hu", scan: scan, labels: [0, 1, 0, 1, 1], size: size, windows: windows)
            let expected = Preprocessing.preprocess(scan, size: size, windows: windows)
            #expect(item.windows == windows && item.channels == 4 && item.holdsSlices)
            let bits: [UInt32] = item.slices.map { $0.bitPattern }, expectedBits: [UInt32] = expected.map { $0.bitPattern }
            #expect(bits == expectedBits, "size \(size)")
            let stride = item.sliceStride
            for k in 0..<5 { #expect(Array(item.slice(k)) == Array(expected[(k * stride)..<((k + 1) * stride)])) }
            #expect(Array(item.slices(1..<4)) == Array(expected[(1 * stride)..<(4 * stride)]))
            #expect(item.slices(2..<2).isEmpty)
            // setting the array stores the values as given
            var edited = item
            edited.slices = [Float](repeating: 0.5, count: expected.count)
            #expect(edited.windows == nil && edited.slice(3).allSatisfy { $0 == 0.5 } && edited.holdsSlices)
            // the same case laid out by hand reads the same
            let given = PreparedCase(name: "hu", size: size, channels: 4, slices: expected, labels: item.labels)
            #expect(Array(given.slices(1..<4)) == Array(item.slices(1..<4)))
        }
        // targets read back as given, whether all 0 or 1 (kept a byte each) or fractions
        let binary: [Float] = (0..<(3 * 4)).map { $0 % 3 == 0 ? 1 : 0 }, fractional: [Float] = binary.map { $0 * 0.25 } + [0.5]
        let b = PreparedCase(name: "b", size: 2, channels: 1, slices: [Float](repeating: 0, count: 12), labels: [1, 0, 1], masks: binary)
        #expect(b.masks == binary && Array(b.mask(2)) == Array(binary[8..<12]) && Array(b.masks(1..<3)) == Array(binary[4..<12]))
        var f = PreparedCase(name: "f", size: 2, channels: 1, slices: [Float](repeating: 0, count: 12), labels: [1, 0, 1],
                             masks: Array(fractional.prefix(12)))
        #expect(f.masks == Array(fractional.prefix(12)) && Array(f.mask(0)) == Array(fractional[0..<4]))
        f.masks = binary
        #expect(f.masks == binary)
        f.masks = nil
        #expect(f.masks == nil)
    }
}
