import ArgumentParser
import Dispatch
import Foundation
import NeuralCore
import WeakSupervision

/// `bench layers`: forward + backward time of NeuralCore's layers at network-sized shapes.
/// Peer: scripts/bench/layers.py (PyTorch); scripts/bench/layers.sh runs both and prints ratios.
struct BenchLayers: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "layers", abstract: "Time NeuralCore layers (forward + backward).")

    @Option(help: "Threads for NeuralCore and OpenBLAS.") var threads = 2
    @Option(help: "Timed repetitions per case (the median is reported).") var repeats = 5
    @Option(help: "Run only the cases whose name contains this text.") var only: String?
    @Option(help: "Time this convolution instead of the cases: N,C,H,W,O,k,stride,padding (repeatable; the input gets a gradient).")
    var conv: [String] = []

    func run() throws {
        Threading.setThreadCount(threads)
        var g = SplitMix64(state: 1)
        func rand(_ shape: [Int], grad: Bool = true) -> Tensor {
            Tensor(shape: shape, data: Initializers.uniform(count: shape.reduce(1, *), bound: 1, using: &g), requiresGrad: grad)
        }
        var results: [String: Double] = [:]
        func time(_ name: String, _ forward: @escaping () -> Tensor) {
            if let only, !name.contains(only) { return }
            let seed = rand(forward().shape, grad: false)
            results[name] = medianSeconds(repeats: repeats) { forward().backward(seed) } * 1e3
        }
        func step(_ y: Tensor) -> Tensor { y }
        if !conv.isEmpty {
            for spec in conv {
                let v = spec.split(separator: ",").compactMap { Int($0) }
                guard v.count == 8 else { throw ValidationError("--conv \(spec): expected N,C,H,W,O,k,stride,padding") }
                let x = rand([v[0], v[1], v[2], v[3]]), w = rand([v[4], v[1], v[5], v[5]])
                time("conv_" + spec) { conv2d(x, weight: w, stride: v[6], padding: v[7]) }
            }
            let data = try JSONSerialization.data(withJSONObject: ["threads": threads, "ms": results], options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }

        let x1 = rand([16, 3, 128, 128], grad: false), w1 = rand([64, 3, 7, 7])
        time("conv7x7s2_16x3x128_to64") { step(conv2d(x1, weight: w1, stride: 2, padding: 3)) }
        // the demo classifier's stem: 32 slices at 128, width 16
        let x1d = rand([32, 3, 128, 128], grad: false), w1d = rand([16, 3, 7, 7])
        time("conv7x7s2_32x3x128_to16") { step(conv2d(x1d, weight: w1d, stride: 2, padding: 3)) }
        let x2 = rand([16, 64, 32, 32]), w2 = rand([64, 64, 3, 3])
        time("conv3x3_16x64x32") { step(conv2d(x2, weight: w2, padding: 1)) }
        let x3 = rand([16, 256, 8, 8]), w3 = rand([256, 256, 3, 3])
        time("conv3x3_16x256x8") { step(conv2d(x3, weight: w3, padding: 1)) }
        let x4 = rand([8, 16, 128, 128]), w4 = rand([16, 16, 3, 3])
        time("conv3x3_8x16x128") { step(conv2d(x4, weight: w4, padding: 1)) }
        let w5 = rand([128, 64, 1, 1])
        time("conv1x1s2_16x64x32_to128") { step(conv2d(x2, weight: w5, stride: 2)) }
        let bn = BatchNorm2d(16)
        time("batchnorm_8x16x128") { step(bn(x4)) }
        time("relu_8x16x128") { step(x4.relu()) }
        time("maxpool3x3s2_16x64x32") { step(maxPool2d(x2, kernelSize: 3, stride: 2, padding: 1)) }
        time("bilinear_x2_8x16x128") { step(upsampleBilinear(x4)) }
        time("add_8x16x128") { step(x4 + x4) }
        let lstm = LSTM(inputSize: 512, hiddenSize: 128, bidirectional: true, using: &g)
        let seq = rand([2, 16, 512])
        time("lstm_bi_2x16x512_h128") { step(lstm(seq)) }
        // A UNetLite-shaped training step (forward, BCE + soft Dice, backward) built from the
        // functional layers: widths [16, 32, 64, 128], batch 8, 3 x 128 x 128.
        let widths = [16, 32, 64, 128]
        func block(_ cin: Int, _ cout: Int) -> Sequential {
            Sequential(Conv2d(cin, cout, kernelSize: 3, padding: 1, bias: false, using: &g), BatchNorm2d(cout), ReLU(),
                       Conv2d(cout, cout, kernelSize: 3, padding: 1, bias: false, using: &g), BatchNorm2d(cout), ReLU())
        }
        let down = (0 ..< 3).map { block($0 == 0 ? 3 : widths[$0 - 1], widths[$0]) }
        let bottom = block(widths[2], widths[3])
        let up = (0 ..< 3).reversed().map { block(widths[$0 + 1] + widths[$0], widths[$0]) }
        let head = Conv2d(widths[0], 1, kernelSize: 1, using: &g)
        let image = rand([8, 3, 128, 128], grad: false)
        let mask = Tensor(shape: [8, 1, 128, 128], data: (0 ..< 8 * 128 * 128).map { Float(($0 / 97) % 2) })
        time("unetlite_step_8x3x128") {
            var x = image
            var skips: [Tensor] = []
            for b in down { x = b(x); skips.append(x); x = maxPool2d(x, kernelSize: 2) }
            x = bottom(x)
            for b in up { x = b(Tensor.concatenate([upsampleBilinear(x), skips.removeLast()], axis: 1)) }
            let logits = head(x)
            return binaryCrossEntropyWithLogits(logits, targets: mask) + softDiceLoss(logits, targets: mask)
        }
        let data = try JSONSerialization.data(withJSONObject: ["threads": threads, "ms": results], options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
