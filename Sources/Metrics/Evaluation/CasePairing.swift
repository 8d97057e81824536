import Foundation

/// Pairs prediction and truth files by file name.
public enum CasePairing {
    /// A prediction file and its truth.
    public struct Pair: Hashable, Sendable {
        /// The case name (the file name).
        public var name: String
        /// The prediction file.
        public var prediction: URL
        /// The truth file.
        public var truth: URL
    }

    /// Two files make one case (named by the truth's file name); two folders make one case per
    /// mask file (`.nii`, `.nii.gz`), paired by file name, sorted by name.
    /// - Throws: ``MetricsError/missingPartner(name:missingIn:)`` naming the first file without
    ///   a partner, ``MetricsError/noCases(folder:)``, ``MetricsError/mixedInputs(prediction:truth:)``.
    public static func pairs(prediction: URL, truth: URL) throws(MetricsError) -> [Pair] {
        let fm = FileManager.default
        var predIsDir: ObjCBool = false, truthIsDir: ObjCBool = false
        let predExists = fm.fileExists(atPath: prediction.path, isDirectory: &predIsDir)
        let truthExists = fm.fileExists(atPath: truth.path, isDirectory: &truthIsDir)
        if !predExists { throw .missingPartner(name: prediction.lastPathComponent, missingIn: prediction.deletingLastPathComponent().path) }
        if !truthExists { throw .missingPartner(name: truth.lastPathComponent, missingIn: truth.deletingLastPathComponent().path) }
        switch (predIsDir.boolValue, truthIsDir.boolValue) {
        case (false, false):
            return [Pair(name: truth.lastPathComponent, prediction: prediction, truth: truth)]
        case (true, true):
            let predNames = maskFiles(in: prediction)
            let truthNames = maskFiles(in: truth)
            if truthNames.isEmpty { throw .noCases(folder: truth.path) }
            for name in truthNames.sorted() where !predNames.contains(name) {
                throw .missingPartner(name: name, missingIn: prediction.path)
            }
            for name in predNames.sorted() where !truthNames.contains(name) {
                throw .missingPartner(name: name, missingIn: truth.path)
            }
            return truthNames.sorted().map {
                Pair(name: $0, prediction: prediction.appendingPathComponent($0), truth: truth.appendingPathComponent($0))
            }
        default:
            throw .mixedInputs(prediction: prediction.path, truth: truth.path)
        }
    }

    private static func maskFiles(in folder: URL) -> Set<String> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return Set(names.filter { ($0.hasSuffix(".nii") || $0.hasSuffix(".nii.gz")) && !$0.hasPrefix(".") })
    }
}
