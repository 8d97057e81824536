/// SplitMix64 (Steele, Lea & Flood 2014) with a visible state, so that a run can save its
/// random stream and resume it exactly. Each epoch draws from its own stream, seeded from
/// (seed, epoch) through two SplitMix64 finalisations, so epoch e's shuffle does not depend on
/// how many numbers earlier epochs drew.
struct TrainingGenerator: RandomNumberGenerator {
    var state: UInt64

    init(state: UInt64) { self.state = state }

    /// The stream of epoch `epoch` (`stream` separates other uses, e.g. the split).
    init(seed: UInt64, epoch: Int, stream: UInt64 = 0) {
        state = Self.mix(seed &+ Self.mix(UInt64(truncatingIfNeeded: epoch) &+ 0xD1B5_4A32_D192_ED03 &* (stream &+ 1)))
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Fisher–Yates with j = high64(next() · (i + 1)) (as ``DatasetSplit``), independent of the
    /// standard library's shuffle algorithm.
    mutating func shuffle<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = Int(next().multipliedFullWidth(by: UInt64(i + 1)).high)
            a.swapAt(i, j)
        }
    }
}
