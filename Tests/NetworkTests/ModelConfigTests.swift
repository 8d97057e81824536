import Foundation
import NeuralCore
import WeakSupervision
import Testing

@Suite("ModelConfig")
struct ModelConfigTests {
    @Test("decodes the reference's classifier and refiner configurations from checkpoints")
    func decodesReference() throws {
        let a = try SafeTensors(contentsOf: fixtureURL("classifier_a.safetensors"))
        let ca = try ModelConfig(json: try #require(a.metadata[ModelConfig.metadataKey]), source: "classifier_a")
        // ich.classifier_config(size=36, width=4, blocks=(1, 1, 1, 1), hidden=8)
        #expect(ca == .resnetLSTM(ResNetLSTMConfig(inputSize: 36, width: 4, blocks: [1, 1, 1, 1], hidden: 8)))
        let b = try SafeTensors(contentsOf: fixtureURL("classifier_b.safetensors"))
        let cb = try ModelConfig(json: try #require(b.metadata[ModelConfig.metadataKey]), source: "classifier_b")
        #expect(cb == .resnetLSTM(ResNetLSTMConfig(inputSize: 36, width: 2, blocks: [2, 1, 1, 1], hidden: 5, bidirectional: false)))
        let c = try SafeTensors(contentsOf: fixtureURL("classifier_c.safetensors"))
        let cc = try ModelConfig(json: try #require(c.metadata[ModelConfig.metadataKey]), source: "classifier_c")
        #expect(cc == .resnetLSTM(ResNetLSTMConfig(inputSize: 68, width: 4, blocks: [1, 1, 1, 1], hidden: 6, pooling: .max)))
        let u = try SafeTensors(contentsOf: fixtureURL("unet_a.safetensors"))
        let cu = try ModelConfig(json: try #require(u.metadata[ModelConfig.metadataKey]), source: "unet_a")
        #expect(cu == .unetLite(UNetLiteConfig(inputSize: 20, widths: [4, 8, 16])))
        #expect(cu.kind == "unet_lite" && cu.inputSize == 20 && cu.windows == IntensityWindow.defaults)
    }

    @Test("JSON round trip keeps every field", arguments: [
        ModelConfig.resnetLSTM(ResNetLSTMConfig()),
        .resnetLSTM(ResNetLSTMConfig(inputSize: 128, width: 16, blocks: [1, 2, 1], hidden: 32, bidirectional: false,
                                     windows: [IntensityWindow(center: 50, width: 100)])),
        .resnetLSTM(ResNetLSTMConfig(inputSize: 64, width: 8, blocks: [1, 1], hidden: 4, pooling: .max)),
        .unetLite(UNetLiteConfig()),
    ])
    func roundTrip(config: ModelConfig) throws {
        #expect(try ModelConfig(json: config.jsonString, source: "x") == config)
        let object = try JSONSerialization.jsonObject(with: Data(config.jsonString.utf8)) as? [String: Any]
        #expect(object?["kind"] as? String == config.kind)
        #expect(object?["input_size"] as? Int == config.inputSize)
        // pooling is written only when it is not the average, as the reference writes it
        if case .resnetLSTM(let c) = config { #expect((object?["pooling"] as? String) == (c.pooling == .average ? nil : c.pooling.rawValue)) }
    }

    @Test("bad configurations name the source and the field", arguments: [
        (#"{"kind": "vgg", "input_size": 1, "windows": []}"#, "unknown model kind"),
        (#"{"kind": "unet_lite", "input_size": 30, "widths": [4, 8, 16], "windows": [[40, 80]]}"#, "divisible by 4"),
        (#"{"kind": "unet_lite", "input_size": 32, "widths": [4, 8, 16]}"#, "windows"),
        (#"{"kind": "resnet_lstm", "input_size": 32, "width": 4, "blocks": [], "hidden": 8, "bidirectional": true, "windows": [[40, 80]]}"#, "blocks"),
        (#"{"kind": "resnet_lstm", "input_size": 32, "width": 4, "blocks": [1], "hidden": 8, "bidirectional": true, "windows": [[40, 0]]}"#, "positive width"),
        (#"{"kind": "resnet_lstm", "input_size": 32, "width": 4, "blocks": [1], "hidden": 8, "windows": [[40, 80]]}"#, "bidirectional"),
        (#"{"kind": "resnet_lstm", "input_size": 32, "width": 4, "blocks": [1], "hidden": 8, "bidirectional": true, "windows": [[40, 80]], "pooling": "median"}"#, "pooling"),
        ("not json", "JSON"),
    ])
    func invalid(json: String, fragment: String) {
        do {
            _ = try ModelConfig(json: json, source: "m.safetensors")
            Issue.record("accepted \(json)")
        } catch let error as NeuralCoreError {
            guard case .invalidConfig(let source, let reason) = error else { Issue.record("\(error)"); return }
            #expect(source == "m.safetensors")
            #expect(reason.contains(fragment), "\(reason)")
        } catch {
            Issue.record("\(error)")
        }
    }
}
