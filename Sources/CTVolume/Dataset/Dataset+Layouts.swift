import Foundation

// The public ICH datasets in their published layouts (Docs/datasets/). Each loader reads only
// listings, label files and (for DICOM) headers; voxels load on demand through DatasetCase.

extension Dataset {
    /// RSNA Intracranial Hemorrhage Detection (Kaggle 2019):
    ///
    ///     ROOT/stage_2_train.csv            ID,Label  rows ID_<id>_<subtype>,0|1 (six per image)
    ///     ROOT/stage_2_train/ID_<id>.dcm    every slice of every series, flat
    ///
    /// (`stage_1_train.csv` with `stage_1_train_images/` also works.) One case per Series
    /// Instance UID, named by it; each file's label is its `any` row, found by SOP Instance UID
    /// (which is `ID_<id>` in this set) or else the file name; scan labels are the maximum over
    /// slices. Exact duplicate rows are accepted; contradicting ones are refused, and so is a
    /// file without an `any` row. A series the reader would refuse
    /// (``DICOMSeriesReader/plan(_:settings:)``) and files whose header cannot be parsed are
    /// left out and named in ``notes``; so is `ID_6431af929.dcm`, whose pixel data is short in
    /// the published set. The test folder has no labels and is not opened.
    static func rsna(root: URL) throws -> (cases: [DatasetCase], notes: [String]) {
        let fm = FileManager.default
        let stage2 = fm.fileExists(atPath: root.appendingPathComponent("stage_2_train.csv").path)
        let csvURL = root.appendingPathComponent(stage2 ? "stage_2_train.csv" : "stage_1_train.csv")
        let imageCandidates = stage2 ? ["stage_2_train"] : ["stage_1_train_images", "stage_1_train"]
        guard let images = imageCandidates.map({ root.appendingPathComponent($0) }).first(where: { fm.fileExists(atPath: $0.path) }) else {
            throw CTVolumeError.invalidDataset(path: root.path, reason: "has \(csvURL.lastPathComponent) but no \(imageCandidates[0])/ folder of DICOM files")
        }
        let csv = try LabelCSV(url: csvURL)
        let idColumn = try csv.column("ID"), labelColumn = try csv.column("Label")
        let keys = SubtypeNames.all + ["any"]
        var labels: [String: [String: Float]] = [:]
        for row in csv.rows {
            let id = try csv.field(row.fields, idColumn, line: row.line)
            guard let cut = id.lastIndex(of: "_") else {
                throw CTVolumeError.invalidDataset(path: "\(csvURL.path):\(row.line)", reason: "ID '\(id)' is not ID_<image>_<subtype>")
            }
            let image = String(id[..<cut]), subtype = String(id[id.index(after: cut)...])
            guard keys.contains(subtype) else {
                throw CTVolumeError.invalidDataset(path: "\(csvURL.path):\(row.line)", reason: "unknown subtype '\(subtype)' (expected \(keys.joined(separator: ", ")))")
            }
            let value = try csv.binary(row.fields, labelColumn, line: row.line)
            if let old = labels[image]?[subtype], old != value {
                throw CTVolumeError.invalidDataset(path: "\(csvURL.path):\(row.line)", reason: "\(id) is listed again with another label")
            }
            labels[image, default: [:]][subtype] = value
        }
        let corrupt: Set<String> = ["ID_6431af929"]
        var notes: [String] = []
        let discovery = try DICOMSeries.discover(in: images)
        for bad in discovery.unreadable { notes.append("\(bad.url.path): \(bad.reason) (left out)") }
        var cases: [DatasetCase] = []
        for series in discovery.series {
            var headers = series.headers
            let left = headers.filter { corrupt.contains($0.url.deletingPathExtension().lastPathComponent) }
            for h in left { notes.append("\(h.url.path): left out (its pixel data is short in the published set)") }
            headers.removeAll { corrupt.contains($0.url.deletingPathExtension().lastPathComponent) }
            guard !headers.isEmpty else { continue }
            // A series the reader would refuse (two slices at one place, mixed sizes, ...) is
            // left out now, named in the notes, rather than stopping a long run when loaded.
            do {
                _ = try DICOMSeriesReader.plan(DICOMSeries(uid: series.uid, headers: headers))
            } catch {
                notes.append("series \(series.uid) left out: \(error)")
                continue
            }
            var fileLabels: [Float] = [], scan: [String: Float] = Dictionary(uniqueKeysWithValues: keys.map { ($0, 0) })
            for h in headers {
                let stem = h.url.deletingPathExtension().lastPathComponent
                guard let row = labels[h.sopInstanceUID] ?? labels[stem], let any = row["any"] else {
                    throw CTVolumeError.invalidDataset(path: h.url.path, reason: "has no 'any' row in \(csvURL.path) (by SOP Instance UID \(h.sopInstanceUID) or file name)")
                }
                fileLabels.append(any)
                for key in keys { scan[key] = max(scan[key]!, row[key] ?? 0) }
            }
            cases.append(DatasetCase(name: series.uid, imageURL: headers[0].url, dicomFiles: headers.map(\.url),
                                     fileLabels: fileLabels, scanLabels: scan, canonical: true))
        }
        return (cases, notes)
    }

