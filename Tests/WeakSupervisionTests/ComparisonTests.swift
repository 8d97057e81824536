import CTVolume
import Foundation
import Metrics
import NeuralCore
import Testing
import WeakSupervision

/// A method that returns a stored mask per case name (also used by ReplicateComparisonTests).
struct Stored: Segmenter {
    let name: String
    let masks: [String: MaskVolume]
    func segment(_ input: SegmentationCase) throws -> MaskVolume { masks[input.name]! }
}

/// Three 8 x 8 x 2 cases, spacing 1 x 1 x 2 mm: `pos` with a 2 x 2 x 1 bleed, `neg1` and `neg2` empty.
private struct Cases {
    let geometry = Geometry(spacing: SIMD3(1, 1, 2))
    let shape = GridShape(8, 8, 2)
    var cases: [ComparisonCase] = []
    var truth: [String: MaskVolume] = [:]

    init() {
        for name in ["pos", "neg1", "neg2"] {
            var t = MaskVolume(shape: shape, repeating: 0, geometry: geometry)
            if name == "pos" { for (i, j) in [(3, 3), (4, 3), (3, 4), (4, 4)] { t.voxels[shape.index(i, j, 1)] = 1 } }
            truth[name] = t
            let scan = ScanVolume(shape: shape, repeating: 30, geometry: geometry)
            let inside = MaskVolume(shape: shape, repeating: 1, geometry: geometry)
            cases.append(ComparisonCase(input: SegmentationCase(name: name, scan: scan, intracranial: inside,
                                                                cam: nil, sliceProbabilities: [0.1, name == "pos" ? 0.9 : 0.2]),
                                        truth: t))
        }
    }

    func mask(_ voxels: [Int]) -> MaskVolume {
        var m = MaskVolume(shape: shape, repeating: 0, geometry: geometry)
        for v in voxels { m.voxels[v] = 1 }
        return m
    }
}

@Suite struct ComparisonTests {
    @Test("perfect, empty and noisy methods: Dice over positive cases, false positives counted on negatives")
    func rowsCountWhatTheyShould() throws {
        let c = Cases()
        let empty = c.mask([])
        let perfect = Stored(name: "perfect", masks: c.truth)
        let none = Stored(name: "empty", masks: ["pos": empty, "neg1": empty, "neg2": empty])
        // 3 voxels on neg1, none on neg2; on pos, 2 of the 4 bleed voxels plus 2 wrong ones.
        let pos = c.mask([c.shape.index(3, 3, 1), c.shape.index(4, 3, 1), c.shape.index(0, 0, 0), c.shape.index(7, 7, 0)])
        let noisy = Stored(name: "noisy", masks: ["pos": pos, "neg1": c.mask([1, 2, 3]), "neg2": empty])
        let table = try MethodComparison.run(methods: [perfect, none, noisy], cases: c.cases, tolerance: 1)
        #expect(table.rows.map(\.method) == ["perfect", "empty", "noisy"])
        #expect(table.caseNames == ["pos", "neg1", "neg2"])

        let p = try #require(table["perfect"])
        #expect(p.positiveCases == 1)
        #expect(p.meanDice == 1)
        #expect(p.falsePositiveVoxels == [0, 0])
        #expect(p.negativesWithoutFalsePositives == 2)
        #expect(p.meanFalsePositiveVoxels == 0)
        #expect(p.cases.count == 3)

        let e = try #require(table["empty"])
        #expect(e.meanDice == 0)
        // An empty prediction against a non-empty truth: infinite distances, kept (not dropped).
        #expect(e.positive["medpy_hd95"]?.mean == .infinity)
        #expect(e.negativesWithoutFalsePositives == 2)

        let n = try #require(table["noisy"])
        #expect(n.meanDice == 0.5)                          // 2 * 2 / (4 + 4)
        #expect(n.positive["precision"]?.mean == 0.5)
        #expect(n.positive["recall"]?.mean == 0.5)
        #expect(n.falsePositiveVoxels == [3, 0])
        #expect(n.meanFalsePositiveVoxels == 1.5)
        #expect(n.negativesWithoutFalsePositives == 1)
        #expect(n.secondsPerCase >= 0)
    }

