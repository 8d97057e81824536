import Foundation
import WeakSupervision

/// Shows a pipeline's events on stderr: a line per stage and per epoch, and case progress at most
/// every 30 s, also off a terminal (a 30-minute demo into a pipe or a log shows where it is); on
/// a terminal a live progress bar (stage, epoch, step, loss, last validation score, time left)
/// as well; nothing at all with `quiet`. First Ctrl-C stops the current training cleanly.
final class PipelinePrinter: @unchecked Sendable {
    let live: Bool
    let quiet: Bool
    private var lastScore: String = ""
    private var lastCaseLine = Date.distantPast
    private let interrupt = InterruptFlag()

    /// - Parameters: quiet: print nothing. forced: accepted for scripts written when plain lines
    ///   off a terminal needed `--progress`; they are now the default.
    init(quiet: Bool, forced: Bool = false) {
        self.quiet = quiet
        live = !quiet && CLI.stderrIsTerminal
    }

    /// A plain line on stderr (unless quiet), above the live bar.
    func note(_ text: String) { line(text) }

    private func line(_ text: String) {
        guard !quiet else { return }
        if live { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        CLI.note(text)
    }

    private func bar(_ text: String, fraction: Double) {
        guard live else { return }
        let width = 24, filled = max(0, min(width, Int((fraction * Double(width)).rounded())))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r\u{1B}[K[\(bar)] \(text)".utf8))
    }

    func observe(_ event: PipelineEvent) -> TrainingControl {
        switch event {
        case .stage(let s, let reused):
            lastScore = ""
            line(reused ? "\(s.rawValue): reusing saved results" : "\(s.rawValue): running")
        case .finished(let s, let seconds, let summary):
            let values = summary.values
            let shown = values.keys.sorted().map { k in
                let v = values[k]!
                return v == v.rounded() && abs(v) < 1e6 ? "\(k) \(Int(v))" : String(format: "%@ %.3f", k, v)
            }
            line("\(s.rawValue): done in \(TrainingPrinter.duration(seconds))  " + shown.joined(separator: "  "))
        case .progress(let s, let done, let total, let item):
            if live {
                bar("\(s.rawValue) \(done)/\(total)  \(item)", fraction: Double(done) / Double(max(total, 1)))
            } else if !quiet && (done == total || Date().timeIntervalSince(lastCaseLine) > 30) {
                lastCaseLine = Date()
                CLI.note("\(s.rawValue): \(done)/\(total)  \(item)")
            }
        case .training(let s, let e):
            switch e {
            case .started(let st):
                line("\(s.rawValue): \(st.trainCases) training and \(st.validationCases) validation cases, \(st.stepsPerEpoch) steps per epoch, up to \(st.epochs) epochs")
            case .step(let r):
                let fraction = Double(r.globalStep) / Double(max(r.totalSteps, 1))
                bar(String(format: "%@ epoch %d/%d step %d/%d loss %.4f%@ left %@", s.rawValue, r.epoch, r.epochs, r.step, r.stepsInEpoch,
                           r.loss, lastScore, TrainingPrinter.duration(r.remainingSeconds)), fraction: fraction)
            case .epoch(let r):
                if let v = r.validationScore { lastScore = String(format: " %@ %.3f", r.scoreName, v) }
                line(String(format: "%@ epoch %d/%d  loss %.4f", s.rawValue, r.epoch, r.epochs, r.trainLoss)
                     + (r.validationScore.map { String(format: "  val %@ %.4f", r.scoreName, $0) } ?? "")
                     + (r.improved ? "  (kept)" : ""))
            }
        }
        return interrupt.isRaised ? .stop : .proceed
    }
}
