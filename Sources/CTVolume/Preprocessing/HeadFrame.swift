import Foundation

/// Where a head lies in its slices: the rows and columns of the box around it, over all slices.
///
/// In each axial slice the head is the largest 8-connected component of voxels above
/// ``tissueHU`` (soft tissue and bone, not air: a separate strip such as the couch or a head
/// holder does not count); the extent is the box around those components of the slices where
/// it holds at least ``leastAreaShare`` of the largest slice's area (so that a slice above the
/// vertex or below the head, where the couch is all there is, does not count either). The
/// ``span(height:width:)`` of a head is its box's longer side over the side of
/// the square the networks see the slice in (``SquareFrame``): what fraction of the network's
/// input the head fills.
///
///     let extent = HeadExtent.measure(scan)            // nil: no voxel above -500 HU
///     let span = extent?.span(height: scan.shape.y, width: scan.shape.x)
public struct HeadExtent: Hashable, Sendable {
    /// The threshold between air and the head (HU): halfway between air (-1000) and water (0),
    /// below fat (about -100) and above the foam of head rests (about -800 and lower).
    public static let tissueHU: Float = -500
    /// The least area, as a share of the largest slice component's, of a slice component that
    /// counts: a quarter. The couch inside a head CT's field of view (a strip some 250 x 10 mm)
    /// is about a tenth of a head's widest section (about 150 x 190 mm); the head's own small
    /// sections, near the vertex, lie inside the box of its wide ones.
    public static let leastAreaShare = 0.25

    /// The head's rows (`y` indices) and columns (`x` indices), end exclusive.
    public let rows: Range<Int>, columns: Range<Int>

    /// An extent. - Precondition: neither range empty.
    public init(rows: Range<Int>, columns: Range<Int>) {
        precondition(!rows.isEmpty && !columns.isEmpty, "HeadExtent: empty rows \(rows) or columns \(columns)")
        self.rows = rows
        self.columns = columns
    }

    /// The longer side of the box (voxels).
    public var size: Int { max(rows.count, columns.count) }

    /// The box's longer side over the side of a `height x width` slice's square (``SquareFrame/side``).
    public func span(height: Int, width: Int) -> Double { Double(size) / Double(max(height, width)) }

    /// How far the box's centre lies from the centre of a `height x width` slice, as a share of
    /// the side of its square: the larger of `|box centre - slice centre| / max(height, width)`
    /// along the rows and along the columns, centres taken between voxel centres (a box
    /// centred to half a voxel has `0.5 / max(height, width)`). 0 for a centred box; a head
    /// in a slice's corner approaches 0.5.
    public func offset(height: Int, width: Int) -> Double {
        let rowShift = abs(rows.lowerBound + rows.upperBound - height), columnShift = abs(columns.lowerBound + columns.upperBound - width)
        return Double(max(rowShift, columnShift)) / Double(2 * max(height, width))
    }

    /// The extent of the head in `scan` (see the type); nil when no voxel is above ``tissueHU``.
    public static func measure(_ scan: ScanVolume) -> HeadExtent? {
        let s = scan.shape, plane = s.x * s.y
        // each slice's largest component: its area and box (rows, columns, inclusive)
        var slices: [(area: Int, box: (Int, Int, Int, Int))] = []
        for k in 0..<s.z {
            let base = k * plane
            let image = BinaryImage(width: s.x, height: s.y, pixels: (0..<plane).map { scan.voxels[base + $0] > tissueHU })
            let (labels, sizes) = image.components()
            // the largest; of equal ones the first
            guard let largest = sizes.indices.max(by: { sizes[$0] < sizes[$1] || (sizes[$0] == sizes[$1] && $0 > $1) }) else { continue }
            let label = Int32(largest + 1)
            var r0 = Int.max, r1 = Int.min, c0 = Int.max, c1 = Int.min
            for v in 0..<plane where labels[v] == label {
                let j = v / s.x, i = v % s.x
                r0 = min(r0, j); r1 = max(r1, j); c0 = min(c0, i); c1 = max(c1, i)
            }
            slices.append((sizes[largest], (r0, r1, c0, c1)))
        }
        guard let widest = slices.map(\.area).max() else { return nil }
        let counted = slices.filter { Double($0.area) >= leastAreaShare * Double(widest) }.map(\.box)
        let r0 = counted.map(\.0).min()!, r1 = counted.map(\.1).max()!, c0 = counted.map(\.2).min()!, c1 = counted.map(\.3).max()!
        return HeadExtent(rows: r0..<(r1 + 1), columns: c0..<(c1 + 1))
    }
}

