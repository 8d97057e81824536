import Foundation

/// The files of one DICOM series (one Series Instance UID) found in a folder tree.
public struct DICOMSeries: Sendable, Hashable {
    /// (0020,000E) Series Instance UID.
    public var uid: String
    /// Every file's header, in the order given (``discover(in:)`` sorts them by path; the
    /// reader orders them by position, see ``DICOMSeriesReader``).
    public var headers: [DICOMHeader]

    /// The series `uid` made of `headers`, kept in the order given (not checked to share `uid`).
    /// - Precondition: `headers` is not empty.
    public init(uid: String, headers: [DICOMHeader]) {
        precondition(!headers.isEmpty, "DICOMSeries: no files")
        self.uid = uid
        self.headers = headers
    }

    /// The first file's modality (the reader refuses a series whose files disagree).
    public var modality: String { headers[0].modality }
    /// The first file's series description.
    public var seriesDescription: String { headers[0].seriesDescription }
    /// Number of files (one slice each for the single-frame images the reader takes).
    public var fileCount: Int { headers.count }
    /// True when any file's Image Type names a localizer.
    public var isLocalizer: Bool { headers.contains { $0.isLocalizer } }
    /// True when the first file's slice normal lies within 45 degrees of the patient's
    /// head-foot axis; false when it has no usable orientation.
    public var isAxial: Bool {
        guard let n = headers[0].sliceNormal else { return false }
        return abs(n.z) >= 0.5.squareRoot()
    }
    /// The folder holding the first file.
    public var folder: URL { headers[0].url.deletingLastPathComponent() }

    /// One line for listings: UID, modality, files, plane, description.
    public var summary: String {
        let plane = isLocalizer ? "localizer" : (isAxial ? "axial" : "non-axial")
        let description = seriesDescription.isEmpty ? "" : " \"\(seriesDescription)\""
        return "\(uid)  \(modality)  \(fileCount) file(s)  \(plane)\(description)"
    }
}

/// What ``DICOMSeries/discover(in:)`` found in a folder tree.
public struct DICOMDiscovery: Sendable, Hashable {
    /// The folder searched.
    public var root: URL
    /// Every series, sorted by UID; never empty when made by ``DICOMSeries/discover(in:)``.
    public var series: [DICOMSeries]
    /// Files that are not DICOM (no "DICM" preamble and no data set GDCM can parse), skipped.
    public var skipped: [URL]
    /// Files that look like DICOM (the "DICM" preamble) but whose header GDCM could not parse.
    public var unreadable: [UnreadableFile]

    /// A DICOM file whose header could not be parsed.
    public struct UnreadableFile: Sendable, Hashable {
        /// The file.
        public var url: URL
        /// GDCM's complaint.
        public var reason: String
    }

    /// The series a reader takes by default, by the documented rule: among CT series that are
    /// not localizers, the axial one with the most files; without an axial one, any with the
    /// most files. Ties go to the smaller UID. With `uid`, exactly that series. A folder with
    /// no CT series gives its largest other series, which the reader then refuses by modality.
    ///
    /// - Throws: ``CTVolumeError/invalidDICOM(path:reason:)`` naming ``root`` when no series
    ///   qualifies or `uid` is not there; the message lists what was found.
    public func choose(uid: String? = nil) throws -> DICOMSeries {
        let listing = series.isEmpty ? "no DICOM series" : "series found:\n  " + series.map(\.summary).joined(separator: "\n  ")
        if let uid {
            guard let match = series.first(where: { $0.uid == uid }) else {
                throw CTVolumeError.invalidDICOM(path: root.path, reason: "holds no series \(uid); \(listing)")
            }
            return match
        }
        let images = series.filter { !$0.isLocalizer }
        let ct = images.filter { $0.modality.uppercased() == "CT" }
        // Without a CT series, the largest other one is taken so that the reader names its
        // modality in its refusal.
        let candidates = ct.isEmpty ? images : ct
        let pool = candidates.contains(where: \.isAxial) ? candidates.filter(\.isAxial) : candidates
        guard let best = pool.max(by: { ($0.fileCount, $1.uid) < ($1.fileCount, $0.uid) }) else {
            throw CTVolumeError.invalidDICOM(path: root.path, reason: "holds only localizers (choose one with --series UID); \(listing)")
        }
        return best
    }
}

extension DICOMSeries {
    /// Finds every DICOM series in the folder tree under `root` by reading each file's header
    /// (up to the pixel data). Files are grouped by Series Instance UID; regular files and
    /// links to files are read, in path order. Files that are not DICOM are listed in
    /// ``DICOMDiscovery/skipped``, DICOM files whose header cannot be parsed in
    /// ``DICOMDiscovery/unreadable``; hidden files and folders (names starting with ".") are
    /// not visited.
    ///
    /// - Throws: ``CTVolumeError/io(path:reason:)`` when `root` is not a folder or cannot be
    ///   listed, ``CTVolumeError/invalidDICOM(path:reason:)`` when it holds no readable DICOM
    ///   file (the message names the first unreadable one, if any).
    public static func discover(in root: URL) throws -> DICOMDiscovery {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CTVolumeError.io(path: root.path, reason: "no such folder")
        }
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey, .isSymbolicLinkKey],
                                                          options: [.skipsHiddenFiles]) else {
            throw CTVolumeError.io(path: root.path, reason: "cannot list the folder")
        }
        var files: [URL] = []
        for case let url as URL in walker {
            let values = try? url.resourceValues(forKeys: [.isRegularFileKey, .isSymbolicLinkKey])
            if values?.isRegularFile == true {
                files.append(url)
            } else if values?.isSymbolicLink == true,
                      (try? url.resolvingSymlinksInPath().resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true {
                files.append(url)   // a link to a file (datalad, git-annex trees)
            }
        }
        files.sort { $0.path < $1.path }
        var grouped: [String: [DICOMHeader]] = [:]
        var skipped: [URL] = [], unreadable: [DICOMDiscovery.UnreadableFile] = []
        for url in files {
            do {
                let header = try DICOMHeader.read(at: url)
                grouped[header.seriesInstanceUID, default: []].append(header)
            } catch CTVolumeError.notDICOM {
                skipped.append(url)
            } catch CTVolumeError.invalidDICOM(_, let reason) {
                unreadable.append(.init(url: url, reason: reason))
            }
        }
        if grouped.isEmpty {
            let detail = unreadable.first.map { "; \($0.url.path): \($0.reason)" } ?? ""
            throw CTVolumeError.invalidDICOM(path: root.path, reason: "holds no readable DICOM file (\(files.count) file(s) looked at)\(detail)")
        }
        let series = grouped.keys.sorted().map { DICOMSeries(uid: $0, headers: grouped[$0]!) }
        return DICOMDiscovery(root: root, series: series, skipped: skipped, unreadable: unreadable)
    }
}
