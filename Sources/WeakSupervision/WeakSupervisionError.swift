/// Everything a caller's parameters or inputs can get wrong in WeakSupervision.
///
/// Each description names the parameter or input and the problem, so that a command-line
/// user can act on it without a stack trace. Programmer errors inside a unit (an index out of
/// range in a private helper) are preconditions, not cases of this enum.
public enum WeakSupervisionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A parameter outside its allowed range (`k < 1`, a percentile outside 0...100, ...).
    case invalidParameter(name: String, reason: String)
    /// Two inputs that must agree in size do not (a CAM volume on another grid than its scan,
    /// one probability per slice expected but another count given, ...).
    case shapeMismatch(what: String, expected: String, got: String)
    /// An input holds NaN or infinite values where finite ones are required.
    case nonFiniteValues(what: String, count: Int)
    /// An input that must not be empty is (no point to cluster, ...).
    case emptyInput(what: String)
    /// A method needs an input the case does not carry (a CAM, slice probabilities).
    case missingInput(method: String, input: String)
    /// A pipeline's training stage was stopped by its observer (`TrainingControl.stop`, e.g. on
    /// Ctrl-C) before it finished; nothing of that stage is recorded as done.
    case stopped(stage: String, resumeFolder: String)

    /// A one-line message naming the parameter or input and the problem.
    public var description: String {
        switch self {
        case .invalidParameter(let name, let reason):
            return "invalid \(name): \(reason)"
        case .shapeMismatch(let what, let expected, let got):
            return "\(what): expected \(expected), got \(got)"
        case .nonFiniteValues(let what, let count):
            return "\(what): \(count) value(s) are NaN or infinite"
        case .emptyInput(let what):
            return "\(what): empty, nothing to work on"
        case .missingInput(let method, let input):
            return "\(method) needs \(input), but the case has none"
        case .stopped(let stage, let folder):
            return "stage \(stage) stopped before it finished; the next run of the pipeline starts it again from the beginning and replaces \(folder) (until then it, or a member folder in it, holds the stopped training's resume file)"
        }
    }
}
