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
}
