import CPNG
import Foundation

/// PNG files through libpng's simplified `png_image` API (no `setjmp`): encode and decode
/// in memory, write atomically.
public enum PNG {
    // png.h's PNG_FORMAT_* are macro expressions; their values, spelled out.
    private static let formatRGB: UInt32 = 0x02    // PNG_FORMAT_FLAG_COLOR
    private static let formatRGBA: UInt32 = 0x03   // PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA

    /// The PNG bytes of `image`: 8-bit RGB when every pixel is opaque, else RGBA.
    /// - Throws: ``CTVolumeError/io(path:reason:)`` with libpng's message.
    public static func encode(_ image: RGBAImage, path: String = "<png>") throws -> Data {
        let opaque = stride(from: 3, to: image.pixels.count, by: 4).allSatisfy { image.pixels[$0] == 255 }
        var bytes = image.pixels
        var format = formatRGBA, channels = 4
        if opaque {
            bytes = [UInt8](); bytes.reserveCapacity(3 * image.width * image.height)
            for p in 0..<(image.width * image.height) { bytes.append(contentsOf: image.pixels[(4 * p)..<(4 * p + 3)]) }
            format = formatRGB; channels = 3
        }
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        png.width = UInt32(image.width)
        png.height = UInt32(image.height)
        png.format = format
        let stride = Int32(channels * image.width)
        var size: png_alloc_size_t = 0
        // First call sizes the output, second fills it.
        let sized = bytes.withUnsafeBytes { png_image_write_to_memory(&png, nil, &size, 0, $0.baseAddress, stride, nil) }
        guard sized != 0, size > 0 else { throw CTVolumeError.io(path: path, reason: "PNG encoding failed: \(message(&png))") }
        var out = Data(count: Int(size))
        let ok = out.withUnsafeMutableBytes { dst in
            bytes.withUnsafeBytes { png_image_write_to_memory(&png, dst.baseAddress, &size, 0, $0.baseAddress, stride, nil) }
        }
        guard ok != 0 else { throw CTVolumeError.io(path: path, reason: "PNG encoding failed: \(message(&png))") }
        return out.prefix(Int(size))
    }

    /// Decodes PNG bytes of any colour type into 8-bit RGBA.
    /// - Throws: ``CTVolumeError/io(path:reason:)`` naming `path` when the bytes are not a PNG.
    public static func decode(_ data: Data, path: String = "<png>") throws -> RGBAImage {
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        let begun = data.withUnsafeBytes { png_image_begin_read_from_memory(&png, $0.baseAddress, data.count) }
        guard begun != 0 else { throw CTVolumeError.io(path: path, reason: "not a readable PNG: \(message(&png))") }
        png.format = formatRGBA
        let width = Int(png.width), height = Int(png.height)
        guard width > 0, height > 0, width * height <= 1 << 28 else {
            png_image_free(&png)
            throw CTVolumeError.io(path: path, reason: "PNG of \(width) x \(height) pixels is out of range")
        }
        var pixels = [UInt8](repeating: 0, count: 4 * width * height)
        let done = pixels.withUnsafeMutableBytes { png_image_finish_read(&png, nil, $0.baseAddress, Int32(4 * width), nil) }
        guard done != 0 else { throw CTVolumeError.io(path: path, reason: "PNG decoding failed: \(message(&png))") }
        return RGBAImage(width: width, height: height, pixels: pixels)
    }

    /// Writes `image` to `url` all-or-nothing: encoded in memory, written to a temporary file
    /// in the same folder, then moved into place; an existing file is refused (checked again
    /// at the moment of the move) unless `overwrite` is true.
    /// - Throws: ``CTVolumeError/outputExists(path:)`` or ``CTVolumeError/io(path:reason:)``.
    public static func write(_ image: RGBAImage, to url: URL, overwrite: Bool = false) throws {
        if !overwrite && FileManager.default.fileExists(atPath: url.path) {
            throw CTVolumeError.outputExists(path: url.path)
        }
        let data = try encode(image, path: url.path)
        try AtomicFile.write(to: url, overwrite: overwrite, extension: ".png") { temp in
            do {
                try data.write(to: URL(fileURLWithPath: temp))
            } catch {
                throw CTVolumeError.io(path: url.path, reason: "cannot write: \(error.localizedDescription)")
            }
        }
    }

    /// Reads and decodes a PNG file into 8-bit RGBA.
    public static func read(at url: URL) throws -> RGBAImage {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CTVolumeError.io(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        return try decode(data, path: url.path)
    }

    /// libpng's message from `png.message` (a fixed C array).
    private static func message(_ png: inout png_image) -> String {
        withUnsafeBytes(of: &png.message) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return bytes.isEmpty ? "unknown libpng error" : String(decoding: bytes, as: UTF8.self)
        }
    }
}
