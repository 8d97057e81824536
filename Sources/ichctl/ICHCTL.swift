import ArgumentParser

/// `ichctl`: the command-line front of ichct. Every subcommand is a thin wrapper over a
/// public library function; nothing here is out of a Swift program's reach.
@main
struct ICHCTL: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ichctl",
        abstract: "Weakly supervised intracranial hemorrhage segmentation for head CT.",
        version: "0.1.0",
        subcommands: [Inspect.self, Convert.self, Baseline.self, Evaluate.self, Render.self, Synth.self, Classify.self, Segment.self, Train.self, CAMCommand.self, PseudoMasks.self, Compare.self, CompareRuns.self, Demo.self]
    )
}
