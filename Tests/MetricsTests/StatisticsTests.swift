import Foundation
@testable import Metrics
import Testing

/// Reads `Fixtures/statistics_fixtures.json` (made by scripts/fixtures/statistics_fixtures.py).
enum StatisticsFixture {
    nonisolated(unsafe) static let root: [String: Any] = {
        let url = Bundle.module.url(forResource: "statistics_fixtures", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()

    static func list(_ key: String) -> [[String: Any]] { root[key] as! [[String: Any]] }
    static func named(_ key: String, _ name: String) -> [String: Any] { list(key).first { ($0["name"] as! String) == name }! }
    /// Numbers with JSON null read as NaN.
    static func values(_ any: Any?) -> [Double] { (any as! [Any]).map { ($0 as? NSNumber)?.doubleValue ?? .nan } }
}

/// The bootstrap against NumPy's percentiles on the same resamples, and against scipy.stats.bootstrap.
@Suite struct BootstrapTests {
    static let names = StatisticsFixture.list("bootstrap").map { $0["name"] as! String }

    @Test(arguments: names) func percentileIntervalOnNumPysResamplesMatchesNumPy(name: String) {
        let c = StatisticsFixture.named("bootstrap", name)
        let values = StatisticsFixture.values(c["values"])
        let indices = (c["indices"] as! [[Int]])
        let ci = Bootstrap.percentileInterval(values, resamples: indices, confidence: 0.95)
        #expect(close(ci.lower, StatisticsFixture.values([c["lower"]!])[0], rtol: 1e-12))
        #expect(close(ci.upper, StatisticsFixture.values([c["upper"]!])[0], rtol: 1e-12))
        #expect(close(ci.estimate, StatisticsFixture.values([c["estimate"]!])[0], rtol: 1e-12))
        #expect(ci.resamples == indices.count && ci.count == values.count)
    }

    @Test(arguments: names) func seededIntervalApproachesScipyBootstrap(name: String) {
        let c = StatisticsFixture.named("bootstrap", name)
        let values = StatisticsFixture.values(c["values"])
        let ci = Bootstrap.meanInterval(values, settings: BootstrapSettings(resamples: 20_000))
        let lo = StatisticsFixture.values([c["scipy_lower"]!])[0], hi = StatisticsFixture.values([c["scipy_upper"]!])[0]
        // Two independent sets of 20,000 resamples: their percentiles differ by Monte Carlo error only
        // (a few thousandths here, against interval widths of 0.2 to 0.4).
        #expect(abs(ci.lower - lo) < 0.015 * (hi - lo) + 0.005)
        #expect(abs(ci.upper - hi) < 0.015 * (hi - lo) + 0.005)
    }

    @Test func streamedResamplesAreTheListedOnes() {
        let values = (0..<23).map { Double($0 * $0 % 17) / 17 }
        let settings = BootstrapSettings(resamples: 300, seed: 99)
        let listed = Bootstrap.percentileInterval(values, resamples: Bootstrap.resampleIndices(count: values.count, settings: settings),
                                                  confidence: settings.confidence)
        let streamed = Bootstrap.meanInterval(values, settings: settings)
        #expect(listed == streamed)
    }

    @Test func sameSeedSameIntervalAndOtherSeedAnother() {
        let values = (0..<40).map { sin(Double($0)) }
        let a = Bootstrap.meanInterval(values, settings: BootstrapSettings(resamples: 500, seed: 1))
        let b = Bootstrap.meanInterval(values, settings: BootstrapSettings(resamples: 500, seed: 1))
        let c = Bootstrap.meanInterval(values, settings: BootstrapSettings(resamples: 500, seed: 2))
        #expect(a == b)
        #expect(a.lower != c.lower || a.upper != c.upper)
    }

    @Test func constantValuesGiveAPointInterval() {
        let ci = Bootstrap.meanInterval([0.25, 0.25, 0.25], settings: BootstrapSettings(resamples: 50))
        #expect(ci.lower == 0.25 && ci.upper == 0.25 && ci.estimate == 0.25)
    }

    @Test func noValuesGiveNaNAndNaNValuesAreLeftOut() {
        let empty = Bootstrap.meanInterval([], settings: BootstrapSettings(resamples: 10))
        #expect(empty.estimate.isNaN && empty.lower.isNaN && empty.upper.isNaN && empty.count == 0)
        let some = Bootstrap.meanInterval([.nan, 1, 3], settings: BootstrapSettings(resamples: 200))
        #expect(some.count == 2 && some.estimate == 2 && some.lower >= 1 && some.upper <= 3)
    }

    @Test func pairedDifferenceResamplesPairsNotValues() {
        // b = a - 0.1 exactly: every resample of pairs has mean difference 0.1, so the interval
        // is a point, while resampling the two lists separately would spread it.
        let a = (0..<30).map { Double($0) / 30 }
        let b = a.map { $0 - 0.1 }
        let d = Bootstrap.meanDifferenceInterval(a, b, settings: BootstrapSettings(resamples: 300))
        #expect(abs(d.lower - 0.1) < 1e-12 && abs(d.upper - 0.1) < 1e-12)
    }

    @Test func settingsOutOfRangeAreRefused() {
        #expect(throws: MetricsError.self) { try BootstrapSettings(resamples: 0).validate() }
        #expect(throws: MetricsError.self) { try BootstrapSettings(confidence: 1).validate() }
        #expect(throws: Never.self) { try BootstrapSettings().validate() }
    }
}

/// The Wilcoxon signed-rank test against scipy.stats.wilcoxon on each of its rules.
@Suite struct WilcoxonTests {
    static let names = StatisticsFixture.list("wilcoxon").map { $0["name"] as! String }

    @Test(arguments: names) func matchesScipy(name: String) {
        let c = StatisticsFixture.named("wilcoxon", name)
        let x = StatisticsFixture.values(c["x"]), y = StatisticsFixture.values(c["y"])
        let w = WilcoxonSignedRank(x, y)
        #expect(close(w.statistic, StatisticsFixture.values([c["statistic"]!])[0], rtol: 1e-12))
        #expect(close(w.pValue, StatisticsFixture.values([c["pvalue"]!])[0], rtol: 1e-9))
        #expect(close(w.positiveRankSum, StatisticsFixture.values([c["r_plus"]!])[0], rtol: 1e-12))
        #expect(close(w.negativeRankSum, StatisticsFixture.values([c["r_minus"]!])[0], rtol: 1e-12))
        #expect(w.zeros == c["zeros"] as! Int && w.pairs == c["pairs"] as! Int)
    }

    @Test func rulesAreChosenAsScipyChoosesThem() {
        #expect(WilcoxonSignedRank(differences: [1, -2, 3, 4, 5]).method == .exact)
        #expect(WilcoxonSignedRank(differences: [1, -1, 3, 4, 5]).method == .permutation)   // a tie, n <= 13
        #expect(WilcoxonSignedRank(differences: [0, -2, 3, 4, 5]).method == .permutation)   // a zero, n <= 13
        #expect(WilcoxonSignedRank(differences: (1...14).map { Double($0) } + [0]).method == .normal)  // a zero, n > 13
        #expect(WilcoxonSignedRank(differences: (1...51).map { Double($0) }).method == .normal)
    }

    @Test func exactNullDistributionCountsSubsets() {
        // subsets of {1, 2, 3}: sums 0,1,2,3,3,4,5,6
        #expect(WilcoxonSignedRank.subsetSumCounts(3) == [1, 1, 1, 2, 1, 1, 1])
        #expect(WilcoxonSignedRank.subsetSumCounts(50).reduce(0, +) == 0x1p50)
    }

    @Test func allDifferencesOneSignGiveTheSmallestExactP() {
        // n = 6, all positive: p = 2 / 2^6
        let w = WilcoxonSignedRank(differences: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
        #expect(w.statistic == 0 && w.pValue == 2.0 / 64)
    }

    @Test func noPairsGiveNaN() {
        let w = WilcoxonSignedRank(differences: [.nan])
        #expect(w.pValue.isNaN && w.pairs == 0)
    }
}

/// Lesion detection against scipy.ndimage.label, and analytic cases.
@Suite struct LesionDetectionTests {
    static let names = StatisticsFixture.list("detection").map { $0["name"] as! String }

    static func mask(_ c: [String: Any], _ key: String) -> BinaryMask {
        let s = c["shape"] as! [Int], sp = StatisticsFixture.values(c["spacing"])
        return BinaryMask(shape: MaskShape(s[0], s[1], s[2]), spacing: SIMD3(sp[0], sp[1], sp[2]), voxels: (c[key] as! [Int]).map { $0 == 1 })
    }

    @Test(arguments: names) func matchesScipyLabel(name: String) {
        let c = StatisticsFixture.named("detection", name)
        let connectivity = LesionDetection.Connectivity(rawValue: c["connectivity"] as! Int)!
        let t = Self.mask(c, "truth"), p = Self.mask(c, "prediction")
        let d = LesionDetection(prediction: p, truth: t, settings: .init(minimumCoverage: 0.1, connectivity: connectivity))
        let sizes = c["lesion_sizes"] as! [Int]
        #expect(d.lesionVolumesML == sizes.map { Double($0) * t.voxelVolumeML })
        #expect(d.lesionFound == c["found"] as! [Bool])
        #expect(d.predictedComponents == c["predicted_components"] as! Int)
        #expect(d.falsePositiveComponents == c["false_positive_components"] as! Int)
    }

    /// Two 2 x 2 x 1 lesions and a speck far away: the prediction covers one lesion by one voxel
    /// of four (25 %), the other not at all, and adds the speck.
    @Test func coverageShareDecidesAndSpecksAreFalseComponents() {
        let shape = MaskShape(10, 4, 1)
        var t = [Bool](repeating: false, count: shape.count), p = t
        for (i, j) in [(0, 0), (1, 0), (0, 1), (1, 1), (5, 0), (6, 0), (5, 1), (6, 1)] { t[shape.index(i, j, 0)] = true }
        p[shape.index(0, 0, 0)] = true
        p[shape.index(9, 3, 0)] = true
        let truth = BinaryMask(shape: shape, voxels: t), prediction = BinaryMask(shape: shape, voxels: p)
        let at20 = LesionDetection(prediction: prediction, truth: truth, settings: .init(minimumCoverage: 0.2))
        #expect(at20.lesionFound == [true, false] && at20.falsePositiveComponents == 1 && at20.predictedComponents == 2)
        #expect(at20.sensitivity == 0.5)
        let at30 = LesionDetection(prediction: prediction, truth: truth, settings: .init(minimumCoverage: 0.3))
        #expect(at30.lesionFound == [false, false])
        let any = LesionDetection(prediction: prediction, truth: truth, settings: .init(minimumCoverage: 0))
        #expect(any.lesionFound == [true, false])
    }

    @Test func emptyMasksFindNothingAndHaveNoSensitivity() {
        let shape = MaskShape(4, 4, 2)
        let empty = BinaryMask(shape: shape, voxels: [Bool](repeating: false, count: shape.count))
        let d = LesionDetection(prediction: empty, truth: empty)
        #expect(d.truthLesions == 0 && d.predictedComponents == 0 && d.falsePositiveComponents == 0 && d.sensitivity.isNaN)
    }

    @Test func pooledSummaryCountsLesionsByVolume() {
        let shape = MaskShape(10, 4, 1)
        var t = [Bool](repeating: false, count: shape.count), p = t
        for (i, j) in [(0, 0), (5, 0), (6, 0)] { t[shape.index(i, j, 0)] = true }
        p[shape.index(0, 0, 0)] = true
        // voxels of 2 mL: lesions of 2 mL (found) and 4 mL (missed); strata < 3, >= 3
        let spacing = SIMD3(10.0, 10.0, 20.0)
        let d = LesionDetection(prediction: BinaryMask(shape: shape, spacing: spacing, voxels: p),
                                truth: BinaryMask(shape: shape, spacing: spacing, voxels: t))
        let empty = LesionDetection(prediction: BinaryMask(shape: shape, spacing: spacing, voxels: p),
                                    truth: BinaryMask(shape: shape, spacing: spacing, voxels: [Bool](repeating: false, count: shape.count)))
        let s = LesionDetectionSummary([d, empty], strata: VolumeStrata(bounds: [3]))
        #expect(s.lesions == 2 && s.detected == 1 && s.sensitivity == 0.5)
        #expect(s.falsePositiveComponentsPerCase == 0.5)   // the second case's speck, over two cases
        #expect(s.byVolume.map(\.lesions) == [1, 1] && s.byVolume.map(\.detected) == [1, 0])
        #expect(s.byVolume.map(\.label) == ["< 3 mL", "≥ 3 mL"])
    }

    /// Lesion 1 in two pieces far apart (2 + 2 voxels), lesions 2 and 3 touching (one
    /// component of 4 voxels), and a speck. The prediction covers one voxel of each piece of
    /// lesion 1 (2 of 4: 50 %), all of lesion 2, none of lesion 3, and adds the speck.
    @Test func lesionMapsCountEachLabelOnceHoweverManyPieces() {
        let shape = MaskShape(12, 4, 1)
        var labels = [UInt8](repeating: 0, count: shape.count), p = [Bool](repeating: false, count: shape.count)
        for (i, j) in [(0, 0), (0, 1), (8, 0), (8, 1)] { labels[shape.index(i, j, 0)] = 1 }
        for (i, j) in [(4, 0), (4, 1)] { labels[shape.index(i, j, 0)] = 2 }
        for (i, j) in [(5, 0), (5, 1)] { labels[shape.index(i, j, 0)] = 3 }
        for (i, j) in [(0, 0), (8, 1), (4, 0), (4, 1), (11, 3)] { p[shape.index(i, j, 0)] = true }
        let spacing = SIMD3(10.0, 10.0, 10.0)   // 1 mL voxels
        let prediction = BinaryMask(shape: shape, spacing: spacing, voxels: p)
        let d = LesionDetection(prediction: prediction, lesionLabels: labels, settings: .init(minimumCoverage: 0.5))
        #expect(d.lesionSource == .labels)
        #expect(d.lesionVolumesML == [4, 2, 2])
        #expect(d.lesionFound == [true, true, false])
        #expect(d.predictedComponents == 4 && d.falsePositiveComponents == 1)
        // as components the same truth has three lesions: lesion 1's two pieces and the pair 2 + 3
        let truth = BinaryMask(shape: shape, spacing: spacing, labels: labels)
        let byComponents = LesionDetection(prediction: prediction, truth: truth, settings: .init(minimumCoverage: 0.5))
        #expect(byComponents.lesionSource == .components)
        #expect(byComponents.lesionVolumesML == [2, 4, 2] && byComponents.lesionFound == [true, true, true])
        // a stricter share misses lesion 1 (2 of 4 covered) but not lesion 2
        let strict = LesionDetection(prediction: prediction, lesionLabels: labels, settings: .init(minimumCoverage: 0.6))
        #expect(strict.lesionFound == [false, true, false])
        let s = LesionDetectionSummary([d, byComponents])
        #expect(s.casesWithLabelledLesions == 1 && s.lesions == 6)
    }

    /// Labels that are exactly the truth's 26-connected components (numbered here by a flood
    /// fill in storage order) give what the components give, for any label type: the lesion-map
    /// path (which scans only the labelled voxels) against the component path, on random masks.
    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func lesionMapOfTheComponentsAgreesWithTheComponents(seed: UInt64) {
        var state = seed &* 0x9E37_79B9_7F4A_7C15
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        let shape = MaskShape(11, 9, 6), spacing = SIMD3(0.5, 0.5, 2.0)
        let t = (0..<shape.count).map { _ in uniform() < 0.12 }, p = (0..<shape.count).map { _ in uniform() < 0.15 }
        var labels = [Int](repeating: 0, count: shape.count), next = 0
        for seedVoxel in 0..<shape.count where t[seedVoxel] && labels[seedVoxel] == 0 {
            next += 1
            labels[seedVoxel] = next
            var stack = [seedVoxel]
            while let v = stack.popLast() {
                let (x, y, z) = (v % shape.x, v / shape.x % shape.y, v / (shape.x * shape.y))
                for dz in -1...1 { for dy in -1...1 { for dx in -1...1 {
                    let (a, b, c) = (x + dx, y + dy, z + dz)
                    guard a >= 0, a < shape.x, b >= 0, b < shape.y, c >= 0, c < shape.z else { continue }
                    let w = shape.index(a, b, c)
                    if t[w] && labels[w] == 0 { labels[w] = next; stack.append(w) }
                } } }
            }
        }
        #expect(next > 3, "a random mask with several lesions")
        let prediction = BinaryMask(shape: shape, spacing: spacing, voxels: p)
        let truth = BinaryMask(shape: shape, spacing: spacing, voxels: t)
        for coverage in [0.0, 0.3] {
            let settings = LesionDetection.Settings(minimumCoverage: coverage)
            let byComponents = LesionDetection(prediction: prediction, truth: truth, settings: settings)
            for byLabels in [LesionDetection(prediction: prediction, lesionLabels: labels.map(UInt8.init), settings: settings),
                             LesionDetection(prediction: prediction, lesionLabels: labels.map(Int32.init), settings: settings),
                             LesionDetection(prediction: prediction, lesionLabels: labels, settings: settings)] {
                #expect(byLabels.lesionSource == .labels)
                #expect(byLabels.lesionVolumesML == byComponents.lesionVolumesML)
                #expect(byLabels.lesionFound == byComponents.lesionFound)
                #expect(byLabels.predictedComponents == byComponents.predictedComponents)
                #expect(byLabels.falsePositiveComponents == byComponents.falsePositiveComponents)
            }
        }
    }

    @Test func detectionsWrittenBeforeLesionMapsReadAsComponents() throws {
        let shape = MaskShape(3, 1, 1)
        let m = BinaryMask(shape: shape, voxels: [true, false, true])
        var json = String(decoding: try JSONEncoder().encode(LesionDetection(prediction: m, truth: m)), as: UTF8.self)
        #expect(json.contains("\"lesionSource\":\"components\""))
        json = json.replacingOccurrences(of: ",\"lesionSource\":\"components\"", with: "")
            .replacingOccurrences(of: "\"lesionSource\":\"components\",", with: "")
        #expect(!json.contains("lesionSource"))
        let old = try JSONDecoder().decode(LesionDetection.self, from: Data(json.utf8))
        #expect(old.lesionSource == .components && old.truthLesions == 2)
        // NaN sensitivities of empty strata travel as strings, as the comparison writes them
        let encoder = JSONEncoder(), decoder = JSONDecoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var summary = String(decoding: try encoder.encode(LesionDetectionSummary([old])), as: UTF8.self)
        summary = summary.replacingOccurrences(of: ",\"casesWithLabelledLesions\":0", with: "")
            .replacingOccurrences(of: "\"casesWithLabelledLesions\":0,", with: "")
        #expect(!summary.contains("casesWithLabelledLesions"))
        #expect(try decoder.decode(LesionDetectionSummary.self, from: Data(summary.utf8)).casesWithLabelledLesions == 0)
    }

    @Test func coverageOutsideZeroToOneIsRefused() {
        #expect(throws: MetricsError.self) { try LesionDetection.Settings(minimumCoverage: 1.5).validate() }
    }
}

/// Bland-Altman agreement against NumPy, and the volume strata.
@Suite struct VolumeAgreementTests {
    @Test func matchesNumPy() {
        let c = StatisticsFixture.root["agreement"] as! [String: Any]
        let a = VolumeAgreement(predicted: StatisticsFixture.values(c["predicted"]), truth: StatisticsFixture.values(c["truth"]))
        func n(_ k: String) -> Double { (c[k] as! NSNumber).doubleValue }
        #expect(close(a.meanDifference, n("bias"), rtol: 1e-12))
        #expect(close(a.differenceStandardDeviation, n("sd"), rtol: 1e-12))
        #expect(close(a.lowerLimit, n("lower"), rtol: 1e-12) && close(a.upperLimit, n("upper"), rtol: 1e-12))
        #expect(close(a.meanAbsoluteDifference, n("mad"), rtol: 1e-12))
        #expect(close(a.correlation, n("r"), rtol: 1e-12))
    }

    @Test func onePairHasNoSpreadAndNaNPairsAreLeftOut() {
        let a = VolumeAgreement(predicted: [3, .nan], truth: [1, 2])
        #expect(a.count == 1 && a.meanDifference == 2 && a.differenceStandardDeviation.isNaN && a.correlation.isNaN)
    }

    @Test func strataPutABoundInTheStratumAboveIt() {
        let s = VolumeStrata()
        #expect([0.1, 4.99, 5, 29.9, 30, 120].map(s.index(of:)) == [0, 0, 1, 1, 2, 2])
        #expect(s.labels == ["< 5 mL", "5-30 mL", "≥ 30 mL"])
    }
}
