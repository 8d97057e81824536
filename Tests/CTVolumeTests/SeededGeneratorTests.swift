import Testing
import CTVolume

/// SeededGenerator against the published outputs of the reference C code
/// (https://prng.di.unimi.it/xoshiro256starstar.c and splitmix64.c), which rand_xoshiro,
/// Boost and others test against too.
@Suite struct SeededGeneratorTests {
    @Test func splitMix64MatchesTheReferenceForSeedZero() {
        var state: UInt64 = 0
        let expected: [UInt64] = [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F, 0xF88B_B8A8_724C_81EC]
        for e in expected { #expect(SeededGenerator.splitMix64(&state) == e) }
    }

    @Test func xoshiro256StarStarMatchesTheReferenceFromState1234() {
        var g = SeededGenerator(state: (1, 2, 3, 4))
        let expected: [UInt64] = [
            11520, 0, 1_509_978_240, 1_215_971_899_390_074_240, 1_216_172_134_540_287_360,
            607_988_272_756_665_600, 16_172_922_978_634_559_625, 8_476_171_486_693_032_832,
            10_595_114_339_597_558_777, 2_904_607_092_377_533_576,
        ]
        for e in expected { #expect(g.next() == e) }
    }

    @Test func seedingFillsTheStateWithFourSplitMixOutputs() {
        var sm: UInt64 = 42
        let words = (0..<4).map { _ in SeededGenerator.splitMix64(&sm) }
        let g = SeededGenerator(seed: 42)
        #expect(g.state.0 == words[0] && g.state.1 == words[1] && g.state.2 == words[2] && g.state.3 == words[3])
        // Published by independent implementations of "xoshiro256** seeded through SplitMix64(42)".
        var h = SeededGenerator(seed: 42)
        #expect(h.next() == 1_546_998_764_402_558_742)
        #expect(h.next() == 6_990_951_692_964_543_102)
        #expect(h.next() == 12_544_586_762_248_559_009)
    }

    @Test func sameSeedSameSequenceAndStreamsDiffer() {
        var a = SeededGenerator(seed: 7, stream: 3), b = SeededGenerator(seed: 7, stream: 3)
        var c = SeededGenerator(seed: 7, stream: 4), d = SeededGenerator(seed: 8, stream: 3)
        let sa = (0..<100).map { _ in a.next() }
        #expect(sa == (0..<100).map { _ in b.next() })
        #expect(sa != (0..<100).map { _ in c.next() })
        #expect(sa != (0..<100).map { _ in d.next() })
        // A child stream split off a generator is reproducible too.
        var p1 = SeededGenerator(seed: 9), p2 = SeededGenerator(seed: 9)
        var c1 = p1.split(stream: 2), c2 = p2.split(stream: 2)
        #expect(c1.next() == c2.next())
        #expect(p1.next() == p2.next())
    }

    @Test func uniformIntegerAndGaussianDraws() {
        var g = SeededGenerator(seed: 1)
        var counts = [Int](repeating: 0, count: 6)
        var sum = 0.0, sumSq = 0.0, minU = 1.0, maxU = 0.0
        let n = 60_000
        for _ in 0..<n {
            let k = g.nextInt(in: 1...6)
            #expect(k >= 1 && k <= 6)
            counts[k - 1] += 1
            let u = g.nextUniform()
            minU = min(minU, u); maxU = max(maxU, u)
            let z = g.nextGaussian(mean: 40, standardDeviation: 5)
            sum += z; sumSq += z * z
        }
        #expect(minU >= 0 && maxU < 1)
        // Each face 1/6: binomial sd = sqrt(n p (1 - p)) ~ 91; allow 5 sd.
        for c in counts { #expect(abs(Double(c) - Double(n) / 6) < 460) }
        let mean = sum / Double(n), sd = (sumSq / Double(n) - mean * mean).squareRoot()
        #expect(abs(mean - 40) < 0.1)   // standard error 5 / sqrt(60000) = 0.02
        #expect(abs(sd - 5) < 0.1)
        #expect(g.nextInt(in: 3...3) == 3)
        _ = g.nextInt(in: Int.min...Int.max)  // the full range neither traps nor loops
        let wide = (0..<1000).map { _ in g.nextInt(in: -5...Int.max) }
        #expect(wide.allSatisfy { $0 >= -5 })
    }
}
