import CTVolume
import ImageCore
import Foundation
import Metrics
import NeuralCore

extension Pipeline {
    /// Name of the full-pipeline row (UNetLite trained on pseudo-masks).
    public static let pipelineRow = "full pipeline (UNetLite on pseudo-masks)"
    /// Name of the classifier-gated pipeline row (``PipelineConfig/RefinerSettings/classifierGate``).
    public static let gatedPipelineRow = "full pipeline, gated by the classifier"
    /// Name of the upper-bound row (UNetLite trained on true masks, same budget).
    public static let upperBoundRow = "upper bound (UNetLite on true masks)"
    /// The pipeline's refiner with no post-processing at all (no component filter, no growth):
    /// the paper's test-time model as it is.
    public static let rawPipelineRow = "full pipeline, no post-processing"
    /// The upper bound with no post-processing.
    public static let rawUpperBoundRow = "upper bound, no post-processing"
    /// The upper bound gated by the classifier, post-processed as the gated pipeline row.
    public static let gatedUpperBoundRow = "upper bound, gated by the classifier"
    /// Name of the pseudo-mask row (``PseudoMaskBuilder`` through the run's settings).
    public static let pseudoMasksRow = "pseudo-masks (CAM and k-means)"

    /// The rows of Docs/method.md#6-the-comparison built from this run's saved artefacts and configuration:
    /// threshold 50..90 HU · k-means alone · CAM alone · pseudo-masks · full pipeline · full
    /// pipeline gated by the classifier (with a ``PipelineConfig/RefinerSettings/classifierGate``) · upper bound
    /// (when its stage has finished: a run stopped before it, ``run(from:through:observer:)``,
    /// can still be compared on validation cases). The k-means, CAM and pseudo-mask rows use the run's ``PipelineConfig/pseudoMasks``
    /// (k-means and pseudo-masks inside its soft-tissue range, the CAM alone inside the whole intracranial mask).
    public func methods() throws -> [any Segmenter] {
        try rows().map(\.method)
    }

    /// ``methods()`` with the short name of each row (its folder under `comparison/masks/` and
    /// its key in the comparison stage's summary).
    func rows() throws -> [(slug: String, method: any Segmenter)] {
        let builder = try config.pseudoMasks.builder()
        var rows: [(slug: String, method: any Segmenter)] = [
            ("threshold", try IntensityThresholdBaseline()),
            ("kmeans", try config.pseudoMasks.kmeansSegmenter()),
            ("cam", CAMBaseline(threshold: builder.threshold, positiveAt: builder.positiveAt)),
            ("pseudo-masks", try config.pseudoMasks.segmenter()),
        ]
        // one network per refiner stage, its inference shared by the raw, post-processed and
        // gated rows (each case is segmented once, then wrapped three ways); one bone depth per
        // case, shared by the post-processed rows
        let rim = BoneDepthMemo()
        let refiner = try refinerNetwork(.refiner, name: Self.rawPipelineRow)
        rows.append(("pipeline-raw", refiner))
        rows.append(("pipeline", try refinerRow(.refiner, name: Self.pipelineRow, network: refiner, rim: rim)))
        if let gate = config.refiner.classifierGate {
            rows.append(("pipeline-gated", try refinerRow(.refiner, name: Self.gatedPipelineRow, gate: gate, network: refiner, rim: rim)))
        }
        if hasUpperBound {
            let upper = try refinerNetwork(.upperBound, name: Self.rawUpperBoundRow)
            rows.append(("upper-bound-raw", upper))
            rows.append(("upper-bound", try refinerRow(.upperBound, name: Self.upperBoundRow, network: upper, rim: rim)))
            if let gate = config.refiner.classifierGate {
                rows.append(("upper-bound-gated", try refinerRow(.upperBound, name: Self.gatedUpperBoundRow, gate: gate, network: upper, rim: rim)))
            }
        }
        return rows
    }

