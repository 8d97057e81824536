import Foundation

/// A uniquely named folder under the system temporary directory, for one test.
///
/// Contract: the URL is `<temporary directory>/<prefix>-<UUID>`, so two instances never share
/// a folder. `init(prefix:)` creates it (traps if it cannot: the test environment is broken);
/// `init(prefix:create: false)` only reserves the unique path, for code under test that must
/// create the folder itself or refuses an existing one. Nothing is removed automatically: call
/// ``cleanup()``, usually in a `defer` right after creating the folder.
///
///     let folder = TemporaryFolder(prefix: "ichct-render"), dir = folder.url
///     defer { folder.cleanup() }
public struct TemporaryFolder: Sendable, Hashable {
    /// The folder (whether it exists depends on `create` and on what the test did since).
    public let url: URL

    /// A fresh folder `<temporary directory>/<prefix>-<UUID>`.
    ///
    /// - Parameters:
    ///   - prefix: the start of the folder's name (names the test in a leftover folder).
    ///   - create: whether to create the folder (with any missing parents) now.
    public init(prefix: String = "ichct-tests", create: Bool = true) {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        if create {
            do {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            } catch {
                fatalError("cannot create the temporary folder \(url.path): \(error)")
            }
        }
    }

    /// The folder's path.
    public var path: String { url.path }

    /// `name` inside the folder (a relative path; nothing is created).
    public func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// The subfolder `name`, created (with any missing parents) if it does not exist; traps if it cannot.
    public func subfolder(_ name: String) -> URL {
        let sub = url.appendingPathComponent(name)
        do {
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        } catch {
            fatalError("cannot create the temporary folder \(sub.path): \(error)")
        }
        return sub
    }

    /// Removes the folder and everything in it; does nothing when it does not exist. Idempotent.
    public func cleanup() { try? FileManager.default.removeItem(at: url) }
}
