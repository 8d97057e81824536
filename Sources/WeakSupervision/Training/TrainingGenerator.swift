import CTVolume

/// The random streams of a training run, all ``SeededGenerator``s of the run's seed: epoch e
/// draws its shuffles, negative samples and augmentations from stream e, so that an epoch does
/// not depend on how many numbers earlier epochs drew, and the case split from its own stream.
/// A stopped run saves the epoch stream's state and resumes it exactly.
enum TrainingStreams {
    /// Stream of the case-level split (distinct from every epoch stream).
    static let splitStream: UInt64 = 0xC0FF_EE00_5EED_0001

    /// The generator of epoch `epoch` (0-based).
    static func epoch(_ epoch: Int, seed: UInt64) -> SeededGenerator {
        SeededGenerator(seed: seed, stream: UInt64(epoch))
    }

    /// The generator of the case split.
    static func split(seed: UInt64) -> SeededGenerator {
        SeededGenerator(seed: seed, stream: splitStream)
    }

    /// The state as four decimal strings (JSON has no 64-bit integers).
    static func encode(_ g: SeededGenerator) -> [String] {
        let s = g.state
        return [s.0, s.1, s.2, s.3].map { String($0) }
    }

    /// The generator whose state ``encode(_:)`` wrote, or `nil` for a malformed or all-zero state.
    static func decode(_ words: [String]) -> SeededGenerator? {
        let v = words.compactMap { UInt64($0) }
        guard v.count == 4, v.contains(where: { $0 != 0 }) else { return nil }
        return SeededGenerator(state: (v[0], v[1], v[2], v[3]))
    }
}

extension RandomNumberGenerator {
    /// Fisher–Yates with j = high64(next() · (i + 1)) (as ``DatasetSplit``), independent of the
    /// standard library's shuffle algorithm.
    mutating func fisherYates<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = Int(next().multipliedFullWidth(by: UInt64(i + 1)).high)
            a.swapAt(i, j)
        }
    }
}
