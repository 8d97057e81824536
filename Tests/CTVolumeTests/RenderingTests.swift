import Foundation
import Testing
import CTVolume
import TestSupport

@Suite struct RenderingTests {
    /// Width, height and colour type straight from the IHDR chunk (independent of libpng).
    static func ihdr(_ data: Data) -> (width: Int, height: Int, colorType: UInt8)? {
        let b = [UInt8](data.prefix(26))
        guard b.count == 26, b[0..<8] == [137, 80, 78, 71, 13, 10, 26, 10], b[12..<16] == Array("IHDR".utf8)[...] else { return nil }
        func be(_ o: Int) -> Int { b[o..<(o + 4)].reduce(0) { $0 << 8 | Int($1) } }
        return (be(16), be(20), b[25])
    }

    @Test func pngRoundTripRGBAndRGBA() throws {
        var image = RGBAImage(width: 5, height: 3, fill: RGBA(10, 20, 30))
        image[x: 4, y: 2] = RGBA(200, 100, 50)
        let rgb = try PNG.encode(image)
        #expect(Self.ihdr(rgb)?.width == 5 && Self.ihdr(rgb)?.height == 3 && Self.ihdr(rgb)?.colorType == 2)
        #expect(try PNG.decode(rgb) == image)

        image[x: 0, y: 0] = RGBA(1, 2, 3, 128)
        let rgba = try PNG.encode(image)
        #expect(Self.ihdr(rgba)?.colorType == 6)
        let back = try PNG.decode(rgba)
        #expect(back == image)
        #expect(back[x: 0, y: 0] == RGBA(1, 2, 3, 128))
    }

    @Test func writeIsAtomicAndRefusesToOverwrite() throws {
        let folder = TemporaryFolder(prefix: "ichct-render"), dir = folder.url
        defer { folder.cleanup() }
        let url = dir.appendingPathComponent("a.png")
        let image = RGBAImage(width: 4, height: 4, fill: .white)
        try PNG.write(image, to: url)
        #expect(throws: CTVolumeError.outputExists(path: url.path)) { try PNG.write(image, to: url) }
        try PNG.write(RGBAImage(width: 2, height: 7, fill: .red), to: url, overwrite: true)
        let back = try PNG.read(at: url)
        #expect(back.width == 2 && back.height == 7 && back[x: 1, y: 6] == .red)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["a.png"])
        #expect(throws: CTVolumeError.self) { try PNG.decode(Data("not a png".utf8)) }
    }

    /// An 8 x 6 x 2 scan: 40 HU everywhere except voxel (7, 5, 1) at 80 HU and (0, 0, 1) at 0 HU.
    static func scan() -> ScanVolume {
        var v = ScanVolume(shape: GridShape(8, 6, 2), repeating: 40, geometry: Geometry(spacing: SIMD3(1, 1, 1)))
        v[7, 5, 1] = 80
        v[0, 0, 1] = 0
        return v
    }

    @Test func sliceInAWindowAndItsOrientation() throws {
        let scan = Self.scan()
        let image = try SliceRenderer(window: .brain).render(scan, slice: 1)
        #expect(image.width == 8 && image.height == 6)
        #expect(image[x: 3, y: 3] == RGBA(grey: 128))  // 40 HU in (40, 80): 0.5 -> round(127.5)
        // Flipped: voxel j = 5 is the top row, j = 0 the bottom.
        #expect(image[x: 7, y: 0] == RGBA(grey: 255))
        #expect(image[x: 0, y: 5] == RGBA(grey: 0))
        let unflipped = try SliceRenderer(window: .brain, flipVertically: false, radiological: false).render(scan, slice: 1)
        #expect(unflipped[x: 0, y: 0] == RGBA(grey: 0) && unflipped == image.flippedVertically())
        #expect(throws: CTVolumeError.self) { try SliceRenderer().render(scan, slice: 2) }
    }

