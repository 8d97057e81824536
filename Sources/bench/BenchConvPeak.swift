import ArgumentParser
import Dispatch
import Foundation
import NeuralCore

/// `bench convpeak`: the share of the sgemm peak that the ResNet-18 training step's
/// convolutions reach on this machine, both measured in one run. The peak is NeuralCore's own
/// matrix product (OpenBLAS, split over the threads as NeuralCore splits it) on square
/// matrices; the convolutions are every convolution of the networks benchmark's ResNet-LSTM
/// (width 64, blocks [2, 2, 2, 2], 3 x 256 x 256, 8 slices), each timed forward and backward
/// (input and weight gradients; the stem has no input gradient, as in training).
struct BenchConvPeak: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "convpeak",
        abstract: "The ResNet training step's convolutions against the sgemm peak, in one run.")

    @Option(help: "Threads for NeuralCore and OpenBLAS.") var threads = 2
    @Option(help: "Timed repetitions per case (the median is reported).") var repeats = 5
    @Option(help: "Input size of the ResNet (the networks benchmark: 256).") var size = 256
    @Option(help: "Slices per step (the networks benchmark: 8).") var batch = 8
    @Option(help: "Side of the square matrices of the sgemm peak.") var gemm = 2048

    func run() throws {
        Threading.setThreadCount(threads)
        var g = SplitMix64(state: 1)
        func rand(_ shape: [Int], grad: Bool) -> Tensor {
            Tensor(shape: shape, data: Initializers.uniform(count: shape.reduce(1, *), bound: 1, using: &g), requiresGrad: grad)
        }
        func median(_ body: () -> Void) -> Double { medianSeconds(repeats: repeats, body) }
        let a = rand([gemm, gemm], grad: false), b = rand([gemm, gemm], grad: false)
        let gemmSeconds = median { _ = a.matmul(b) }
        let peak = 2 * pow(Double(gemm), 3) / gemmSeconds / 1e9

        // (input channels, output channels, kernel, stride, input side, needs the input gradient)
        var convs: [(Int, Int, Int, Int, Int, Bool)] = [(3, 64, 7, 2, size, false)]
        var side = size / 4, channels = 64
        for (stage, width) in [64, 128, 256, 512].enumerated() {
            for block in 0 ..< 2 {
                let stride = stage > 0 && block == 0 ? 2 : 1
                convs.append((channels, width, 3, stride, side, true))
                let out = side / stride
                convs.append((width, width, 3, 1, out, true))
                if stride == 2 { convs.append((channels, width, 1, 2, side, true)) }
                channels = width; side = out
            }
        }
        var seconds = 0.0, flops = 0.0
        var rows: [[String: Any]] = []
        for (c, o, k, s, h, inputGradient) in convs {
            let x = rand([batch, c, h, h], grad: inputGradient), w = rand([o, c, k, k], grad: true)
            let out = (h + 2 * (k / 2) - k) / s + 1
            let seed = rand([batch, o, out, out], grad: false)
            let t = median { conv2d(x, weight: w, stride: s, padding: k / 2).backward(seed) }
            let forward = 2.0 * Double(batch * o * c * k * k * out * out)
            let f = forward * (inputGradient ? 3 : 2)
            seconds += t; flops += f
            rows.append(["shape": "\(k)x\(k)s\(s) \(c)->\(o) at \(h)", "ms": t * 1000, "gflops": f / t / 1e9])
        }
        let rate = flops / seconds / 1e9
        let report: [String: Any] = ["threads": threads, "sgemm_gflops": peak, "conv_gflops": rate,
                                     "conv_share_of_peak": rate / peak, "conv_seconds": seconds, "convs": rows]
        let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
