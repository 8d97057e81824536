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

    @Option(help: "Number of cases.") var cases: Int = 20
    @Option(help: "Seed of the set.") var seed: UInt64 = 2022
    @Option(help: "In-plane size.") var size: Int = 512
    @Option(help: "Slices per case (default: the config's range).") var slices: Int?
    @Option(help: "Lower bound of the baseline's HU window.") var low: Float = 50
    @Option(help: "Upper bound of the baseline's HU window.") var high: Float = 90
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
        var intracranialKeepsHemorrhage: Double?
        var boneVoxelsInIntracranial: Int
    }

    struct Report: Codable {
        var cases: Int, seed: UInt64, size: Int
        var secondsPerCaseMean: Double
        var secondsPer512x512x32: Double
        var thresholdDiceMeanOverPositive: Double
        var thresholdDiceMeanAllCases: Double
        var falsePositiveVoxelsPerNegativeCase: Double
        var positiveCases: Int
        var perCase: [CaseResult]
    }

    func run() throws {
        var config = PhantomConfig.default
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
            results.append(CaseResult(
                name: c.name, seconds: seconds, slices: c.scan.shape.z, positive: truth > 0, lesions: c.lesions,
                labelledML: Double(truth) * c.scan.geometry.voxelVolumeML, thresholdDice: dice, thresholdFalsePositiveVoxels: fp,
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
            falsePositiveVoxelsPerNegativeCase: negatives.isEmpty ? .nan
                : Double(negatives.reduce(0) { $0 + $1.thresholdFalsePositiveVoxels }) / Double(negatives.count),
            positiveCases: dices.count, perCase: results)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        FileHandle.standardOutput.write(try encoder.encode(report))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}
