import CTVolume
import Foundation
import NeuralCore
import Testing
import WeakSupervision

/// A small synthetic head: air, a skull ring (1200 HU), brain (35 HU), a 70 HU blob on slice 1.
private func head(x: Int = 30, y: Int = 26, z: Int = 3) -> ScanVolume {
    var voxels = [Float](repeating: -1000, count: x * y * z)
    for k in 0..<z {
        for j in 0..<y {
            for i in 0..<x {
                let r = (pow((Double(i) - Double(x) / 2) / (Double(x) * 0.42), 2) + pow((Double(j) - Double(y) / 2) / (Double(y) * 0.42), 2)).squareRoot()
                var v: Float = r < 1 ? 1200 : -1000
                if r < 0.8 { v = 35 + Float((i * 7 + j * 3 + k) % 5) }
                if k == 1 && (i - 12) * (i - 12) + (j - 12) * (j - 12) < 12 { v = 70 }
                voxels[i + x * (j + y * k)] = v
            }
        }
    }
    return ScanVolume(shape: GridShape(x, y, z), voxels: voxels, geometry: Geometry(spacing: SIMD3(7, 7, 5)))
}

@Suite("Network inference on volumes")
struct NetworkInferenceTests {
    let classifier = ResNetLSTM(config: ResNetLSTMConfig(inputSize: 32, width: 2, blocks: [1, 1], hidden: 3), seed: 11)
    let refiner = UNetLite(config: UNetLiteConfig(inputSize: 16, widths: [2, 4]), seed: 12)
    /// A 2.5-D refiner: one neighbouring slice on each side.
    let deepRefiner = UNetLite(config: UNetLiteConfig(inputSize: 16, widths: [2, 4], contextSlices: 1), seed: 13)

