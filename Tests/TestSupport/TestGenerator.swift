/// SplitMix64 (Steele, Lea & Flood, 2014): a tiny seeded generator for tests, independent of
/// the package's own generators so that a change there cannot move a test's data.
///
/// Contract: `TestGenerator(seed: s)` yields exactly the sequence of the copies it replaces —
/// each `next()` adds the golden gamma `0x9E3779B97F4A7C15` to `state` (wrapping) and returns
/// the SplitMix64 finaliser of the new state. Seed 0 yields `0xE220A8397B1DCDAF` first. Tests
/// depend on these exact values: never change the arithmetic.
public struct TestGenerator: RandomNumberGenerator, Sendable, Hashable {
    /// The generator's state; equal states give equal sequences.
    public var state: UInt64

    /// A generator whose first output is the SplitMix64 step after `seed` (any value, 0 included).
    @inlinable
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