    /// The network files of a refiner stage: `refiner.safetensors` in its folder and, with
    /// ``PipelineConfig/RefinerSettings/members`` above 1, each further member's
    /// (``RefinerStage/memberFolder(_:member:)``), in member order.
    public func refinerNetworkFiles(_ stage: PipelineStage) -> [URL] {
        (1...config.refiner.members).map { RefinerStage.memberFolder(folder(stage), member: $0).appendingPathComponent("refiner.safetensors") }
    }

    /// The raw row of a refiner stage: its network, or the ensemble of its members' networks
    /// (``refinerNetworkFiles(_:)``), named `name`.
    /// - Throws: a member's file missing or unreadable (the error names it).
    public func refinerNetwork(_ stage: PipelineStage, name: String) throws -> RefinerSegmenter {
        try RefinerSegmenter(contentsOf: refinerNetworkFiles(stage), name: name)
    }

    /// A refiner row: the stage's network (``refinerNetwork(_:name:)``), gated by the classifier when `gate` is given
    /// (``ClassifierGated``), then its small components dropped when the stage chose a minimum
    /// volume on the validation cases (``minimumComponentVolume(_:gated:)``), those where the
    /// network's probability reaches the support threshold that choice was made with kept
    /// (``ComponentSelectionRecord/supportThreshold``, from
    /// ``PipelineConfig/ComponentSizeSettings/supportThreshold``), then grown into the
    /// blood range with the configuration's ``PipelineConfig/ComparisonSettings/growth`` (``IntensityGrowth``), then
    /// its components in the bone rim dropped with ``PipelineConfig/ComparisonSettings/boneRim`` (``BoneRimFiltered``),
    /// then those not denser than their surroundings with ``PipelineConfig/ComparisonSettings/contrast`` (``ContrastFiltered``).
    /// `rim`, when given, holds the bone depth of a case that rows share.
    func refinerRow(_ stage: PipelineStage, name: String, gate: Float? = nil, network: RefinerSegmenter? = nil,
                    rim: BoneDepthMemo? = nil) throws -> any Segmenter {
        let refiner = try network?.sharingInference(as: name)
            ?? refinerNetwork(stage, name: name)
        let base: any Segmenter = gate.map { refiner.gated(at: $0) } ?? refiner
        // the record's threshold, not the configuration's: the volume was chosen with it
        let record = try componentSelection(stage, gated: gate != nil)
        let support = record?.supportThreshold.map { refiner.sharingInference(as: "\(name) support", threshold: $0) }
        let filtered = base.filteringComponents(below: record?.minimumVolumeML ?? 0, support: support)
        // every step after the component filter comes from this one value: with later
        // self-training rounds it makes their targets, and it enters the refiner's key whole
        let post = config.comparison.postProcessing
        let grown = try post.growth.map { try filtered.grown($0) } ?? filtered
        let rimmed = try post.boneRim.map { try BoneRimFiltered(base: grown, settings: $0, sharing: rim ?? BoneDepthMemo()) as any Segmenter } ?? grown
        return try post.contrast.map { try ContrastFiltered(base: rimmed, settings: $0) } ?? rimmed
    }

    /// The short names of the table's rows, in order (the folders under `comparison/masks/`):
    /// `threshold`, `kmeans`, `cam`, `pseudo-masks`, `pipeline-raw`, `pipeline`, `pipeline-gated`
    /// (with a gate), `upper-bound-raw`, `upper-bound`, `upper-bound-gated` (with an upper bound
    /// whose stage has finished).
    public func rowNames() -> [String] {
        var names = ["threshold", "kmeans", "cam", "pseudo-masks", "pipeline-raw", "pipeline"]
        if config.refiner.classifierGate != nil { names.append("pipeline-gated") }
        if hasUpperBound {
            names += ["upper-bound-raw", "upper-bound"]
            if config.refiner.classifierGate != nil { names.append("upper-bound-gated") }
        }
        return names
    }