    /// CQ500 (qure.ai):
    ///
    ///     ROOT/reads.csv                                     name,Category,R1:ICH,...,R3:MidlineShift
    ///     ROOT/CQ500CT<N> CQ500CT<N>/Unknown Study/CT <description>/CT<6 digits>.dcm
    ///
    /// (a study folder may also sit one level down, as per-study unzipping leaves it). One case
    /// per study, named as in `reads.csv` (`CQ500-CT-<N>`): of its series, the non-localizer
    /// axial CT series (readable, 3 files or more) whose median slice step is nearest 5 mm
    /// (ties: more files, then the smaller UID), the spacing the networks are trained at. Scan
    /// labels by majority of the three reads (ICH -> any, IPH, IVH, SDH, EDH, SAH). No slice
    /// labels: the cases serve scan-level evaluation; `train` refuses them
    /// (``DatasetCase/sliceLabels()``). Rows without a study folder, and studies without such
    /// a series, go to ``notes``.
    static func cq500(root: URL) throws -> (cases: [DatasetCase], notes: [String]) {
        let csvURL = root.appendingPathComponent("reads.csv")
        let csv = try LabelCSV(url: csvURL)
        let nameColumn = try csv.column("name")
        let findings: [(String, String)] = [("ICH", "any"), ("IPH", SubtypeNames.intraparenchymal), ("IVH", SubtypeNames.intraventricular),
                                            ("SDH", SubtypeNames.subdural), ("EDH", SubtypeNames.epidural), ("SAH", SubtypeNames.subarachnoid)]
        var columns: [(String, [Int])] = []
        for (finding, key) in findings {
            columns.append((key, try (1...3).map { try csv.column("R\($0):\(finding)") }))
        }
        // study folders: "CQ500CT<N> CQ500CT<N>", at the top or one level down
        let fm = FileManager.default
        var studyFolders: [String: URL] = [:]
        func scan(_ folder: URL, depth: Int) {
            guard let names = try? fm.contentsOfDirectory(atPath: folder.path) else { return }
            for name in names.sorted() where !name.hasPrefix(".") {
                let url = folder.appendingPathComponent(name)
                guard ScanReader.isFolder(url) else { continue }
                let parts = name.split(separator: " ")
                if parts.count == 2, parts[0] == parts[1], parts[0].hasPrefix("CQ500CT"), let n = Int(parts[0].dropFirst(7)) {
                    studyFolders["CQ500-CT-\(n)"] = url
                } else if depth == 0 {
                    scan(url, depth: 1)
                }
            }
        }
        scan(root, depth: 0)
        var cases: [DatasetCase] = [], notes: [String] = []
        for row in csv.rows {
            let name = try csv.field(row.fields, nameColumn, line: row.line)
            guard let folder = studyFolders[name] else {
                notes.append("\(csvURL.path):\(row.line): \(name) has no study folder (CQ500CT<N> CQ500CT<N>) under \(root.path)")
                continue
            }
            var labels: [String: Float] = [:]
            for (key, readers) in columns {
                let votes = try readers.reduce(Float(0)) { $0 + (try csv.binary(row.fields, $1, line: row.line)) }
                labels[key] = votes >= 2 ? 1 : 0
            }
            let discovery = try DICOMSeries.discover(in: folder)
            // Readable axial CT series of at least 3 files, with the step the reader would use.
            let candidates: [(series: DICOMSeries, step: Double)] = discovery.series.compactMap { s in
                guard s.modality.uppercased() == "CT", !s.isLocalizer, s.isAxial, s.fileCount >= 3,
                      let plan = try? DICOMSeriesReader.plan(s) else { return nil }
                return (s, plan.medianStep)
            }
            guard let chosen = candidates.min(by: { (abs($0.step - 5), -$0.series.fileCount, $0.series.uid) < (abs($1.step - 5), -$1.series.fileCount, $1.series.uid) })?.series else {
                notes.append("\(folder.path): no readable axial CT series of 3 files or more (study \(name) left out)")
                continue
            }
            let files = chosen.headers.map(\.url)
            cases.append(DatasetCase(name: name, imageURL: files[0], dicomFiles: files, scanLabels: labels, canonical: true))
        }
        return (cases, notes)
    }