/// The head spans, and optionally the head positions, a rule accepts: a scan whose head fills
/// less of the network's input than ``least`` or more than ``most``
/// (``HeadExtent/span(height:width:)``) is framed at inference so that it fills exactly that
/// bound, and one whose head lies further off the centre than ``mostOffset``
/// (``HeadExtent/offset(height:width:)``) is seen centred (``HeadFrame``).
///
/// The networks learn what a head looks like at the sizes and in the places their training
/// scans showed it; a field of view much wider or narrower than theirs shows them a head
/// smaller or larger, and one reconstructed off the head's centre shows it where they never
/// saw one. ``init(trainingSpans:trainingOffsets:)`` accepts the training data's range, so
/// that no scan like the training's is touched; `least == most` brings every scan to one span.
public struct HeadSpanRule: Hashable, Sendable, Codable {
    /// The least and the most span accepted as it is.
    public let least: Double, most: Double
    /// The largest offset of the head's centre accepted as it is; nil (the default): any.
    public let mostOffset: Double?

    /// A rule; `0 < least <= most <= 1` (a head's box never exceeds its square) and
    /// `0 <= mostOffset <= 0.5` (a box's centre lies inside its slice).
    /// - Throws: ``CTVolumeError/invalidParameter(name:reason:)`` otherwise.
    public init(least: Double, most: Double, mostOffset: Double? = nil) throws {
        guard least.isFinite, most.isFinite, least > 0, least <= most, most <= 1 else {
            throw CTVolumeError.invalidParameter(name: "head span rule", reason: "least \(least) and most \(most) must satisfy 0 < least <= most <= 1")
        }
        if let mostOffset, !(mostOffset.isFinite && mostOffset >= 0 && mostOffset <= 0.5) {
            throw CTVolumeError.invalidParameter(name: "head span rule", reason: "mostOffset \(mostOffset) must satisfy 0 <= mostOffset <= 0.5")
        }
        self.least = least
        self.most = most
        self.mostOffset = mostOffset
    }

    /// The rule that accepts the spans a set of training scans showed, their least and most,
    /// and, given their offsets, any offset up to their largest.
    /// - Throws: no spans, an empty list of offsets, or values outside the bounds of
    ///   ``init(least:most:mostOffset:)``.
    public init(trainingSpans spans: [Double], trainingOffsets offsets: [Double]? = nil) throws {
        guard let lo = spans.min(), let hi = spans.max() else {
            throw CTVolumeError.invalidParameter(name: "head span rule", reason: "no training spans")
        }
        if let offsets, offsets.isEmpty {
            throw CTVolumeError.invalidParameter(name: "head span rule", reason: "an empty list of training offsets")
        }
        try self.init(least: lo, most: hi, mostOffset: offsets?.max())
    }

    /// Whether a head whose centre lies `offset` off the slice's (``HeadExtent/offset(height:width:)``) is accepted where it is.
    public func accepts(offset: Double) -> Bool { mostOffset.map { offset <= $0 } ?? true }

    /// The span a head of span `span` is framed to: nil when the rule accepts it as it is, else
    /// the nearer bound.
    public func target(span: Double) -> Double? {
        if span < least { return least }
        if span > most { return most }
        return nil
    }

    private enum CodingKeys: String, CodingKey { case least, most, mostOffset }

    /// Decodes and checks a rule (as ``init(least:most:mostOffset:)``); `mostOffset` may be absent.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(least: try c.decode(Double.self, forKey: .least), most: try c.decode(Double.self, forKey: .most),
                      mostOffset: try c.decodeIfPresent(Double.self, forKey: .mostOffset))
    }
}

