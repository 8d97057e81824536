import Foundation

/// The folder layouts ``Dataset`` opens: INSTANCE 2022 (the project's own) and the published
/// layouts of the public ICH datasets. Each page of `Docs/datasets/` shows one, with the
/// commands that train and evaluate on it.
///
/// | Layout | Recognised by | Cases | Labels |
/// |---|---|---|---|
/// | `instance` | `ROOT/data/` | NIfTI scans, masks in `label/` | masks, or `slices.csv` |
/// | `rsna` | `ROOT/stage_2_train.csv` (or `stage_1_train.csv`) | one per DICOM series in `stage_2_train/` | per slice (`any` rows) |
/// | `cq500` | `ROOT/reads.csv` | one series per study | per scan (majority of three reads) |
/// | `physionet` | `ROOT/ct_scans/` and `hemorrhage_diagnosis_raw_ct.csv` | NIfTI scans, masks in `masks/` | masks, per slice and per scan from the CSV |
/// | `bhsd` | `ROOT/label_192/` | NIfTI scans with masks | masks (classes 1-5 are subtypes) |
public enum DatasetLayout: String, Sendable, Hashable, Codable, CaseIterable {
    /// `ROOT/data/NAME.nii.gz`, `ROOT/label/NAME.nii.gz`, `ROOT/slices.csv`.
    case instance
    /// RSNA Intracranial Hemorrhage Detection (Kaggle 2019).
    case rsna
    /// CQ500 (qure.ai).
    case cq500
    /// PhysioNet CT-ICH 1.3.1 (Hssayeni et al.).
    case physionet
    /// BHSD, the Brain Hemorrhage Segmentation Dataset (Wu et al. 2023).
    case bhsd

    /// The layout of the folder at `root`, from the files that mark each (see the table),
    /// tried in the table's order: the first match wins. Only names are looked at.
    /// - Throws: `.invalidDataset` naming the folder when it does not exist or is not a
    ///   folder, or when no layout matches (saying what each needs).
    public static func detect(at root: URL) throws -> DatasetLayout {
        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: root.appendingPathComponent(name).path) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CTVolumeError.invalidDataset(path: root.path, reason: "no such folder")
        }
        if exists("data") { return .instance }
        if exists("stage_2_train.csv") || exists("stage_1_train.csv") { return .rsna }
        if exists("reads.csv") { return .cq500 }
        if exists("ct_scans") && exists("hemorrhage_diagnosis_raw_ct.csv") { return .physionet }
        if exists("label_192") { return .bhsd }
        throw CTVolumeError.invalidDataset(path: root.path, reason: """
            is no dataset folder ichct knows: INSTANCE keeps scans in data/, RSNA has stage_2_train.csv, \
            CQ500 reads.csv, PhysioNet CT-ICH ct_scans/ and hemorrhage_diagnosis_raw_ct.csv, BHSD label_192/ \
            (Docs/datasets/)
            """)
    }
}

/// The hemorrhage subtypes as the adapters name them (the phantom's names).
enum SubtypeNames {
    static let epidural = "epidural", intraparenchymal = "intraparenchymal", intraventricular = "intraventricular"
    static let subarachnoid = "subarachnoid", subdural = "subdural"
    static let all = [epidural, intraparenchymal, intraventricular, subarachnoid, subdural]
}

// MARK: - CSV

/// A small CSV reader for the datasets' label files: quoted fields (with "" for a quote and
/// newlines inside quotes), comma-separated, first row the header.
struct LabelCSV {
    let url: URL
    let header: [String]
    /// (line number, fields) of every non-empty data row.
    let rows: [(line: Int, fields: [String])]

    init(url: URL) throws {
        self.url = url
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            let exists = FileManager.default.fileExists(atPath: url.path)
            throw CTVolumeError.io(path: url.path, reason: exists ? "cannot read as UTF-8 text" : "no such file")
        }
        var records: [(Int, [String])] = []
        var field = "", fields: [String] = [], quoted = false, line = 1, recordLine = 1
        var chars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func endRecord() {
            fields.append(field)
            if !(fields.count == 1 && fields[0].trimmingCharacters(in: .whitespaces).isEmpty) { records.append((recordLine, fields)) }
            field = ""; fields = []
        }
        while let c = pending ?? chars.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let next = chars.next() {
                        if next == "\"" { field.unicodeScalars.append("\"") } else { quoted = false; pending = next }
                    } else { quoted = false }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" && field.isEmpty {
                quoted = true
            } else if c == "," {
                fields.append(field); field = ""
            } else if c == "\n" || c == "\r" {
                if c == "\r", let next = chars.next(), next != "\n" { pending = next }
                endRecord()
                line += 1
                recordLine = line
            } else {
                field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !fields.isEmpty { endRecord() }
        guard let first = records.first else { throw CTVolumeError.invalidDataset(path: url.path, reason: "is empty") }
        header = first.1.enumerated().map { i, name in
            (i == 0 && name.hasPrefix("\u{FEFF}") ? String(name.dropFirst()) : name).trimmingCharacters(in: .whitespaces)
        }
        rows = records.dropFirst().map { (line: $0.0, fields: $0.1.map { $0.trimmingCharacters(in: .whitespaces) }) }
    }

    /// The column index of `name`. - Throws: `.invalidDataset` naming the file.
    func column(_ name: String) throws -> Int {
        guard let i = header.firstIndex(of: name) else {
            throw CTVolumeError.invalidDataset(path: url.path, reason: "has no column \(name) (header: \(header.joined(separator: ",")))")
        }
        return i
    }

    /// Field `column` of a row. - Throws: `.invalidDataset` naming the file and line for a
    /// row too short to have it.
    func field(_ fields: [String], _ column: Int, line: Int) throws -> String {
        guard column < fields.count else {
            throw CTVolumeError.invalidDataset(path: "\(url.path):\(line)", reason: "has \(fields.count) fields, expected at least \(column + 1) (\(header[column]))")
        }
        return fields[column]
    }

    /// A 0/1 field. - Throws: `.invalidDataset` naming the file and line.
    func binary(_ fields: [String], _ column: Int, line: Int) throws -> Float {
        guard column < fields.count else {
            throw CTVolumeError.invalidDataset(path: "\(url.path):\(line)", reason: "has \(fields.count) fields, expected at least \(column + 1)")
        }
        switch fields[column] {
        case "0", "0.0": return 0
        case "1", "1.0": return 1
        default:
            throw CTVolumeError.invalidDataset(path: "\(url.path):\(line)", reason: "\(header[column]) is '\(fields[column])', not 0 or 1")
        }
    }
}