    /// The method of one row of the run's table (see ``rowNames()``), with the run's models and
    /// every post-processing step its pipeline chose (gate, component size, growth, bone rim, contrast), so that a
    /// Swift program or `ichctl segment --run` reproduces the row on any scan. The row runs on
    /// the scan as ``methodInput(for:)`` gives it (on slabs when its slices are thinner than the
    /// run's ``PipelineConfig/ComparisonSettings/thinSlices`` allow, through a window when its
    /// head lies outside ``PipelineConfig/ComparisonSettings/headSpans``), as the comparison and
    /// `segment --run` do (``rowMask(of:name:row:method:)``).
    /// - Throws: an unknown row name (the message lists them), missing models.
    public func rowMethod(_ name: String) throws -> any Segmenter {
        guard rowNames().contains(name) else {
            throw WeakSupervisionError.invalidParameter(name: "row", reason: "\(name) is not a row of this run: \(rowNames().joined(separator: ", "))")
        }
        if name == "upper-bound-gated", let c = config.refiner.componentSizes?.candidates, !c.isEmpty, try componentSelection(.upperBound, gated: true) == nil {
            throw WeakSupervisionError.missingInput(method: "row upper-bound-gated",
                input: "its component choice \(upperBoundGatedSelectionURL.path), made by the comparison stage (run it first)")
        }
        return try rows().first { $0.slug == name }!.method
    }

    /// Whether the table has upper-bound rows: the configuration trains it and its stage has
    /// finished (a saved record).
    var hasUpperBound: Bool { config.refiner.upperBound && ((try? record(.upperBound)) ?? nil) != nil }

    /// Whether a row's method reads the classifier's CAM or slice probabilities.
    public static func rowNeedsClassifier(_ name: String) -> Bool {
        ["cam", "pseudo-masks", "pipeline-gated", "upper-bound-gated"].contains(name)
    }

    /// A scan as the run's methods take it: its intracranial mask and, with `classifier`, the
    /// CAM (at the precision the CAM stage saves, ``CAM/asStored(_:)``) and slice probabilities
    /// of the run's classifiers and CAM settings (the slice-call classifier's probabilities when
    /// the run has one). The scan must be in the networks' voxel order (``Reorientation``), and
    /// already as the run's methods see it (``methodInput(for:)``: on slabs when its slices are
    /// too thin for the run, through its head's window when the run asks for one).
    public func segmentationCase(name: String, scan: ScanVolume, classifier: Bool) throws -> SegmentationCase {
        let inside = try IntracranialMask.compute(scan)
        guard classifier else { return SegmentationCase(name: name, scan: scan, intracranial: inside, cam: nil, sliceProbabilities: nil) }
        let (method, calls) = try runClassifiers()
        let (result, called) = try Self.camAndCalls(scan, method: method, calls: calls)
        return SegmentationCase(name: name, scan: scan, intracranial: inside, cam: try CAM.asStored(result.map), sliceProbabilities: called)
    }

