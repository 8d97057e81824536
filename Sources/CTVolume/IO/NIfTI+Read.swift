import CNIfTI
import Foundation

/// Reading and writing NIfTI-1 volumes (`.nii`, `.nii.gz`).
///
/// Headers are decoded with nifti_clib's `nifti_1_header` layout and byte-swapper, voxels
/// are read through zlib in large chunks (nifti_clib's own readers print to stderr and can
/// return short data silently; here every size is checked before voxels are trusted).
/// Intensities follow nibabel's scaling rule (``NIfTIScaling``) and geometry its affine
/// rule (``NIfTIHeader``).
///
/// ```swift
/// let scan = try NIfTI.readScan(at: URL(filePath: "data/case1.nii.gz"))   // HU, Float
/// let mask = try NIfTI.readMask(at: URL(filePath: "label/case1.nii.gz"))  // 0 / 1
/// try NIfTI.write(mask, to: URL(filePath: "out/case1.nii.gz"))
/// ```
public enum NIfTI {
    /// Reads and checks a header without reading voxels.
    ///
    /// - Throws: ``CTVolumeError`` `.io` (missing or unreadable file), `.notNIfTI`,
    ///   `.truncated` (stream ends inside the header), `.invalidHeader`, `.unsupportedDimensions`.
    ///   An unsupported datatype is not an error here (the header says which it is).
    public static func readHeader(at url: URL) throws -> NIfTIHeader {
        let input = try GzipInput(path: url.path)
        return try readHeader(input).header
    }

    /// Reads a scan as Float intensities (Hounsfield units for CT) on its grid.
    ///
    /// Values are `raw * scl_slope + scl_inter` by nibabel's rule (``NIfTIScaling``); a 4-D
    /// file with one time point reads as 3-D.
    ///
    /// - Throws: ``CTVolumeError``: everything ``readHeader(at:)`` throws, and
    ///   `.unsupportedDatatype` (complex, RGB, ...), `.truncated` (fewer voxel bytes than the
    ///   header promises, or a gzip stream that ends early or fails its check),
    ///   `.nonFiniteVoxels` (NaN or infinite values, with their count).
    public static func readScan(at url: URL) throws -> ScanVolume {
        let input = try GzipInput(path: url.path)
        let (header, storage) = try readHeader(input)
        let voxels = try readVoxels(input, header: header, storage: storage)
        return ScanVolume(shape: header.shape, voxels: voxels, geometry: header.geometry)
    }

    /// Reads a label volume: voxels whose (scaled) value is > 0 become 1, all others 0.
    ///
    /// - Throws: as ``readScan(at:)``.
    public static func readMask(at url: URL) throws -> MaskVolume {
        let scan = try readScan(at: url)
        return scan.map { $0 > 0 ? 1 : 0 }
    }

    /// Reads an integer label volume as it is stored (an instance map such as a phantom's
    /// lesion map): every voxel must hold a whole number in 0...255. It must lie on the grid of
    /// `shape` and `reference` (affine and spacing within `tolerance` mm).
    ///
    /// - Throws: as ``readScan(at:)``; `.gridMismatch` naming the file; `.invalidDataset`
    ///   naming the file and the first voxel that is not a label in 0...255.
    public static func readLabels(at url: URL, matching reference: Geometry, shape: GridShape,
                                  tolerance: Double = 1e-3) throws -> MaskVolume {
        let header = try readHeader(at: url)
        try checkSameGrid(header, shape: shape, geometry: reference, tolerance: tolerance)
        let stored = try readScan(at: url)
        if let v = stored.voxels.firstIndex(where: { !($0 >= 0 && $0 <= 255 && $0 == $0.rounded()) }) {
            throw CTVolumeError.invalidDataset(path: url.path, reason: "voxel \(v) holds \(stored.voxels[v]), not a label in 0...255")
        }
        return stored.map { UInt8($0) }
    }

    /// Reads a label volume that must lie on `reference`'s grid (same shape; affine and
    /// spacing equal within `tolerance` mm).
    ///
    /// - Throws: as ``readMask(at:)``, and `.gridMismatch` naming the label file.
    public static func readMask(at url: URL, matching reference: Geometry, shape: GridShape,
                                tolerance: Double = 1e-3) throws -> MaskVolume {
        let header = try readHeader(at: url)
        try checkSameGrid(header, shape: shape, geometry: reference, tolerance: tolerance)
        return try readMask(at: url)
    }

