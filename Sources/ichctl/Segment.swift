import ArgumentParser
import CTVolume
import Foundation
import NeuralCore
import WeakSupervision

/// `ichctl segment`: the test-time refiner (Docs/method.md#5-refinement-unetlite) on one scan, writing a uint8
/// mask on the scan's grid. A thin wrapper over ``UNetLite/segment(_:intracranial:threshold:batchSize:flipAveraging:)``,
/// then optionally ``ClassifierGated/gate(_:probabilities:positiveAt:)`` with a classifier's
/// ``ResNetLSTM/classify(_:chunkSize:flipAveraging:)``, ``ComponentFiltered/filter(_:minimumVolumeML:connectivity:support:)``
/// ``IntensityGrowth/grow(_:scan:intracranial:settings:)``, ``BoneRimFiltered/filter(_:scan:settings:)`` and
/// ``ContrastFiltered/filter(_:scan:intracranial:settings:)``:
/// the pipeline's refiner rows, on one scan.
struct Segment: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Segment hemorrhage in a scan (NIfTI or DICOM folder) with a UNetLite checkpoint.",
        discussion: """
            Preprocesses every axial slice with the checkpoint's input size and windows, runs the \
            network, resizes the logits bilinearly to the scan's grid, thresholds the probability \
            at 0.5 and keeps only voxels inside the intracranial mask. The mask is written as \
            uint8 NIfTI with the scan's qform/sform, so it opens over the scan in a viewer.

            With --classifier, slices that ResNet-LSTM calls negative (probability below \
            --gate-at) are emptied, as in the demo's "gated by the classifier" row; with \
            --min-component-ml, 3-D components smaller than that volume are dropped (the demo \
            chooses it per refiner: RUN/refiner/components.json, components.gated.json; its gate \
            is refiner.classifierGate in RUN/config.json); with --keep-above P as well, a smaller \
            component is kept when the network's probability reaches P in one of its voxels \
            (refiner.componentSizes.supportThreshold in RUN/config.json). With --grow-mm D, the mask then grows up to D mm \
            in-plane (4-neighbour steps of the scan's spacing) into neighbouring intracranial voxels \
            whose HU lie in --grow-hu (default 50:90), as the demo's refiner rows do (comparison.growth in \
            RUN/config.json: 2 mm for the full preset). With --bone-rim-mm R, the 3-D components \
            whose every voxel lies within R mm of the skull (the largest 3-D component \
            of HU ≥ --bone-hu, default 200) are \
            then dropped: the partial-volume crescents along the inner table (comparison.boneRim in \
            RUN/config.json). The distance is in-plane, or with --bone-rim-distance slab measured \
            between the slabs the slices stand for, so that the bone of the next slice touches: \
            partial volume over the skull-base floor. With --min-contrast-hu C, the components whose mean HU exceeds the median \
            of the intracranial 0..100 HU voxels within --contrast-ring-mm (default 4) around them by \
            less than C are dropped last: brain brightened towards the skull (comparison.contrast in \
            RUN/config.json).

            With --run RUN [--row ROW] instead of --model, the run's own method for that row of its \
            table is used, with every setting its pipeline chose: the same mask the table scored.

            The scan is brought to the networks' voxel order (LAS) from its affine and the outputs \
            are written back on its own grid.
            """)

    @Option(name: .long, help: "A UNetLite checkpoint (.safetensors with ichct.config kind unet_lite).")
    var model: String?

    @Option(name: .customLong("run"), help: "A pipeline run folder: segment as its table's row --row does (its models, gate, component size, growth, bone rim and contrast filter; slabs for slices thinner than its comparison.thinSlices allows; a window around a head outside its comparison.headSpans, or centred on one further off the centre than their mostOffset).")
    var runFolder: String?

    @Option(name: .long, help: "With --run: the row to reproduce (pipeline, pipeline-raw, pipeline-gated, upper-bound, ...; default pipeline).")
    var row: String?

    @Argument(help: "The scan: a NIfTI file (.nii, .nii.gz) or a folder of DICOM files (or --list).")
    var file: String?

    @OptionGroup var scanInput: ScanInputOptions

    @Option(name: .long, help: "The mask to write (.nii or .nii.gz); with --list, --out-dir instead.")
    var out: String?

    @OptionGroup var batch: BatchOptions

    @Option(name: .long, help: "Also write the per-voxel probability map (float32 NIfTI) here.")
    var probabilities: String?

    @Option(name: .long, help: "Probability threshold (default 0.5).")
    var threshold: Float = 0.5

    @Flag(name: .long, help: "Average the refiner's logits with those of the left-right flipped slice (test-time augmentation; twice the network time). A --classifier gate runs without it.")
    var flipAverage = false

    @Option(name: .long, help: "A ResNet-LSTM checkpoint: empty the slices it calls negative.")
    var classifier: String?

    @Option(name: .long, help: "Slice probability from which --classifier keeps a slice (default 0.5).")
    var gateAt: Float?

    @Option(name: .long, help: "Drop 3-D components smaller than this volume in mL (default 0: keep all).")
    var minComponentMl: Double = 0

    @Option(name: .long, help: "With --min-component-ml: keep a smaller component when the network's probability reaches this in one of its voxels (default: size alone decides).")
    var keepAbove: Float?

    @Option(name: .long, help: "Grow the mask up to this many mm in-plane into intracranial voxels of the --grow-hu range (default 0: no growth; the full demo: 2).")
    var growMm: Double = 0

    @Option(name: .long, parsing: .unconditional, help: "HU range LO:HI that --grow-mm grows into (default 50:90).")
    var growHu: String?

    @Option(name: .long, help: "Drop 3-D components lying wholly within this many mm of bone, after growth (default 0: none dropped).")
    var boneRimMm: Double = 0

    @Option(name: .long, help: "How --bone-rim-mm measures: in-plane (default) or slab (between the slices' slabs: the bone of the next slice is 0 mm away along z).")
    var boneRimDistance: BoneRimFiltered.Distance?

    @Option(name: .long, parsing: .unconditional, help: "HU from which a voxel counts as bone for --bone-rim-mm (default 200); the skull is the largest 3-D component of such voxels.")
    var boneHu: Double?

    @Option(name: .long, parsing: .unconditional, help: "Drop 3-D components whose mean HU exceeds the median of the tissue around them by less than this, last (e.g. 15; default: none dropped).")
    var minContrastHu: Double?

    @Option(name: .long, help: "Width in mm (in-plane) of the ring of tissue --min-contrast-hu compares with (default 4).")
    var contrastRingMm: Double?

    @Flag(name: .long, help: "Replace outputs that exist.")
    var force = false

    @Flag(name: .long, help: "Print a summary as JSON on stdout.")
    var json = false

    func validate() throws {
        guard (model == nil) != (runFolder == nil) else { throw ValidationError("give either --model or --run") }
        if batch.isBatch {
            guard file == nil && out == nil else { throw ValidationError("--list takes neither a scan argument nor --out: outputs go to --out-dir") }
            guard probabilities == nil else { throw ValidationError("--probabilities does not go with --list (one mask per scan in --out-dir)") }
        } else {
            guard file != nil else { throw ValidationError("give a scan (or --list FILE --out-dir DIR)") }
            guard out != nil else { throw ValidationError("--out is required with a scan") }
        }
        if runFolder != nil {
            let own = [("--probabilities", probabilities != nil), ("--classifier", classifier != nil), ("--gate-at", gateAt != nil),
                       ("--min-component-ml", minComponentMl != 0), ("--keep-above", keepAbove != nil), ("--grow-mm", growMm != 0), ("--grow-hu", growHu != nil),
                       ("--bone-rim-mm", boneRimMm != 0), ("--bone-hu", boneHu != nil), ("--bone-rim-distance", boneRimDistance != nil),
                       ("--min-contrast-hu", minContrastHu != nil), ("--contrast-ring-mm", contrastRingMm != nil),
                       ("--threshold", threshold != 0.5), ("--flip-average", flipAverage)]
            if let set = own.first(where: { $0.1 }) {
                throw ValidationError("\(set.0) does not go with --run: the run's row decides its settings (or use --model)")
            }
        } else if row != nil {
            throw ValidationError("--row needs --run")
        }
        guard threshold > 0 && threshold < 1 else { throw ValidationError("--threshold must lie strictly between 0 and 1") }
        if let gateAt {
            guard classifier != nil else { throw ValidationError("--gate-at needs --classifier") }
            guard gateAt > 0 && gateAt < 1 else { throw ValidationError("--gate-at must lie strictly between 0 and 1") }
        }
        guard minComponentMl >= 0 && minComponentMl.isFinite else { throw ValidationError("--min-component-ml must be a volume ≥ 0") }
        if let keepAbove {
            guard minComponentMl > 0 else { throw ValidationError("--keep-above needs --min-component-ml") }
            guard keepAbove > threshold && keepAbove <= 1 else {
                throw ValidationError("--keep-above must be a probability above --threshold (\(threshold)) and at most 1: at or below it every component supports itself")
            }
        }
        guard growMm >= 0 && growMm.isFinite else { throw ValidationError("--grow-mm must be a distance in mm ≥ 0") }
        if growHu != nil && growMm == 0 { throw ValidationError("--grow-hu needs --grow-mm") }
        guard boneRimMm >= 0 && boneRimMm.isFinite else { throw ValidationError("--bone-rim-mm must be a distance in mm ≥ 0") }
        if let boneHu {
            guard boneHu.isFinite else { throw ValidationError("--bone-hu must be a finite HU") }
            guard boneRimMm > 0 else { throw ValidationError("--bone-hu needs --bone-rim-mm") }
        }
        if boneRimDistance != nil && boneRimMm == 0 { throw ValidationError("--bone-rim-distance needs --bone-rim-mm") }
        if let minContrastHu { guard minContrastHu.isFinite else { throw ValidationError("--min-contrast-hu must be a finite HU") } }
        if let contrastRingMm {
            guard minContrastHu != nil else { throw ValidationError("--contrast-ring-mm needs --min-contrast-hu") }
            guard contrastRingMm > 0 && contrastRingMm.isFinite else { throw ValidationError("--contrast-ring-mm must be a distance in mm > 0") }
        }
        _ = try growth()
        // the same file however it is spelled (relative, absolute, through a symlink)
        func key(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path }
        let inputs = Set([file, model, classifier].compactMap { $0 }.map(key))
        for output in [out, probabilities].compactMap({ $0 }) where inputs.contains(key(output)) {
            throw ValidationError("\(output): is an input of this command; choose another output")
        }
        if let probabilities, let out, key(probabilities) == key(out) { throw ValidationError("--probabilities and --out must differ") }
    }

    /// `--grow-mm` and `--grow-hu` (`LO:HI`, finite numbers, LO ≤ HI) as the library's settings.
    func growth() throws -> IntensityGrowth.Settings {
        guard let growHu else { return IntensityGrowth.Settings(distanceMM: growMm) }
        do {
            return IntensityGrowth.Settings(range: try ValueRange.parse(growHu, name: "--grow-hu"), distanceMM: growMm)
        } catch let error as CTVolumeError {
            throw ValidationError("\(error)")   // a usage error: exit 64 with the usage line
        }
    }

    /// `--min-contrast-hu` and `--contrast-ring-mm` as the library's settings (nil: no contrast filter).
    var contrastSettings: ContrastFiltered.Settings? {
        minContrastHu.map { ContrastFiltered.Settings(minimumContrastHU: $0, ringMM: contrastRingMm ?? ContrastFiltered.Settings().ringMM) }
    }

    /// `--bone-rim-mm` and `--bone-hu` as the library's settings.
    var boneRimSettings: BoneRimFiltered.Settings {
        BoneRimFiltered.Settings(boneHU: boneHu ?? BoneRimFiltered.Settings().boneHU, rimMM: boneRimMm, distance: boneRimDistance ?? .inPlane)
    }

    struct Summary: BatchRecord {
        let file: String, model: String, out: String, probabilities: String?
        let voxels: Int, intracranialVoxels: Int, volumeMl: Double
        let classifier: String?, gatedSlices: [Int]?, minComponentMl: Double, keepAbove: Float?, growMm: Double, growHu: [Double]?, growSteps: Int
        let boneRimMm: Double?, boneHu: Double?, boneRimDistance: BoneRimFiltered.Distance?
        let minContrastHu: Double?, contrastRingMm: Double?

        enum CodingKeys: String, CodingKey {
            case file, model, out, probabilities, voxels, classifier
            case intracranialVoxels = "intracranial_voxels", volumeMl = "volume_ml"
            case gatedSlices = "gated_slices", minComponentMl = "min_component_ml", keepAbove = "keep_above", growMm = "grow_mm", growHu = "grow_hu", growSteps = "grow_steps"
            case boneRimMm = "bone_rim_mm", boneHu = "bone_hu", boneRimDistance = "bone_rim_distance"
            case minContrastHu = "min_contrast_hu", contrastRingMm = "contrast_ring_mm"
        }
        static let csvColumns = ["out", "voxels", "volume_ml", "intracranial_voxels", "gated_slices"]
        var csvValues: [String] { [out, "\(voxels)", "\(volumeMl)", "\(intracranialVoxels)", gatedSlices.map { "\($0.count)" } ?? ""] }
    }

    struct RunSummary: BatchRecord {
        let file: String, run: String, row: String, out: String, voxels: Int, volumeMl: Double
        /// The slices per slab when the scan's slices were averaged into slabs; nil (absent) otherwise.
        let slabFactor: Int?
        /// The window the scan was seen through when its head fills too little or too much of its
        /// slices; nil (absent) otherwise.
        let headWindow: HeadWindow?
        enum CodingKeys: String, CodingKey {
            case file, run, row, out, voxels, volumeMl = "volume_ml", slabFactor = "slab_factor", headWindow = "head_window"
        }
        static let csvColumns = ["out", "voxels", "volume_ml", "run", "row"]
        var csvValues: [String] { [out, "\(voxels)", "\(volumeMl)", run, row] }
    }

    /// `--run RUN --row ROW`: the run's own method for that row (``Pipeline/rowMethod(_:)``),
    /// built once for every scan.
    struct RunRow {
        let pipeline: Pipeline, name: String, method: any Segmenter

        init(folder: String, row: String?) throws {
            let runURL = URL(fileURLWithPath: folder)
            pipeline = try Pipeline(config: try Pipeline.savedConfig(in: runURL), output: runURL)
            name = row ?? "pipeline"
            method = try pipeline.rowMethod(name)
        }
    }

    /// The row's mask of one scan, written to `outURL`.
    func segment(_ file: String, with row: RunRow, runFolder: String, outURL: URL, reportedOut: String, overwrite: Bool) throws -> RunSummary {
        let source = try scanInput.read(file)
        let orientation = Reorientation(source)
        let scan = orientation.apply(source)
        // slices under the run's limit for thin slices (comparison.thinSlices) run on slabs
        // and a head that fills too little or too much of the slices is seen through a window (comparison.headSpans)
        let (onScan, slabs, frame) = try row.pipeline.rowMask(of: scan, name: URL(fileURLWithPath: file).lastPathComponent, row: row.name, method: row.method)
        if !slabs.isIdentity { CLI.note(CLI.slabNote(file, slabs: slabs, spacingMM: scan.geometry.spacing.z)) }
        if !frame.isIdentity { CLI.note(CLI.frameNote(file, scan: scan, run: row.pipeline, frame: frame)) }
        let mask = orientation.invert(onScan, geometry: source.geometry)
        try NIfTI.write(mask, to: outURL, overwrite: overwrite, descrip: "ichct \(row.name)")
        let voxels = mask.voxels.reduce(0) { $0 + Int($1) }
        return RunSummary(file: file, run: runFolder, row: row.name, out: reportedOut, voxels: voxels,
                          volumeMl: Double(voxels) * source.geometry.voxelVolumeML, slabFactor: slabs.isIdentity ? nil : slabs.factor,
                          headWindow: frame.isIdentity ? nil : HeadWindow(frame))
    }

    /// The networks of `--model` (and `--classifier`), loaded once for every scan.
    struct Networks {
        let net: UNetLite, gate: ResNetLSTM?
    }

    func run() throws {
        if batch.isBatch { return try runBatch() }
        let file = file!, out = out!
        let outURL = URL(fileURLWithPath: out)
        let probURL = probabilities.map { URL(fileURLWithPath: $0) }
        for url in [outURL] + (probURL.map { [$0] } ?? []) { try CLI.checkOutput(url, force: force) }
        if let runFolder {
            let r = try segment(file, with: try RunRow(folder: runFolder, row: row), runFolder: runFolder, outURL: outURL, reportedOut: out, overwrite: force)
            if json {
                try CLI.printJSON(r)
            } else {
                CLI.note("\(out): \(r.voxels) voxel(s) of hemorrhage (\(String(format: "%.2f", r.volumeMl)) ml), row \(r.row) of \(runFolder)")
            }
            return
        }
        let networks = try loadNetworks()
        let r = try segment(file, with: networks, outURL: outURL, probURL: probURL, reportedOut: out, overwrite: force)
        if json {
            try CLI.printJSON(r)
        } else {
            CLI.note("\(out): \(r.voxels) voxel(s) of hemorrhage (\(String(format: "%.2f", r.volumeMl)) ml)")
        }
    }

    /// What `--list` outputs depend on besides the scan (saved in each record).
    struct BatchSettings: Encodable {
        let model: String?
        let run: String?
        let row: String?
        let series: String?
        let threshold: Float
        let flipAverage: Bool
        let classifier: String?
        let gateAt: Float?
        let minComponentMl: Double
        let keepAbove: Float?
        let growMm: Double
        let growHu: String?
        let boneRimMm: Double?
        let boneHu: Double?
        let boneRimDistance: BoneRimFiltered.Distance?
        let minContrastHu: Double?
        let contrastRingMm: Double?
    }

    /// `--list`: every scan of the shard, one mask `DIR/NAME.nii.gz` each.
    func runBatch() throws {
        let outputs: (ScanList.Item, URL) -> [URL] = { item, dir in [dir.appendingPathComponent(item.name + ".nii.gz")] }
        let settings = BatchSettings(model: CLI.absolute(model), run: CLI.absolute(runFolder), row: runFolder == nil ? nil : (row ?? "pipeline"),
                                     series: scanInput.series, threshold: threshold, flipAverage: flipAverage,
                                     classifier: CLI.absolute(classifier), gateAt: gateAt, minComponentMl: minComponentMl, keepAbove: keepAbove, growMm: growMm, growHu: growHu,
                                     boneRimMm: boneRimMm > 0 ? boneRimMm : nil, boneHu: boneRimMm > 0 ? boneRimSettings.boneHU : nil,
                                     // only when not in-plane: batch folders made before the option resume
                                     boneRimDistance: boneRimMm > 0 && boneRimSettings.distance != .inPlane ? boneRimSettings.distance : nil,
                                     minContrastHu: contrastSettings?.minimumContrastHU, contrastRingMm: contrastSettings?.ringMM)
        if let runFolder {
            let row = try RunRow(folder: runFolder, row: row)
            try batch.run(command: "segment", force: force, json: json, settings: settings, outputs: outputs) { item, staged, final in
                try segment(item.input.path, with: row, runFolder: runFolder, outURL: staged[0], reportedOut: final[0].path, overwrite: true)
            }
        } else {
            let networks = try loadNetworks()
            try batch.run(command: "segment", force: force, json: json, settings: settings, outputs: outputs) { item, staged, final in
                try segment(item.input.path, with: networks, outURL: staged[0], probURL: nil, reportedOut: final[0].path, overwrite: true)
            }
        }
    }

    func loadNetworks() throws -> Networks {
        Networks(net: try UNetLite(contentsOf: URL(fileURLWithPath: model!)),
                 gate: try classifier.map { try ResNetLSTM(contentsOf: URL(fileURLWithPath: $0)) })
    }

    /// The network's mask of one scan (gated, filtered and grown as the options say), written to
    /// `outURL` (and its probabilities to `probURL`).
    func segment(_ file: String, with networks: Networks, outURL: URL, probURL: URL?, reportedOut: String, overwrite: Bool) throws -> Summary {
        let net = networks.net, gate = networks.gate
        // The networks see the voxel order they were trained on (LAS); the outputs go back to
        // the scan's own grid and affine.
        let source = try scanInput.read(file)
        let orientation = Reorientation(source)
        let scan = orientation.apply(source)
        let result = try net.segment(scan, threshold: threshold, flipAveraging: flipAverage)
        // The pipeline's chain, built by the same modifiers: the network's mask, gated by the
        // classifier, small components dropped, grown into the blood range.
        let sliceProbabilities = gate.map { $0.classify(scan).probabilities }
        let at = gateAt ?? 0.5
        var gated: [Int]? = nil
        if let p = sliceProbabilities {
            // reported as slices of the file when its slices are axial, else as axial slices
            let below = p.map { $0 < at }, inFile = orientation.sourceSliceOrder(below) ?? below
            gated = inFile.indices.filter { inFile[$0] }
        }
        let network = result.mask
        var chain: any Segmenter = ClosureSegmenter(name: "segment") { _ in network }
        if sliceProbabilities != nil { chain = chain.gated(at: at) }
        let support = keepAbove.map { at in ClosureSegmenter(name: "support") { _ in result.thresholded(at: at) } }
        chain = chain.filteringComponents(below: minComponentMl, support: support)
        let settings = try growth(), steps = settings.steps(on: scan.geometry)
        if growMm > 0 && steps == 0 {
            let s = scan.geometry.spacing
            CLI.note("--grow-mm \(growMm): 0 steps on this grid (in-plane spacing \(s.x) x \(s.y) mm); the mask is not grown")
        }
        if steps > 0 { chain = try chain.grown(settings) }
        if boneRimMm > 0 { chain = try chain.droppingBoneRim(boneRimSettings) }
        if let contrast = contrastSettings { chain = try chain.droppingFaintComponents(contrast) }
        let mask = try chain.segment(SegmentationCase(name: file, scan: scan, intracranial: result.intracranial, cam: nil,
                                                      sliceProbabilities: sliceProbabilities))
        if let probURL {
            try NIfTI.write(orientation.invert(result.probabilities, geometry: source.geometry), to: probURL, datatype: .float32,
                            overwrite: overwrite, descrip: "ichct ICH probability")
        }
        try NIfTI.write(orientation.invert(mask, geometry: source.geometry), to: outURL, overwrite: overwrite, descrip: "ichct ICH mask")
        let voxels = mask.voxels.reduce(0) { $0 + Int($1) }
        let ml = Double(voxels) * scan.geometry.voxelVolumeML
        return Summary(file: file, model: model!, out: reportedOut, probabilities: probabilities, voxels: voxels,
                       intracranialVoxels: result.intracranial.voxels.reduce(0) { $0 + Int($1) }, volumeMl: ml,
                       classifier: classifier, gatedSlices: gated, minComponentMl: minComponentMl, keepAbove: keepAbove,
                       growMm: growMm, growHu: steps > 0 ? [settings.range.lowerBound, settings.range.upperBound] : nil,
                       growSteps: steps, boneRimMm: boneRimMm > 0 ? boneRimMm : nil, boneHu: boneRimMm > 0 ? boneRimSettings.boneHU : nil,
                       boneRimDistance: boneRimMm > 0 ? boneRimSettings.distance : nil,
                       minContrastHu: contrastSettings?.minimumContrastHU, contrastRingMm: contrastSettings?.ringMM)
    }
}