    /// PhysioNet CT-ICH 1.3.1 (Hssayeni et al.):
    ///
    ///     ROOT/ct_scans/NNN.nii       scans (HU)
    ///     ROOT/masks/NNN.nii          masks on the same grid
    ///     ROOT/hemorrhage_diagnosis_raw_ct.csv   PatientNumber,SliceNumber,Intraventricular,
    ///         Intraparenchymal,Subarachnoid,Epidural,Subdural,No_Hemorrhage,Fracture_Yes_No
    ///
    /// One case per scan, named by its file (`049`). SliceNumber s is stored slice k = s - 1.
    /// Slice labels come from the mask (as for every case with one); the CSV's `any`
    /// (1 - No_Hemorrhage) is kept as table labels (not for a patient whose SliceNumbers skip
    /// one, named in ``notes``) and the maxima over slices of `any` and the subtypes as scan
    /// labels. A patient's slice listed twice, or a label field not 0 or 1, is refused.
    static func physionet(root: URL) throws -> (cases: [DatasetCase], notes: [String]) {
        let scans = try niftiFiles(in: root.appendingPathComponent("ct_scans"))
        let masksFolder = root.appendingPathComponent("masks")
        let masks = ScanReader.isFolder(masksFolder) ? try niftiFiles(in: masksFolder) : [:]
        let csvURL = root.appendingPathComponent("hemorrhage_diagnosis_raw_ct.csv")
        let csv = try LabelCSV(url: csvURL)
        let patient = try csv.column("PatientNumber"), slice = try csv.column("SliceNumber"), none = try csv.column("No_Hemorrhage")
        let subtypeColumns: [(String, Int)] = try [("Intraventricular", SubtypeNames.intraventricular), ("Intraparenchymal", SubtypeNames.intraparenchymal),
                                                   ("Subarachnoid", SubtypeNames.subarachnoid), ("Epidural", SubtypeNames.epidural),
                                                   ("Subdural", SubtypeNames.subdural)].map { ($0.1, try csv.column($0.0)) }
        var slices: [Int: [Int: Float]] = [:], scanLabels: [Int: [String: Float]] = [:]
        for row in csv.rows {
            guard let p = Int(try csv.field(row.fields, patient, line: row.line)),
                  let s = Int(try csv.field(row.fields, slice, line: row.line)), s >= 1 else {
                throw CTVolumeError.invalidDataset(path: "\(csvURL.path):\(row.line)", reason: "PatientNumber and SliceNumber must be whole numbers, SliceNumber from 1")
            }
            let any = 1 - (try csv.binary(row.fields, none, line: row.line))
            guard slices[p]?[s] == nil else {
                throw CTVolumeError.invalidDataset(path: "\(csvURL.path):\(row.line)", reason: "patient \(p) slice \(s) is listed twice")
            }
            slices[p, default: [:]][s] = any
            var labels = scanLabels[p] ?? Dictionary(uniqueKeysWithValues: (SubtypeNames.all + ["any"]).map { ($0, Float(0)) })
            labels["any"] = max(labels["any"]!, any)
            for (key, column) in subtypeColumns { labels[key] = max(labels[key]!, try csv.binary(row.fields, column, line: row.line)) }
            scanLabels[p] = labels
        }
        var notes: [String] = []
        let cases: [DatasetCase] = scans.keys.sorted().map { name in
            let number = Int(name)
            var table: [Float]? = nil
            if let number, let rows = slices[number] {
                let count = rows.keys.max()!
                if (1...count).allSatisfy({ rows[$0] != nil }) {
                    table = (1...count).map { rows[$0]! }
                } else {
                    notes.append("\(csvURL.path): patient \(number) skips a SliceNumber; its CSV slice labels are not used")
                }
            }
            return DatasetCase(name: name, imageURL: scans[name]!, labelURL: masks[name], tableLabels: table,
                               tableURL: table == nil ? nil : csvURL, scanLabels: number.flatMap { scanLabels[$0] }, canonical: true)
        }
        return (cases, notes)
    }

    /// BHSD (Wu et al. 2023):
    ///
    ///     ROOT/label_192/images/<stem>.nii.gz
    ///     ROOT/label_192/ground truths/<stem>.nii.gz     0 background, 1 epidural,
    ///         2 intraparenchymal, 3 intraventricular, 4 subarachnoid, 5 subdural
    ///
    /// One case per labelled image, named by its stem; a ground truth without an image is
    /// refused. Any class > 0 is hemorrhage (the mask is read as 0/1). No scan labels (they
    /// would need every mask read). The unlabelled `unlabel_2000/` and `FirstStage_test/`
    /// images have no slice labels and are not opened.
    static func bhsd(root: URL) throws -> (cases: [DatasetCase], notes: [String]) {
        let images = try niftiFiles(in: root.appendingPathComponent("label_192/images"))
        let truthFolder = root.appendingPathComponent("label_192/ground truths")
        let truths = ScanReader.isFolder(truthFolder) ? try niftiFiles(in: truthFolder) : [:]
        if let orphan = truths.keys.sorted().first(where: { images[$0] == nil }) {
            throw CTVolumeError.invalidDataset(path: truths[orphan]!.path, reason: "ground truth without an image in \(root.path)/label_192/images")
        }
        // Scan labels would need every mask read (its classes); opening stays a listing.
        let cases = images.keys.sorted().map { name in
            DatasetCase(name: name, imageURL: images[name]!, labelURL: truths[name], canonical: true)
        }
        return (cases, [])
    }
}
