import CTVolume
import Foundation
import NeuralCore
import Testing
@testable import WeakSupervision

@Suite("Neighbouring slices as channels (2.5-D refiner)")
struct SliceContextTests {
    /// Four slices of stride 2, each slice's values its own index and index + 0.5.
    let values: [Float] = (0..<4).flatMap { [Float($0), Float($0) + 0.5] }

    @Test("stack: slices z−k … z+k in order, the end slices repeated past either end; context 0 is the input")
    func stack() {
        let one = SliceContext.stack(values[...], sliceStride: 2, count: 4, context: 1)
        // slice 0 sees 0, 0, 1; slice 3 sees 2, 3, 3
        let expected: [[Float]] = [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 3]]
        #expect(one == expected.flatMap { $0.flatMap { [Float($0), Float($0) + 0.5] } })
        #expect(SliceContext.stack(values[...], sliceStride: 2, count: 4, context: 0) == values)
        let two = SliceContext.stack(values[...], sliceStride: 2, count: 4, context: 2, range: 1..<2)
        #expect(two.enumerated().filter { $0.offset % 2 == 0 }.map(\.element) == [0, 0, 1, 2, 3])
        // a window of the stack gives the same values for the slices it covers with their context
        let window = SliceContext.stack(values[2...], sliceStride: 2, first: 1, count: 4, context: 1, range: 2..<4)
        #expect(window == Array(one[12...]))
        #expect(SliceContext.neighbour(of: 0, offset: -3, count: 4) == 0 && SliceContext.neighbour(of: 2, offset: 3, count: 4) == 3)
    }

    @Test("PreparedCase.slices(_:context:) equals the stack of all its slices, windowed or kept as HU; context 0 is slices(_:)")
    func preparedCase() {
        let size = 2, windows = [Window(center: 40, width: 80), Window(center: 80, width: 200)]
        let hu: [Float] = (0..<(5 * size * size)).map { Float($0 * 7 % 90) - 10 }
        let kept = PreparedCase(name: "c", size: size, hounsfield: hu, windows: windows, labels: [0, 1, 1, 0, 0])
        let windowed = PreparedCase(name: "c", size: size, channels: 2, slices: Array(kept.slices(0..<5)), labels: kept.labels)
        let whole = SliceContext.stack(kept.slices(0..<5), sliceStride: kept.sliceStride, count: 5, context: 2)
        let stride = 5 * kept.sliceStride
        for item in [kept, windowed] {
            for range in [0..<5, 0..<1, 4..<5, 1..<3] {
                #expect(Array(item.slices(range, context: 2)) == Array(whole[(range.lowerBound * stride)..<(range.upperBound * stride)]), "\(range)")
            }
            #expect(Array(item.slice(3, context: 0)) == Array(item.slice(3)))
        }
    }

    @Test("UNetLite.preprocess with context: block d of slice z is the 2-D input of slice z+d (clamped); training sees the same input")
    func preprocess() throws {
        var voxels = [Float](repeating: 0, count: 12 * 10 * 4)
        for i in voxels.indices { voxels[i] = Float((i * 37) % 160) - 30 }
        let scan = ScanVolume(shape: GridShape(12, 10, 4), voxels: voxels, geometry: Geometry(spacing: SIMD3(1, 1, 5)))
        let flat = UNetLite(config: UNetLiteConfig(inputSize: 8, widths: [2, 4]), seed: 1).preprocess(scan)
        let deep = UNetLite(config: UNetLiteConfig(inputSize: 8, widths: [2, 4], contextSlices: 1), seed: 1).preprocess(scan)
        #expect(deep.shape == [4, 9, 8, 8] && flat.shape == [4, 3, 8, 8])
        let stride = 3 * 64
        for z in 0..<4 {
            for d in -1...1 {
                let n = min(max(z + d, 0), 3), at = (z * 3 + d + 1) * stride
                #expect(Array(deep.data[at..<(at + stride)]) == Array(flat.data[(n * stride)..<((n + 1) * stride)]), "slice \(z) offset \(d)")
            }
        }
        // the trainer's input for a case made from the same scan
        let item = try PreparedCase(name: "s", scan: scan, labels: [0, 0, 1, 0], size: 8, windows: IntensityWindow.defaults.map(\.ctWindow))
        #expect(Array(item.slices(0..<4, context: 1)) == deep.data)
    }

    @Test("context_slices: written only when not 0, read as 0 when absent, kept by a checkpoint; unknown keys (both networks) and out of range refused")
    func configuration() throws {
        let encoder = JSONEncoder(), decoder = JSONDecoder()
        let plain = String(decoding: try encoder.encode(ModelConfig.unetLite(UNetLiteConfig(inputSize: 16, widths: [2, 4]))), as: UTF8.self)
        #expect(!plain.contains("context"))
        let deep = ModelConfig.unetLite(UNetLiteConfig(inputSize: 16, widths: [2, 4], contextSlices: 2))
        let text = try encoder.encode(deep)
        #expect(String(decoding: text, as: UTF8.self).contains("\"context_slices\":2"))
        #expect(try decoder.decode(ModelConfig.self, from: text) == deep)
        #expect(try decoder.decode(ModelConfig.self, from: Data(plain.utf8)) == .unetLite(UNetLiteConfig(inputSize: 16, widths: [2, 4])))
        // a misspelt key is refused, naming it, rather than read as a 2-D refiner
        let misspelt = #"{"kind": "unet_lite", "input_size": 16, "widths": [2, 4], "windows": [[40, 80]], "contextSlices": 1}"#
        do {
            _ = try decoder.decode(ModelConfig.self, from: Data(misspelt.utf8))
            Issue.record("contextSlices was accepted")
        } catch let DecodingError.dataCorrupted(context) {
            #expect(context.debugDescription.contains("contextSlices"))
        }
        // the classifier's configuration likewise: a misspelt pooling is refused, not read as average
        let classifier = #"{"kind": "resnet_lstm", "input_size": 32, "width": 4, "blocks": [1], "hidden": 4, "bidirectional": true, "windows": [[40, 80]], "poling": "max"}"#
        do {
            _ = try decoder.decode(ModelConfig.self, from: Data(classifier.utf8))
            Issue.record("poling was accepted")
        } catch let DecodingError.dataCorrupted(context) {
            #expect(context.debugDescription.contains("unknown resnet_lstm key \"poling\""))
        }
        let fixed = classifier.replacingOccurrences(of: "poling", with: "pooling")
        #expect(try decoder.decode(ModelConfig.self, from: Data(fixed.utf8)) == .resnetLSTM(ResNetLSTMConfig(inputSize: 32, width: 4, blocks: [1], hidden: 4, windows: [IntensityWindow(center: 40, width: 80)], pooling: .max)))
        for k in [-1, SliceContext.maximum + 1] {
            #expect(throws: NeuralCoreError.self) { try ModelConfig.unetLite(UNetLiteConfig(inputSize: 16, widths: [2, 4], contextSlices: k)).validate(source: "t") }
        }
        // a saved 2.5-D refiner reloads with its context and gives the same segmentation
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("slice-context-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = UNetLite(config: UNetLiteConfig(inputSize: 16, widths: [2, 4], contextSlices: 1), seed: 3)
        let url = dir.appendingPathComponent("r.safetensors")
        try model.save(to: url)
        let loaded = try UNetLite(contentsOf: url)
        #expect(loaded.config.contextSlices == 1 && loaded.config.inChannels == 9)
        var voxels = [Float](repeating: 35, count: 20 * 20 * 3)
        for i in voxels.indices where i % 7 == 0 { voxels[i] = 70 }
        let scan = ScanVolume(shape: GridShape(20, 20, 3), voxels: voxels, geometry: Geometry(spacing: SIMD3(1, 1, 5)))
        let inside = MaskVolume(shape: scan.shape, repeating: 1, geometry: scan.geometry)
        #expect(try loaded.segment(scan, intracranial: inside).probabilities.voxels == model.segment(scan, intracranial: inside).probabilities.voxels)
    }
}

@Suite("2.5-D refiner in the pipeline's configuration")
struct SliceContextConfigurationTests {
    @Test("model.context_slices reaches the saved configuration and changes the refiner's and the upper bound's stage keys only")
    func stageKeys() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("slice-context-keys-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var config = PipelineConfig.full
        let old = try Pipeline(config: config, output: folder)
        config.refiner.training.model.contextSlices = 1
        let text = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        #expect(text.contains("\"context_slices\":1"))
        #expect(try JSONDecoder().decode(PipelineConfig.self, from: Data(text.utf8)) == config)
        let new = try Pipeline(config: config, output: folder, overwrite: true)
        for stage in PipelineStage.allCases {
            let reads = [.refiner, .upperBound, .comparison].contains(stage)
            #expect((old.configKey(stage) != new.configKey(stage)) == reads, "\(stage)")
        }
    }
}
