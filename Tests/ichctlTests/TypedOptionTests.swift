import Testing
import WeakSupervision
@testable import ichctl

@Suite("Typed options on the command line")
struct TypedOptionTests {
    @Test("pseudo-masks refuses a bad --tissue, --features or --threshold as a usage error, before any work")
    func pseudoMaskOptions() throws {
        let base = ["--model", "m.safetensors", "--data", "d", "--out", "o"]
        #expect(throws: Never.self) { try PseudoMasks.parse(base + ["--threshold", "p90", "--features", "hu,smoothed:2", "--tissue", "-50:120"]) }
        for bad in [["--tissue", "1,2"], ["--tissue", "9:1"], ["--features", "hu,sharp"], ["--threshold", "p200"], ["--cam", "gradcam3"], ["--opening", "-1"]] {
            #expect(throws: (any Error).self, "\(bad)") { try PseudoMasks.parse(base + bad) }
        }
        let parsed = try PseudoMasks.parse(base + ["--threshold", "otsu"])
        #expect(parsed.threshold == .otsu)
    }

    @Test("train takes the optimizer and schedule by name and refuses others")
    func trainOptions() throws {
        let base = ["--data", "d", "--out", "o.safetensors"]
        let ok = try TrainClassifier.parse(base + ["--optimizer", "adamw", "--schedule", "constant"])
        #expect(ok.common.optimizerSettings().kind == .adamw && ok.common.optimizerSettings().schedule == .constant)
        #expect(throws: (any Error).self) { try TrainClassifier.parse(base + ["--optimizer", "adamx"]) }
        #expect(throws: (any Error).self) { try TrainClassifier.parse(base + ["--schedule", "linear"]) }
        #expect(throws: (any Error).self) { try TrainClassifier.parse(base + ["--threads", "0"]) }
    }
}
