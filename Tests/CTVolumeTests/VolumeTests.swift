import Foundation
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

    /// The fill by doubling runs: every element the value, for counts that are and are not
    /// powers of two, for bytes, floats and a class (each copy retained once: the buffer's
    /// release leaves the object alive with the caller only).
    @Test func sharedBufferFillsEveryElement() {
        for count in [0, 1, 2, 3, 7, 8, 9, 1000, 65_537] {
            let bytes = SharedBuffer<UInt8>(count: count, repeating: 0xA5)
            #expect(bytes.array() == [UInt8](repeating: 0xA5, count: count), "count \(count)")
            let floats = SharedBuffer<Float>(count: count, repeating: -1.5)
            #expect(floats.array() == [Float](repeating: -1.5, count: count), "count \(count)")
        }
        final class Probe {}
        var probe = Probe()
        do {
            let buffer = SharedBuffer<Probe>(count: 5, repeating: probe)
            #expect((0..<5).allSatisfy { buffer.pointer[$0] === probe })
            #expect(!isKnownUniquelyReferenced(&probe))
        }
        #expect(isKnownUniquelyReferenced(&probe))
    }

    /// The parallel chunk loop of the data stages: every item once, results delivered in index
    /// order whatever the scheduling, the first error in index order thrown after its chunk,
    /// later chunks never started.
    @Test func orderedChunksDeliverInOrderAndStopAtTheFirstError() throws {
        struct Failure: Error, Equatable { let index: Int }
        for workers in [0, 1, 2, 3, 7] {
            var delivered: [Int] = []
            try forEachInOrderedChunks(count: 10, workers: workers) { i in
                if i % 2 == 0 { usleep(UInt32((10 - i) * 200)) }   // early items finish last
                return i * i
            } deliver: { i, square in
                #expect(square == i * i)
                delivered.append(i)
            }
            #expect(delivered == Array(0..<10), "workers \(workers)")
        }
        try forEachInOrderedChunks(count: 0) { _ in Issue.record("work ran for no item") } deliver: { _, _ in Issue.record("delivered no item") }

        // items 5 and 6 fail in the second chunk of 3 (3, 4, 5): 3 and 4 are delivered, 5's error
        // is thrown, the third chunk (6, 7, 8) never starts
        let started = SharedBuffer<Bool>(count: 10, repeating: false)
        var delivered: [Int] = []
        #expect(throws: Failure(index: 5)) {
            try forEachInOrderedChunks(count: 10, workers: 3) { i in
                started.pointer[i] = true
                if i == 5 || i == 6 { throw Failure(index: i) }
                return i
            } deliver: { i, _ in delivered.append(i) }
        }
        #expect(delivered == [0, 1, 2, 3, 4])
        #expect(started.array() == (0..<10).map { $0 < 6 })
        // an error of `deliver` stops the loop the same way
        var seen: [Int] = []
        #expect(throws: Failure(index: 1)) {
            try forEachInOrderedChunks(count: 6, workers: 2) { $0 } deliver: { i, _ in
                seen.append(i)
                if i == 1 { throw Failure(index: 1) }
            }
        }
        #expect(seen == [0, 1])
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
