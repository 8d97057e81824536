import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes a file all-or-nothing: into a temporary file in the destination's folder (with the
/// destination's extension, so extension-driven writers behave the same), then renamed over
/// the destination. A reader never sees a half-written file, and a failed write leaves
/// nothing behind.
package enum AtomicFile {
    /// - Parameters:
    ///   - url: the destination.
    ///   - overwrite: replace an existing destination; when false an existing file is
    ///     refused (`.outputExists`), checked again at the moment of the rename (`link`).
    ///   - extension: the temporary file's suffix, e.g. ".nii.gz".
    ///   - body: writes the complete file at the temporary path it is given.
    package static func write(to url: URL, overwrite: Bool, extension ext: String, _ body: (String) throws -> Void) throws {
        let path = url.path
        let folder = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CTVolumeError.io(path: path, reason: "folder \(folder) does not exist")
        }
        if !overwrite && FileManager.default.fileExists(atPath: path) {
            throw CTVolumeError.outputExists(path: path)
        }
        let name = url.lastPathComponent
        let stem = name.hasSuffix(ext) ? String(name.dropLast(ext.count)) : name
        let token = UUID().uuidString.prefix(8)
        let temp = (folder as NSString).appendingPathComponent(".\(stem).\(token).tmp\(ext)")
        var committed = false
        defer { if !committed { unlink(temp) } }
        try body(temp)
        if overwrite {
            guard rename(temp, path) == 0 else {
                throw CTVolumeError.io(path: path, reason: "cannot move the finished file into place: \(String(cString: strerror(errno)))")
            }
        } else if link(temp, path) == 0 {
            unlink(temp)  // the destination now holds the data; drop the temporary name
        } else if errno == EEXIST {
            throw CTVolumeError.outputExists(path: path)
        } else {
            // A file system without hard links: fall back to check-then-rename.
            guard !FileManager.default.fileExists(atPath: path) else { throw CTVolumeError.outputExists(path: path) }
            guard rename(temp, path) == 0 else {
                throw CTVolumeError.io(path: path, reason: "cannot move the finished file into place: \(String(cString: strerror(errno)))")
            }
        }
        committed = true
    }
}