    /// Comparison cases: scan, true mask (and lesion map, where the dataset has one:
    /// ``DatasetCase/loadLesionLabels()``), intracranial mask, CAM and slice probabilities. A case
    /// of this run's dataset uses the saved intracranial mask and CAM; any other case (e.g. from
    /// another dataset) gets them computed with the run's classifier and CAM settings. The run's
    /// own cases are read first, a few at a time, then the others one by one; the result keeps
    /// the order of `items`. A case from elsewhere whose slices are thinner than the run's
    /// ``PipelineConfig/ComparisonSettings/thinSlices`` allows carries ``ComparisonCase/slabs``,
    /// and one whose head lies outside ``PipelineConfig/ComparisonSettings/headSpans`` carries
    /// ``ComparisonCase/frame``: its input is on slabs or a window (``methodInput(for:)``), its
    /// truth on its own slices and grid.
    ///
    /// - Parameter items: the cases (each needs a mask file: it is the reference).
    /// - Throws: a case without mask, and reading or CAM errors.
    public func comparisonCases(_ items: [DatasetCase], progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> [ComparisonCase] {
        let (saved, savedProbabilities) = savedCaseLookup()
        let own = items.map { savedProbabilities($0) != nil }
        var loaded = [ComparisonCase?](repeating: nil, count: items.count)
        var done = 0
        // This run's own cases only read files: a few at a time (decompression is most of it).
        let ownIndices = items.indices.filter { own[$0] }
        try forEachInOrderedChunks(count: ownIndices.count) { n in
            let item = items[ownIndices[n]]
            return try savedComparisonCase(item, probabilities: saved[item.name]!)
        } deliver: { n, loadedCase in
            loaded[ownIndices[n]] = loadedCase
            done += 1
            progress(done, items.count, loadedCase.input.name)
        }
        var classifiers: (any CAMMethod, ResNetLSTM?)?
        for (i, item) in items.enumerated() where !own[i] {
            if classifiers == nil { classifiers = try runClassifiers() }
            loaded[i] = try computedComparisonCase(item, method: classifiers!.0, calls: classifiers!.1)
            done += 1
            progress(done, items.count, item.name)
        }
        return loaded.map { $0! }
    }

    /// Loads the comparison cases of `items` one at a time, each as ``comparisonCases(_:progress:)``
    /// loads it (the run's own from its saved files, any other with its intracranial mask and
    /// CAM computed), for the streaming ``compare(_:extra:statistics:subtypes:visit:keep:)``.
    /// The returned function must be called from one thread at a time.
    public func comparisonCaseLoader(_ items: [DatasetCase]) throws -> (Int) throws -> ComparisonCase {
        let (_, savedProbabilities) = savedCaseLookup()
        var classifiers: (any CAMMethod, ResNetLSTM?)?   // made on the first case from elsewhere
        return { [self] i in
            let item = items[i]
            if let p = savedProbabilities(item) { return try savedComparisonCase(item, probabilities: p) }
            if classifiers == nil { classifiers = try runClassifiers() }
            return try computedComparisonCase(item, method: classifiers!.0, calls: classifiers!.1)
        }
    }

    /// The run's saved slice probabilities, and for a case its saved probabilities when it is one
    /// of this run's own cases (under the dataset or sealed test root, with saved results), else nil.
    private func savedCaseLookup() -> ([String: [Float]], (DatasetCase) -> [Float]?) {
        let ownRoots = ([datasetRoot] + (testRoot.map { [$0] } ?? [])).map { $0.standardizedFileURL.path + "/" }
        let saved = (try? probabilities()) ?? [:]
        return (saved, { item in
            let path = item.imageURL.standardizedFileURL.path
            return ownRoots.contains { path.hasPrefix($0) } ? saved[item.name] : nil
        })
    }

    /// The run's CAM method on its CAM classifier, and its slice-call classifier when it has
    /// one (``PipelineConfig/ClassifierSettings/sliceCalls``; nil: the CAM method's own
    /// probabilities are the calls), for cases that have no saved CAM.
    private func runClassifiers() throws -> (any CAMMethod, ResNetLSTM?) {
        let model = try ResNetLSTM(contentsOf: camClassifierURL)
        return (try CAM.method(config.cam.method, model: model, layer: config.cam.layer), try sliceCallClassifier())
    }

    /// A case from elsewhere, brought to the networks' voxel order (LAS), its truth with it (the
    /// scores do not depend on the voxel order, the networks do), its slices averaged into slabs
    /// when the run's rule says they are too thin (``thinSliceSlabs(for:)``; the truth stays on
    /// its slices), seen through a window around the head when the run's rule for head spans
    /// asks for one (``headFrame(for:)``; the truth stays on the whole slice), with its
    /// intracranial mask and CAM computed on what the methods see (at the precision the CAM
    /// stage saves, ``CAM/asStored(_:)``), and its slice probabilities by `calls` when given, else
    /// by the CAM method's classifier.
    private func computedComparisonCase(_ item: DatasetCase, method: any CAMMethod, calls: ResNetLSTM?) throws -> ComparisonCase {
        var (scan, truth, lesions) = try Self.scanAndReference(item)
        let orientation = Reorientation(scan)
        scan = orientation.apply(scan)
        truth = orientation.apply(truth)
        lesions = lesions.map(orientation.apply)
        let (input, slabs, frame) = methodInput(for: scan)
        if !slabs.isIdentity || !frame.isIdentity {
            // scored on the scan's own slices: the truth takes the scan's geometry (mL, mm)
            truth.geometry = scan.geometry
            lesions?.geometry = scan.geometry
        }
        scan = input
        let inside = try IntracranialMask.compute(scan)
        let (result, called) = try Self.camAndCalls(scan, method: method, calls: calls)
        return ComparisonCase(input: SegmentationCase(name: item.name, scan: scan, intracranial: inside, cam: try CAM.asStored(result.map),
                                                      sliceProbabilities: called),
                              truth: truth, lesions: lesions, slabs: slabs.isIdentity ? nil : slabs, frame: frame.isIdentity ? nil : frame)
    }

    /// A scan's CAM by `method` and its slice calls: by `calls` when given, else the CAM
    /// classifier's own. When both networks read the same input (``ResNetLSTM/readsSameInput(as:)``)
    /// the scan is preprocessed once for both; the results are those of
    /// ``CAMMethod/volume(_:)`` and ``ResNetLSTM/classify(_:chunkSize:flipAveraging:)``.
    static func camAndCalls(_ scan: ScanVolume, method: any CAMMethod, calls: ResNetLSTM?) throws -> (cam: CAMVolume, calls: [Float]) {
        guard let calls else {
            let result = try method.volume(scan)
            return (result, result.probabilities)
        }
        guard calls.readsSameInput(as: method.model), scan.shape.z > 0 else {
            return (try method.volume(scan), calls.classify(scan).probabilities)
        }
        let input = method.model.preprocess(scan)
        return (try method.volume(scan, preprocessed: input), calls.classify(preprocessed: input).probabilities)
    }

    /// The slabs the run's ``PipelineConfig/ComparisonSettings/thinSlices`` make of a scan in the
    /// networks' voxel order (LAS; its slice spacing is `geometry.spacing.z`): factor 1 unless
    /// its slices are thinner than the rule's limit. `ichctl segment --run` and `classify --run`
    /// average the scan with it, run the run's method on the slabs and copy the result back
    /// (``SliceSlabs/average(_:)``, ``SliceSlabs/expand(_:geometry:)``), as the comparison does
    /// on cases from outside the run.
    public func thinSliceSlabs(for scan: ScanVolume) -> SliceSlabs {
        SliceSlabs(scan, rule: config.comparison.thinSlices)
    }

    /// The window the run's ``PipelineConfig/ComparisonSettings/headSpans`` gives a scan in the
    /// networks' voxel order (LAS), after its slabs (``thinSliceSlabs(for:)``): the identity
    /// unless its head fills less or more of the networks' input than the rule accepts, or lies
    /// further off the centre (``HeadFrame/init(_:rule:)``). `ichctl segment --run` and `classify --run` run the run's
    /// method on the window (``HeadFrame/apply(_:fill:)``, air outside the scan) and put the
    /// result back (``HeadFrame/restore(_:fill:geometry:)``), as the comparison does on cases
    /// from outside the run.
    public func headFrame(for scan: ScanVolume) -> HeadFrame {
        HeadFrame(scan, rule: config.comparison.headSpans)
    }

    /// A scan (in the networks' voxel order, LAS) as the run's methods see it: averaged into
    /// slabs when its slices are too thin (``thinSliceSlabs(for:)``), then seen through its
    /// head's window when the run asks for one (``headFrame(for:)``, air past the slices).
    /// ``putBack(_:slabs:frame:geometry:)`` takes a result on it back to the scan's grid.
    /// - Returns: the scan the methods take, and the slabs and window used (identities when none).
    public func methodInput(for scan: ScanVolume) -> (scan: ScanVolume, slabs: SliceSlabs, frame: HeadFrame) {
        let slabs = thinSliceSlabs(for: scan)
        let onSlabs = slabs.average(scan), frame = headFrame(for: onSlabs)
        return (frame.apply(onSlabs, fill: Preprocessing.air), slabs, frame)
    }

    /// A mask made on ``methodInput(for:)``'s scan back on the scan's grid and `geometry`: put
    /// back on the whole slices (0 outside the window), then copied from the slabs to their
    /// slices.
    public func putBack(_ mask: MaskVolume, slabs: SliceSlabs, frame: HeadFrame, geometry: Geometry) -> MaskVolume {
        slabs.expand(frame.restore(mask, fill: 0, geometry: slabs.slabGeometry(geometry)), geometry: geometry)
    }

    /// One scan's slice calls as the run makes them (what `ichctl classify --run` reports): the
    /// scan averaged into slabs when its slices are too thin (``thinSliceSlabs(for:)``), seen
    /// through its head's window when the run asks for one (``headFrame(for:)``),
    /// classified by `classifier` (the run's slice-call network, ``sliceClassifierURL``), and
    /// every slice given its slab's logit and probability.
    /// - Parameters:
    ///   - scan: in the networks' voxel order (``Reorientation``).
    ///   - classifier: the network, loaded once by the caller for many scans.
    ///   - flipAveraging: as ``ResNetLSTM/classify(_:chunkSize:flipAveraging:)``.
    /// - Returns: one logit and probability per slice of `scan`, the slabs used (factor 1 when
    ///   none) and the window (the identity when none).
    public func sliceCalls(of scan: ScanVolume, classifier: ResNetLSTM, flipAveraging: Bool = false)
        -> (calls: SliceProbabilities, slabs: SliceSlabs, frame: HeadFrame) {
        let (input, slabs, frame) = methodInput(for: scan)
        let calls = classifier.classify(input, flipAveraging: flipAveraging)
        return (SliceProbabilities(logits: slabs.expand(calls.logits)), slabs, frame)
    }

    /// Row `row`'s mask of one scan as the run makes it (what `ichctl segment --run` writes):
    /// the scan averaged into slabs when its slices are too thin (``thinSliceSlabs(for:)``) and
    /// seen through its head's window when the run asks for one (``headFrame(for:)``), its case built (``segmentationCase(name:scan:classifier:)``, with the classifiers when the row
    /// needs them), `method` run on it and the mask copied back to the scan's slices.
    /// - Parameters:
    ///   - scan: in the networks' voxel order (``Reorientation``).
    ///   - name: the case's name, for messages.
    ///   - row: the row's name (``rowNames()``); `method` is ``rowMethod(_:)`` of it, built once
    ///     by the caller for many scans.
    /// - Returns: the mask on the scan's grid and geometry, the slabs used (factor 1 when none)
    ///   and the window (the identity when none).
    public func rowMask(of scan: ScanVolume, name: String, row: String, method: any Segmenter) throws
        -> (mask: MaskVolume, slabs: SliceSlabs, frame: HeadFrame) {
        let (input, slabs, frame) = methodInput(for: scan)
        let mask = try method.segment(try segmentationCase(name: name, scan: input, classifier: Self.rowNeedsClassifier(row)))
        return (putBack(mask, slabs: slabs, frame: frame, geometry: scan.geometry), slabs, frame)
    }

    /// A comparison case's scan, reference mask (required) and lesion map (checked against it).
    private static func scanAndReference(_ item: DatasetCase) throws -> (ScanVolume, MaskVolume, MaskVolume?) {
        let scan = try item.loadScan()
        guard let truth = try item.loadMask() else {
            throw WeakSupervisionError.missingInput(method: "comparison", input: "the reference mask of case \(item.name) (\(item.imageURL.path))")
        }
        let lesions = try item.loadLesionLabels()
        if let map = lesions, let url = item.lesionURL, let problem = ComparisonCase.lesionMapMismatch(map, truth: truth) {
            throw WeakSupervisionError.invalidParameter(name: url.path, reason: problem + " (\(item.labelURL?.path ?? "the mask"); voxels in the scan's LAS order)")
        }
        return (scan, truth, lesions)
    }

    /// A case of this run's dataset with its saved intracranial mask, CAM and probabilities.
    private func savedComparisonCase(_ item: DatasetCase, probabilities: [Float]) throws -> ComparisonCase {
        let (scan, truth, lesions) = try Self.scanAndReference(item)
        return ComparisonCase(input: SegmentationCase(name: item.name, scan: scan, intracranial: try intracranial(item.name),
                                                      cam: try cam(item.name), sliceProbabilities: probabilities),
                              truth: truth, lesions: lesions)
    }

    /// Compares ``methods()`` on `cases` and adds the classifier's slice scores on them.
    ///
    /// - Parameters:
    ///   - cases: from ``comparisonCases(_:progress:)``.
    ///   - extra: more rows (a user's own method) appended after the built-in ones.
    ///   - keep: receives every prediction (method index, case index, mask).
    ///   - statistics: bootstrap, strata and detection rule of the table's statistics.
    ///   - subtypes: per case name, the subtypes its truth holds; default the run's own phantom
    ///     sets' (``caseSubtypes()``), right for the run's test cases. For cases of another
    ///     dataset pass that dataset's (``Pipeline/subtypes(inDataset:)``), or `[:]`.
    public func compare(_ cases: [ComparisonCase], extra: [any Segmenter] = [],
                        statistics: SegmentationStatistics.Settings = SegmentationStatistics.Settings(),
                        subtypes: [String: [String]]? = nil,
                        keep: (Int, Int, MaskVolume) throws -> Void = { _, _, _ in }) throws -> ComparisonTable {
        let builtIn = try methods()
        var table = try MethodComparison.run(methods: builtIn + extra, cases: cases, tolerance: config.comparison.tolerance,
                                             detection: statistics.detection, keep: keep)
        table.classification = Self.classification(cases)
        return try finish(table, builtIn: builtIn, statistics: statistics, subtypes: subtypes)
    }

    /// ``compare(_:extra:statistics:subtypes:keep:)`` on dataset cases loaded one at a time
    /// (``comparisonCaseLoader(_:)``, one case ahead of the methods), so that a test set of any
    /// size and resolution needs the memory of a few cases only. The same table.
    ///
    /// - Parameters:
    ///   - items: the cases (each needs a mask file: it is the reference).
    ///   - extra, statistics, subtypes, keep: as for ``compare(_:extra:statistics:subtypes:keep:)``.
    ///   - visit: called with (case index, loaded case) once per case, in order, before any row
    ///     segments it.
    public func compare(_ items: [DatasetCase], extra: [any Segmenter] = [],
                        statistics: SegmentationStatistics.Settings = SegmentationStatistics.Settings(),
                        subtypes: [String: [String]]? = nil,
                        visit: (Int, ComparisonCase) throws -> Void = { _, _ in },
                        keep: (Int, Int, MaskVolume) throws -> Void = { _, _, _ in }) throws -> ComparisonTable {
        let builtIn = try methods()
        var scores: [Double] = [], labels: [Bool] = [], everyCaseScored = true
        var table = try MethodComparison.run(methods: builtIn + extra, caseCount: items.count, loading: try comparisonCaseLoader(items),
                                             tolerance: config.comparison.tolerance, detection: statistics.detection,
                                             visit: { i, c in
                                                 if let p = c.sliceProbabilitiesOnTruthGrid, everyCaseScored {
                                                     scores += p.map(Double.init)
                                                     labels += c.truth.sliceLabels.map { $0 > 0.5 }
                                                 } else {
                                                     everyCaseScored = false
                                                 }
                                                 try visit(i, c)
                                             }, keep: keep)
        table.classification = everyCaseScored ? SliceClassificationScores(scores: scores, labels: labels) : nil
        return try finish(table, builtIn: builtIn, statistics: statistics, subtypes: subtypes)
    }

    /// The table's statistics and notes, after its rows.
    private func finish(_ scored: ComparisonTable, builtIn: [any Segmenter], statistics: SegmentationStatistics.Settings,
                        subtypes: [String: [String]]?) throws -> ComparisonTable {
        var table = scored
        let known = subtypes ?? caseSubtypes()
        table = try table.withStatistics(statistics, subtypes: known.isEmpty ? nil : known, pairs: Self.pairedRows)
        if builtIn.contains(where: { ($0 as? RefinerSegmenter)?.name == Self.rawPipelineRow }) {
            table.notes = (table.notes ?? []) + ["s/case: the raw, post-processed and gated rows of one refiner share its inference "
                                                 + "on a case; the network's time is counted in the raw row"]
        }
        func short(_ v: Double) -> String { String(format: "%g", v) }
        let contrasted = builtIn.compactMap { $0 as? ContrastFiltered }
        // the filters in the order refinerRow wraps them: growth, bone rim, contrast
        let outer = builtIn.map { ($0 as? ContrastFiltered)?.base ?? $0 }
        let rimmed = outer.compactMap { $0 as? BoneRimFiltered }
        let grown = outer.compactMap { ($0 as? IntensityGrowth) ?? (($0 as? BoneRimFiltered)?.base as? IntensityGrowth) }
        if let g = grown.first?.settings, g.distanceMM > 0 {
            table.notes = (table.notes ?? []) + ["grown \(short(g.distanceMM)) mm in-plane into \(short(g.range.lowerBound))..\(short(g.range.upperBound)) HU "
                           + "inside the intracranial mask (IntensityGrowth): \(grown.map(\.name).joined(separator: "; "))"]
        }
        if let r = rimmed.first?.settings {
            let measured = r.distance == .slab ? "between slabs: the next slice's bone touches" : "in-plane"
            table.notes = (table.notes ?? []) + ["components lying wholly within \(short(r.rimMM)) mm (\(measured)) of bone (≥ \(short(r.boneHU)) HU) dropped "
                           + "(BoneRimFiltered): \(rimmed.map(\.name).joined(separator: "; "))"]
        }
        if let c = contrasted.first?.settings {
            table.notes = (table.notes ?? []) + ["components whose mean HU exceeds the median of the intracranial \(short(c.ringHU.lowerBound))..\(short(c.ringHU.upperBound)) HU "
                           + "voxels within \(short(c.ringMM)) mm (in-plane) around them by less than \(short(c.minimumContrastHU)) HU dropped "
                           + "(ContrastFiltered): \(contrasted.map(\.name).joined(separator: "; "))"]
        }
        return table
    }

    /// The row pairs every pipeline table tests (method, reference): each weakly supervised
    /// refiner row against the pseudo-masks it learned from and against the upper bound of the
    /// same post-processing.
    public static let pairedRows: [(method: String, reference: String)] = [
        (pipelineRow, pseudoMasksRow), (pipelineRow, upperBoundRow),
        (rawPipelineRow, pseudoMasksRow), (rawPipelineRow, rawUpperBoundRow),
        (gatedPipelineRow, pseudoMasksRow), (gatedPipelineRow, gatedUpperBoundRow),
    ]

    /// Slice classification scores (threshold 0.5) of the cases' probabilities against the
    /// slice labels of their reference masks; nil when a case has no probabilities.
    public static func classification(_ cases: [ComparisonCase]) -> SliceClassificationScores? {
        var scores: [Double] = [], labels: [Bool] = []
        for c in cases {
            guard let p = c.sliceProbabilitiesOnTruthGrid else { return nil }
            scores += p.map(Double.init)
            labels += c.truth.sliceLabels.map { $0 > 0.5 }
        }
        return SliceClassificationScores(scores: scores, labels: labels)
    }

    /// What the run's comparison is evaluated on, for the table's ``ComparisonTable/evaluatedOn``.
    public func testSetDescription(split: PipelineSplit) -> String {
        if let t = config.data.sealedTest {
            if let d = t.dataset { return "sealed test set: \(split.test.count) cases of \(d)" }
            let own = t.phantom.map { ", with phantom settings of their own (generation \($0.generation))" } ?? ""
            return "sealed test set: \(split.test.count) phantom cases of seed \(t.phantomSeed), generated apart from the training set (seed \(config.data.phantomSeed))" + own
        }
        return "test split: \(split.test.count) cases held out of the training set (fraction \(config.data.testFraction)); not a sealed set"
    }
}
