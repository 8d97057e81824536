/// A case-level partition of a dataset into training, validation and test cases.
///
/// Cases, not slices, are split, so that no patient's slices are on both sides.
public struct DatasetSplit: Sendable, Hashable {
    /// Training cases, sorted by name.
    public var train: [DatasetCase]
    /// Validation cases, sorted by name.
    public var validation: [DatasetCase]
    /// Test cases, sorted by name.
    public var test: [DatasetCase]

    /// Shuffles `cases` with `generator` and cuts them into three parts.
    ///
    /// `validation` gets `round(n * validationFraction)` cases, `test` `round(n * testFraction)`,
    /// `train` the rest. The shuffle is Fisher-Yates drawing `j = high64(next() * (i + 1))`
    /// for i = n-1 ... 1 (Lemire's multiply-shift, no rejection), so the split depends only on
    /// the generator's output and the case names, not on the standard library's algorithms.
    /// Cases are first sorted by name, so the input order does not matter.
    ///
    /// - Parameters:
    ///   - cases: the cases to split.
    ///   - validationFraction: share of cases for validation, in 0...1; default 0.15.
    ///   - testFraction: share of cases for testing, in 0...1; default 0.15; the two sum to <= 1.
    ///   - generator: the seeded source of randomness.
    /// - Throws: `.invalidParameter` for fractions outside 0...1 or summing to more than 1.
    public init(cases: [DatasetCase], validationFraction: Double = 0.15, testFraction: Double = 0.15,
                using generator: inout some RandomNumberGenerator) throws {
        for (name, f) in [("validationFraction", validationFraction), ("testFraction", testFraction)] where !(0...1).contains(f) {
            throw CTVolumeError.invalidParameter(name: name, reason: "\(f) is outside 0...1")
        }
        guard validationFraction + testFraction <= 1 else {
            throw CTVolumeError.invalidParameter(name: "validationFraction + testFraction", reason: "\(validationFraction + testFraction) exceeds 1")
        }
        var order = cases.sorted { $0.name < $1.name }
        if order.count > 1 {
            for i in stride(from: order.count - 1, to: 0, by: -1) {
                let j = Int(generator.next().multipliedFullWidth(by: UInt64(i + 1)).high)
                order.swapAt(i, j)
            }
        }
        let n = order.count
        let nValidation = Int((Double(n) * validationFraction).rounded())
        let nTest = min(n - nValidation, Int((Double(n) * testFraction).rounded()))
        validation = order[0..<nValidation].sorted { $0.name < $1.name }
        test = order[nValidation..<(nValidation + nTest)].sorted { $0.name < $1.name }
        train = order[(nValidation + nTest)...].sorted { $0.name < $1.name }
    }
}

extension Dataset {
    /// This dataset's cases split by ``DatasetSplit/init(cases:validationFraction:testFraction:using:)``.
    public func split(validationFraction: Double = 0.15, testFraction: Double = 0.15,
                      using generator: inout some RandomNumberGenerator) throws -> DatasetSplit {
        try DatasetSplit(cases: cases, validationFraction: validationFraction, testFraction: testFraction, using: &generator)
    }
}