    @Test func maskOutlineFillAndHeatmap() throws {
        let scan = Self.scan()
        var mask = MaskVolume(shape: scan.shape, repeating: 0, geometry: scan.geometry)
        for j in 1...3 { for i in 2...4 { mask[i, j, 0] = 1 } }  // a 3 x 3 block in slice 0
        let outline = try SliceRenderer(maskStyle: .outline(.green), flipVertically: false, radiological: false).render(scan, slice: 0, mask: mask)
        #expect(outline[x: 2, y: 1] == .green && outline[x: 4, y: 3] == .green)
        #expect(outline[x: 3, y: 2] == RGBA(grey: 128))   // the block's centre is not boundary
        #expect(outline[x: 5, y: 2] == RGBA(grey: 128))   // outside
        let fill = try SliceRenderer(maskStyle: .fill(RGBA(255, 0, 0), opacity: 0.5), flipVertically: false, radiological: false)
            .render(scan, slice: 0, mask: mask)
        #expect(fill[x: 3, y: 2] == RGBA(192, 64, 64))   // 0.5 * 255 + 0.5 * 128 = 191.5 -> 192
        #expect(fill[x: 6, y: 2] == RGBA(grey: 128))

        var heat = ScanVolume(shape: scan.shape, repeating: 0.05, geometry: scan.geometry)
        heat[1, 1, 0] = 1
        let h = try SliceRenderer(flipVertically: false, radiological: false).render(scan, slice: 0, heatmap: heat)
        #expect(h[x: 0, y: 0] == RGBA(grey: 128))          // below the threshold: untouched
        // t = 1: inferno's last entry (252, 255, 164) at opacity 0.7 over grey 128.
        let top = Colormap.inferno.color(1)
        #expect(top == RGBA(252, 255, 164))
        func mix(_ c: UInt8) -> UInt8 { UInt8((0.7 * Float(c) + 0.3 * 128).rounded()) }
        #expect(h[x: 1, y: 1] == RGBA(mix(252), mix(255), mix(164)))
        #expect(Colormap.inferno.color(0) == RGBA(0, 0, 4))

        let other = MaskVolume(shape: GridShape(8, 6, 3), repeating: 0, geometry: scan.geometry)
        #expect(throws: CTVolumeError.self) { try SliceRenderer().render(scan, slice: 0, mask: other) }
    }

    @Test func montageGrid() throws {
        let images = (0..<5).map { RGBAImage(width: 8, height: 6, fill: RGBA(grey: UInt8(50 * $0))) }
        let m = RGBAImage.montage(images, spacing: 2, background: .red)
        // ceil(sqrt(5)) = 3 columns, 2 rows: 3 * 8 + 4 * 2 by 2 * 6 + 3 * 2.
        #expect(m.width == 32 && m.height == 18)
        #expect(m[x: 0, y: 0] == .red)
        #expect(m[x: 2, y: 2] == RGBA(grey: 0))
        #expect(m[x: 2 + 10, y: 2] == RGBA(grey: 50))        // image 1: second column
        #expect(m[x: 2 + 10, y: 2 + 8 + 5] == RGBA(grey: 200)) // image 4: second row, second column
        #expect(m[x: 2 + 20, y: 10] == .red)                  // the empty sixth cell
        let scanMontage = try SliceRenderer().montage(Self.scan(), columns: 2)
        #expect(scanMontage.width == 2 * 8 + 3 * 2 && scanMontage.height == 6 + 2 * 2)
    }
}

/// Radiological convention from the affine: the same head stored in any voxel order gives the
/// same picture, anterior up and the patient's right on the picture's left.
@Suite struct RadiologicalRenderingTests {
    /// A 10 x 8 x 3 LAS head (i towards left, j towards anterior), bright at the patient's right
    /// front (i = 1, j = 6) and dark at the left back (i = 8, j = 1) of every slice, and a
    /// slice-dependent level so that slice order shows.
    static func head() -> ScanVolume {
        var affine = Affine.scaling(SIMD3(-1, 1, 2))
        affine[0, 3] = 9
        var v = ScanVolume(shape: GridShape(10, 8, 3), repeating: 40, geometry: Geometry(affine: affine))
        for k in 0..<3 {
            v[1, 6, k] = 80
            v[8, 1, k] = 0
            v[5, 4, k] = 40 + Float(10 * k)
        }
        return v
    }

    @Test func anteriorUpPatientRightOnTheLeft() throws {
        let image = try SliceRenderer(window: .brain).render(Self.head(), slice: 1)
        // right front (bright) at the top left, left back (dark) at the bottom right
        #expect(image[x: 1, y: 1] == RGBA(grey: 255))
        #expect(image[x: 8, y: 6] == RGBA(grey: 0))
    }

    @Test func anyStoredOrderGivesTheSamePicture() throws {
        let head = Self.head()
        let renderer = SliceRenderer(window: .brain)
        let reference = try renderer.montage(head)
        for (order, reversed) in [([0, 1, 2], [false, true, false]), ([1, 0, 2], [false, false, false]), ([0, 1, 2], [true, true, true]),
                                  ([1, 0, 2], [true, false, true])] {
            let stored = head.storedInAxisOrder(order, reversed: reversed)
            #expect(try renderer.montage(stored) == reference || reversed[2], "\(order) \(reversed)")
            // slice numbers are the file's: slice 0 of a head-to-foot file is the top slice
            let k0 = try renderer.render(stored, slice: 0)
            #expect(k0 == (try renderer.render(head, slice: reversed[2] ? 2 : 0)), "\(order) \(reversed)")
        }
        // drawn by voxel index instead, an LPS copy shows upside down
        let lps = head.storedInAxisOrder([0, 1, 2], reversed: [false, true, false])
        let byIndex = SliceRenderer(window: .brain, radiological: false)
        #expect(try byIndex.render(lps, slice: 1) != byIndex.render(head, slice: 1))
    }
}
