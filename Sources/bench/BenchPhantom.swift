import ArgumentParser
import CTVolume
import Foundation

/// `bench phantom`: times the phantom generator and measures how the intensity threshold
/// baseline (intracranial mask and 50..90 HU) fares on it.
///
///     swift run -c release bench phantom --cases 20 --seed 2022
struct BenchPhantom: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phantom",
        abstract: "Phantom generation time and the threshold baseline's Dice on the phantom.")

    @Option(help: "Phantom preset: v1 (default, generation 1), realistic or randomized (generation 2).") var preset: String = "v1"
    @Option(help: "Number of cases.") var cases: Int = 20
    @Option(help: "Seed of the set.") var seed: UInt64 = 2022
    @Option(help: "In-plane size.") var size: Int = 512
    @Option(help: "Slices per case (default: the config's range).") var slices: Int?
    @Option(help: "Lower bound of the baseline's HU window.") var low: Float = 50
    @Option(help: "Upper bound of the baseline's HU window.") var high: Float = 90
    @Flag(help: "Also score the baseline inside IntracranialMask.compute (the project's mask) and measure that mask on the phantom.")
    var computedMask = false
    @Flag(help: "Also score a hand-made context baseline: in-plane smoothing (sigma 1 mm), the same window, an opening that removes lines one or two pixels thin, and components under 0.05 mL dropped.")
    var context = false
    @Option(help: "Write each case's scan, mask and intracranial region as raw files into this folder (for inspection).")
    var dump: String?

    struct CaseResult: Codable {
        var name: String
        var seconds: Double
        var slices: Int
        var positive: Bool
        var lesions: [LesionSummary]
        var labelledML: Double
        var thresholdDice: Double?
        var thresholdFalsePositiveVoxels: Int
        var contextDice: Double?
        var computedMaskDice: Double?
        var computedMaskFalsePositiveVoxels: Int?
        var computedMaskKeepsHemorrhage: Double?
        var computedMaskVoxelsAbove700: Int?
        var computedMaskVoxelsOutsideTruth: Int?
        var computedMaskVoxels: Int?
        var intracranialKeepsHemorrhage: Double?
        var boneVoxelsInIntracranial: Int
    }

    struct Report: Codable {
        var cases: Int, seed: UInt64, size: Int
        var secondsPerCaseMean: Double
        var secondsPer512x512x32: Double
        var thresholdDiceMeanOverPositive: Double
        var thresholdDiceMeanAllCases: Double
        var contextDiceMeanOverPositive: Double?
        var computedMaskDiceMeanOverPositive: Double?
        var computedMaskKeepsHemorrhageMean: Double?
        var computedMaskKeepsHemorrhageWorst: Double?
        var computedMaskFalsePositiveVoxelsPerNegativeCase: Double?
        var falsePositiveVoxelsPerNegativeCase: Double
        var positiveCases: Int
        var perCase: [CaseResult]
    }

    func run() throws {
        guard var config = PhantomConfig.preset(named: preset) else {
            throw ValidationError("--preset \(preset): not one of \(PhantomConfig.presetNames.joined(separator: ", "))")
        }
        config.size = size
        if let slices { config.slices = slices...slices }
        try config.validate()
        var results: [CaseResult] = []
        for i in 0..<cases {
            let start = DispatchTime.now().uptimeNanoseconds
            let c = try Phantom.generate(caseIndex: i, seed: seed, config: config)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            var tp = 0, fp = 0, fn = 0, kept = 0, bone = 0, truth = 0
            for p in 0..<c.scan.voxels.count {
                let hu = c.scan.voxels[p]
                let inside = c.intracranial.voxels[p] != 0
                let pred = inside && hu >= low && hu <= high
                let gt = c.mask.voxels[p] != 0
                if gt { truth += 1; if inside { kept += 1 } }
                if pred && gt { tp += 1 } else if pred { fp += 1 } else if gt { fn += 1 }
                if inside && hu >= 700 { bone += 1 }
            }
            let dice: Double? = truth > 0 ? 2 * Double(tp) / Double(2 * tp + fp + fn) : nil
            var contextDice: Double?
            if context && truth > 0 {
                let pred = contextBaseline(c)
                var tp2 = 0, fp2 = 0, fn2 = 0
                for p in pred.indices {
                    let gt = c.mask.voxels[p] != 0
                    if pred[p] && gt { tp2 += 1 } else if pred[p] { fp2 += 1 } else if gt { fn2 += 1 }
                }
                contextDice = 2 * Double(tp2) / Double(2 * tp2 + fp2 + fn2)
            }
            var cm: (dice: Double?, fp: Int, keep: Double?, above700: Int, outside: Int, voxels: Int)? = nil
            if computedMask {
                let m = try IntracranialMask.compute(c.scan)
                if let dump {
                    let s = c.scan.shape
                    try FileManager.default.createDirectory(at: URL(fileURLWithPath: dump), withIntermediateDirectories: true)
                    try Data(m.voxels).write(to: URL(fileURLWithPath: dump).appendingPathComponent("\(c.name)_cm_\(s.x)x\(s.y)x\(s.z).u8"))
                }
                var tp3 = 0, fp3 = 0, fn3 = 0, kept3 = 0, above = 0, outside = 0, voxels = 0
                for p in m.voxels.indices {
                    let inside = m.voxels[p] != 0
                    let hu = c.scan.voxels[p]
                    let pred = inside && hu >= low && hu <= high
                    let gt = c.mask.voxels[p] != 0
                    if gt && inside { kept3 += 1 }
                    if pred && gt { tp3 += 1 } else if pred { fp3 += 1 } else if gt { fn3 += 1 }
                    if inside { voxels += 1; if hu >= 700 { above += 1 }; if c.intracranial.voxels[p] == 0 { outside += 1 } }
                }
                cm = (truth > 0 ? 2 * Double(tp3) / Double(2 * tp3 + fp3 + fn3) : nil, fp3,
                      truth > 0 ? Double(kept3) / Double(truth) : nil, above, outside, voxels)
            }
            results.append(CaseResult(
                name: c.name, seconds: seconds, slices: c.scan.shape.z, positive: truth > 0, lesions: c.lesions,
                labelledML: Double(truth) * c.scan.geometry.voxelVolumeML, thresholdDice: dice, thresholdFalsePositiveVoxels: fp,
                contextDice: contextDice,
                computedMaskDice: cm?.dice, computedMaskFalsePositiveVoxels: cm?.fp, computedMaskKeepsHemorrhage: cm?.keep,
                computedMaskVoxelsAbove700: cm?.above700, computedMaskVoxelsOutsideTruth: cm?.outside, computedMaskVoxels: cm?.voxels,
                intracranialKeepsHemorrhage: truth > 0 ? Double(kept) / Double(truth) : nil, boneVoxelsInIntracranial: bone))
            FileHandle.standardError.write(Data(String(format: "%@ %.2fs slices %d lesions %@ dice %@\n", c.name, seconds, c.scan.shape.z,
                c.lesions.map { "\($0.subtype.rawValue):\(String(format: "%.1f", $0.volumeML))" }.joined(separator: ","),
                dice.map { String(format: "%.3f", $0) } ?? "-").utf8))
            if let dump {
                let dir = URL(fileURLWithPath: dump)
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                let s = c.scan.shape
                let raw = c.scan.voxels.map { Int16($0) }
                try raw.withUnsafeBytes { try Data($0).write(to: dir.appendingPathComponent("\(c.name)_scan_\(s.x)x\(s.y)x\(s.z).i16")) }
                try Data(c.mask.voxels).write(to: dir.appendingPathComponent("\(c.name)_mask_\(s.x)x\(s.y)x\(s.z).u8"))
                try Data(c.intracranial.voxels).write(to: dir.appendingPathComponent("\(c.name)_ic_\(s.x)x\(s.y)x\(s.z).u8"))
            }
        }
        let dices = results.compactMap(\.thresholdDice)
        let negatives = results.filter { !$0.positive }
        let perVoxel = results.reduce(0.0) { $0 + $1.seconds / Double($1.slices) } / Double(max(results.count, 1))
        let report = Report(
            cases: cases, seed: seed, size: size,
            secondsPerCaseMean: results.reduce(0) { $0 + $1.seconds } / Double(max(results.count, 1)),
            secondsPer512x512x32: perVoxel * 32 * Double(512 * 512) / Double(size * size),
            thresholdDiceMeanOverPositive: dices.isEmpty ? .nan : dices.reduce(0, +) / Double(dices.count),
            thresholdDiceMeanAllCases: results.isEmpty ? .nan
                : results.reduce(0.0) { $0 + ($1.thresholdDice ?? ($1.thresholdFalsePositiveVoxels == 0 ? 1 : 0)) } / Double(results.count),
            contextDiceMeanOverPositive: context ? results.compactMap(\.contextDice).reduce(0, +) / Double(max(1, dices.count)) : nil,
            computedMaskDiceMeanOverPositive: computedMask ? results.compactMap(\.computedMaskDice).reduce(0, +) / Double(max(1, dices.count)) : nil,
            computedMaskKeepsHemorrhageMean: computedMask ? results.compactMap(\.computedMaskKeepsHemorrhage).reduce(0, +) / Double(max(1, dices.count)) : nil,
            computedMaskKeepsHemorrhageWorst: computedMask ? results.compactMap(\.computedMaskKeepsHemorrhage).min() : nil,
            computedMaskFalsePositiveVoxelsPerNegativeCase: computedMask && !negatives.isEmpty
                ? Double(negatives.compactMap(\.computedMaskFalsePositiveVoxels).reduce(0, +)) / Double(negatives.count) : nil,
            falsePositiveVoxelsPerNegativeCase: negatives.isEmpty ? .nan
                : Double(negatives.reduce(0) { $0 + $1.thresholdFalsePositiveVoxels }) / Double(negatives.count),
            positiveCases: dices.count, perCase: results)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        FileHandle.standardOutput.write(try encoder.encode(report))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    /// Smoothing, window, opening and small-component removal inside the true intracranial region.
    func contextBaseline(_ c: PhantomCase) -> [Bool] {
        let nx = c.scan.shape.x, ny = c.scan.shape.y, nz = c.scan.shape.z, n = nx * ny
        let sigma = 1.0 / c.scan.geometry.spacing.x
        let r = max(1, Int((3 * sigma).rounded(.up)))
        var k = (-r...r).map { Float(exp(-Double($0 * $0) / (2 * sigma * sigma))) }
        let sum = k.reduce(0, +)
        k = k.map { $0 / sum }
        var pred = [Bool](repeating: false, count: c.scan.voxels.count)
        for z in 0..<nz {
            let base = z * n
            var tmp = [Float](repeating: 0, count: n), sm = [Float](repeating: 0, count: n)
            for j in 0..<ny { for i in 0..<nx {
                var a: Float = 0
                for t in -r...r { a += k[t + r] * c.scan.voxels[base + j * nx + min(nx - 1, max(0, i + t))] }
                tmp[j * nx + i] = a
            } }
            for j in 0..<ny { for i in 0..<nx {
                var a: Float = 0
                for t in -r...r { a += k[t + r] * tmp[min(ny - 1, max(0, j + t)) * nx + i] }
                sm[j * nx + i] = a
            } }
            var m = [Bool](repeating: false, count: n)
            for p in 0..<n { m[p] = c.intracranial.voxels[base + p] != 0 && sm[p] >= low && sm[p] <= high }
            // Opening with a 5 x 5 square: erosion then dilation.
            func morph(_ src: [Bool], erode: Bool) -> [Bool] {
                var out = [Bool](repeating: false, count: n)
                for j in 0..<ny { for i in 0..<nx {
                    var v = erode
                    for dj in -2...2 { for di in -2...2 {
                        let ii = i + di, jj = j + dj
                        let s = ii >= 0 && ii < nx && jj >= 0 && jj < ny ? src[jj * nx + ii] : false
                        if erode { v = v && s } else { v = v || s }
                    } }
                    out[j * nx + i] = v
                } }
                return out
            }
            let opened = morph(morph(m, erode: true), erode: false)
            for p in 0..<n { pred[base + p] = opened[p] && m[p] }
        }
        // Drop 3-D components (6-connected) under 0.05 mL.
        let minVoxels = Int(0.05 / c.scan.geometry.voxelVolumeML)
        var seen = [Bool](repeating: false, count: pred.count)
        var stack: [Int] = []
        for start in pred.indices where pred[start] && !seen[start] {
            var component: [Int] = []
            stack.append(start); seen[start] = true
            while let p = stack.popLast() {
                component.append(p)
                let i = p % nx, j = (p / nx) % ny, z = p / n
                for (di, dj, dz) in [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)] {
                    let ii = i + di, jj = j + dj, zz = z + dz
                    guard ii >= 0 && ii < nx && jj >= 0 && jj < ny && zz >= 0 && zz < nz else { continue }
                    let q = ii + nx * (jj + ny * zz)
                    if pred[q] && !seen[q] { seen[q] = true; stack.append(q) }
                }
            }
            if component.count < minVoxels { for p in component { pred[p] = false } }
        }
        return pred
    }
}
