import CNIfTI
import Foundation

/// A file read through zlib's `gzread`: gzip-compressed files are inflated, plain files are
/// read as they are (zlib's transparent mode), so `.nii` and `.nii.gz` share one code path.
///
/// Reads are in large chunks into the caller's memory; every short read is classified so that
/// a truncated or corrupt stream is an error naming the file, never silently short data.
final class GzipInput {
    let path: String
    private var handle: gzFile?
    /// Decompressed bytes read so far.
    private(set) var position = 0

    /// Why a read came back short.
    enum Shortfall {
        /// The data ended cleanly (plain end of file, or a complete gzip stream).
        case endOfData
        /// The gzip stream stops in the middle (zlib: "unexpected end of file").
        case truncatedStream
        /// Corrupt compressed data or a failed CRC / length check.
        case corrupt(String)
        /// An operating-system read error.
        case system(String)
    }

    init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CTVolumeError.io(path: path, reason: "no such file")
        }
        guard !isDirectory.boolValue else { throw CTVolumeError.io(path: path, reason: "is a directory, not a NIfTI file") }
        guard let h = gzopen(path, "rb") else {
            throw CTVolumeError.io(path: path, reason: "cannot open: \(String(cString: strerror(errno)))")
        }
        handle = h
        gzbuffer(h, 1 << 18)  // 256 KB input buffer: fewer read() calls than zlib's 8 KB default
    }

    deinit {
        if let h = handle { gzclose_r(h) }
    }

    /// Whether the file is gzip-compressed (as opposed to read transparently).
    var isCompressed: Bool { gzdirect(handle) == 0 }

    /// Reads up to `count` bytes into `buffer`.
    /// - Returns: the bytes read and, when fewer than `count`, why.
    func read(into buffer: UnsafeMutableRawPointer, count: Int) -> (Int, Shortfall?) {
        var done = 0
        while done < count {
            let want = UInt32(min(count - done, 1 << 30))
            let got = gzread(handle, buffer + done, want)
            if got > 0 {
                done += Int(got)
                position += Int(got)
                continue
            }
            var errnum: Int32 = 0
            var message = gzerror(handle, &errnum).map { String(cString: $0) } ?? "unknown zlib error"
            if message.hasPrefix(path + ": ") { message.removeFirst(path.count + 2) }  // zlib prefixes the path
            switch errnum {
            case Z_OK, Z_STREAM_END: return (done, .endOfData)
            case Z_BUF_ERROR: return (done, .truncatedStream)
            case Z_ERRNO: return (done, .system(String(cString: strerror(errno))))
            default: return (done, .corrupt(message))
            }
        }
        return (done, nil)
    }

    /// Reads and discards bytes up to the end of the stream, so that zlib checks the gzip
    /// trailer (CRC-32 and length). - Returns: the shortfall that ended the stream.
    func drain() -> Shortfall {
        var scratch = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let (_, shortfall) = scratch.withUnsafeMutableBytes { read(into: $0.baseAddress!, count: $0.count) }
            if let shortfall { return shortfall }
        }
    }

    /// Skips `count` bytes. - Returns: the shortfall when fewer were there.
    func skip(_ count: Int) -> Shortfall? {
        guard count > 0 else { return nil }
        var scratch = [UInt8](repeating: 0, count: min(count, 1 << 16))
        var left = count
        while left > 0 {
            let n = min(left, scratch.count)
            let (got, shortfall) = scratch.withUnsafeMutableBytes { read(into: $0.baseAddress!, count: n) }
            left -= got
            if got < n { return shortfall ?? .endOfData }
        }
        return nil
    }
}

/// A file written through zlib: gzip at `level` when `compressed`, plain bytes otherwise
/// (zlib's transparent write mode "wT"). Every write and the final close are checked.
final class GzipOutput {
    let path: String
    private var handle: gzFile?

    init(path: String, compressed: Bool, level: Int = 1) throws {
        self.path = path
        let mode = compressed ? "wb\(max(0, min(9, level)))" : "wbT"
        guard let h = gzopen(path, mode) else {
            throw CTVolumeError.io(path: path, reason: "cannot create: \(String(cString: strerror(errno)))")
        }
        handle = h
        gzbuffer(h, 1 << 18)
    }

    deinit {
        if let h = handle { gzclose_w(h) }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = UInt32(min(bytes.count - done, 1 << 30))
            let wrote = gzwrite(handle, bytes.baseAddress! + done, n)
            guard wrote > 0 else { throw failure("write failed") }
            done += Int(wrote)
        }
    }

    /// Flushes and closes; a failure here (disk full) is an error like any other.
    func close() throws {
        guard let h = handle else { return }
        handle = nil
        let rc = gzclose_w(h)
        guard rc == Z_OK else {
            throw CTVolumeError.io(path: path, reason: rc == Z_ERRNO ? "close failed: \(String(cString: strerror(errno)))" : "close failed (zlib error \(rc))")
        }
    }

    private func failure(_ what: String) -> CTVolumeError {
        var errnum: Int32 = 0
        let message = gzerror(handle, &errnum).map { String(cString: $0) } ?? ""
        let reason = errnum == Z_ERRNO ? String(cString: strerror(errno)) : message
        return .io(path: path, reason: "\(what): \(reason)")
    }
}
