import Foundation
import CTVolume
import NeuralCore
import Testing
import WeakSupervision

/// A user's own CAM method in a few lines: Grad-CAM written out again through the protocol.
private struct MyGradCAM: GradientCAMMethod {
    var model: ResNetLSTM
    var layer = "layer4"
    var name: String { "my-gradcam" }
    func combine(_ s: CAMSliceInput) -> [Float] {
        s.weightedSum(s.channelMeans(s.gradients)).map { max($0, 0) }
    }
}

/// A gradient-free method through the same protocol: the channel mean of the activations.
private struct MeanActivation: GradientCAMMethod {
    var model: ResNetLSTM
    var layer: String
    var name: String { "mean-activation" }
    func combine(_ s: CAMSliceInput) -> [Float] {
        s.weightedSum([Float](repeating: 1 / Float(s.channels), count: s.channels))
    }
}

@Suite("CAM methods against PyTorch (cam_fixtures.py)")
struct CAMTests {
    let net: ResNetLSTM
    let maps: [String: Tensor]
    let sequence = patternSequence(t: 4, c: 3, s: 64)

    init() throws {
        net = try ResNetLSTM(contentsOf: fixtureFile("cam_classifier.safetensors"))
        maps = try fixtureTensors("cam_maps.safetensors")
    }

    @Test("Grad-CAM resized and normalised equals ichnets.grad_cam (1e-4)")
    func gradCAMParity() throws {
        let out = try GradCAM(model: net)(sequence, height: 40, width: 48)
        let want = try #require(maps["gradcam"])
        #expect(out.shape == [4, 40, 48])
        let err = scaledError(out.data, want.data)
        #expect(err <= 1e-4, "scaled error \(err)")
        #expect(out.data.allSatisfy { $0 >= 0 && $0 <= 1 })
        let explanation = try GradCAM(model: net).explain(sequence)
        #expect(scaledError(explanation.logits, maps["logits"]!.data) <= 1e-4)
    }

