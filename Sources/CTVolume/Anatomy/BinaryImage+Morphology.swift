import ImageCore
/// Binary 2-D image operations for the intracranial mask: exact Euclidean distance
/// transforms (so disks of any radius in millimetres cost the same), hole filling and
/// connected components. Images are row-major `height x width` arrays of `Bool`.
struct BinaryImage: Sendable {
    let width: Int
    let height: Int
    var pixels: [Bool]

    init(width: Int, height: Int, pixels: [Bool]) {
        precondition(pixels.count == width * height)
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    init(width: Int, height: Int, repeating value: Bool = false) {
        self.init(width: width, height: height, pixels: Array(repeating: value, count: width * height))
    }

    var count: Int { pixels.reduce(0) { $0 + ($1 ? 1 : 0) } }

    static func & (a: BinaryImage, b: BinaryImage) -> BinaryImage {
        BinaryImage(width: a.width, height: a.height, pixels: zip(a.pixels, b.pixels).map { $0 && $1 })
    }

    static prefix func ! (a: BinaryImage) -> BinaryImage {
        BinaryImage(width: a.width, height: a.height, pixels: a.pixels.map { !$0 })
    }

    // MARK: distance transform

    /// Squared Euclidean distance (in units of `spacing`) from every pixel to the nearest
    /// `true` pixel; 1e30 when there is none (``DistanceTransform/squaredDistances2D``,
    /// Felzenszwalb & Huttenlocher; O(width * height)).
    func squaredDistance(spacingX: Double = 1, spacingY: Double = 1) -> [Double] {
        DistanceTransform.squaredDistances2D(pixels, width: width, height: height, spacingX: spacingX, spacingY: spacingY)
            .map { $0.isFinite ? $0 : 1e30 }
    }

    // MARK: morphology with disks

    /// Pixels within `radius` (same units as the spacing) of a `true` pixel: squared distance
    /// at most `radius² + 1e-9` (``DistanceTransform/withinSquaredDistance2D``, which looks
    /// only at the rows within reach).
    func dilated(radius: Double, spacingX: Double = 1, spacingY: Double = 1) -> BinaryImage {
        let r2 = radius * radius + 1e-9
        return BinaryImage(width: width, height: height,
                           pixels: DistanceTransform.withinSquaredDistance2D(pixels, width: width, height: height,
                                                                             spacingX: spacingX, spacingY: spacingY, limit: r2))
    }

    /// Pixels whose whole disk of `radius` lies in the image's `true` set (outside the
    /// image counts as `false`).
    func eroded(radius: Double, spacingX: Double = 1, spacingY: Double = 1) -> BinaryImage {
        // Pad by one pixel of background so that the border acts as background.
        let pw = width + 2, ph = height + 2
        var padded = [Bool](repeating: true, count: pw * ph)
        for j in 0..<height { for i in 0..<width { padded[(j + 1) * pw + i + 1] = !pixels[j * width + i] } }
        let r2 = radius * radius + 1e-9
        let near = DistanceTransform.withinSquaredDistance2D(padded, width: pw, height: ph, spacingX: spacingX, spacingY: spacingY, limit: r2)
        var out = [Bool](repeating: false, count: width * height)
        for j in 0..<height { for i in 0..<width { out[j * width + i] = !near[(j + 1) * pw + i + 1] } }
        return BinaryImage(width: width, height: height, pixels: out)
    }

    /// Morphological closing (dilation then erosion) with a disk of `radius`: bridges gaps
    /// narrower than about `2 * radius`.
    func closed(radius: Double, spacingX: Double = 1, spacingY: Double = 1) -> BinaryImage {
        dilated(radius: radius, spacingX: spacingX, spacingY: spacingY)
            .eroded(radius: radius, spacingX: spacingX, spacingY: spacingY)
    }

    // MARK: holes and components

    /// The set plus every `false` region not 4-connected to the image border.
    func holesFilled() -> BinaryImage {
        var outside = [Bool](repeating: false, count: pixels.count)
        var stack = [Int]()
        func push(_ p: Int) {
            if !pixels[p] && !outside[p] { outside[p] = true; stack.append(p) }
        }
        for i in 0..<width { push(i); push((height - 1) * width + i) }
        for j in 0..<height { push(j * width); push(j * width + width - 1) }
        while let p = stack.popLast() {
            let i = p % width, j = p / width
            if i > 0 { push(p - 1) }
            if i < width - 1 { push(p + 1) }
            if j > 0 { push(p - width) }
            if j < height - 1 { push(p + width) }
        }
        return BinaryImage(width: width, height: height, pixels: outside.map { !$0 })
    }

    /// 8-connected components: a label per pixel (0 = background, 1... = component) and the
    /// size of each component (`sizes[label - 1]`).
    func components() -> (labels: [Int32], sizes: [Int]) {
        ComponentLabelling.label(nx: width, ny: height, nz: 1, backward: ComponentLabelling.backwardOffsets(maximumManhattan: 2, planar: true)) {
            pixels[$0]
        }
    }

    /// Only the components of at least `minimumSize` pixels.
    func removingComponents(smallerThan minimumSize: Int) -> BinaryImage {
        let (labels, sizes) = components()
        return BinaryImage(width: width, height: height,
                           pixels: labels.map { $0 > 0 && sizes[Int($0) - 1] >= minimumSize })
    }
}
