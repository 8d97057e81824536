import ArgumentParser
import Foundation
import NeuralCore
import WeakSupervision

#if canImport(Glibc)
import Glibc
#endif

/// `bench networks`: a training step (forward in training mode, BCE loss, backward, Adam) or an
/// inference pass (evaluation mode, no gradients) of ResNetLSTM or UNetLite on random input.
/// Prints one JSON object: seconds per iteration (median and best), slices/s, forward GFLOP and GFLOP/s
/// (a training step counted as 3x the forward), and the process's peak RSS.
///
///     swift run -c release bench networks --network resnet_lstm --mode train
///
/// Peer: scripts/bench/networks.py (PyTorch, same shapes, same FLOP formula); both are run
/// side by side by scripts/bench/networks.sh.
struct BenchNetworks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "networks",
        abstract: "Training step and inference of ResNetLSTM and UNetLite (WeakSupervision, on NeuralCore).")

    @Option(help: "resnet_lstm or unet_lite.")
    var network: String = "resnet_lstm"

    @Option(help: "train (forward, backward, Adam) or infer (eval, no gradients).")
    var mode: String = "train"

    @Option(help: "Input side S.")
    var size: Int = 256

    @Option(help: "ResNetLSTM width w.")
    var width: Int = 64

    @Option(help: "ResNetLSTM blocks per stage, comma-separated.")
    var blocks: String = "2,2,2,2"

    @Option(help: "ResNetLSTM LSTM hidden size.")
    var hidden: Int = 128

    @Option(help: "ResNetLSTM slices per sequence (batch 1).")
    var sequence: Int = 8

    @Option(help: "UNetLite widths, comma-separated.")
    var widths: String = "16,32,64,128"

    @Option(help: "UNetLite batch (slices).")
    var batch: Int = 8

    @Option(help: "Timed iterations (after one untimed warm-up).")
    var iterations: Int = 3

    @Option(help: "Threads for NeuralCore's loops and OpenBLAS.")
    var threads: Int = 2

    func validate() throws {
        guard ["resnet_lstm", "unet_lite"].contains(network) else { throw ValidationError("--network must be resnet_lstm or unet_lite") }
        guard ["train", "infer"].contains(mode) else { throw ValidationError("--mode must be train or infer") }
        guard iterations >= 1, threads >= 1, size > 0, sequence > 0, batch > 0 else { throw ValidationError("sizes and counts must be positive") }
    }

    private func ints(_ text: String) throws -> [Int] {
        let v = text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !v.isEmpty, v.allSatisfy({ $0 > 0 }) else { throw ValidationError("expected comma-separated positive integers, got '\(text)'") }
        return v
    }

    func run() throws {
        Threading.setThreadCount(threads)
        var g = SplitMix64(state: 2026)
        let model: Module
        let input: Tensor
        let target: Tensor
        let slices: Int
        let flops: Double
        if network == "resnet_lstm" {
            let config = ResNetLSTMConfig(inputSize: size, width: width, blocks: try ints(blocks), hidden: hidden)
            model = ResNetLSTM(config: config, using: &g)
            input = Tensor(shape: [1, sequence, 3, size, size], data: (0..<(sequence * 3 * size * size)).map { _ in Float.random(in: 0..<1, using: &g) })
            target = Tensor(shape: [1, sequence], data: (0..<sequence).map { Float($0 % 2) })
            slices = sequence
            flops = Self.resnetLSTMFlops(config, slices: sequence)
        } else {
            let config = UNetLiteConfig(inputSize: size, widths: try ints(widths))
            model = UNetLite(config: config, using: &g)
            input = Tensor(shape: [batch, 3, size, size], data: (0..<(batch * 3 * size * size)).map { _ in Float.random(in: 0..<1, using: &g) })
            target = Tensor(shape: [batch, 1, size, size], data: (0..<(batch * size * size)).map { _ in Float.random(in: 0..<1, using: &g) < 0.1 ? 1 : 0 })
            slices = batch
            flops = Self.unetFlops(config, batch: batch)
        }
        let optimizer = Adam(learningRate: 1e-4)
        if mode == "train" { model.train() } else { model.eval() }

        let clock = ContinuousClock()
        var phases: [[Double]] = [[], [], []]   // forward (with loss), backward, optimizer
        func step(record: Bool) {
            if mode == "train" {
                let t0 = clock.now
                model.zeroGrad()
                let loss = binaryCrossEntropyWithLogits(model(input), targets: target)
                let t1 = clock.now
                loss.backward()
                let t2 = clock.now
                optimizer.update(model: model, gradients: model.parameterGradients())
                let t3 = clock.now
                if record {
                    phases[0].append((t1 - t0) / .seconds(1))
                    phases[1].append((t2 - t1) / .seconds(1))
                    phases[2].append((t3 - t2) / .seconds(1))
                }
            } else {
                _ = withoutGradients { model(input) }
            }
        }
        step(record: false)   // warm-up (allocations, OpenBLAS buffers)
        var times: [Double] = []
        for _ in 0..<iterations {
            let start = clock.now
            step(record: true)
            times.append((clock.now - start) / .seconds(1))
        }
        times.sort()
        let median = times[times.count / 2]
        let work = (mode == "train" ? 3 : 1) * flops
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let peakMB = Double(usage.ru_maxrss) / 1024
        let breakdown = mode == "train"
            ? ",\"forward_s\":\(Self.median(phases[0])),\"backward_s\":\(Self.median(phases[1])),\"optimizer_s\":\(Self.median(phases[2]))"
            : ""
        print("{\"impl\":\"swift\",\"network\":\"\(network)\",\"mode\":\"\(mode)\",\"size\":\(size),\"slices\":\(slices),"
              + "\"threads\":\(threads),\"iterations\":\(iterations),\"seconds\":\(median),\"best_seconds\":\(times[0]),\"best_slices_per_s\":\(Double(slices) / times[0]),\"slices_per_s\":\(Double(slices) / median),"
              + "\"forward_gflop\":\(flops / 1e9),\"gflops\":\(work / median / 1e9),\"peak_rss_mb\":\(peakMB)\(breakdown)}")
    }

    static func median(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.sorted()[v.count / 2] }

    /// Multiply-adds x 2 of the convolutions, the LSTM and the linear layer of one forward pass.
    static func resnetLSTMFlops(_ c: ResNetLSTMConfig, slices: Int) -> Double {
        func out(_ n: Int, _ k: Int, _ s: Int, _ p: Int) -> Int { (n + 2 * p - k) / s + 1 }
        var f = 0.0
        var h = out(c.inputSize, 7, 2, 3)
        f += 2.0 * Double(c.inChannels * c.width * 49 * h * h)
        h = out(h, 3, 2, 1)
        var cin = c.width
        for (i, n) in c.blocks.enumerated() {
            let cout = c.width << i
            for b in 0..<n {
                let stride = (i > 0 && b == 0) ? 2 : 1
                let ho = out(h, 3, stride, 1)
                f += 2.0 * Double(cin * cout * 9 * ho * ho) + 2.0 * Double(cout * cout * 9 * ho * ho)
                if stride != 1 || cin != cout { f += 2.0 * Double(cin * cout * ho * ho) }
                h = ho
                cin = cout
            }
        }
        f *= Double(slices)
        let d = c.bidirectional ? 2 : 1
        f += Double(slices * d) * 2.0 * Double(4 * c.hidden * (cin + c.hidden))
        f += Double(slices) * 2.0 * Double(c.hidden * d)
        return f
    }

    /// Multiply-adds x 2 of the convolutions of one UNetLite forward pass.
    static func unetFlops(_ c: UNetLiteConfig, batch: Int) -> Double {
        let w = c.widths
        var f = 0.0
        var s = c.inputSize
        func block(_ cin: Int, _ cout: Int, _ s: Int) -> Double { 2.0 * Double((cin * cout + cout * cout) * 9 * s * s) }
        for i in 0..<(w.count - 1) {
            f += block(i == 0 ? c.inChannels : w[i - 1], w[i], s)
            s /= 2
        }
        f += block(w[w.count - 2], w[w.count - 1], s)
        for i in (0..<(w.count - 1)).reversed() {
            s *= 2
            f += block(w[i + 1] + w[i], w[i], s)
        }
        f += 2.0 * Double(w[0] * s * s)
        return f * Double(batch)
    }
}
