#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A seeded, reproducible random number generator: xoshiro256** (Blackman & Vigna, 2018),
/// seeded through SplitMix64 as its authors recommend.
///
/// The same seed gives the same sequence on every platform and Swift version, which the
/// system generator does not promise. Every random choice in the project takes a generator,
/// so that a run can be repeated bit for bit.
///
/// Output step (all arithmetic modulo 2^64, `rotl` a left rotation):
///
///     result = rotl(s1 * 5, 7) * 9
///     t = s1 << 17;  s2 ^= s0;  s3 ^= s1;  s1 ^= s2;  s0 ^= s3;  s2 ^= t;  s3 = rotl(s3, 45)
///
/// Streams: ``init(seed:stream:)`` gives statistically independent generators for the same
/// seed, so that work item `i` (a phantom case, a slice) draws the same numbers whatever
/// was drawn for the items before it, and items can be generated in any order or in parallel.
///
///     var g = SeededGenerator(seed: 42)
///     let u = g.nextUniform()            // in [0, 1)
///     let n = g.nextGaussian(mean: 40, standardDeviation: 5)
///     var child = SeededGenerator(seed: 42, stream: 7)
///
/// References: D. Blackman, S. Vigna, "Scrambled linear pseudorandom number generators",
/// ACM TOMS 47(4), 2021; the reference C code at https://prng.di.unimi.it/.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Hashable {
    /// The 256-bit state `(s0, s1, s2, s3)`; never all zero.
    public var state: (UInt64, UInt64, UInt64, UInt64) { s }

    @usableFromInline var s: (UInt64, UInt64, UInt64, UInt64)

    /// A generator whose state is filled by four successive outputs of SplitMix64 started at `seed`.
    ///
    /// - Parameter seed: any 64-bit value (0 is fine: SplitMix64 never yields an all-zero state).
    public init(seed: UInt64) {
        var sm = seed
        s = (SeededGenerator.splitMix64(&sm), SeededGenerator.splitMix64(&sm),
                 SeededGenerator.splitMix64(&sm), SeededGenerator.splitMix64(&sm))
    }

    /// Stream `stream` of `seed`: an independent generator per work item.
    ///
    /// The SplitMix64 seeding sequence starts at `mix(seed) ^ mix(stream + 0x632BE59BD9B4E019)`
    /// where `mix` is SplitMix64's bijective finaliser, so distinct streams of one seed start
    /// from distinct seeding states. `init(seed:stream:)` is not the same sequence as `init(seed:)`.
    ///
    /// - Parameters:
    ///   - seed: the run's seed.
    ///   - stream: the work item (e.g. a case index).
    public init(seed: UInt64, stream: UInt64) {
        self.init(seed: SeededGenerator.mix(seed) ^ SeededGenerator.mix(stream &+ 0x632B_E59B_D9B4_E019))
    }

    /// A generator with this exact state (for reference vectors and saving/restoring a stream).
    ///
    /// - Precondition: the state is not all zero (xoshiro's one fixed point).
    public init(state: (UInt64, UInt64, UInt64, UInt64)) {
        precondition(state.0 | state.1 | state.2 | state.3 != 0, "SeededGenerator: the all-zero state is not allowed")
        s = state
    }

    /// The next 64 random bits (xoshiro256**).
    @inlinable
    public mutating func next() -> UInt64 {
        var (s0, s1, s2, s3) = s
        let result = SeededGenerator.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = SeededGenerator.rotl(s3, 45)
        s = (s0, s1, s2, s3)
        return result
    }

    /// A child generator for work item `stream`, derived from this generator's next output;
    /// advances this generator by one step.
    public mutating func split(stream: UInt64) -> SeededGenerator {
        SeededGenerator(seed: next(), stream: stream)
    }

    /// One SplitMix64 step (Steele, Lea & Flood, 2014): advances `state` by the golden gamma
    /// `0x9E3779B97F4A7C15` and returns the mixed value. Seed 0 yields 0xE220A8397B1DCDAF first.
    @inlinable
    public static func splitMix64(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return mix(state)
    }

    /// SplitMix64's finaliser (a bijection of UInt64): two xor-shift-multiply rounds.
    @inlinable
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inlinable
    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Two generators are equal when their states are (they then draw the same sequence).
    public static func == (a: SeededGenerator, b: SeededGenerator) -> Bool {
        a.state == b.state
    }

    /// Hashes the state.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(state.0)
        hasher.combine(state.1)
        hasher.combine(state.2)
        hasher.combine(state.3)
    }
}

extension RandomNumberGenerator {
    /// A uniform double in [0, 1): the top 53 bits of `next()` times 2^-53.
    @inlinable
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform double in `range` (`lower + (upper - lower) * u`, u from ``nextUniform()``);
    /// the upper bound itself is reached only by rounding.
    @inlinable
    public mutating func nextUniform(in range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * nextUniform()
    }

    /// A uniform integer in `range`, by Lemire's unbiased method (the standard library's
    /// `Int.random(in:using:)`, whose exact draws Swift does not promise to keep; this one
    /// is fixed: `lower + (next() * n) >> 64` with rejection of the biased low products).
    @inlinable
    public mutating func nextInt(in range: ClosedRange<Int>) -> Int {
        let n = UInt64(bitPattern: Int64(range.upperBound &- range.lowerBound)) &+ 1
        if n == 0 { return Int(bitPattern: UInt(next())) }  // the full 64-bit range
        var m = next().multipliedFullWidth(by: n)
        if m.low < n {
            let threshold = (0 &- n) % n
            while m.low < threshold { m = next().multipliedFullWidth(by: n) }
        }
        return range.lowerBound &+ Int(m.high)
    }

    /// A normal deviate, `mean + standardDeviation * z`, z from the Box-Muller transform
    /// `sqrt(-2 ln u1) * cos(2 pi u2)` with u1 in (0, 1] (one pair of uniforms per call).
    ///
    /// - Parameters:
    ///   - mean: default 0.
    ///   - standardDeviation: default 1.
    @inlinable
    public mutating func nextGaussian(mean: Double = 0, standardDeviation: Double = 1) -> Double {
        let u1 = 1 - nextUniform()  // (0, 1]: log never sees 0
        let u2 = nextUniform()
        let z = (-2 * _logD(u1)).squareRoot() * _cosD(2 * Double.pi * u2)
        return mean + standardDeviation * z
    }

    /// True with probability `p` (`nextUniform() < p`): never for `p` ≤ 0, always for `p` ≥ 1.
    /// Draws one value either way.
    @inlinable
    public mutating func nextBernoulli(_ p: Double) -> Bool { nextUniform() < p }
}

@usableFromInline func _logD(_ x: Double) -> Double { log(x) }
@usableFromInline func _cosD(_ x: Double) -> Double { cos(x) }