    /// Reads a label volume that must lie on `reference`'s grid (its shape, affine and spacing).
    ///
    /// - Throws: as ``readMask(at:)``, and `.gridMismatch` naming the label file.
    public static func readMask<Voxel>(at url: URL, matching reference: Volume<Voxel>, tolerance: Double = 1e-3) throws -> MaskVolume {
        try readMask(at: url, matching: reference.geometry, shape: reference.shape, tolerance: tolerance)
    }

    /// Throws `.gridMismatch` (naming `header.path`) unless the header's grid is `shape` and its
    /// effective affine and spacing match `geometry`'s within `tolerance`.
    public static func checkSameGrid(_ header: NIfTIHeader, shape: GridShape, geometry: Geometry,
                                     tolerance: Double = 1e-3) throws {
        guard header.shape == shape else {
            throw CTVolumeError.gridMismatch(path: header.path, reason: "grid \(header.shape) differs from its image's \(shape)")
        }
        let a = header.affine.m, b = geometry.affine.m
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        guard worst <= tolerance else {
            throw CTVolumeError.gridMismatch(path: header.path, reason: "affine differs from its image's by up to \(worst) mm")
        }
        let gap = header.spacing - geometry.spacing
        let spacingGap = max(abs(gap.x), abs(gap.y), abs(gap.z))
        guard spacingGap <= tolerance else {
            throw CTVolumeError.gridMismatch(path: header.path, reason: "spacing \(fmt(header.spacing)) differs from its image's \(fmt(geometry.spacing))")
        }
    }

    private static func fmt(_ v: SIMD3<Double>) -> String { "\(v.x) x \(v.y) x \(v.z)" }

    // MARK: - Internals

    static func readHeader(_ input: GzipInput) throws -> (header: NIfTIHeader, storage: NIfTIStorage?) {
        var bytes = [UInt8](repeating: 0, count: NIfTIHeader.headerSize)
        let (got, shortfall) = bytes.withUnsafeMutableBytes { input.read(into: $0.baseAddress!, count: $0.count) }
        if got < NIfTIHeader.headerSize {
            switch shortfall {
            case .truncatedStream:
                throw CTVolumeError.truncated(path: input.path, reason: "gzip stream ends after \(got) bytes, inside the 348-byte header")
            case .corrupt(let message):
                throw CTVolumeError.io(path: input.path, reason: "corrupt gzip data (\(message))")
            case .system(let message):
                throw CTVolumeError.io(path: input.path, reason: "read failed: \(message)")
            case .endOfData, nil:
                throw CTVolumeError.notNIfTI(path: input.path, reason: got == 0 ? "empty file" : "only \(got) bytes, shorter than the 348-byte NIfTI-1 header")
            }
        }
        return try NIfTIHeader.decode(bytes: bytes, path: input.path, compressed: input.isCompressed)
    }

    /// Reads the voxels after the header into Float values, converting and scaling chunk by chunk.
    static func readVoxels(_ input: GzipInput, header: NIfTIHeader, storage: NIfTIStorage?) throws -> [Float] {
        guard let storage else {
            throw CTVolumeError.unsupportedDatatype(path: header.path, datatype: header.datatype)
        }
        let promised = header.shape.count * storage.byteCount
        if !input.isCompressed, let size = fileSize(header.path), size < header.voxelOffset + promised {
            throw CTVolumeError.truncated(path: header.path, reason: shortMessage(header, storage, have: max(0, size - header.voxelOffset), compressed: false))
        }
        // Deflate expands at most ~1032:1, so a gzip file this small cannot hold what the header
        // promises: refuse before allocating (a corrupt header must not cost gigabytes).
        if input.isCompressed, let size = fileSize(header.path), header.voxelOffset + promised > size * 1032 + 4096 {
            throw CTVolumeError.truncated(path: header.path, reason: "header promises \(header.dimensions.map(String.init).joined(separator: "x")) \(storage.name) (\(byteString(promised))) but a \(byteString(size)) gzip file cannot hold that much")
        }
        if let shortfall = input.skip(header.voxelOffset - input.position) {
            throw readFailure(header, storage, have: 0, shortfall: shortfall, compressed: input.isCompressed)
        }
        let swap = header.byteOrder != (hostIsLittleEndian ? "little" : "big")
        let voxels: [Float]
        switch storage {
        case .uint8: voxels = try decode(UInt8.self, input, header, storage, swap)
        case .int8: voxels = try decode(Int8.self, input, header, storage, swap)
        case .int16: voxels = try decode(Int16.self, input, header, storage, swap)
        case .uint16: voxels = try decode(UInt16.self, input, header, storage, swap)
        case .int32: voxels = try decode(Int32.self, input, header, storage, swap)
        case .uint32: voxels = try decode(UInt32.self, input, header, storage, swap)
        case .float32: voxels = try decode(Float.self, input, header, storage, swap)
        case .float64: voxels = try decode(Double.self, input, header, storage, swap)
        }
        if input.isCompressed {
            switch input.drain() {
            case .endOfData: break
            case .truncatedStream:
                throw CTVolumeError.truncated(path: header.path, reason: "gzip stream ends early (after the voxel data, before its end-of-stream check)")
            case .corrupt(let message):
                throw CTVolumeError.io(path: header.path, reason: "corrupt gzip data: the stream fails its check after the voxel data (\(message))")
            case .system(let message):
                throw CTVolumeError.io(path: header.path, reason: "read failed: \(message)")
            }
        }
        return voxels
    }

