import Foundation

// Two builds of one harness (scripts/fuzz.sh; Docs/testing.md):
// - with `-DFUZZING -sanitize=fuzzer`, libFuzzer owns `main` and calls the entry point below;
//   the target is chosen by the environment variable ICHCT_FUZZ_TARGET.
// - without, `fuzz TARGET FILE_OR_FOLDER...` replays files through the same code once each
//   (the committed corpus and the regressions), so a fixed crash stays fixed.

#if FUZZING
nonisolated(unsafe) private var fuzzState: (target: FuzzTarget, scratch: URL)?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    if fuzzState == nil {
        let name = ProcessInfo.processInfo.environment["ICHCT_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            fatalError("set ICHCT_FUZZ_TARGET to one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        fuzzState = (target, FuzzTarget.makeScratch())
    }
    let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
    fuzzState!.target.run(bytes, scratch: fuzzState!.scratch)
    return 0
}

/// libFuzzer's driver, for executables that keep their own `main` (SwiftPM names an
/// executable's entry point itself, so libFuzzer's `main` cannot be used).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@main
struct FuzzDriver {
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
    }
}
#else
@main
struct FuzzReplay {
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        guard let name = args.first, let target = FuzzTarget(rawValue: name), args.count >= 2 else {
            FileHandle.standardError.write(Data("usage: fuzz TARGET FILE_OR_FOLDER...  (TARGET: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))\n".utf8))
            exit(2)
        }
        let scratch = FuzzTarget.makeScratch()
        defer { try? FileManager.default.removeItem(at: scratch) }
        var files: [URL] = []
        for path in args.dropFirst() {
            let url = URL(fileURLWithPath: path)
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                FileHandle.standardError.write(Data("fuzz: \(path): no such file or folder\n".utf8))
                exit(1)
            }
            if isFolder.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files += names.sorted().filter { !$0.hasPrefix(".") }.map { url.appendingPathComponent($0) }
            } else {
                files.append(url)
            }
        }
        for file in files {
            // named before it runs: a crash ends the process, and the last name is the culprit
            FileHandle.standardError.write(Data("fuzz \(target.rawValue): \(file.path)\n".utf8))
            guard let bytes = FileManager.default.contents(atPath: file.path) else {
                FileHandle.standardError.write(Data("fuzz: \(file.path): cannot read\n".utf8))
                exit(1)
            }
            target.run(bytes, scratch: scratch)
        }
        print("\(target.rawValue): \(files.count) input(s) replayed without a crash")
    }
}
#endif