    @Test("classify runs the whole volume as one sequence: equals the network on the preprocessed stack, any chunk size")
    func classify() {
        let scan = head()
        let result = classifier.classify(scan, chunkSize: 2)
        #expect(result.logits.count == 3)
        let direct = withoutGradients { classifier(classifier.preprocess(scan).reshaped([1, 3, 3, 32, 32])) }
        for (a, b) in zip(result.logits, direct.data) { #expect(abs(a - b) <= 1e-5 * max(1, abs(b))) }
        let whole = classifier.classify(scan, chunkSize: 16)
        for (a, b) in zip(result.logits, whole.logits) { #expect(abs(a - b) <= 1e-5 * max(1, abs(b))) }
        for (l, p) in zip(result.logits, result.probabilities) { #expect(abs(p - 1 / (1 + exp(-l))) <= 1e-7) }
        #expect(result.maximum == result.probabilities.max())
        #expect(result.maximumSlice.map { result.probabilities[$0] } == result.maximum)
        #expect(result.positiveSlices(threshold: 0) == [0, 1, 2] && result.positiveSlices(threshold: 1.01).isEmpty)
    }

    @Test("one preprocessing for two networks: classify and the CAM of a preprocessed stack are those of the scan, bit for bit")
    func sharedPreprocessing() throws {
        let scan = head()
        let input = classifier.preprocess(scan)
        #expect(classifier.classify(preprocessed: input, chunkSize: 2).logits == classifier.classify(scan, chunkSize: 2).logits)
        #expect(classifier.classify(preprocessed: input, flipAveraging: true).logits == classifier.classify(scan, flipAveraging: true).logits)
        let method = try CAM.method(.gradcampp, model: classifier, layer: "layer2")
        let shared = try method.volume(scan, preprocessed: input), own = try method.volume(scan)
        #expect(shared.map.voxels == own.map.voxels && shared.logits == own.logits)
        // another network of the same input reads it; one of another size or windows does not
        let sibling = ResNetLSTM(config: ResNetLSTMConfig(inputSize: 32, width: 3, blocks: [1, 1], hidden: 2), seed: 5)
        #expect(sibling.readsSameInput(as: classifier) && sibling.classify(preprocessed: input).logits == sibling.classify(scan).logits)
        #expect(!ResNetLSTM(config: ResNetLSTMConfig(inputSize: 16, width: 2, blocks: [1, 1], hidden: 3), seed: 5).readsSameInput(as: classifier))
        var windows = classifier.config
        windows.windows = [IntensityWindow(center: 40, width: 80)]
        #expect(!ResNetLSTM(config: windows, seed: 5).readsSameInput(as: classifier))
    }

    @Test("classify with flip averaging: a scan and its left-right mirror get the same logits; each is the mean of the two plain passes")
    func classifyFlipAveraging() {
        // a square scan at the network's input size, so that preprocessing commutes with the mirror
        var scan = head(x: 32, y: 32, z: 3)
        for i in scan.voxels.indices { scan.voxels[i] += Float((i * 37) % 11) }   // no left-right symmetry
        var mirrored = scan
        for k in 0..<3 { for j in 0..<32 { for i in 0..<32 { mirrored.voxels[i + 32 * (j + 32 * k)] = scan.voxels[31 - i + 32 * (j + 32 * k)] } } }
        let a = classifier.classify(scan, flipAveraging: true).logits
        let b = classifier.classify(mirrored, chunkSize: 2, flipAveraging: true).logits
        #expect(a.count == 3 && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
        let plainA = classifier.classify(scan).logits, plainB = classifier.classify(mirrored).logits
        #expect(zip(plainA, plainB).contains { abs($0 - $1) > 1e-4 }, "the plain network is not mirror-symmetric")
        for k in 0..<3 {
            let expected = 0.5 * (plainA[k] + plainB[k])
            #expect(abs(a[k] - expected) <= 1e-5 * max(1, abs(expected)), "slice \(k)")
        }
    }

    @Test("segment: mask = (probability >= threshold) inside the intracranial mask, on the scan's grid and geometry")
    func segment() throws {
        let scan = head()
        var inside = MaskVolume(shape: scan.shape, repeating: 0, geometry: scan.geometry)
        for i in 0..<inside.voxels.count where i % 3 != 0 { inside.voxels[i] = 1 }
        let probabilities = try refiner.segment(scan, intracranial: inside, threshold: 0.5).probabilities
        let sorted = probabilities.voxels.sorted()
        let threshold = sorted[sorted.count / 2]    // a threshold that splits the voxels
        let result = try refiner.segment(scan, intracranial: inside, threshold: threshold, batchSize: 2)
        #expect(result.mask.shape == scan.shape && result.mask.geometry == scan.geometry)
        #expect(result.probabilities.voxels == probabilities.voxels)
        var count = 0
        for i in 0..<scan.voxels.count {
            let expected: UInt8 = (result.probabilities.voxels[i] >= threshold && inside.voxels[i] > 0) ? 1 : 0
            if result.mask.voxels[i] != expected { count += 1 }
        }
        #expect(count == 0)
        #expect(result.mask.voxels.contains(1) && result.mask.voxels.contains(0))
        // Batch size does not change the probabilities.
        let one = try refiner.segment(scan, intracranial: inside, threshold: threshold, batchSize: 1)
        for (a, b) in zip(one.probabilities.voxels, result.probabilities.voxels) { #expect(abs(a - b) <= 1e-6) }
        // a 2.5-D refiner stacks each batch's neighbours: the batch size does not change it either,
        // and the whole-volume input gives the same logits
        let deep = try deepRefiner.segment(scan, intracranial: inside, batchSize: 1).probabilities.voxels
        for b in [2, 8] {
            let other = try deepRefiner.segment(scan, intracranial: inside, batchSize: b).probabilities.voxels
            #expect(zip(deep, other).allSatisfy { abs($0 - $1) <= 1e-6 }, "batch \(b)")
        }
        let whole = withoutGradients { deepRefiner(deepRefiner.preprocess(scan)) }
        let resized = Preprocessing.resizeToVolume(whole.data, size: 16, shape: scan.shape).map { 1 / (1 + exp(-$0)) }
        #expect(zip(deep, resized).allSatisfy { abs($0 - $1) <= 1e-6 })
    }

    @Test("segment with flip averaging: mirroring the scan left-right mirrors the probabilities (to 1e-6); the plain network does not")
    func flipAveraging() throws {
        // a square scan at the network's input size, so preprocessing and the resize back are identities
        var scan = head(x: 16, y: 16, z: 2)
        for i in scan.voxels.indices { scan.voxels[i] += Float((i * 37) % 11) }   // no left-right symmetry
        func mirror(_ v: [Float]) -> [Float] {
            var out = v
            for k in 0..<2 { for j in 0..<16 { for i in 0..<16 { out[i + 16 * (j + 16 * k)] = v[15 - i + 16 * (j + 16 * k)] } } }
            return out
        }
        var mirrored = scan
        mirrored.voxels = mirror(scan.voxels)
        let inside = MaskVolume(shape: scan.shape, repeating: 1, geometry: scan.geometry)
        for refiner in [refiner, deepRefiner] {     // 2-D, and 2.5-D (every stacked plane flipped)
        let a = try refiner.segment(scan, intracranial: inside, flipAveraging: true).probabilities.voxels
        let b = try refiner.segment(mirrored, intracranial: inside, flipAveraging: true).probabilities.voxels
        #expect(zip(b, mirror(a)).allSatisfy { abs($0 - $1) <= 1e-6 })
        let plainA = try refiner.segment(scan, intracranial: inside).probabilities.voxels
        let plainB = try refiner.segment(mirrored, intracranial: inside).probabilities.voxels
        #expect(zip(plainB, mirror(plainA)).contains { abs($0 - $1) > 1e-4 })
        // and the averaged logit is the mean of the two plain ones: logit(avg) = (logit(p) + logit(mirror(p'))) / 2
        let logit = { (p: Float) in log(p / (1 - p)) }
        for i in a.indices where i % 7 == 0 {
            let expected = 0.5 * (logit(plainA[i]) + logit(mirror(plainB)[i]))
            #expect(abs(logit(a[i]) - expected) <= 1e-3 * max(1, abs(expected)), "\(i)")
        }
        }
    }

    @Test("an ensemble: a member twice is that network bit for bit; two members' logit is the mean of theirs (to 1e-3), with and without the flip")
    func ensemble() throws {
        let scan = head()
        var inside = MaskVolume(shape: scan.shape, repeating: 0, geometry: scan.geometry)
        for i in 0..<inside.voxels.count where i % 3 != 0 { inside.voxels[i] = 1 }
        let other = UNetLite(config: UNetLiteConfig(inputSize: 16, widths: [3, 5]), seed: 14)   // other widths read the scan alike
        // a head 30 times stronger spreads its logits, so that the mean logit and the mean
        // probability part (a fresh network's logits lie near 0, where they agree)
        var state = other.stateDict()
        for key in ["head.weight", "head.bias"] {
            let t = try #require(state[key])
            state[key] = Tensor(shape: t.shape, data: t.data.map { $0 * 30 })
        }
        try other.load(stateDict: state)
        let logit = { (p: Float) in log(p / (1 - p)) }
        for flip in [false, true] {
            let alone = try refiner.segment(scan, intracranial: inside, flipAveraging: flip)
            // (x + x) / 2 is x exactly: the sum over members and the mean are the only extra steps
            let twice = try UNetLite.segment(scan, ensemble: [refiner, refiner], intracranial: inside, batchSize: 2, flipAveraging: flip)
            #expect(twice.probabilities.voxels == alone.probabilities.voxels && twice.mask.voxels == alone.mask.voxels, "flip \(flip)")
            let b = try other.segment(scan, intracranial: inside, flipAveraging: flip).probabilities.voxels
            #expect(zip(alone.probabilities.voxels, b).contains { abs($0 - $1) > 1e-3 }, "the two members differ")
            let pair = try UNetLite.segment(scan, ensemble: [refiner, other], intracranial: inside, threshold: 0.5, flipAveraging: flip)
            let a = alone.probabilities.voxels
            // the check below tells the mean logit from the mean probability on these voxels
            #expect(a.indices.contains { i in
                let expected = 0.5 * (logit(a[i]) + logit(b[i]))
                return abs(logit(0.5 * (a[i] + b[i])) - expected) > 1e-2 * max(1, abs(expected))
            }, "flip \(flip)")
            for i in a.indices {
                // the resize is linear, so the mean of the resized logits is the resized mean
                let expected = 0.5 * (logit(a[i]) + logit(b[i]))
                #expect(abs(logit(pair.probabilities.voxels[i]) - expected) <= 1e-3 * max(1, abs(expected)), "flip \(flip), \(i)")
                // at 0.5, the mean logit's threshold is the mean probability's
                let meanProbability = 0.5 * (a[i] + b[i])
                if abs(meanProbability - 0.5) > 1e-4 {
                    #expect((pair.mask.voxels[i] == 1) == (meanProbability >= 0.5 && inside.voxels[i] > 0), "flip \(flip), \(i)")
                }
            }
            let row = try RefinerSegmenter(models: [refiner, other], name: "pair", flipAveraging: flip)
            let case_ = SegmentationCase(name: "head", scan: scan, intracranial: inside, cam: nil, sliceProbabilities: nil)
            #expect(try row.segment(case_).voxels == pair.mask.voxels)
        }
    }

    @Test("an ensemble with no member, or with members that read the scan differently, is refused naming the member")
    func ensembleRefused() throws {
        let scan = head()
        #expect { try UNetLite.segment(scan, ensemble: []) } throws: { error in
            guard case WeakSupervisionError.invalidParameter(let name, _) = error else { return false }
            return name == "ensemble"
        }
        for odd in [UNetLiteConfig(inputSize: 32, widths: [2, 4]), UNetLiteConfig(inputSize: 16, widths: [2, 4], contextSlices: 1),
                    UNetLiteConfig(inputSize: 16, widths: [2, 4], windows: [IntensityWindow(center: 40, width: 80)])] {
            let member = UNetLite(config: odd, seed: 3)
            #expect { try RefinerSegmenter(models: [refiner, member], name: "odd") } throws: { error in
                guard case WeakSupervisionError.invalidParameter(let name, let reason) = error else { return false }
                return name == "ensemble" && reason.contains("member 2")
            }
        }
    }

    @Test("segment without a mask computes the intracranial mask; a mask on another grid is refused")
    func intracranial() throws {
        let scan = head()
        let result = try refiner.segment(scan, threshold: 0.01)
        #expect(result.intracranial.voxels == (try IntracranialMask.compute(scan)).voxels)
        #expect(result.intracranial.voxels.contains(1) && result.mask.voxels.contains(1))
        for i in 0..<scan.voxels.count where result.mask.voxels[i] > 0 { #expect(result.intracranial.voxels[i] > 0) }
        let wrong = MaskVolume(shape: GridShape(30, 26, 2), repeating: 1, geometry: scan.geometry)
        #expect(throws: CTVolumeError.self) { try refiner.segment(scan, intracranial: wrong) }
    }
}