/// The window of its slices a scan is seen through at inference: the whole slice (the
/// identity), a square around the head of a side that makes the head fill the span its
/// ``HeadSpanRule`` asks for, or, for a head further off the centre than the rule accepts, the
/// slice's own square centred on the head.
///
/// The window is centred on the head's box (``HeadExtent``) and may reach past the slice (that
/// part is air, ``Preprocessing/air``): a head too small is seen through a smaller square, cut
/// from the slice, a head too large through a larger one, padded. The head always lies wholly
/// inside the window. ``apply(_:fill:)`` cuts every slice's window out (with the geometry of the
/// window's first voxel, so millimetres stay true); ``restore(_:fill:geometry:)`` puts a
/// result back on the slice's grid, `fill` where the window did not reach.
///
///     let frame = HeadFrame(scan, rule: rule)            // identity when the span is accepted
///     let window = frame.apply(scan, fill: Preprocessing.air)
///     let mask = frame.restore(try segment(window), fill: 0, geometry: scan.geometry)
public struct HeadFrame: Hashable, Sendable {
    /// The original slice's rows and columns.
    public let height: Int, width: Int
    /// The window's first row and column in the slice (negative: above or left of it).
    public let top: Int, left: Int
    /// The window's rows and columns.
    public let rows: Int, columns: Int

    /// A window of `rows x columns` from (`top`, `left`) of `height x width` slices.
    /// - Precondition: all sizes positive.
    public init(height: Int, width: Int, top: Int, left: Int, rows: Int, columns: Int) {
        precondition(height > 0 && width > 0 && rows > 0 && columns > 0, "HeadFrame: sizes must be positive (\(height)x\(width), window \(rows)x\(columns))")
        (self.height, self.width, self.top, self.left, self.rows, self.columns) = (height, width, top, left, rows, columns)
    }

    /// The whole `height x width` slice.
    public static func identity(height: Int, width: Int) -> HeadFrame {
        HeadFrame(height: height, width: width, top: 0, left: 0, rows: height, columns: width)
    }

    /// The frame `rule` gives `scan`: the identity without a rule, without a head, or when the
    /// head's span and offset are accepted; for a span outside the bounds, the square around the
    /// head's box that makes it span the nearer bound (``init(height:width:extent:span:)``,
    /// ``HeadExtent``, ``HeadSpanRule/target(span:)``); for an accepted span whose offset is not
    /// accepted, the slice's own square centred on the box (``init(height:width:extent:side:)``
    /// with the side `max(height, width)`, ``HeadSpanRule/accepts(offset:)``). Every window is
    /// centred on the head, so the framed head's span lies within the rule's bounds and its
    /// offset is under half a voxel: framing a framed scan again changes nothing (for any
    /// `mostOffset` of at least half a voxel's share).
    public init(_ scan: ScanVolume, rule: HeadSpanRule?) {
        let (h, w) = (scan.shape.y, scan.shape.x)
        guard let rule, let extent = HeadExtent.measure(scan) else {
            self = .identity(height: h, width: w)
            return
        }
        if let target = rule.target(span: extent.span(height: h, width: w)) {
            self.init(height: h, width: w, extent: extent, span: target)
        } else if !rule.accepts(offset: extent.offset(height: h, width: w)) {
            self.init(height: h, width: w, extent: extent, side: max(h, w))
        } else {
            self = .identity(height: h, width: w)
        }
    }

    /// The square around `extent` in which it spans `span` of the side, to a whole voxel: of
    /// side `floor(size / span)` when that makes the square smaller than the slice's (the
    /// head then spans at least `span`), else `ceil(size / span)` (at most `span`); never
    /// smaller than the head. It is centred on the box.
    /// - Precondition: `0 < span <= 1`.
    public init(height: Int, width: Int, extent: HeadExtent, span: Double) {
        precondition(span > 0 && span <= 1, "HeadFrame: span \(span) must lie in (0, 1]")
        let exact = Double(extent.size) / span
        let side = max(extent.size, Int(exact < Double(max(height, width)) ? exact.rounded(.down) : exact.rounded(.up)))
        self.init(height: height, width: width, extent: extent, side: side)
    }

