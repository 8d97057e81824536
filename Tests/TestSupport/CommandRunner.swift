import Foundation

/// What a finished process gave: its exit status and everything it wrote.
public struct CommandResult: Sendable, Hashable {
    /// The termination status (the exit code, or the signal number when killed by a signal).
    public var status: Int32
    /// Standard output, decoded as UTF-8 (invalid bytes replaced).
    public var stdout: String
    /// Standard error, decoded as UTF-8 (invalid bytes replaced).
    public var stderr: String

    /// A result with these fields.
    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Runs a built executable of the package as a user would, for command-line tests.
///
/// Contract: ``init(executableNamed:)`` looks for an executable file `name` in the folder of the
/// test bundle and up to three folders above it (SwiftPM puts executables and the test bundle
/// in one build products folder), falling back to `<bundle's folder>/<name>` (running it then
/// fails with a clear error). ``run(_:)`` starts the executable with the arguments, standard
/// input at the null device, waits for it to exit and returns its status and complete output.
public struct CommandRunner: Sendable, Hashable {
    /// The executable that ``run(_:)`` starts.
    public let executable: URL

    /// A runner for the built executable `name` next to the test bundle.
    public init(executableNamed name: String) {
        executable = CommandRunner.locate(name)
    }

    /// A runner for the executable at `executable`.
    public init(executable: URL) {
        self.executable = executable
    }

    /// The built executable `name` next to the test bundle (see the type's contract).
    public static func locate(_ name: String) -> URL {
        var dir = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(name)
    }

    /// Runs the executable with `arguments` (stdin the null device) and waits for it to exit.
    ///
    /// - Throws: when the process cannot be started (e.g. the executable is missing).
    public func run(_ arguments: [String]) throws -> CommandResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // stderr is drained on another thread while stdout is read here: a child that fills
        // one pipe while the other is not read would otherwise block forever.
        let stderrData = ErrorOutput()
        let drained = DispatchSemaphore(value: 0)
        let errHandle = err.fileHandleForReading
        DispatchQueue.global().async {
            stderrData.set(errHandle.readDataToEndOfFile())
            drained.signal()
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        let e = stderrData.get()
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus,
                             stdout: String(decoding: o, as: UTF8.self),
                             stderr: String(decoding: e, as: UTF8.self))
    }
}

/// The stderr bytes handed from the draining thread to the caller (one write, then one read,
/// ordered by a semaphore; the lock keeps the compiler's concurrency checking honest).
private final class ErrorOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) { lock.lock(); data = value; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}