    @Test("cases streamed one at a time give the table of the loaded list; each is loaded once, in order, visited before any row; a failing load stops the run")
    func streamedCasesGiveTheSameTable() throws {
        let c = Cases()
        let empty = c.mask([])
        let pos = c.mask([c.shape.index(3, 3, 1), c.shape.index(0, 0, 0)])
        let methods: [any Segmenter] = [Stored(name: "perfect", masks: c.truth),
                                        Stored(name: "noisy", masks: ["pos": pos, "neg1": c.mask([1, 2, 3]), "neg2": empty])]
        let listed = try MethodComparison.run(methods: methods, cases: c.cases, tolerance: 1)

        final class Log: @unchecked Sendable {
            let lock = NSLock()
            var events: [String] = []
            func add(_ e: String) { lock.lock(); events.append(e); lock.unlock() }
        }
        let log = Log()
        let streamed = try MethodComparison.run(methods: methods, caseCount: c.cases.count, loading: { i in
            log.add("load \(i)")
            return c.cases[i]
        }, tolerance: 1, visit: { i, item in
            log.add("visit \(i) \(item.input.name)")
        }, keep: { m, i, _ in
            log.add("keep \(m) \(i)")
        })
        var a = listed, b = streamed
        for k in a.rows.indices { a.rows[k].secondsPerCase = 0; b.rows[k].secondsPerCase = 0 }
        #expect(try a.jsonData() == b.jsonData())
        // loads in order, each once; case i is visited before any row keeps it, and loaded
        // before any row sees it
        #expect(log.events.filter { $0.hasPrefix("load") } == ["load 0", "load 1", "load 2"])
        for i in 0..<3 {
            let visit = try #require(log.events.firstIndex { $0.hasPrefix("visit \(i) ") })
            #expect(log.events.firstIndex(of: "keep 0 \(i)").map { $0 > visit } == true)
            if i < 2 { #expect(log.events.firstIndex(of: "load \(i + 1)")! < log.events.firstIndex(of: "keep 0 \(i + 1)")!) }
        }
        #expect(log.events.filter { $0.hasPrefix("visit") } == ["visit 0 pos", "visit 1 neg1", "visit 2 neg2"])

        // a load that fails: its error, after the cases before it were segmented; nothing after it
        struct Unreadable: Error {}
        let failing = Log()
        #expect(throws: Unreadable.self) {
            try MethodComparison.run(methods: methods, caseCount: 3, loading: { i in
                failing.add("load \(i)")
                if i == 1 { throw Unreadable() }
                return c.cases[i]
            }, keep: { m, i, _ in failing.add("keep \(m) \(i)") })
        }
        #expect(failing.events == ["load 0", "load 1", "keep 0 0", "keep 1 0"] || failing.events == ["load 0", "keep 0 0", "load 1", "keep 1 0"]
                || failing.events == ["load 0", "keep 0 0", "keep 1 0", "load 1"])
        #expect(throws: WeakSupervisionError.self) {
            try MethodComparison.run(methods: methods, caseCount: 0, loading: { c.cases[$0] })
        }
    }

    @Test("JSON keeps non-finite numbers as strings and reads back; the text table shows every row")
    func jsonAndText() throws {
        let c = Cases()
        let empty = c.mask([])
        var table = try MethodComparison.run(methods: [Stored(name: "empty", masks: ["pos": empty, "neg1": empty, "neg2": empty])],
                                             cases: c.cases)
        table.classification = Pipeline.classification(c.cases)
        let data = try table.jsonData()
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"inf\""))
        let back = try ComparisonTable.decode(data)
        #expect(back.rows[0].positive["medpy_hd95"]?.mean == .infinity)
        #expect(back.rows[0].falsePositiveVoxels == [0, 0])
        let shown = table.text()
        #expect(shown.contains("empty"))
        #expect(shown.contains("inf"))
        #expect(shown.contains("AUC 1.000"))    // positive slice 0.9, every negative slice 0.1 or 0.2
    }

    @Test("statistics: every row's intervals, detection and volume agreement; paired differences named by row; the outputs carry them")
    func statisticsInEveryOutput() throws {
        let c = Cases()
        let empty = c.mask([])
        let perfect = Stored(name: "perfect", masks: c.truth)
        let half = c.mask([c.shape.index(3, 3, 1), c.shape.index(4, 3, 1)])
        let halfway = Stored(name: "half, with a speck", masks: ["pos": half, "neg1": c.mask([c.shape.index(0, 0, 0)]), "neg2": empty])
        let table = try MethodComparison.run(methods: [perfect, halfway], cases: c.cases, tolerance: 1)
            .withStatistics(SegmentationStatistics.Settings(bootstrap: BootstrapSettings(resamples: 50)),
                            subtypes: ["pos": ["subdural"]], pairs: [("half, with a speck", "perfect"), ("missing row", "perfect")])
        let p = try #require(table["perfect"]?.statistics), h = try #require(table["half, with a speck"]?.statistics)
        #expect(p.intervals["dice"]?.estimate == 1 && h.intervals["dice"]?.estimate == 2.0 * 2 / 6)
        #expect(p.positiveCases == 1 && p.negativeCases == 2 && p.cleanNegativeCases == 2 && h.cleanNegativeCases == 1)
        // one bleed of 4 voxels of 2 mm³ = 0.008 mL, in the < 5 mL stratum; the half row covers 50 % of it
        #expect(p.diceByVolume.map(\.cases) == [1, 0, 0] && p.diceBySubtype.map(\.label) == ["subdural"])
        #expect(h.detection.lesions == 1 && h.detection.detected == 1 && h.detection.falsePositiveComponentsPerCase == 1.0 / 3)
        #expect(abs(h.volumeAgreement.meanDifference - (-0.004)) < 1e-12)
        #expect(abs((h.intervals["fp_ml"]?.estimate ?? 0) - 0.001) < 1e-12)   // one voxel on one of two negatives
        // the pair naming a missing row is skipped; the other is over the one positive case
        let d = try #require(table.comparisons?.first)
        #expect(table.comparisons?.count == 1 && d.wilcoxon.pairs == 1 && abs(d.difference.estimate - (2.0 / 3 - 1)) < 1e-12)
        let text = table.text()
        #expect(text.contains("half, with a speck − perfect: -0.333") && text.contains("1/1 (1.00)") && text.contains("subdural (n=1)"))
        #expect(table.csv().split(separator: "\n").count == 1 + 2 * 3)
        #expect(table.csv().contains("\"half, with a speck\",pos,1,"))   // a name with a comma is quoted
        let summary = table.summaryCSV()
        #expect(summary.split(separator: "\n").first?.hasPrefix("method,positive_cases,dice,dice_lower,dice_upper") == true)
        #expect(summary.contains("\"half, with a speck\",perfect,dice,"))
        let html = table.html(images: [.init(caption: "a <montage>", png: Data([0x89, 0x50, 0x4E, 0x47]))])
        #expect(html.contains("data:image/png;base64,iVBORw==") && html.contains("a &lt;montage&gt;") && html.components(separatedBy: "<svg").count == 1 + 1 + 1 + 2)
        let back = try ComparisonTable.decode(try table.jsonData())
        // NaN (a stratum without lesions) is not equal to itself: compare as text
        #expect("\(back.rows.map { $0.statistics?.detection })" == "\(table.rows.map { $0.statistics?.detection })")
        #expect(back.comparisons == table.comparisons)
    }

    @Test("with a lesion map, each label is one lesion in every output; a map that labels other voxels than the truth is refused")
    func lesionMapsDefineLesions() throws {
        var c = Cases()
        // the bleed's two rows as two lesions of one component
        var lesions = c.truth["pos"]!
        lesions.voxels[c.shape.index(3, 4, 1)] = 2
        lesions.voxels[c.shape.index(4, 4, 1)] = 2
        c.cases[0].lesions = lesions
        let half = c.mask([c.shape.index(3, 3, 1), c.shape.index(4, 3, 1)])
        let halfway = Stored(name: "half", masks: ["pos": half, "neg1": c.mask([]), "neg2": c.mask([])])
        let table = try MethodComparison.run(methods: [halfway], cases: c.cases, tolerance: 1)
            .withStatistics(SegmentationStatistics.Settings(bootstrap: BootstrapSettings(resamples: 20)))
        let d = try #require(table.rows[0].detections?[0])
        #expect(d.lesionSource == .labels && d.lesionFound == [true, false])
        #expect(table.rows[0].detections?[1].lesionSource == .components)
        let st = try #require(table.rows[0].statistics)
        #expect(st.detection.lesions == 2 && st.detection.detected == 1 && st.detection.casesWithLabelledLesions == 1)
        #expect(table.text().contains("one per label of the lesion map in 1 of 3 cases"))
        #expect(table.csv().contains(",2,1,0,labels\n") && table.summaryCSV().split(separator: "\n")[1].hasSuffix(",1"))
        // as components the same truth is one lesion, half covered
        var plain = c
        plain.cases[0].lesions = nil
        let asComponents = try MethodComparison.run(methods: [halfway], cases: plain.cases, tolerance: 1)
        #expect(asComponents.rows[0].detections?[0].lesionFound == [true])

        var wrong = lesions
        wrong.voxels[c.shape.index(0, 0, 0)] = 3
        c.cases[0].lesions = wrong
        #expect(throws: WeakSupervisionError.self) { try MethodComparison.run(methods: [halfway], cases: c.cases) }
    }

    @Test("rows sharing a refiner's inference give the masks each would alone; a different scan under the same name is segmented anew")
    func sharedInferenceIsExact() throws {
        let model = UNetLite(config: UNetLiteConfig(inputSize: 16, widths: [2, 4]), seed: 5)
        let shared = RefinerSegmenter(model: model, name: "raw", threshold: 0.01)
        let other = shared.sharingInference(as: "post")
        let alone = RefinerSegmenter(model: model, name: "alone", threshold: 0.01)
        #expect(other.name == "post" && shared.name == "raw")
        let geometry = Geometry(spacing: SIMD3(4, 4, 5)), shape = GridShape(16, 12, 2)
        func input(_ value: (Int) -> Float, inside: (Int) -> Bool) -> SegmentationCase {
            SegmentationCase(name: "same name", scan: ScanVolume(shape: shape, voxels: (0..<shape.count).map(value), geometry: geometry),
                             intracranial: MaskVolume(shape: shape, voxels: (0..<shape.count).map { inside($0) ? 1 : 0 }, geometry: geometry),
                             cam: nil, sliceProbabilities: nil)
        }
        // two cases under one name: other voxels, and an intracranial mask half the size
        let a = input({ Float(($0 * 37) % 200) - 50 }, inside: { _ in true })
        let b = input({ Float(($0 * 91) % 300) - 100 }, inside: { $0 % 16 < 8 })
        let first = try shared.segment(a)
        #expect(try alone.segment(b).voxels != first.voxels)   // so a stale memo would show
        #expect(try other.segment(a).voxels == first.voxels)
        #expect(try other.segment(b).voxels == alone.segment(b).voxels)
        #expect(try shared.segment(b).voxels == alone.segment(b).voxels)
        #expect(try alone.segment(a).voxels == first.voxels)
        // another threshold shares the probabilities: its mask is the one a network at that threshold makes
        let higher = shared.sharingInference(as: "support", threshold: 0.6)
        #expect(higher.threshold == 0.6 && higher.name == "support")
        let direct = try model.segment(a.scan, intracranial: a.intracranial, threshold: 0.6)
        _ = try shared.segment(a)
        #expect(try higher.segment(a).voxels == direct.mask.voxels)
        #expect(direct.mask.voxels != first.voxels)   // the two thresholds differ on this case
        #expect(try shared.refined(a).thresholded(at: 0.6).voxels == direct.mask.voxels)
    }

    @Test("a prediction on another grid and an empty case list are refused")
    func refusals() throws {
        let c = Cases()
        let wrong = MaskVolume(shape: GridShape(4, 4, 2), repeating: 0, geometry: c.geometry)
        let bad = Stored(name: "bad", masks: ["pos": wrong, "neg1": wrong, "neg2": wrong])
        #expect(throws: WeakSupervisionError.self) { try MethodComparison.run(methods: [bad], cases: c.cases) }
        #expect(throws: WeakSupervisionError.self) { try MethodComparison.run(methods: [bad], cases: []) }
    }

    @Test("threshold and feature specifications")
    func specifications() throws {
        #expect(try PipelineConfig.threshold("otsu") is OtsuThreshold)
        #expect(try PipelineConfig.threshold("p90") is PercentileThreshold)
        let fixed = try #require(try PipelineConfig.threshold("0.3") as? FixedThreshold)
        #expect(fixed.cutoff(for: [0, 1]) == 0.3)
        #expect(throws: WeakSupervisionError.self) { try PipelineConfig.threshold("median") }
        #expect(throws: WeakSupervisionError.self) { try PipelineConfig.threshold("p120") }
        #expect(throws: WeakSupervisionError.self) { try PipelineConfig.feature("gradient") }
        let config = PipelineConfig.full
        let back = try JSONDecoder().decode(PipelineConfig.self, from: JSONEncoder().encode(config))
        #expect(back == config)
        #expect(throws: WeakSupervisionError.self) {
            var c = PipelineConfig.quick
            c.cam.layer = "layer9"
            try c.validate()
        }
    }

    @Test("opening drops a one-pixel line and keeps a 4 x 4 square exactly; tissue restriction narrows the mask by HU")
    func openingAndTissue() throws {
        let w = 12, h = 10
        var image = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h { image[y * w + 1] = 1 }                      // a vertical line, 1 px wide
        for y in 3..<7 { for x in 5..<9 { image[y * w + x] = 1 } }   // a 4 x 4 square
        let opened = SliceOpening.open(image + image, width: w, height: h, slices: 2, iterations: 1)
        var square = [UInt8](repeating: 0, count: w * h)
        for y in 3..<7 { for x in 5..<9 { square[y * w + x] = 1 } }
        #expect(opened == square + square)

        let c = Cases()
        var scan = c.cases[0].input.scan
        scan.voxels[0] = 500                                          // bone-like voxel inside the mask
        let input = SegmentationCase(name: "t", scan: scan, intracranial: c.cases[0].input.intracranial)
        let region = TissueRestricted(base: try IntensityThresholdBaseline(), range: -100...150).region(input)
        #expect(region.voxels[0] == 0)
        #expect(region.voxels.dropFirst().allSatisfy { $0 == 1 })
    }

    @Test("component filter: the voxel count follows the spacing; a component of exactly the minimum stays")
    func componentFilter() throws {
        let c = Cases()   // voxels of 1 x 1 x 2 mm = 0.002 mL
        #expect(ComponentFiltered.minimumVoxels(0, geometry: c.geometry) == 0)
        #expect(ComponentFiltered.minimumVoxels(0.004, geometry: c.geometry) == 2)
        #expect(ComponentFiltered.minimumVoxels(0.0041, geometry: c.geometry) == 3)
        // a 2 x 2 x 2 blob (8 voxels, 0.016 mL; diagonal neighbours join it in 26-connectivity) and a lone voxel
        var blob: [Int] = []
        for k in 0..<2 { for (i, j) in [(2, 2), (3, 2), (2, 3), (3, 3)] { blob.append(c.shape.index(i, j, k)) } }
        let speck = c.shape.index(7, 0, 0)
        let mask = c.mask(blob + [speck])
        #expect((ComponentFiltered.filter(mask, minimumVolumeML: 0)).voxels == mask.voxels)
        #expect((ComponentFiltered.filter(mask, minimumVolumeML: 0.004)).voxels == c.mask(blob).voxels)
        #expect((ComponentFiltered.filter(mask, minimumVolumeML: 0.016)).voxels == c.mask(blob).voxels)
        #expect(ComponentFiltered.filter(mask, minimumVolumeML: 0.0161).voxels.allSatisfy { $0 == 0 })
        // 6-connectivity splits a diagonal pair that 26-connectivity joins
        let diagonal = c.mask([c.shape.index(5, 5, 0), c.shape.index(6, 6, 1)])
        #expect((ComponentFiltered.filter(diagonal, minimumVolumeML: 0.004)).voxels == diagonal.voxels)
        #expect(ComponentFiltered.filter(diagonal, minimumVolumeML: 0.004, connectivity: .six).voxels.allSatisfy { $0 == 0 })
        // as a wrapper: the base's name, the base's mask filtered
        let wrapped = ComponentFiltered(base: Stored(name: "noisy", masks: ["pos": mask]), minimumVolumeML: 0.004)
        #expect(wrapped.name == "noisy")
        #expect((try wrapped.segment(c.cases[0].input)).voxels == c.mask(blob).voxels)
    }

    @Test("component filter with a support: a small component touching the support's mask stays whole, an untouched one goes; the support adds no voxel")
    func supportedComponentFilter() throws {
        let c = Cases()   // voxels of 0.002 mL
        let i = { (x: Int, y: Int, z: Int) in c.shape.index(x, y, z) }
        // a 3-voxel lesion across both slices, a 2-voxel speck, a lone voxel; the filter's minimum is 4 voxels
        let lesion = [i(2, 2, 0), i(3, 2, 0), i(2, 2, 1)], speck = [i(6, 6, 0), i(6, 7, 0)], lone = [i(0, 7, 1)]
        let mask = c.mask(lesion + speck + lone)
        // the support touches one voxel of the lesion, and a voxel outside every component
        let support = c.mask([i(2, 2, 1), i(5, 0, 0)])
        let kept = ComponentFiltered.filter(mask, minimumVolumeML: 0.008, support: support)
        #expect(kept.voxels == c.mask(lesion).voxels)
        #expect(ComponentFiltered.filter(mask, minimumVolumeML: 0.008).voxels.allSatisfy { $0 == 0 })
        // at a volume every component reaches, the support changes nothing; an empty support is size alone
        #expect(ComponentFiltered.filter(mask, minimumVolumeML: 0.002, support: support).voxels == mask.voxels)
        #expect(ComponentFiltered.filter(mask, minimumVolumeML: 0.004, support: c.mask([])).voxels == c.mask(lesion + speck).voxels)
        // as a wrapper and through the modifier: the support is a segmenter run on the same case
        let base = Stored(name: "noisy", masks: ["pos": mask])
        let supported = base.filteringComponents(below: 0.008, support: Stored(name: "sure", masks: ["pos": support]))
        #expect(supported.name == "noisy")
        #expect(try supported.segment(c.cases[0].input).voxels == c.mask(lesion).voxels)
        // a support on another grid is refused, naming the case and the support
        let wrongGrid = MaskVolume(shape: GridShape(4, 4, 2), repeating: 1, geometry: c.geometry)
        let bad = base.filteringComponents(below: 0.008, support: Stored(name: "sure", masks: ["pos": wrongGrid]))
        #expect(throws: WeakSupervisionError.self) { try bad.segment(c.cases[0].input) }
        do { _ = try bad.segment(c.cases[0].input) } catch { #expect("\(error)".contains("pos") && "\(error)".contains("sure")) }
        // the classifier as the support: the intracranial voxels of the slices it is sure of
        // (case `pos`: 0.1 on slice 0, 0.9 on slice 1); a small component on slice 1 stays, one on slice 0 goes
        let classifierSure = ClosureSegmenter(name: "classifier ≥ 0.8") { $0.intracranial }.gated(at: 0.8)
        let specks = c.mask([i(1, 1, 0), i(5, 5, 1)])
        let byClassifier = Stored(name: "specks", masks: ["pos": specks]).filteringComponents(below: 0.004, support: classifierSure)
        #expect(try byClassifier.segment(c.cases[0].input).voxels == c.mask([i(5, 5, 1)]).voxels)
    }

    @Test("component size with supports: a supported small lesion counts as found at every candidate, so a larger volume clears the specks and keeps it")
    func supportedComponentSizeSelection() throws {
        let c = Cases()
        let i = { (x: Int, y: Int, z: Int) in c.shape.index(x, y, z) }
        // case 1 (positive slice 1): a 2-voxel lesion; case 2 (negative): a 3-voxel speck
        let masks = [c.mask([i(2, 2, 1), i(3, 2, 1)]), c.mask([i(6, 6, 0), i(7, 6, 0), i(6, 7, 0)])]
        let labels = [[false, true], [false, false]]
        let candidates = [0, 0.01]
        // by size alone, 0.01 loses the lesion as it clears the speck
        let (alone, scoredAlone) = ComponentSizeSelection.select(masks: masks, sliceLabels: labels, candidates: candidates, criterion: .slicesAndCases)
        #expect(scoredAlone[1].sensitivity == 0 && scoredAlone[1].caseSensitivity == 0)
        // the network is sure of the lesion (its support touches it), not of the speck
        let supports = [c.mask([i(2, 2, 1)]), c.mask([])]
        let (chosen, scored) = ComponentSizeSelection.select(masks: masks, sliceLabels: labels, candidates: candidates,
                                                             criterion: .slicesAndCases, supports: supports)
        #expect(scored[1].sensitivity == 1 && scored[1].specificity == 1 && scored[1].caseYouden == 1)
        #expect(chosen == 0.01)
        // what the selection counted is what the filter keeps
        #expect(ComponentFiltered.filter(masks[0], minimumVolumeML: chosen, support: supports[0]).voxels == masks[0].voxels)
        #expect(ComponentFiltered.filter(masks[1], minimumVolumeML: chosen, support: supports[1]).voxels.allSatisfy { $0 == 0 })
        #expect(alone == 0)   // 0: slices J 1 + 2/3 − 1, cases 1 + 0 − 1; 0.01: slices 0 + 1 − 1, cases 0 + 1 − 1
    }

    @Test("classifier gate: slices called negative are emptied, positive ones keep every voxel; the boundary probability keeps; no probabilities is refused")
    func classifierGate() throws {
        let c = Cases()   // probabilities: slice 0 → 0.1, slice 1 → 0.9 on `pos`, 0.2 on the negatives
        let i = { (x: Int, y: Int, z: Int) in c.shape.index(x, y, z) }
        let lower = [i(1, 1, 0), i(5, 6, 0)], upper = [i(3, 3, 1), i(4, 3, 1), i(0, 7, 1)]
        let mask = c.mask(lower + upper)
        let gated = ClassifierGated(base: Stored(name: "noisy", masks: ["pos": mask, "neg1": mask]))
        #expect(gated.name == "noisy")
        #expect(try gated.segment(c.cases[0].input).voxels == c.mask(upper).voxels)
        #expect(try gated.segment(c.cases[1].input).voxels.allSatisfy { $0 == 0 })
        // the gate's value decides: at 0.1 both slices of `pos` keep their voxels, at 0.95 neither does
        #expect(try ClassifierGated(base: gated.base, positiveAt: 0.1).segment(c.cases[0].input).voxels == mask.voxels)
        #expect(try ClassifierGated(base: gated.base, positiveAt: 0.95).segment(c.cases[0].input).voxels.allSatisfy { $0 == 0 })
        // values above 1 in the base mask come out as 1
        var two = mask
        for v in upper { two.voxels[v] = 2 }
        #expect(ClassifierGated.gate(two, probabilities: [0, 1], positiveAt: 0.5).voxels == c.mask(upper).voxels)
        // a case without probabilities is refused, naming the case
        var bare = c.cases[0].input
        bare.sliceProbabilities = nil
        #expect { try gated.segment(bare) } throws: { "\($0)".contains("case pos") && "\($0)".contains("probabilities") }
        // a base mask on another grid is refused naming the case, not a crash
        let wrongGrid = MaskVolume(shape: GridShape(8, 8, 3), repeating: 0, geometry: c.geometry)
        #expect { try ClassifierGated(base: Stored(name: "bad", masks: ["pos": wrongGrid])).segment(c.cases[0].input) }
            throws: { "\($0)".contains("pos") && "\($0)".contains("bad") }
    }

    @Test("modifiers build the wrappers in reading order: gated, then small components dropped, then grown; named renames only")
    func modifiers() throws {
        let c = Cases()   // `pos`: slice 0 probability 0.1, slice 1 0.9
        let i = { (x: Int, y: Int, z: Int) in c.shape.index(x, y, z) }
        // slice 0: a voxel the gate removes; slice 1: a 2-voxel blob and a lone voxel far away
        let mask = c.mask([i(1, 1, 0), i(3, 3, 1), i(4, 3, 1), i(7, 7, 1)])
        let base = Stored(name: "noisy", masks: ["pos": mask])
        let settings = IntensityGrowth.Settings(range: -1000...1000, distanceMM: 1)
        let chain = try base.gated(at: 0.5).filteringComponents(below: 0.003).grown(settings).named("chain")
        #expect(chain.name == "chain")
        let manual = try IntensityGrowth(base: ComponentFiltered(base: ClassifierGated(base: base, positiveAt: 0.5), minimumVolumeML: 0.003),
                                         settings: settings)
        let input = c.cases[0].input
        let out = try chain.segment(input)
        #expect(out.voxels == (try manual.segment(input)).voxels)
        // each step changed something: the gate emptied slice 0, the filter dropped the lone
        // voxel (2 mm^3 < 3 mm^3), the growth added neighbours of the blob inside the head
        #expect(out.voxels[i(1, 1, 0)] == 0 && out.voxels[i(7, 7, 1)] == 0)
        #expect(out.voxels.reduce(0) { $0 + Int($1) } > 2 && out.voxels[i(3, 3, 1)] == 1)
        // no components dropped below a volume of 0: the same segmenter back
        #expect(base.filteringComponents(below: 0) is Stored)
        // a closure is a segmenter too
        let closure = ClosureSegmenter(name: "fixed") { _ in mask }
        #expect(try closure.gated(at: 0.5).segment(input).voxels == (try base.gated(at: 0.5).segment(input)).voxels)
    }

    @Test("intensity growth: a seed grows into the L1 diamond of radius steps (2r² + 2r + 1 voxels), clipped at the edges of a non-square slice; an out-of-range wall stops it; no slice or empty mask gains a voxel")
    func intensityGrowthGeometry() throws {
        let geometry = Geometry(spacing: SIMD3(1, 1, 5))
        let shape = GridShape(15, 9, 3)
        let blood = ScanVolume(shape: shape, repeating: 70, geometry: geometry)
        func seeded(_ points: [(Int, Int, Int)]) -> MaskVolume {
            var m = MaskVolume(shape: shape, repeating: 0, geometry: geometry)
            for (x, y, z) in points { m.voxels[shape.index(x, y, z)] = 1 }
            return m
        }
        func count(_ m: MaskVolume) -> Int { m.voxels.reduce(0) { $0 + Int($1) } }
        // in the middle slice: a seed at (7, 4) grows into the full diamond up to r = 4 (the
        // slice is 9 high); a seed at the corner (14, 8) into the diamond's quarter, never
        // wrapping into the next row or slice
        for r in 0...4 {
            let grown = IntensityGrowth.grow(seeded([(7, 4, 1)]), scan: blood, range: 50...90, steps: r)
            #expect(count(grown) == 2 * r * r + 2 * r + 1, "steps \(r)")
            let corner = IntensityGrowth.grow(seeded([(14, 8, 1)]), scan: blood, range: 50...90, steps: r)
            #expect(count(corner) == (r + 1) * (r + 2) / 2, "corner, steps \(r)")
            for z in 0..<3 { for y in 0..<9 { for x in 0..<15 {
                let v = shape.index(x, y, z)
                #expect(grown.voxels[v] == (z == 1 && abs(x - 7) + abs(y - 4) <= r ? 1 : 0), "steps \(r) at \(x), \(y), \(z)")
                #expect(corner.voxels[v] == (z == 1 && (14 - x) + (8 - y) <= r ? 1 : 0), "corner, steps \(r) at \(x), \(y), \(z)")
            } } }
        }
        let seed = seeded([(7, 4, 0)])
        // the bounds are inclusive; 49.9, 90.1 and NaN never join
        for (hu, joins) in [(50, true), (90, true), (49.9, false), (90.1, false), (Float.nan, false)] as [(Float, Bool)] {
            var scan = blood
            scan.voxels[shape.index(8, 4, 0)] = hu
            let grown = IntensityGrowth.grow(seed, scan: scan, range: 50...90, steps: 1)
            #expect((grown.voxels[shape.index(8, 4, 0)] == 1) == joins, "HU \(hu)")
        }
        // a wall of bone at x = 9 with a gap at y = 0: (10, 4), three voxels from the seed in a
        // straight line, joins only after as many steps as the path through the gap is long,
        // and no bone voxel ever joins
        var walled = blood
        for y in 1..<9 { walled.voxels[shape.index(9, y, 0)] = 400 }
        func reaches(_ steps: Int) -> Bool {
            IntensityGrowth.grow(seed, scan: walled, range: 50...90, steps: steps).voxels[shape.index(10, 4, 0)] == 1
        }
        let path = 4 + 3 + 4   // up to y = 0, across the gap, down to y = 4
        #expect(!reaches(path - 1))
        #expect(reaches(path))
        #expect(IntensityGrowth.grow(seed, scan: walled, range: 50...90, steps: 30).voxels
                    .enumerated().allSatisfy { i, v in v == 0 || walled.voxels[i] != 400 })
        // outside `within` (the column x = 5) nothing joins; the mask's own voxels stay even
        // outside `within` or the range, and grow from there
        var within = MaskVolume(shape: shape, repeating: 1, geometry: geometry)
        for y in 0..<9 { within.voxels[shape.index(5, y, 0)] = 0 }
        var cold = walled
        cold.voxels[shape.index(7, 4, 0)] = -1000
        let held = IntensityGrowth.grow(seeded([(7, 4, 0), (5, 4, 0)]), scan: cold, within: within, range: 50...90, steps: 30)
        #expect(held.voxels[shape.index(7, 4, 0)] == 1 && held.voxels[shape.index(5, 4, 0)] == 1)
        #expect(held.voxels[shape.index(6, 4, 0)] == 1 && held.voxels[shape.index(5, 3, 0)] == 0)
        #expect(held.voxels[shape.index(4, 4, 0)] == 1)   // the seed at x = 5 grows to its left
        #expect(held.voxels[shape.index(8, 4, 0)] == 1)   // and the cold seed at x = 7 to its right
        let lone = IntensityGrowth.grow(seeded([(7, 4, 0)]), scan: cold, within: within, range: 50...90, steps: 1)
        #expect(count(lone) == 5)                          // a seed outside the range grows like any other
        // an empty mask stays empty; values above 1 come out as 1
        let empty = MaskVolume(shape: shape, repeating: 0, geometry: geometry)
        #expect(IntensityGrowth.grow(empty, scan: blood, range: 50...90, steps: 5).voxels.allSatisfy { $0 == 0 })
        var two = seed
        two.voxels[shape.index(7, 4, 0)] = 2
        #expect(IntensityGrowth.grow(two, scan: blood, range: 50...90, steps: 0).voxels == seed.voxels)
    }

    @Test("intensity growth as a wrapper: mm become steps of the scan's spacing; the base's name; grown inside the case's intracranial mask; bad settings, also set after init, and a mask on another grid are refused")
    func intensityGrowthWrapper() throws {
        // mm to steps: the smaller in-plane spacing, rounded
        let settings = IntensityGrowth.Settings(distanceMM: 2)
        #expect(settings.steps(on: Geometry(spacing: SIMD3(0.96244794, 0.96244794, 5))) == 2)   // one full-demo case's grid (their spacing varies, 0.80 to 0.98 mm)
        #expect(settings.steps(on: Geometry(spacing: SIMD3(0.45, 0.45, 5))) == 4)
        #expect(settings.steps(on: Geometry(spacing: SIMD3(0.5, 1.5, 5))) == 4)
        #expect(IntensityGrowth.Settings(distanceMM: 4).steps(on: Geometry(spacing: SIMD3(1.9248959, 1.9248959, 5))) == 2)   // quick
        #expect(IntensityGrowth.Settings(distanceMM: 0).steps(on: Geometry(spacing: SIMD3(1, 1, 1))) == 0)

        let c = Cases()   // scans of 30 HU everywhere, intracranial everywhere, 1 x 1 x 2 mm
        var input = c.cases[0].input
        for x in 0..<8 { input.scan.voxels[c.shape.index(x, 3, 1)] = 60 }   // a row of blood through the bleed
        input.intracranial.voxels[c.shape.index(7, 3, 1)] = 0
        let bleed = [(3, 3), (4, 3), (3, 4), (4, 4)].map { c.shape.index($0.0, $0.1, 1) }
        var grown = try IntensityGrowth(base: Stored(name: "refiner", masks: ["pos": c.mask(bleed)]),
                                        settings: .init(range: 50...90, distanceMM: 3))
        #expect(grown.name == "refiner")
        let expected = c.mask(bleed + [0, 1, 2, 5, 6].map { c.shape.index($0, 3, 1) })   // (7, 3) is outside the mask; 30 HU never joins
        #expect(try grown.segment(input).voxels == expected.voxels)
        #expect(try IntensityGrowth(base: grown.base, settings: .init(distanceMM: 0)).segment(input).voxels == c.mask(bleed).voxels)
        #expect(throws: WeakSupervisionError.self) { try IntensityGrowth(base: grown.base, settings: .init(distanceMM: -1)) }
        #expect(throws: WeakSupervisionError.self) { try IntensityGrowth(base: grown.base, settings: .init(distanceMM: .nan)) }
        #expect(throws: WeakSupervisionError.self) { try IntensityGrowth(base: grown.base, settings: .init(range: 50...Double.infinity)) }
        for bad in [IntensityGrowth.Settings(distanceMM: -1), .init(distanceMM: .nan), .init(range: -Double.infinity...90)] {
            grown.settings = bad   // set after init: refused when it runs, not a crash
            #expect(throws: WeakSupervisionError.self, "\(bad)") { try grown.segment(input) }
        }
        // a huge distance is capped, not an overflow
        #expect(IntensityGrowth.Settings(distanceMM: 1e300).steps(on: c.geometry) == IntensityGrowth.Settings.maximumSteps)
        let wrongGrid = MaskVolume(shape: GridShape(8, 8, 3), repeating: 0, geometry: c.geometry)
        #expect { try IntensityGrowth(base: Stored(name: "bad", masks: ["pos": wrongGrid])).segment(input) }
            throws: { "\($0)".contains("pos") && "\($0)".contains("bad") }
    }

    @Test("component size by slices, by cases or by both: the slice-level J keeps a small lesion, the case-level J clears a negative scan")
    func componentSizeCriteria() throws {
        let c = Cases()
        let i = { (x: Int, y: Int, z: Int) in c.shape.index(x, y, z) }
        // A (positive slices 0 and 1): a 4-voxel lesion (0.008 mL) across both slices.
        // B (positive slice 1): a 6-voxel lesion (0.012 mL). C (negative): a 3-voxel speck (0.006 mL).
        let a = c.mask([i(2, 2, 0), i(3, 2, 0), i(2, 2, 1), i(3, 2, 1)])
        let b = c.mask([i(2, 2, 1), i(3, 2, 1), i(2, 3, 1), i(3, 3, 1), i(4, 2, 1), i(4, 3, 1)])
        let cc = c.mask([i(6, 6, 0), i(7, 6, 0), i(6, 7, 0)])
        let labels = [[true, true], [false, true], [false, false]]
        func pick(_ criterion: ComponentSizeSelection.Criterion) -> (Double, [ComponentSizeSelection.Candidate]) {
            ComponentSizeSelection.select(masks: [a, b, cc], sliceLabels: labels, candidates: [0.004, 0.01], criterion: criterion)
        }
        // 0.004: every lesion slice found, C's speck left: slices J 1 + 2/3 − 1, cases J 1 + 0 − 1.
        // 0.01: A's lesion lost, C clean: slices J 1/3 + 1 − 1, cases J 1/2 + 1 − 1.
        let (bySlices, scored) = pick(.slices)
        #expect(abs(scored[0].youden - 2.0 / 3) < 1e-12 && abs(scored[1].youden - 1.0 / 3) < 1e-12)
        #expect(scored[0].caseYouden == 0 && scored[1].caseYouden == 0.5)
        #expect(bySlices == 0.004)
        #expect(pick(.cases).0 == 0.01)
        #expect(pick(.slicesAndCases).0 == 0.01)   // 2/3 + 0 against 1/3 + 1/2
        #expect(abs(scored[1].score(.slicesAndCases) - 5.0 / 6) < 1e-12 && abs(scored[0].score(.slicesAndCases) - 2.0 / 3) < 1e-12)
        #expect(scored[0].score(.cases) == 0 && scored[1].score(.cases) == 0.5)
    }

    @Test("component size chosen from slice labels: specks on negative slices cleared, the true lesion kept")
    func componentSizeSelection() throws {
        let c = Cases()
        var blob: [Int] = []
        for (i, j) in [(2, 2), (3, 2), (2, 3), (3, 3)] { blob.append(c.shape.index(i, j, 1)) }   // 4 voxels, 0.008 mL
        // case 1: lesion on slice 1 (labelled), a speck on slice 0 (negative); case 2: a speck, no lesion
        let masks = [c.mask(blob + [c.shape.index(7, 7, 0)]), c.mask([c.shape.index(0, 0, 1)])]
        let labels = [[false, true], [false, false]]
        let (chosen, scored) = ComponentSizeSelection.select(masks: masks, sliceLabels: labels, candidates: [0.1, 0, 0.004, 0.006])
        #expect(scored.map(\.minimumVolumeML) == [0, 0.004, 0.006, 0.1])
        // 0: sensitivity 1, specificity 1/3 · 0.004 and 0.006: 1 and 1 (tie) · 0.1: 0 and 1
        #expect(scored.map(\.sensitivity) == [1, 1, 1, 0])
        #expect(abs(scored[0].specificity - 1.0 / 3) < 1e-12)
        #expect(scored[1].youden == 1 && scored[3].youden == 0)
        #expect(chosen == 0.004)   // no tolerance: the best, the smallest on exact ties (the rule of older runs)
        #expect(ComponentSizeSelection.select(masks: masks, sliceLabels: labels, candidates: [0.1, 0, 0.004, 0.006], tolerance: 0).minimumVolumeML == 0.006)
        // every candidate scoring the same (nothing predicted): nothing tells them apart, keep everything
        let empty = [c.mask([]), c.mask([])]
        #expect(ComponentSizeSelection.select(masks: empty, sliceLabels: labels, candidates: [0, 0.5, 1], tolerance: 0.01).minimumVolumeML == 0)
        // a tolerance counts J within it as tied and takes the largest volume: 0.1 (J 0) ties with
        // the best (J 1) only at tolerance 1; between 0 (J 1/3) and 0.1, a tolerance of 0.3 keeps 0
        // and 0.4 takes 0.1
        let all4 = [0, 0.004, 0.006, 0.1]
        #expect(ComponentSizeSelection.select(masks: masks, sliceLabels: labels, candidates: all4, tolerance: 0.99).minimumVolumeML == 0.006)
        #expect(ComponentSizeSelection.select(masks: masks, sliceLabels: labels, candidates: all4, tolerance: 1).minimumVolumeML == 0.1)
        #expect(ComponentSizeSelection.select(masks: masks, sliceLabels: labels, candidates: [0, 0.1], tolerance: 0.3).minimumVolumeML == 0)
        #expect(ComponentSizeSelection.select(masks: masks, sliceLabels: labels, candidates: [0, 0.1], tolerance: 0.4).minimumVolumeML == 0.1)
        // case level: case 1 (positive) keeps its lesion up to 0.006 mL; case 2's speck goes at 0.004
        #expect(scored.map(\.caseSensitivity) == [1, 1, 1, 0] && scored.map(\.caseSpecificity) == [0, 1, 1, 1])
        #expect(scored.map(\.caseYouden) == [0, 1, 1, 0])
        // no negative slice at all: specificity NaN, counted as 0; nothing to clear, so 0 wins
        let (none, all) = ComponentSizeSelection.select(masks: [c.mask(blob)], sliceLabels: [[true, true]], candidates: [0, 0.1])
        #expect(none == 0)
        #expect(all[0].specificity.isNaN && all[0].sensitivity == 0.5)
    }

    @Test("a case on slabs: masks and slice calls go back to the truth's slices and score as masks made there")
    func slabCases() throws {
        let thinGeometry = Geometry(spacing: SIMD3(1, 1, 0.5)), thin = GridShape(8, 8, 5)
        let slabs = SliceSlabs(sliceCount: 5, factor: 2)   // slabs of slices 0-1, 2-3 and 4
        var truth = MaskVolume(shape: thin, repeating: 0, geometry: thinGeometry)
        for k in 1...3 { for (i, j) in [(3, 3), (4, 3), (3, 4)] { truth.voxels[thin.index(i, j, k)] = 1 } }
        let scan = slabs.average(ScanVolume(shape: thin, repeating: 30, geometry: thinGeometry))
        #expect(scan.shape == GridShape(8, 8, 3) && scan.geometry.spacing.z == 1)
        let input = SegmentationCase(name: "pos", scan: scan, intracranial: MaskVolume(shape: scan.shape, repeating: 1, geometry: scan.geometry),
                                     cam: nil, sliceProbabilities: [0.2, 0.9, 0.4])
        let onSlabs = ComparisonCase(input: input, truth: truth, slabs: slabs)
        try onSlabs.validate()
        // the slab mask: a 2 x 2 square in slab 1 (slices 2 and 3) and a stray voxel in slab 2 (slice 4)
        var coarse = MaskVolume(shape: scan.shape, repeating: 0, geometry: scan.geometry)
        for (i, j) in [(3, 3), (4, 3), (3, 4), (4, 4)] { coarse.voxels[scan.shape.index(i, j, 1)] = 1 }
        coarse.voxels[scan.shape.index(0, 0, 2)] = 1
        let fine = slabs.expand(coarse, geometry: thinGeometry)
        var kept: [MaskVolume] = []
        let table = try MethodComparison.run(methods: [Stored(name: "m", masks: ["pos": coarse])], cases: [onSlabs], tolerance: 1,
                                             keep: { _, _, m in kept.append(m) })
        #expect(kept.count == 1 && kept[0].shape == thin && kept[0].voxels == fine.voxels)
        // the same mask made on the truth's own grid scores the same, every metric
        let onSlices = ComparisonCase(input: SegmentationCase(name: "pos", scan: ScanVolume(shape: thin, repeating: 30, geometry: thinGeometry),
                                                              intracranial: MaskVolume(shape: thin, repeating: 1, geometry: thinGeometry)),
                                      truth: truth)
        let direct = try MethodComparison.run(methods: [Stored(name: "m", masks: ["pos": fine])], cases: [onSlices], tolerance: 1)
        let a = try #require(table["m"]?.cases.first?.scores), b = try #require(direct["m"]?.cases.first?.scores)
        #expect(a.dice == b.dice && a.dice == 2.0 * 6 / (9 + 9))   // 9 true voxels, 9 called (4 + 4 + 1), 6 shared (3 in slices 2 and 3)
        #expect(a.counts == b.counts && a.predictionVolumeML == b.predictionVolumeML && a.medpyHD95 == b.medpyHD95 && a.medpyASSD == b.medpyASSD)
        // one call per slice of the truth, each its slab's
        #expect(onSlabs.sliceProbabilitiesOnTruthGrid == [0.2, 0.2, 0.9, 0.9, 0.4])
        let calls = try #require(Pipeline.classification([onSlabs]))
        #expect(calls.counts.truePositives == 2 && calls.counts.falseNegatives == 1 && calls.counts.trueNegatives == 2)
        // a truth not on the slabs' slices is refused, naming the case
        let wrong = ComparisonCase(input: input, truth: MaskVolume(shape: GridShape(8, 8, 6), repeating: 0, geometry: thinGeometry), slabs: slabs)
        #expect(throws: WeakSupervisionError.self) { try wrong.validate() }
        let tooFew = ComparisonCase(input: input, truth: truth, slabs: SliceSlabs(sliceCount: 5, factor: 1))
        #expect(throws: WeakSupervisionError.self) { try tooFew.validate() }
        // the presets' rule, from their training phantom's thicknesses: under 2.5 mm into 5 mm
        #expect(PipelineConfig.full.comparison.thinSlices == (try SlabRule(thinnerThanMM: 2.5, slabMM: 5)))
        #expect(PipelineConfig.quick.comparison.thinSlices == PipelineConfig.full.comparison.thinSlices)
        #expect(PipelineConfig().comparison.thinSlices == nil)
    }

    @Test("a case seen through a window (and on slabs): masks go back to the whole slices and score as masks made there")
    func framedCases() throws {
        let g = Geometry(spacing: SIMD3(0.5, 0.5, 1)), whole = GridShape(12, 10, 4)
        let slabs = SliceSlabs(sliceCount: 4, factor: 2)
        // a 6 x 6 window from row 2, column 7: its last two columns lie past the slice
        let frame = HeadFrame(height: 10, width: 12, top: 2, left: 7, rows: 6, columns: 6)
        var truth = MaskVolume(shape: whole, repeating: 0, geometry: g)
        for k in 0..<4 { for (i, j) in [(8, 4), (9, 4), (8, 5)] { truth.voxels[whole.index(i, j, k)] = 1 } }
        let scan = frame.apply(slabs.average(ScanVolume(shape: whole, repeating: 30, geometry: g)), fill: Preprocessing.air)
        #expect(scan.shape == GridShape(6, 6, 2))
        let input = SegmentationCase(name: "pos", scan: scan, intracranial: MaskVolume(shape: scan.shape, repeating: 1, geometry: scan.geometry))
        let framed = ComparisonCase(input: input, truth: truth, slabs: slabs, frame: frame)
        try framed.validate()
        // window voxel (1, 2) is slice voxel (8, 4); (5, 0) lies past the slice and is dropped
        var called = MaskVolume(shape: scan.shape, repeating: 0, geometry: scan.geometry)
        for k in 0..<2 { called.voxels[scan.shape.index(1, 2, k)] = 1; called.voxels[scan.shape.index(2, 2, k)] = 1; called.voxels[scan.shape.index(5, 0, k)] = 1 }
        var expected = MaskVolume(shape: whole, repeating: 0, geometry: g)
        for k in 0..<4 { expected.voxels[whole.index(8, 4, k)] = 1; expected.voxels[whole.index(9, 4, k)] = 1 }
        var kept: [MaskVolume] = []
        let table = try MethodComparison.run(methods: [Stored(name: "m", masks: ["pos": called])], cases: [framed], tolerance: 1,
                                             keep: { _, _, m in kept.append(m) })
        #expect(kept.count == 1 && kept[0].shape == whole && kept[0].voxels == expected.voxels && kept[0].geometry == g)
        let onSlices = ComparisonCase(input: SegmentationCase(name: "pos", scan: ScanVolume(shape: whole, repeating: 30, geometry: g),
                                                              intracranial: MaskVolume(shape: whole, repeating: 1, geometry: g)), truth: truth)
        let direct = try MethodComparison.run(methods: [Stored(name: "m", masks: ["pos": expected])], cases: [onSlices], tolerance: 1)
        let a = try #require(table["m"]?.cases.first?.scores), b = try #require(direct["m"]?.cases.first?.scores)
        #expect(a.dice == b.dice && a.dice == 2.0 * 8 / (12 + 8))
        #expect(a.counts == b.counts && a.predictionVolumeML == b.predictionVolumeML && a.medpyHD95 == b.medpyHD95)
        // an input that is not the window, or a truth that is not the whole slice, is refused
        let notWindow = ComparisonCase(input: input, truth: truth, slabs: slabs, frame: HeadFrame(height: 10, width: 12, top: 2, left: 7, rows: 5, columns: 6))
        #expect(throws: WeakSupervisionError.self) { try notWindow.validate() }
        let wrongTruth = ComparisonCase(input: input, truth: MaskVolume(shape: GridShape(10, 12, 4), repeating: 0, geometry: g), slabs: slabs, frame: frame)
        #expect(throws: WeakSupervisionError.self) { try wrongTruth.validate() }
        // the presets' rule: their training phantoms' spans, 152/256 to 254/256
        #expect(PipelineConfig.full.comparison.headSpans == (try HeadSpanRule(least: 0.59375, most: 0.9921875)))
        #expect(PipelineConfig.quick.comparison.headSpans == PipelineConfig.full.comparison.headSpans)
        #expect(PipelineConfig().comparison.headSpans == nil)
    }
}