    /// Reads `header.shape.count` raw voxels of type `Raw` in chunks and converts each chunk.
    private static func decode<Raw: NIfTIRawVoxel>(_: Raw.Type, _ input: GzipInput, _ header: NIfTIHeader,
                                                   _ storage: NIfTIStorage, _ swap: Bool) throws -> [Float] {
        let count = header.shape.count
        let chunk = max(1, min(count, (1 << 18) / MemoryLayout<Raw>.stride))
        let scaling = header.scaling
        let mayBeNonFinite = Raw.mayBeNonFinite(after: scaling)
        var scratch = [Raw](repeating: .zero, count: chunk)
        var nonFinite = 0
        let voxels = try [Float](unsafeUninitializedCapacity: count) { out, initialized in
            var done = 0
            while done < count {
                let n = min(chunk, count - done)
                let (got, shortfall) = scratch.withUnsafeMutableBytes { input.read(into: $0.baseAddress!, count: n * MemoryLayout<Raw>.stride) }
                guard got == n * MemoryLayout<Raw>.stride else {
                    out.baseAddress!.initialize(repeating: 0, count: count)  // keep the buffer valid for the throw
                    initialized = count
                    throw readFailure(header, storage, have: done * MemoryLayout<Raw>.stride + got, shortfall: shortfall, compressed: input.isCompressed)
                }
                scratch.withUnsafeMutableBufferPointer { raw in
                    let dst = UnsafeMutableBufferPointer(rebasing: out[done..<(done + n)])
                    if swap { for i in 0..<n { raw[i] = raw[i].byteSwappedValue } }
                    Raw.convert(UnsafeBufferPointer(rebasing: raw[0..<n]), into: dst, scaling: scaling)
                    if mayBeNonFinite {
                        // Branch-free so that it vectorises: exponent bits all set = NaN or inf.
                        var bad = 0
                        for v in dst { bad &+= (v.bitPattern & 0x7F80_0000) == 0x7F80_0000 ? 1 : 0 }
                        nonFinite += bad
                    }
                }
                done += n
            }
            initialized = count
        }
        if nonFinite > 0 { throw CTVolumeError.nonFiniteVoxels(path: header.path, count: nonFinite) }
        return voxels
    }

    private static func readFailure(_ header: NIfTIHeader, _ storage: NIfTIStorage, have: Int,
                                    shortfall: GzipInput.Shortfall?, compressed: Bool) -> CTVolumeError {
        switch shortfall {
        case .corrupt(let message):
            return .io(path: header.path, reason: "corrupt gzip data after \(have) bytes of voxels (\(message))")
        case .system(let message):
            return .io(path: header.path, reason: "read failed: \(message)")
        case .truncatedStream:
            return .truncated(path: header.path, reason: "gzip stream ends early: " + shortMessage(header, storage, have: have, compressed: true))
        case .endOfData, nil:
            return .truncated(path: header.path, reason: shortMessage(header, storage, have: have, compressed: compressed))
        }
    }

    private static func shortMessage(_ header: NIfTIHeader, _ storage: NIfTIStorage, have: Int, compressed: Bool) -> String {
        let dims = header.dimensions.map(String.init).joined(separator: "x")
        let promised = header.shape.count * storage.byteCount
        return "header promises \(dims) \(storage.name) (\(byteString(promised)) from offset \(header.voxelOffset)) but the \(compressed ? "decompressed " : "")file holds \(byteString(have))"
    }

    static func byteString(_ n: Int) -> String {
        if n < 10_000 { return "\(n) bytes" }
        if n < 10_000_000 { return String(format: "%.1f KB", Double(n) / 1000) }
        if n < 10_000_000_000 { return String(format: "%.1f MB", Double(n) / 1_000_000) }
        return String(format: "%.1f GB", Double(n) / 1_000_000_000)
    }