    /// The square of side `side` centred on `extent`'s box (an odd difference puts the extra
    /// row or column before the head).
    /// - Precondition: `side` is at least the box's longer side.
    public init(height: Int, width: Int, extent: HeadExtent, side: Int) {
        precondition(side >= extent.size, "HeadFrame: side \(side) is smaller than the head's \(extent.size)")
        func start(_ r: Range<Int>) -> Int { Int((Double(r.lowerBound + r.upperBound - side) / 2).rounded(.down)) }
        self.init(height: height, width: width, top: start(extent.rows), left: start(extent.columns), rows: side, columns: side)
    }

    /// Whether the window is the whole slice (``apply(_:fill:)`` and ``restore(_:fill:geometry:)`` then return their input).
    public var isIdentity: Bool { top == 0 && left == 0 && rows == height && columns == width }

    /// The window's geometry: the origin moved to its first voxel, on the qform and the sform.
    public func framedGeometry(_ g: Geometry) -> Geometry {
        guard !isIdentity else { return g }
        func moved(_ a: Affine) -> Affine {
            var b = a
            for r in 0..<3 { b[r, 3] = a[r, 3] + a[r, 0] * Double(left) + a[r, 1] * Double(top) }
            return b
        }
        var out = g
        out.qform = moved(g.qform)
        out.sform = moved(g.sform)
        return out
    }

    /// Every slice's window: `fill` where it reaches past the slice.
    /// - Precondition: `volume`'s slices are `height x width`.
    public func apply<V>(_ volume: Volume<V>, fill: V) -> Volume<V> {
        precondition(volume.shape.y == height && volume.shape.x == width, "HeadFrame.apply: slices \(volume.shape.y)x\(volume.shape.x), expected \(height)x\(width)")
        guard !isIdentity else { return volume }
        var out = Volume(shape: GridShape(columns, rows, volume.shape.z), repeating: fill, geometry: framedGeometry(volume.geometry))
        copy(from: volume, rowsFrom: height, columnsFrom: width, into: &out, rowOffset: top, columnOffset: left)
        return out
    }

    /// A result on the window back on the slice's grid, `fill` where the window did not reach,
    /// with `geometry` (the slice grid's).
    /// - Precondition: `volume`'s slices are `rows x columns`.
    public func restore<V>(_ volume: Volume<V>, fill: V, geometry: Geometry) -> Volume<V> {
        precondition(volume.shape.y == rows && volume.shape.x == columns, "HeadFrame.restore: slices \(volume.shape.y)x\(volume.shape.x), expected \(rows)x\(columns)")
        guard !isIdentity else {
            var same = volume
            same.geometry = geometry
            return same
        }
        var out = Volume(shape: GridShape(width, height, volume.shape.z), repeating: fill, geometry: geometry)
        copy(from: volume, rowsFrom: rows, columnsFrom: columns, into: &out, rowOffset: -top, columnOffset: -left)
        return out
    }

    /// Copies `source` voxel (i, j, k) to `target` (i - columnOffset, j - rowOffset, k) where both exist.
    private func copy<V>(from source: Volume<V>, rowsFrom: Int, columnsFrom: Int, into target: inout Volume<V>, rowOffset: Int, columnOffset: Int) {
        let (tx, ty) = (target.shape.x, target.shape.y)
        let i0 = max(0, -columnOffset), i1 = min(tx, columnsFrom - columnOffset)
        let j0 = max(0, -rowOffset), j1 = min(ty, rowsFrom - rowOffset)
        guard i0 < i1, j0 < j1 else { return }
        for k in 0..<source.shape.z {
            for j in j0..<j1 {
                let from = columnsFrom * (j + rowOffset + rowsFrom * k) + columnOffset
                let to = tx * (j + ty * k)
                for i in i0..<i1 { target.voxels[to + i] = source.voxels[from + i] }
            }
        }
    }
}
