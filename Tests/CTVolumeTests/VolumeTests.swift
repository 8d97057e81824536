import Testing
@testable import CTVolume

@Suite struct VolumeTests {
    /// The buffer the parallel writers fill releases what its elements hold (a leak of every
    /// phantom case written otherwise).
    @Test func sharedBufferReleasesItsElements() {
        final class Probe {}
        weak var watched: Probe?
        do {
            let buffer = SharedBuffer<Probe?>(count: 3, repeating: nil)
            let probe = Probe()
            watched = probe
            buffer.pointer[1] = probe
        }
        #expect(watched == nil)
    }

    @Test func linearIndexIsNIfTIOrder() {
        let s = GridShape(3, 4, 5)
        #expect(s.index(1, 0, 0) == 1)
        #expect(s.index(0, 1, 0) == 3)
        #expect(s.index(0, 0, 1) == 12)
        #expect(s.count == 60)
    }

    @Test func sliceIsContiguousRowMajor() {
        let s = GridShape(3, 2, 2)
        let v = Volume<Float>(shape: s, voxels: (0..<12).map(Float.init), geometry: Geometry(spacing: SIMD3(1, 1, 1)))
        #expect(Array(v.slice(1)) == [6, 7, 8, 9, 10, 11])
        #expect(v[2, 1, 1] == 11)
    }

    @Test func affinePrecedenceIsSformQformPixdim() {
        let sp = SIMD3<Double>(0.5, 0.5, 5)
        var g = Geometry(spacing: sp)
        #expect(g.affine == .scaling(sp))
        var q = Affine.scaling(sp); q[0, 3] = -10
        g.qform = q; g.qformCode = 1
        #expect(g.affine == q)
        var s = Affine.scaling(sp); s[1, 3] = 7
        g.sform = s; g.sformCode = 2
        #expect(g.affine == s)
    }
}