    /// Size of the file at `path` in bytes; a symbolic link is followed (its own size is that of
    /// the path it holds, which would make every linked dataset look truncated).
    static func fileSize(_ path: String) -> Int? {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        return (try? FileManager.default.attributesOfItem(atPath: target)[.size] as? NSNumber)?.intValue
    }
}

// MARK: - Raw voxel types

/// A stored voxel type and its conversion to Float by nibabel's arithmetic (see ``NIfTIScaling``).
protocol NIfTIRawVoxel {
    static var zero: Self { get }
    var byteSwappedValue: Self { get }
    /// Whether converted values can be NaN or infinite: always for float raw types, and for
    /// integers only when the scaling could overflow Float at the ends of the type's range.
    static func mayBeNonFinite(after scaling: NIfTIScaling) -> Bool
    static func convert(_ raw: UnsafeBufferPointer<Self>, into out: UnsafeMutableBufferPointer<Float>, scaling: NIfTIScaling)
}

/// Whether `raw * slope + intercept` can leave Float's finite range for some raw value of `T`
/// (the extremes bound it; a 10% margin covers rounding).
func integerScalingMayOverflow<T: FixedWidthInteger>(_: T.Type, _ scaling: NIfTIScaling) -> Bool {
    let s = Double(scaling.slope), b = Double(scaling.intercept)
    let largest = max(abs(Double(T.min) * s + b), abs(Double(T.max) * s + b))
    return !(largest < 0.9 * Double(Float.greatestFiniteMagnitude))
}

/// 8- and 16-bit integers: exact in Float, scaled in Float.
protocol FloatExactInteger: NIfTIRawVoxel, FixedWidthInteger {}
extension FloatExactInteger {
    static func mayBeNonFinite(after scaling: NIfTIScaling) -> Bool { integerScalingMayOverflow(Self.self, scaling) }
    var byteSwappedValue: Self { byteSwapped }
    @inline(__always)
    static func convert(_ raw: UnsafeBufferPointer<Self>, into out: UnsafeMutableBufferPointer<Float>, scaling: NIfTIScaling) {
        switch scaling {
        case .raw:
            for i in 0..<raw.count { out[i] = Float(raw[i]) }
        case .linear(let s, let b):
            for i in 0..<raw.count { out[i] = Float(raw[i]) * s + b }
        }
    }
}
extension UInt8: FloatExactInteger {}
extension Int8: FloatExactInteger {}
extension Int16: FloatExactInteger {}
extension UInt16: FloatExactInteger {}

/// 32-bit integers: scaled in Double (numpy promotes int32 x float32 to float64).
protocol DoubleScaledInteger: NIfTIRawVoxel, FixedWidthInteger {}
extension DoubleScaledInteger {
    static func mayBeNonFinite(after scaling: NIfTIScaling) -> Bool { integerScalingMayOverflow(Self.self, scaling) }
    var byteSwappedValue: Self { byteSwapped }
    static func convert(_ raw: UnsafeBufferPointer<Self>, into out: UnsafeMutableBufferPointer<Float>, scaling: NIfTIScaling) {
        switch scaling {
        case .raw:
            for i in 0..<raw.count { out[i] = Float(raw[i]) }
        case .linear(let s, let b):
            let s = Double(s), b = Double(b)
            for i in 0..<raw.count { out[i] = Float(Double(raw[i]) * s + b) }
        }
    }
}
extension Int32: DoubleScaledInteger {}
extension UInt32: DoubleScaledInteger {}

extension Float: NIfTIRawVoxel {
    static func mayBeNonFinite(after scaling: NIfTIScaling) -> Bool { true }
    var byteSwappedValue: Float { Float(bitPattern: bitPattern.byteSwapped) }
    static func convert(_ raw: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>, scaling: NIfTIScaling) {
        for i in 0..<raw.count { out[i] = scaling.apply(raw[i]) }
    }
}

extension Double: NIfTIRawVoxel {
    static func mayBeNonFinite(after scaling: NIfTIScaling) -> Bool { true }
    var byteSwappedValue: Double { Double(bitPattern: bitPattern.byteSwapped) }
    static func convert(_ raw: UnsafeBufferPointer<Double>, into out: UnsafeMutableBufferPointer<Float>, scaling: NIfTIScaling) {
        for i in 0..<raw.count { out[i] = scaling.apply(raw[i]) }
    }
}
