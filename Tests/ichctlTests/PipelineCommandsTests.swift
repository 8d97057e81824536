import CTVolume
import Foundation
import NeuralCore
import Testing
import WeakSupervision
import TestSupport
import PipelineTestSupport

/// The tiny pipeline (PipelineTestSupport) with the bone-rim filter on (between slabs, as the
/// presets), so that segment --run is checked to reproduce it too.
func tinyConfig() -> PipelineConfig {
    tinyPipelineConfig(boneRim: BoneRimFiltered.Settings(rimMM: 4, distance: .slab), contrast: ContrastFiltered.Settings(minimumContrastHU: 5))
}

@Suite(.serialized) struct PipelineCommandsTests {
    @Test("demo on a tiny configuration, then compare on its folder; another configuration is refused without --force")
    func demoThenCompare() throws {
        let folder = TemporaryFolder(prefix: "ichctl-tests"), dir = folder.url
        defer { folder.cleanup() }
        let configURL = dir.appendingPathComponent("tiny.json")
        // with a slice-call classifier, as the full preset has: segment --run below must then
        // reproduce the gated, CAM and pseudo-mask rows from the same two classifiers the table
        // used, and compare on another dataset run both
        var config = tinyConfig()
        config.classifier.sliceCalls = .init(epochs: 1, sequenceLength: 3, batchSize: 2)
        // a rule for thin slices (the presets': under 1.25 mm, into 5 mm; 3 mm here, so that the
        // tiny phantom's 6 slices make 2 slabs below); its own 5 mm slices are left as they are
        config.comparison.thinSlices = try SlabRule(thinnerThanMM: 1.25, slabMM: 3)
        // a rule for head spans and offsets that leaves the tiny phantom's heads as they are (checked below)
        config.comparison.headSpans = try HeadSpanRule(least: 0.3, most: 1, mostOffset: 0.12)
        try JSONEncoder().encode(config).write(to: configURL)
        let run = dir.appendingPathComponent("run").path

        // --through refiner stops before the upper bound and the comparison (no sealed case is
        // scored) and reports the stages it finished; the full demo below resumes from there
        let partial = try ICHCTLRunner.run(["demo", "--config", configURL.path, "--out", run, "--quiet", "--through", "refiner", "--json"])
        #expect(partial.status == 0, "\(partial.stderr)")
        let stopped = try #require(try JSONSerialization.jsonObject(with: Data(partial.stdout.utf8)) as? [[String: Any]])
        #expect(stopped.count == 1 && stopped.first?["stoppedAfter"] as? String == "refiner")
        #expect(Set((stopped.first?["stageSeconds"] as? [String: Any])?.keys.map { $0 } ?? []) == ["data", "classifier", "cams", "pseudo-masks", "refiner"])
        #expect(!FileManager.default.fileExists(atPath: run + "/comparison") && !FileManager.default.fileExists(atPath: run + "/upper-bound"))
        // such a run is scored on its own validation cases, without the upper bound it has not trained
        let onValidation = try ICHCTLRunner.run(["compare", "--data", run, "--split", "validation", "--json"])
        #expect(onValidation.status == 0, "\(onValidation.stderr)")
        let validationTable = try ComparisonTable.decode(Data(onValidation.stdout.utf8))
        let runSplit = try Pipeline(config: try Pipeline.savedConfig(in: URL(fileURLWithPath: run)), output: URL(fileURLWithPath: run)).split()
        #expect(validationTable.caseNames == runSplit.validation && validationTable.evaluatedOn?.hasPrefix("validation split") == true)
        #expect(validationTable.rows.count == 7 && validationTable[Pipeline.upperBoundRow] == nil && validationTable[Pipeline.pipelineRow] != nil)
        #expect(!FileManager.default.fileExists(atPath: run + "/comparison"))

        let demo = try ICHCTLRunner.run(["demo", "--config", configURL.path, "--out", run, "--quiet", "--json"])
        #expect(demo.status == 0, "\(demo.stderr)")
        let table = try ComparisonTable.decode(Data(demo.stdout.utf8))
        #expect(table.rows.count == 10)   // with the raw and gated refiner rows
        #expect(FileManager.default.fileExists(atPath: run + "/comparison/comparison.txt"))
        #expect(try !FileManager.default.contentsOfDirectory(atPath: run + "/comparison/montages").isEmpty)

        let compare = try ICHCTLRunner.run(["compare", "--data", run, "--json"])
        #expect(compare.status == 0, "\(compare.stderr)")
        let again = try ComparisonTable.decode(Data(compare.stdout.utf8))
        #expect(again.rows.map(\.method) == table.rows.map(\.method))
        #expect(again.caseNames == table.caseNames)
        #expect(again.rows.map(\.falsePositiveVoxels) == table.rows.map(\.falsePositiveVoxels))

        // compare-runs: the run's own table (a folder) against the same table as a file, twice as
        // replicates: every difference 0; the run's comparison.json and compare --json agree
        let tableFile = dir.appendingPathComponent("table.json")
        try Data(compare.stdout.utf8).write(to: tableFile)
        let runs = try ICHCTLRunner.run(["compare-runs", "--base", run, "--arm", "\(tableFile.path),\(tableFile.path)",
                                         "--row", Pipeline.pipelineRow, "--resamples", "200", "--json"])
        #expect(runs.status == 0, "\(runs.stderr)")
        let pairedDecoder = JSONDecoder()
        pairedDecoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let paired = try pairedDecoder.decode(ReplicateComparison.self, from: Data(runs.stdout.utf8))
        let pipelineRow = try #require(paired[Pipeline.pipelineRow])
        #expect(paired.rows.count == 1 && pipelineRow.base.dice == pipelineRow.arm.dice)
        #expect(pipelineRow.arm.dicePerReplicate.count == 2 && pipelineRow.dice.difference.estimate == 0)
        // the same file given twice is flagged, in the JSON and on stderr
        #expect(paired.identicalReplicates == [[tableFile.path, tableFile.path]] && runs.stderr.contains("score every case of every row identically"))
        let runsText = try ICHCTLRunner.run(["compare-runs", "--base", tableFile.path, "--arm", run])
        #expect(runsText.status == 0 && runsText.stdout.contains("+0.000 [+0.000, +0.000]") && runsText.stdout.contains(Pipeline.gatedPipelineRow))
        // a table file that is not one, a folder that is not a run, and an unknown row are named
        let notTable = dir.appendingPathComponent("not-a-table.json")
        try Data("{}".utf8).write(to: notTable)
        let badTable = try ICHCTLRunner.run(["compare-runs", "--base", run, "--arm", notTable.path])
        #expect(badTable.status != 0 && badTable.stderr.contains(notTable.path), "\(badTable.stderr)")
        let badFolder = try ICHCTLRunner.run(["compare-runs", "--base", run, "--arm", dir.path])
        #expect(badFolder.status != 0 && badFolder.stderr.contains(dir.path) && badFolder.stderr.contains("comparison.json"))
        let badRow = try ICHCTLRunner.run(["compare-runs", "--base", run, "--arm", tableFile.path, "--row", "best"])
        #expect(badRow.status != 0 && badRow.stderr.contains(run) && badRow.stderr.contains("'best'"), "\(badRow.stderr)")

        let text = try ICHCTLRunner.run(["compare", "--data", run])
        #expect(text.status == 0)
        #expect(text.stdout.contains(Pipeline.pipelineRow) && text.stdout.contains(Pipeline.gatedPipelineRow))
        #expect(text.stdout.contains("Paired Dice differences") && text.stdout.contains("evaluated on: sealed test set"))

        // The public datasets' layouts go where an INSTANCE folder goes: compare scores a run on
        // PhysioNet CT-ICH's layout (scans and masks brought to LAS), train reads RSNA's.
        let datasets = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("CTVolumeTests/Fixtures/datasets")
        let physionet = try ICHCTLRunner.run(["compare", "--data", datasets.appendingPathComponent("physionet").path, "--run", run, "--json"])
        #expect(physionet.status == 0, "\(physionet.stderr)")
        let physionetTable = try ComparisonTable.decode(Data(physionet.stdout.utf8))
        #expect(physionetTable.caseNames == ["049", "054", "066"])
        let rsnaTrain = try ICHCTLRunner.run(["train", "classifier", "--data", datasets.appendingPathComponent("rsna").path,
                                              "--out", dir.appendingPathComponent("rsna.safetensors").path, "--epochs", "1", "--steps", "1",
                                              "--size", "32", "--width", "4", "--blocks", "1,1,1,1", "--hidden", "4", "--seq-len", "6",
                                              "--val-fraction", "0.34", "--pooling", "max", "--position-balance", "3", "--json", "--quiet"])
        #expect(rsnaTrain.status == 0, "\(rsnaTrain.stderr)")
        // the options reach the checkpoint (pooling) and are refused together with --pos-weight
        let maxPooled = try ResNetLSTM(contentsOf: dir.appendingPathComponent("rsna.safetensors"))
        #expect(maxPooled.config.pooling == .max)
        let balanced = try ICHCTLRunner.run(["train", "classifier", "--data", datasets.appendingPathComponent("rsna").path,
                                         "--out", dir.appendingPathComponent("rsna2.safetensors").path, "--epochs", "1",
                                         "--position-balance", "3", "--pos-weight", "2", "--quiet"])
        #expect(balanced.status != 0 && balanced.stderr.contains("pos_weight"), "\(balanced.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("rsna2.safetensors").path))

        // segment --run RUN --row ROW on a test case writes the very mask the table scored for
        // that row; classify and cam --run use the run's classifier (and CAM settings)
        let testCase = table.caseNames[0]
        let scanPath = run + "/data/test-cases/data/\(testCase).nii.gz"
        for row in ["pipeline", "pipeline-gated", "upper-bound-raw", "cam", "pseudo-masks"] {
            let out = dir.appendingPathComponent("row-\(row).nii.gz")
            let segmented = try ICHCTLRunner.run(["segment", "--run", run, "--row", row, scanPath, "--out", out.path])
            #expect(segmented.status == 0, "\(segmented.stderr)")
            let saved = try NIfTI.readMask(at: URL(fileURLWithPath: run + "/comparison/masks/\(row)/\(testCase).nii.gz"))
            #expect(try NIfTI.readMask(at: out).voxels == saved.voxels, "\(row)")
        }
        // the rows the table scored and segment --run reproduce were built with the bone-rim filter
        #expect(table.notes?.contains { $0.contains("BoneRimFiltered") && $0.contains("between slabs") } == true)
        let reopened = try Pipeline(config: try Pipeline.savedConfig(in: URL(fileURLWithPath: run)), output: URL(fileURLWithPath: run))
        // ... and the contrast filter after it, on the post-processed rows only
        #expect(table.notes?.contains { $0.contains("ContrastFiltered") } == true)
        #expect(((try reopened.rowMethod("pipeline")) as? ContrastFiltered)?.base is BoneRimFiltered)
        #expect((((try reopened.rowMethod("pipeline")) as? ContrastFiltered)?.base as? BoneRimFiltered)?.settings.distance == .slab)
        let raw = try reopened.rowMethod("pipeline-raw")
        #expect(!(raw is ContrastFiltered) && !(raw is BoneRimFiltered))
        let unknownRow = try ICHCTLRunner.run(["segment", "--run", run, "--row", "best", scanPath, "--out", dir.appendingPathComponent("x.nii.gz").path])
        #expect(unknownRow.status != 0 && unknownRow.stderr.contains("pipeline-gated"))
        let both = try ICHCTLRunner.run(["segment", "--run", run, "--grow-mm", "2", scanPath, "--out", dir.appendingPathComponent("y.nii.gz").path])
        #expect(both.status != 0 && both.stderr.contains("--grow-mm"))
        let rim = try ICHCTLRunner.run(["segment", "--run", run, "--bone-rim-mm", "2", scanPath, "--out", dir.appendingPathComponent("y.nii.gz").path])
        #expect(rim.status != 0 && rim.stderr.contains("--bone-rim-mm"))
        #expect(try ICHCTLRunner.run(["classify", "--run", run, scanPath, "--json"]).status == 0)
        let cam = try ICHCTLRunner.run(["cam", "--run", run, scanPath, "--out", dir.appendingPathComponent("cam.nii.gz").path, "--json"])
        #expect(cam.status == 0, "\(cam.stderr)")

        // Thin slices: a positive test case (in LAS) with its slices called 1 mm apart is averaged
        // 3 at a time into 2 slabs by segment --run, classify --run and compare on another
        // dataset alike, and every result comes back to the 6 slices.
        let positiveCase = try #require(table.caseNames.first { name in
            (try? NIfTI.readMask(at: URL(fileURLWithPath: run + "/data/test-cases/label/\(name).nii.gz")))?.voxels.contains { $0 > 0 } == true })
        func thin<V>(_ v: Volume<V>) -> Volume<V> {
            var las = Reorientation(v).apply(v)
            let f = 1 / las.geometry.spacing.z
            for r in 0..<3 { las.geometry.qform[r, 2] *= f; las.geometry.sform[r, 2] *= f }
            las.geometry.spacing.z = 1
            return las
        }
        let thinSet = dir.appendingPathComponent("thin")
        try FileManager.default.createDirectory(at: thinSet.appendingPathComponent("data"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: thinSet.appendingPathComponent("label"), withIntermediateDirectories: true)
        let thinScan = thin(try NIfTI.readScan(at: URL(fileURLWithPath: run + "/data/test-cases/data/\(positiveCase).nii.gz")))
        let thinTruth = thin(try NIfTI.readMask(at: URL(fileURLWithPath: run + "/data/test-cases/label/\(positiveCase).nii.gz")))
        let thinPath = thinSet.appendingPathComponent("data/\(positiveCase).nii.gz")
        try NIfTI.write(thinScan, to: thinPath)
        try NIfTI.write(thinTruth, to: thinSet.appendingPathComponent("label/\(positiveCase).nii.gz"))
        let slabs = reopened.thinSliceSlabs(for: thinScan)
        #expect(slabs.factor == 3 && slabs.slabCount == 2 && thinScan.shape.z == 6)
        #expect(reopened.thinSliceSlabs(for: try NIfTI.readScan(at: URL(fileURLWithPath: scanPath))).isIdentity)
        // the threshold row (50..90 HU) has voxels on this case, and the slabs change them
        var thinMasks: [String: MaskVolume] = [:]
        for row in ["threshold", "pipeline-gated"] {
            let out = dir.appendingPathComponent("thin-\(row).nii.gz")
            let segmented = try ICHCTLRunner.run(["segment", "--run", run, "--row", row, thinPath.path, "--out", out.path, "--json"])
            #expect(segmented.status == 0 && segmented.stderr.contains("averaged 3 at a time into 2 slabs"), "\(segmented.stderr)")
            #expect(segmented.stdout.contains("\"slab_factor\" : 3"), "\(segmented.stdout)")
            let mask = try NIfTI.readMask(at: out)
            let expected = slabs.expand(try reopened.rowMethod(row).segment(
                try reopened.segmentationCase(name: positiveCase, scan: slabs.average(thinScan), classifier: Pipeline.rowNeedsClassifier(row))),
                geometry: thinScan.geometry)
            #expect(mask.shape == thinScan.shape && mask.voxels == expected.voxels, "\(row)")
            #expect((1..<3).allSatisfy { k in mask.slice(k).elementsEqual(mask.slice(0)) }, "\(row): the first slab's 3 slices differ")
            thinMasks[row] = mask
        }
        let thresholded = try #require(thinMasks["threshold"])
        #expect(thresholded.voxels.contains { $0 > 0 })
        let onSlices = try reopened.rowMethod("threshold").segment(try reopened.segmentationCase(name: positiveCase, scan: thinScan, classifier: false))
        #expect(onSlices.voxels != thresholded.voxels, "the slabs changed nothing on the threshold row")
        let thinClassified = try ICHCTLRunner.run(["classify", "--run", run, thinPath.path, "--json"])
        #expect(thinClassified.status == 0, "\(thinClassified.stderr)")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(thinClassified.stdout.utf8)) as? [String: Any])
        #expect(record["slab_factor"] as? Int == 3)
        let called = try #require(record["probabilities"] as? [Double])
        let direct = try ResNetLSTM(contentsOf: reopened.sliceClassifierURL).classify(slabs.average(thinScan)).probabilities
        #expect(called.count == 6 && called.map(Float.init) == slabs.expand(direct))
        // compare on a dataset of that one thin case scores the same masks against the thin truth
        let thinCompare = try ICHCTLRunner.run(["compare", "--data", thinSet.path, "--run", run, "--json"])
        #expect(thinCompare.status == 0, "\(thinCompare.stderr)")
        let thinTable = try ComparisonTable.decode(Data(thinCompare.stdout.utf8))
        func dice(_ m: MaskVolume) -> Double {
            let overlap = zip(m.voxels, thinTruth.voxels).filter { $0 > 0 && $1 > 0 }.count
            return 2 * Double(overlap) / Double(m.voxels.filter { $0 > 0 }.count + thinTruth.voxels.filter { $0 > 0 }.count)
        }
        for (row, name) in [("threshold", thinTable.rows[0].method), ("pipeline-gated", Pipeline.gatedPipelineRow)] {
            let scored = try #require(thinTable[name]?.cases.first?.scores.dice)
            let mask = try #require(thinMasks[row])
            #expect(abs(scored - dice(mask)) < 1e-12, "\(row): compare scored \(scored), the segment --run mask against the truth \(dice(mask))")
        }
        // the slice calls are scored per slice of the truth, each its slab's call
        let labels = thinTruth.sliceLabels.map { $0 > 0.5 }, expanded = slabs.expand(direct)
        let counts = try #require(thinTable.classification?.counts)
        #expect(counts.truePositives == zip(expanded, labels).filter { $0 >= 0.5 && $1 }.count)
        #expect(counts.falsePositives == zip(expanded, labels).filter { $0 >= 0.5 && !$1 }.count)
        #expect(counts.truePositives + counts.falsePositives + counts.falseNegatives + counts.trueNegatives == 6)

        // A small head: the same positive case in a matrix four times as wide, off centre (air
        // around it), fills less of its slices than the run's least span (0.3): segment --run,
        // classify --run and compare see it through a square window around the head, and every
        // result comes back to the whole slices.
        let las = Reorientation(try NIfTI.readScan(at: URL(fileURLWithPath: run + "/data/test-cases/data/\(positiveCase).nii.gz")))
        let lasScan = las.apply(try NIfTI.readScan(at: URL(fileURLWithPath: run + "/data/test-cases/data/\(positiveCase).nii.gz")))
        let lasTruth = las.apply(try NIfTI.readMask(at: URL(fileURLWithPath: run + "/data/test-cases/label/\(positiveCase).nii.gz")))
        let wide = GridShape(4 * lasScan.shape.x, 4 * lasScan.shape.y, lasScan.shape.z)
        // `v` in a matrix of `shape`, from column ox and row oy, air around it, millimetres kept
        func placed<V>(_ v: Volume<V>, in shape: GridShape, at ox: Int, _ oy: Int, fill: V) -> Volume<V> {
            var g = v.geometry
            for r in 0..<3 {
                g.qform[r, 3] -= g.qform[r, 0] * Double(ox) + g.qform[r, 1] * Double(oy)
                g.sform[r, 3] -= g.sform[r, 0] * Double(ox) + g.sform[r, 1] * Double(oy)
            }
            var out = Volume(shape: shape, repeating: fill, geometry: g)
            for k in 0..<v.shape.z { for j in 0..<v.shape.y { for i in 0..<v.shape.x { out[i + ox, j + oy, k] = v[i, j, k] } } }
            return out
        }
        let smallScan = placed(lasScan, in: wide, at: 40, 150, fill: Preprocessing.air), smallTruth = placed(lasTruth, in: wide, at: 40, 150, fill: 0)
        let ownHead = try #require(HeadExtent.measure(lasScan))
        let ownSpan = ownHead.span(height: lasScan.shape.y, width: lasScan.shape.x), ownOffset = ownHead.offset(height: lasScan.shape.y, width: lasScan.shape.x)
        #expect(ownSpan >= 0.3 && ownOffset <= 0.12 && reopened.headFrame(for: lasScan).isIdentity,
                "the run's own scans must be left as they are (span \(ownSpan), offset \(ownOffset))")
        let head = try #require(HeadExtent.measure(smallScan))
        let frame = reopened.headFrame(for: smallScan)
        #expect(head.span(height: wide.y, width: wide.x) < 0.3 && frame.rows == Int((Double(head.size) / 0.3).rounded(.down)) && frame.columns == frame.rows)
        #expect(frame.top <= head.rows.lowerBound && frame.top + frame.rows >= head.rows.upperBound)
        #expect(frame.left <= head.columns.lowerBound && frame.left + frame.columns >= head.columns.upperBound)
        let smallSet = dir.appendingPathComponent("small")
        for sub in ["data", "label"] { try FileManager.default.createDirectory(at: smallSet.appendingPathComponent(sub), withIntermediateDirectories: true) }
        let smallPath = smallSet.appendingPathComponent("data/\(positiveCase).nii.gz")
        try NIfTI.write(smallScan, to: smallPath)
        try NIfTI.write(smallTruth, to: smallSet.appendingPathComponent("label/\(positiveCase).nii.gz"))
        var smallMasks: [String: MaskVolume] = [:]
        for row in ["threshold", "pipeline-gated"] {
            let out = dir.appendingPathComponent("small-\(row).nii.gz")
            let segmented = try ICHCTLRunner.run(["segment", "--run", run, "--row", row, smallPath.path, "--out", out.path, "--json"])
            #expect(segmented.status == 0 && segmented.stderr.contains("window centred on it"), "\(segmented.stderr)")
            #expect(segmented.stdout.contains("\"head_window\"") && segmented.stdout.contains("\"rows\" : \(frame.rows)"), "\(segmented.stdout)")
            let mask = try NIfTI.readMask(at: out)
            let expected = frame.restore(try reopened.rowMethod(row).segment(
                try reopened.segmentationCase(name: positiveCase, scan: frame.apply(smallScan, fill: Preprocessing.air), classifier: Pipeline.rowNeedsClassifier(row))),
                fill: 0, geometry: smallScan.geometry)
            #expect(mask.shape == wide && mask.voxels == expected.voxels, "\(row)")
            // nothing is called outside the window
            #expect(mask.voxels.indices.allSatisfy { n in
                let i = n % wide.x, j = (n / wide.x) % wide.y
                return mask.voxels[n] == 0 || ((frame.left..<(frame.left + frame.columns)).contains(i) && (frame.top..<(frame.top + frame.rows)).contains(j))
            })
            smallMasks[row] = mask
        }
        #expect(smallMasks["threshold"]?.voxels.contains { $0 > 0 } == true)
        let smallClassified = try ICHCTLRunner.run(["classify", "--run", run, smallPath.path, "--json"])
        #expect(smallClassified.status == 0 && smallClassified.stderr.contains("window centred on it"), "\(smallClassified.stderr)")
        let smallRecord = try #require(try JSONSerialization.jsonObject(with: Data(smallClassified.stdout.utf8)) as? [String: Any])
        #expect((smallRecord["head_window"] as? [String: Int])?["top"] == frame.top)
        let smallCalls = try ResNetLSTM(contentsOf: reopened.sliceClassifierURL).classify(frame.apply(smallScan, fill: Preprocessing.air)).probabilities
        #expect((smallRecord["probabilities"] as? [Double])?.map(Float.init) == smallCalls)
        let smallCompare = try ICHCTLRunner.run(["compare", "--data", smallSet.path, "--run", run, "--json"])
        try #require(smallCompare.status == 0, "\(smallCompare.stderr)")
        let smallTable = try ComparisonTable.decode(Data(smallCompare.stdout.utf8))
        for (row, name) in [("threshold", smallTable.rows[0].method), ("pipeline-gated", Pipeline.gatedPipelineRow)] {
            let scored = try #require(smallTable[name]?.cases.first?.scores.dice)
            let mask = try #require(smallMasks[row])
            let overlap = zip(mask.voxels, smallTruth.voxels).filter { $0 > 0 && $1 > 0 }.count
            let dice = 2 * Double(overlap) / Double(mask.voxels.filter { $0 > 0 }.count + smallTruth.voxels.filter { $0 > 0 }.count)
            #expect(abs(scored - dice) < 1e-12, "\(row): compare scored \(scored), the segment --run mask against the truth \(dice)")
            let ml = try #require(smallTable[name]?.cases.first?.scores.predictionVolumeML)
            let expectedML = Double(mask.voxels.filter { $0 > 0 }.count) * smallScan.geometry.voxelVolumeML
            #expect(abs(ml - expectedML) < 1e-9 * max(1, expectedML), "\(row): \(ml) mL, the scan's voxels give \(expectedML)")
        }

        // A head off the centre: the same case in the last rows and columns of a matrix half as
        // wide again keeps a span the rule accepts, but lies further off the centre than its
        // 0.12: segment --run and classify --run see it in a square of the matrix's side centred
        // on the head, and put the results back.
        let corner = GridShape(lasScan.shape.x * 3 / 2, lasScan.shape.y * 3 / 2, lasScan.shape.z)
        let offScan = placed(lasScan, in: corner, at: corner.x - lasScan.shape.x, corner.y - lasScan.shape.y, fill: Preprocessing.air)
        let offHead = try #require(HeadExtent.measure(offScan))
        #expect(offHead.span(height: corner.y, width: corner.x) >= 0.3 && offHead.offset(height: corner.y, width: corner.x) > 0.12)
        let offFrame = reopened.headFrame(for: offScan)
        #expect(offFrame == HeadFrame(height: corner.y, width: corner.x, extent: offHead, side: max(corner.x, corner.y)) && offFrame.top > 0 && offFrame.left > 0)
        let offPath = dir.appendingPathComponent("off-centre.nii.gz")
        try NIfTI.write(offScan, to: offPath)
        let offOut = dir.appendingPathComponent("off-centre-mask.nii.gz")
        let offSegmented = try ICHCTLRunner.run(["segment", "--run", run, "--row", "pipeline-gated", offPath.path, "--out", offOut.path, "--json"])
        #expect(offSegmented.status == 0 && offSegmented.stderr.contains("off their centre") && offSegmented.stderr.contains("comparison.headSpans.mostOffset"), "\(offSegmented.stderr)")
        let offExpected = offFrame.restore(try reopened.rowMethod("pipeline-gated").segment(
            try reopened.segmentationCase(name: positiveCase, scan: offFrame.apply(offScan, fill: Preprocessing.air), classifier: true)),
            fill: 0, geometry: offScan.geometry)
        #expect(try NIfTI.readMask(at: offOut).voxels == offExpected.voxels)
        let offClassified = try ICHCTLRunner.run(["classify", "--run", run, offPath.path, "--json"])
        #expect(offClassified.status == 0 && offClassified.stderr.contains("off their centre"), "\(offClassified.stderr)")
        let offRecord = try #require(try JSONSerialization.jsonObject(with: Data(offClassified.stdout.utf8)) as? [String: Any])
        #expect((offRecord["head_window"] as? [String: Int])?["left"] == offFrame.left)
        let offCalls = try ResNetLSTM(contentsOf: reopened.sliceClassifierURL).classify(offFrame.apply(offScan, fill: Preprocessing.air)).probabilities
        #expect((offRecord["probabilities"] as? [Double])?.map(Float.init) == offCalls)

        // the same statistics as CSV (a line per row and case), a summary CSV and a self-contained
        // HTML report; existing files are refused without --force, and nothing is replaced
        let csv = dir.appendingPathComponent("cases.csv"), summaryCSV = dir.appendingPathComponent("summary.csv")
        let report = dir.appendingPathComponent("report.html")
        let files = ["--csv", csv.path, "--summary-csv", summaryCSV.path, "--report", report.path, "--resamples", "200"]
        let written = try ICHCTLRunner.run(["compare", "--data", run] + files)
        #expect(written.status == 0, "\(written.stderr)")
        let lines = try String(contentsOf: csv, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1 + table.rows.count * table.caseNames.count)
        #expect(lines.first?.hasPrefix("method,case,positive,dice") == true)
        #expect(try String(contentsOf: summaryCSV, encoding: .utf8).contains("dice_lower"))
        let html = try String(contentsOf: report, encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("<svg") && !html.contains("src=\"http") && !html.contains("href=\"http"))
        let refusedOutput = try ICHCTLRunner.run(["compare", "--data", run] + files)
        #expect(refusedOutput.status != 0 && refusedOutput.stderr.contains(csv.path))
        #expect(try String(contentsOf: report, encoding: .utf8) == html)

        // pseudo-masks over the run's phantom set with its classifier; refuses to replace them without --force.
        let masks = dir.appendingPathComponent("pseudo").path
        let pseudo = try ICHCTLRunner.run(["pseudo-masks", "--model", run + "/classifier/classifier.safetensors",
                                           "--data", run + "/data/cases", "--out", masks, "--layer", "layer2", "--tissue", "-100:150", "--json"])
        #expect(pseudo.status == 0, "\(pseudo.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: masks).filter { $0.hasSuffix(".nii.gz") }.count == 4)
        let twice = try ICHCTLRunner.run(["pseudo-masks", "--model", run + "/classifier/classifier.safetensors",
                                          "--data", run + "/data/cases", "--out", masks])
        #expect(twice.status != 0 && twice.stderr.contains("--force"))

        // --positive-slices labels: masks only on the slices the dataset labels positive
        let byLabels = try ICHCTLRunner.run(["pseudo-masks", "--model", run + "/classifier/classifier.safetensors",
                                             "--data", run + "/data/cases", "--out", dir.appendingPathComponent("pseudo-labels").path,
                                             "--layer", "layer2", "--positive-slices", "labels", "--json"])
        #expect(byLabels.status == 0, "\(byLabels.stderr)")
        let labelRows = try #require(try JSONSerialization.jsonObject(with: Data(byLabels.stdout.utf8)) as? [[String: Any]])
        let cases = try Dataset(root: URL(fileURLWithPath: run + "/data/cases")).cases
        #expect(labelRows.count == cases.count && cases.contains { (try? $0.sliceLabels().contains(1)) == true })
        for (row, item) in zip(labelRows, cases) {
            let labels = try item.sliceLabels()
            #expect(row["name"] as? String == item.name)
            #expect((row["positive_slices"] as? Int ?? .max) <= labels.filter { $0 >= 0.5 }.count, "\(item.name)")
            // every slice the written mask marks is labelled positive (both in the networks' order)
            let written = try item.loadMask(from: dir.appendingPathComponent("pseudo-labels/\(item.name).nii.gz"))
            for (z, marked) in written.sliceLabels.enumerated() where marked > 0 { #expect(labels[z] >= 0.5, "\(item.name) slice \(z)") }
            #expect(written.voxels.contains { $0 > 0 } == ((row["voxels"] as? Int ?? 0) > 0))
        }
        // The same scans labelled negative on every slice by a table (no masks): the option must
        // empty every mask, where the classifier's calls (the run above) marked some.
        let relabelled = dir.appendingPathComponent("relabelled")
        try FileManager.default.createDirectory(at: relabelled.appendingPathComponent("data"), withIntermediateDirectories: true)
        var slicesTable = "case,slice,label\n"
        for item in cases {
            try FileManager.default.copyItem(at: item.imageURL, to: relabelled.appendingPathComponent("data/\(item.name).nii.gz"))
            for z in 0..<(try item.sliceLabels().count) { slicesTable += "\(item.name),\(z),0\n" }
        }
        try Data(slicesTable.utf8).write(to: relabelled.appendingPathComponent("slices.csv"))
        let classifierMarked = try cases.contains { item in
            try item.loadMask(from: URL(fileURLWithPath: masks + "/\(item.name).nii.gz")).voxels.contains { $0 > 0 }
        }
        #expect(classifierMarked)
        let allNegative = try ICHCTLRunner.run(["pseudo-masks", "--model", run + "/classifier/classifier.safetensors",
                                                "--data", relabelled.path, "--out", dir.appendingPathComponent("pseudo-none").path,
                                                "--layer", "layer2", "--positive-slices", "labels", "--json"])
        #expect(allNegative.status == 0, "\(allNegative.stderr)")
        let noneRows = try #require(try JSONSerialization.jsonObject(with: Data(allNegative.stdout.utf8)) as? [[String: Any]])
        #expect(noneRows.count == cases.count && noneRows.allSatisfy { $0["voxels"] as? Int == 0 })
        let badGate = try ICHCTLRunner.run(["pseudo-masks", "--model", run + "/classifier/classifier.safetensors",
                                            "--data", run + "/data/cases", "--out", dir.appendingPathComponent("pseudo-bad").path,
                                            "--positive-slices", "oracle"])
        #expect(badGate.status != 0 && badGate.stderr.contains("--positive-slices"))

        // train classifier --keep last: the last epoch's model is written and reported as kept.
        let trainArgs = ["train", "classifier", "--data", run + "/data/cases", "--epochs", "2", "--steps", "1", "--size", "32",
                         "--width", "4", "--blocks", "1,1,1,1", "--hidden", "4", "--seq-len", "6", "--val-fraction", "0.34"]
        let last = try ICHCTLRunner.run(trainArgs + ["--out", dir.appendingPathComponent("last.safetensors").path, "--keep", "last", "--json"])
        #expect(last.status == 0, "\(last.stderr)")
        // off a terminal (the test's pipe) the epoch lines still reach stderr; --quiet silences them
        #expect(last.stderr.contains("epoch 2/2"))
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let summary = try decoder.decode(TrainingSummary.self, from: Data(last.stdout.utf8))
        #expect(summary.bestEpoch == 2 && summary.history.count == 2 && summary.history.allSatisfy(\.improved) && summary.selection == .last)
        #expect(try ClassifierTrainer.config(ofResumeFile: URL(fileURLWithPath: summary.resumePath)).selection == .last)
        let bad = try ICHCTLRunner.run(trainArgs + ["--out", dir.appendingPathComponent("bad.safetensors").path, "--keep", "first"])
        #expect(bad.status != 0 && bad.stderr.contains("--keep"))

        // --average-decay, --no-intensity-jitter and --validate-every reach the stored configuration; a decay of 1 is refused.
        let averaged = try ICHCTLRunner.run(trainArgs + ["--out", dir.appendingPathComponent("ema.safetensors").path, "--average-decay", "0.9",
                                                         "--no-intensity-jitter", "--validate-every", "2", "--json"])
        #expect(averaged.status == 0, "\(averaged.stderr)")
        let emaConfig = try ClassifierTrainer.config(ofResumeFile: dir.appendingPathComponent("ema.resume.safetensors"))
        #expect(emaConfig.averageDecay == 0.9 && emaConfig.validateEvery == 2)
        #expect(emaConfig.augmentation.intensityScale == 0 && emaConfig.augmentation.intensityShift == 0 && emaConfig.augmentation.horizontalFlip > 0)
        #expect(try ClassifierTrainer.config(ofResumeFile: URL(fileURLWithPath: summary.resumePath)).augmentation.intensityScale > 0)
        let badDecay = try ICHCTLRunner.run(trainArgs + ["--out", dir.appendingPathComponent("bad2.safetensors").path, "--average-decay", "1"])
        #expect(badDecay.status != 0 && badDecay.stderr.contains("average decay"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("bad2.safetensors").path))
        // train refiner on those pseudo-masks: --validate-every, --prior-bias, --crop-size, --dice-skips-empty-targets and --hard-negatives reach the
        // stored configuration (with --context-slices, the model's), and only the last of two epochs is validated; a crop that is not a
        // multiple of the network's factor, or --validate-every 0, is refused with nothing written
        let refinerArgs = ["train", "refiner", "--data", run + "/data/cases", "--masks", masks, "--epochs", "2", "--steps", "1",
                           "--size", "32", "--widths", "4,8", "--val-fraction", "0.34", "--keep", "last"]
        let refined = try ICHCTLRunner.run(refinerArgs + ["--out", dir.appendingPathComponent("r.safetensors").path, "--validate-every", "2",
                                                          "--prior-bias", "--crop-size", "16", "--crop-foreground", "0.33", "--context-slices", "1",
                                                          "--dice-skips-empty-targets", "--hard-negatives", "0.5", "--hard-negative-pool", "4",
                                                          "--max-zoom", "0.2", "--json"])
        #expect(refined.status == 0, "\(refined.stderr)")
        let refinerConfig = try RefinerTrainer.config(ofResumeFile: dir.appendingPathComponent("r.resume.safetensors"))
        #expect(refinerConfig.validateEvery == 2 && refinerConfig.priorBias == true && refinerConfig.cropSize == 16
                && refinerConfig.cropForeground == 0.33 && refinerConfig.model.contextSlices == 1 && refinerConfig.diceSkipsEmptyTargets == true
                && refinerConfig.hardNegatives == .init(share: 0.5, pool: 4) && refinerConfig.augmentation.maxZoom == 0.2)
        #expect(try UNetLite(contentsOf: dir.appendingPathComponent("r.safetensors")).config.inChannels == 9)
        let refinerSummary = try decoder.decode(TrainingSummary.self, from: Data(refined.stdout.utf8))
        #expect(refinerSummary.history.map { $0.validationScore == nil } == [true, false])
        #expect(refinerSummary.history.map { $0.hardNegatives == nil } == [true, false])   // mined from the second epoch
        let plainRefiner = try ICHCTLRunner.run(refinerArgs + ["--out", dir.appendingPathComponent("r0.safetensors").path, "--quiet"])
        #expect(plainRefiner.status == 0, "\(plainRefiner.stderr)")
        #expect(try RefinerTrainer.config(ofResumeFile: dir.appendingPathComponent("r0.resume.safetensors")).augmentation.maxZoom == 0)
        for bad in [["--max-zoom=-1"], ["--max-zoom", "nan"], ["--max-zoom", "0.2", "--no-augment"]] {
            let badZoom = try ICHCTLRunner.run(refinerArgs + ["--out", dir.appendingPathComponent("r9.safetensors").path] + bad)
            #expect(badZoom.status != 0, "\(bad)")
            #expect(badZoom.stderr.contains(bad.count == 1 || bad[1] == "nan" ? "must be finite and at least 0" : "cannot go with --no-augment"), "\(bad): \(badZoom.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("r9.safetensors").path))
        }
        #expect(!plainRefiner.stderr.contains("epoch"))
        let plainConfig = try RefinerTrainer.config(ofResumeFile: dir.appendingPathComponent("r0.resume.safetensors"))
        #expect(plainConfig.validateEvery == nil && plainConfig.priorBias == nil && plainConfig.cropSize == nil && plainConfig.cropForeground == nil
                && plainConfig.model.contextSlices == 0 && plainConfig.diceSkipsEmptyTargets == nil && plainConfig.hardNegatives == nil)
        for (bad, words) in [(["--crop-size", "15"], "crop size"), (["--validate-every", "0"], "validate every"),
                             (["--crop-foreground", "0.5"], "crop foreground"), (["--context-slices", "9"], "--context-slices"),
                             (["--hard-negatives", "1.5"], "hardNegatives.share"), (["--hard-negative-pool", "5"], "--hard-negative-pool needs"),
                             (["--hard-negatives", "0.5", "--distributed"], "does not run with --distributed")] {
            let out = dir.appendingPathComponent("bad-refiner.safetensors")
            let refused = try ICHCTLRunner.run(refinerArgs + ["--out", out.path] + bad)
            #expect(refused.status != 0 && refused.stderr.contains(words), "\(bad): \(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out.path))
        }
        // an output whose folder does not exist is refused (before the cases are prepared), naming the folder
        let lost = try ICHCTLRunner.run(trainArgs + ["--out", dir.appendingPathComponent("no/such/m.safetensors").path, "--progress"])
        #expect(lost.status != 0 && lost.stderr.contains("no/such") && lost.stderr.contains("does not exist"))
        #expect(!lost.stderr.contains("preparing"))

        var changed = tinyConfig()
        changed.pseudoMasks.threshold = "otsu"
        let changedURL = dir.appendingPathComponent("changed.json")
        try JSONEncoder().encode(changed).write(to: changedURL)
        let refused = try ICHCTLRunner.run(["demo", "--config", changedURL.path, "--out", run, "--quiet"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains(run))
        #expect(refused.stderr.contains("--force"))
        #expect(refused.stdout.isEmpty)
    }

    @Test("demo --rounds 2 overrides the configuration's rounds: saved in config.json, the refiner trained twice on round 2's targets")
    func demoRounds() throws {
        let folder = TemporaryFolder(prefix: "ichctl-tests")
        defer { folder.cleanup() }
        let (run, pipeline) = try tinyDemoThroughRefiner(in: folder.url, overriding: ["--rounds", "2"])
        #expect(pipeline.config.refiner.rounds == 2)
        #expect(try pipeline.summary(RefinerStage.pipeline)?.rounds == 2)
        let targets = run.appendingPathComponent("refiner/round-2/targets").path
        #expect(try FileManager.default.contentsOfDirectory(atPath: targets).count == pipeline.split().train.count)
    }

    @Test("demo --members 2 saves members 2 in config.json, records two members and trains member 2 beside member 1")
    func demoMembers() throws {
        let folder = TemporaryFolder(prefix: "ichctl-tests")
        defer { folder.cleanup() }
        let (run, pipeline) = try tinyDemoThroughRefiner(in: folder.url, overriding: ["--members", "2"])
        #expect(pipeline.config.refiner.members == 2)
        #expect(try pipeline.summary(RefinerStage.pipeline)?.members == 2)
        #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("refiner/member-2/refiner.safetensors").path))
    }

    @Test("classify --run uses the run's slice-call classifier when its configuration fine-tunes one; cam --run keeps the CAM classifier")
    func classifyWithSliceCalls() throws {
        let folder = TemporaryFolder(prefix: "ichctl-tests"), dir = folder.url
        defer { folder.cleanup() }
        var config = tinyConfig()
        config.classifier.sliceCalls = .init(epochs: 1, sequenceLength: 3, batchSize: 2)
        let configURL = dir.appendingPathComponent("calls.json"), run = dir.appendingPathComponent("run")
        try JSONEncoder().encode(config).write(to: configURL)
        let demo = try ICHCTLRunner.run(["demo", "--config", configURL.path, "--out", run.path, "--quiet", "--through", "classifier"])
        #expect(demo.status == 0, "\(demo.stderr)")
        let calls = run.appendingPathComponent("classifier/slice-calls/classifier.safetensors").path
        let scan = try FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("data/cases/data").path).sorted()[0]
        let scanPath = run.appendingPathComponent("data/cases/data/\(scan)").path
        func probabilities(_ arguments: [String]) throws -> (model: String, values: [Double]) {
            let r = try ICHCTLRunner.run(["classify"] + arguments + [scanPath, "--json"])
            #expect(r.status == 0, "\(r.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
            return (object["model"] as! String, object["probabilities"] as! [Double])
        }
        let byRun = try probabilities(["--run", run.path])
        #expect(byRun.model.hasSuffix("classifier/slice-calls/classifier.safetensors"))
        #expect(byRun.values == (try probabilities(["--model", calls])).values)
        let camNetwork = try probabilities(["--model", run.appendingPathComponent("classifier/classifier.safetensors").path]).values
        // the two networks part somewhere by more than the cam check's tolerance, so it can tell them apart
        #expect(zip(byRun.values, camNetwork).contains { abs($0 - $1) > 1e-4 })
        let cam = try ICHCTLRunner.run(["cam", "--run", run.path, scanPath, "--out", dir.appendingPathComponent("cam.nii.gz").path, "--json"])
        #expect(cam.status == 0, "\(cam.stderr)")
        let camValues = (try JSONSerialization.jsonObject(with: Data(cam.stdout.utf8)) as! [String: Any])["probabilities"] as! [Double]
        #expect(camValues.count == camNetwork.count && zip(camValues, camNetwork).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    /// `ichctl demo` on the tiny configuration with `options`, through the refiner, into
    /// `dir/run`; expects it to succeed and returns the run folder and the pipeline of the
    /// configuration it saved there.
    private func tinyDemoThroughRefiner(in dir: URL, overriding options: [String],
                                        sourceLocation: SourceLocation = #_sourceLocation) throws -> (URL, Pipeline) {
        let configURL = dir.appendingPathComponent("tiny.json")
        try JSONEncoder().encode(tinyConfig()).write(to: configURL)
        let run = dir.appendingPathComponent("run")
        let r = try ICHCTLRunner.run(["demo", "--config", configURL.path] + options + ["--out", run.path, "--quiet", "--through", "refiner"])
        #expect(r.status == 0, "\(r.stderr)", sourceLocation: sourceLocation)
        return (run, try Pipeline(config: try Pipeline.savedConfig(in: run), output: run))
    }

    @Test("bad demo and compare arguments fail with a clear message")
    func refusals() throws {
        let folder = TemporaryFolder(prefix: "ichctl-tests"), dir = folder.url
        defer { folder.cleanup() }
        let stage = try ICHCTLRunner.run(["demo", "--from", "bogus", "--out", dir.path])
        #expect(stage.status != 0)
        #expect(stage.stderr.contains("pseudo-masks"))
        let through = try ICHCTLRunner.run(["demo", "--through", "sealed", "--out", dir.path])
        #expect(through.status != 0 && through.stderr.contains("--through") && through.stderr.contains("upper-bound"))
        let otherSplit = try ICHCTLRunner.run(["compare", "--data", dir.path, "--run", dir.path, "--split", "validation"])
        #expect(otherSplit.status != 0 && otherSplit.stderr.contains("--split validation"))
        let backwards = try ICHCTLRunner.run(["demo", "--from", "refiner", "--through", "cams", "--out", dir.path])
        #expect(backwards.status != 0 && backwards.stderr.contains("--through cams comes before --from refiner"))
        let compare = try ICHCTLRunner.run(["compare", "--data", dir.path])
        #expect(compare.status != 0)
        #expect(compare.stderr.contains("not a pipeline run folder"))
        let noRound = try ICHCTLRunner.run(["demo", "--rounds", "0", "--out", dir.path])
        #expect(noRound.status != 0 && noRound.stderr.contains("--rounds must be at least 1"))
        let noMember = try ICHCTLRunner.run(["demo", "--members", "0", "--out", dir.path])
        #expect(noMember.status != 0 && noMember.stderr.contains("--members must be at least 1"))
        try Data("x".utf8).write(to: dir.appendingPathComponent("notes.txt"))
        let occupied = try ICHCTLRunner.run(["demo", "--quick", "--out", dir.path, "--quiet"])
        #expect(occupied.status != 0)
        #expect(occupied.stderr.contains("not a pipeline run folder"))
        // a configuration that cannot be read, or holds a bad setting, is named with the problem,
        // and nothing is written
        var bad = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(PipelineConfig.quick)) as! [String: Any]
        var comparison = bad["comparison"] as! [String: Any]
        comparison["headSpans"] = ["least": 0.9, "most": 0.5]
        bad["comparison"] = comparison
        let badConfig = dir.appendingPathComponent("bad.json"), notJSON = dir.appendingPathComponent("broken.json")
        try JSONSerialization.data(withJSONObject: bad).write(to: badConfig)
        try Data("{\"data\": 3}".utf8).write(to: notJSON)
        let fresh = dir.appendingPathComponent("fresh")
        for (file, problem) in [(badConfig, "least 0.9 and most 0.5"), (notJSON, "at data"), (dir.appendingPathComponent("none.json"), "cannot read the configuration")] {
            let refused = try ICHCTLRunner.run(["demo", "--config", file.path, "--out", fresh.path, "--quiet"])
            #expect(refused.status != 0 && refused.stderr.contains(file.path) && refused.stderr.contains(problem), "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: fresh.path))
        }
        // likewise a run folder whose config.json is damaged
        let damaged = dir.appendingPathComponent("damaged")
        try FileManager.default.createDirectory(at: damaged, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: bad).write(to: damaged.appendingPathComponent("config.json"))
        let onDamaged = try ICHCTLRunner.run(["classify", "--run", damaged.path, dir.appendingPathComponent("scan.nii.gz").path])
        #expect(onDamaged.status != 0 && onDamaged.stderr.contains(damaged.appendingPathComponent("config.json").path) && onDamaged.stderr.contains("least 0.9"), "\(onDamaged.stderr)")
    }
}
