import Foundation

/// Fixture files shipped as a test target's `Fixtures` resource folder.
public enum FixtureFile {
    /// `Fixtures/<name>` in `bundle` (pass the test target's `Bundle.module`).
    ///
    /// Stops the tests with a message naming the file and the script that makes it when the
    /// file is missing: a fixture is part of the repository, never optional.
    public static func url(_ name: String, in bundle: Bundle, madeBy script: String) -> URL {
        let base = (name as NSString).deletingPathExtension
        let ext = (name as NSString).pathExtension
        guard let url = bundle.url(forResource: base, withExtension: ext.isEmpty ? nil : ext, subdirectory: "Fixtures") else {
            fatalError("missing fixture \(name): run \(script)")
        }
        return url
    }
}