    @Test("raw maps of every method and stage equal the torch formulas (1e-4)",
          arguments: ["gradcam", "gradcampp", "layercam"], ["layer2", "layer3", "layer4"])
    func rawParity(method: String, layer: String) throws {
        let cam = try CAM.method(try #require(CAM.Kind(rawValue: method)), model: net, layer: layer)
        let raw = try cam.computeMap(sequence)
        let want = try #require(maps["raw.\(method).\(layer)"])
        #expect(raw.shape == want.shape)
        let err = scaledError(raw.data, want.data)
        #expect(err <= 1e-4, "\(method) \(layer): scaled error \(err)")
    }

    @Test("a volume's maps: every slice in one sequence, on the scan grid, in [0, 1]")
    func volumeParity() throws {
        let scan = patternScan(x: 40, y: 36, z: 6)
        let result = try GradCAM(model: net).volume(scan)
        #expect(result.map.shape == scan.shape)
        #expect(result.map.geometry == scan.geometry)
        #expect(result.logits.count == 6 && result.probabilities.allSatisfy { $0 > 0 && $0 < 1 })
        let err = scaledError(result.map.voxels, try #require(maps["volume.gradcam"]).data)
        #expect(err <= 1e-4, "scaled error \(err)")
        #expect(result.map.voxels.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    @Test("a user's method plugs into the same protocol")
    func customMethod() throws {
        let mine = try MyGradCAM(model: net)(sequence, height: 40, width: 48)
        #expect(scaledError(mine.data, maps["gradcam"]!.data) <= 1e-4)
        // The gradient-free one equals the channel mean of the stage output, computed directly.
        let raw = try MeanActivation(model: net, layer: "layer3").computeMap(sequence)
        net.eval()
        let a = withoutGradients { net.encoderHead(sequence, through: 3) }.mean(axes: [1])
        #expect(raw.shape == a.shape)
        #expect(scaledError(raw.data, a.data) <= 1e-5)
    }

    @Test("long sequences (encoded 16 slices at a time) give the one-pass logits and Grad-CAM")
    func longSequence() throws {
        let long = patternSequence(t: 18, c: 3, s: 64)
        let explanation = try GradCAM(model: net).explain(long)
        // The same computed in one pass over all 18 slices, written out from the formula.
        let maps = withoutGradients { net.featureMaps(long) }.detached()
        maps.requiresGrad = true
        let logits = net.head(maps, batch: 1, time: 18)
        #expect(scaledError(explanation.logits, logits.data) <= 1e-5)
        for k in [0, 16, 17] {
            let g = gradients(of: logits.select(axis: 1, k).sum(), withRespectTo: [maps])[0]
            let (c, hw) = (maps.shape[1], maps.shape[2] * maps.shape[3])
            var want = [Float](repeating: 0, count: hw)
            for ch in 0..<c {
                var weight: Float = 0
                for q in 0..<hw { weight += g.data[(k * c + ch) * hw + q] }
                for q in 0..<hw { want[q] += weight / Float(hw) * maps.data[(k * c + ch) * hw + q] }
            }
            let got = Array(explanation.maps.data[(k * hw)..<((k + 1) * hw)])
            #expect(scaledError(got, want.map { max($0, 0) }) <= 1e-4, "slice \(k)")
        }
    }

    @Test("Grad-CAM++ where its denominator is exactly 0: α is 0 there, the map finite")
    func gradCAMPlusPlusSingularDenominator() throws {
        // Channel 0: Σ A g³ = 1e-7 · (−1)³ = −1e-7 exactly, so at the position with g = 0 MONAI's
        // denominator 2g² + Σ A g³ + 1e-7 is exactly 0 and α = 0/0 (NaN, and NaN · ReLU(0) = NaN
        // poisons the whole map). Channel 1: an ordinary channel, written out from the formula.
        let (a1, g1): ([Double], [Double]) = ([1, 2], [0.5, 0.25])
        let input = CAMSliceInput(channels: 2, height: 1, width: 2,
                                  activations: [1e-7, 0] + a1.map(Float.init), gradients: [-1, 0] + g1.map(Float.init), logit: 0.3)
        let map = GradCAMPlusPlus(model: net).combine(input)
        #expect(map.allSatisfy { $0.isFinite })
        let s = zip(a1, g1).reduce(0) { $0 + $1.0 * pow($1.1, 3) }
        let w1 = g1.reduce(0) { $0 + $1 * $1 / (2 * $1 * $1 + s + 1e-7) * max(exp(0.3) * $1, 0) }
        // channel 0 adds nothing: α = 0 at g = 0, ReLU(exp(S)·g) = 0 at g = −1
        #expect(scaledError(map, a1.map { Float(max(w1 * $0, 0)) }) <= 1e-6)
    }

    @Test("encoderHead then encoderTail is featureMaps at every cut")
    func stageSplit() throws {
        net.eval()
        let whole = withoutGradients { net.featureMaps(sequence) }
        for stage in 1...4 {
            let cut = withoutGradients { net.encoderTail(net.encoderHead(sequence, through: stage), after: stage) }
            #expect(scaledError(cut.data, whole.data) <= 1e-6, "stage \(stage)")
        }
    }

    @Test("an unknown layer is refused with the valid names")
    func unknownLayer() throws {
        #expect(throws: WeakSupervisionError.self) { try CAM.method(.gradcam, model: net, layer: "layer5") }
        do {
            _ = try GradCAM(model: net, layer: "fc").computeMap(sequence)
            Issue.record("expected an error")
        } catch let error as WeakSupervisionError {
            #expect(error.description.contains("layer1, layer2, layer3, layer4"))
        }
    }
}

/// The example of Docs/custom-cam.md, verbatim.
struct XGradCAM: GradientCAMMethod {
    var model: ResNetLSTM
    var layer = "layer4"
    var name: String { "xgradcam" }

    func combine(_ s: CAMSliceInput) -> [Float] {
        let n = s.planeCount
        let weights = (0..<s.channels).map { c -> Float in
            let a = s.activations[(c * n)..<((c + 1) * n)], g = s.gradients[(c * n)..<((c + 1) * n)]
            let total = a.reduce(0, +) + 1e-7
            return zip(a, g).reduce(0) { $0 + $1.0 * $1.1 } / total
        }
        return s.weightedSum(weights).map { max($0, 0) }
    }
}

@Suite("The custom-method example of Docs/custom-cam.md")
struct CustomCAMExampleTests {
    @Test("XGrad-CAM written through the protocol equals its torch formula (1e-4)")
    func xgradcam() throws {
        let net = try ResNetLSTM(contentsOf: fixtureFile("cam_classifier.safetensors"))
        let raw = try XGradCAM(model: net).computeMap(patternSequence(t: 4, c: 3, s: 64))
        let want = try #require(try fixtureTensors("cam_maps.safetensors")["raw.xgradcam.layer4"])
        #expect(raw.shape == want.shape)
        #expect(scaledError(raw.data, want.data) <= 1e-4)
    }
}
