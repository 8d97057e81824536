import CTVolume
import Foundation
import Testing

/// `HeadExtent`, `HeadSpanRule` and `HeadFrame` on heads drawn by hand: boxes, and values that
/// name their own voxel, so that every copy can be traced back.
@Suite struct HeadFrameTests {
    /// A `width x height x depth` scan of air with an oblique, shifted affine, and `head` (rows,
    /// columns) filled with 40 HU on every slice.
    func scan(width: Int, height: Int, depth: Int = 2, head: (Range<Int>, Range<Int>)?) -> ScanVolume {
        let affine = Affine(rowMajor: [-0.9, 0.1, 0, 120, 0.05, 0.8, 0.2, -90, 0, -0.1, 5, 30, 0, 0, 0, 1])
        var v = ScanVolume(shape: GridShape(width, height, depth), repeating: Preprocessing.air, geometry: Geometry(affine: affine))
        if let (rows, columns) = head {
            for k in 0..<depth { for j in rows { for i in columns { v[i, j, k] = 40 } } }
        }
        return v
    }

    @Test("extent: the box of each slice's largest component above -500 HU, over the slices where it has a quarter of the widest's area; a strip is not the head")
    func extent() throws {
        var v = scan(width: 40, height: 30, depth: 3, head: nil)
        for j in 5..<20 { for i in 10..<30 { v[i, j, 0] = 30 } }          // the head on slice 0
        for j in 8..<12 { for i in 3..<35 { v[i, j, 1] = 1000 } }         // a wider, smaller head on slice 1
        for i in 0..<40 { v[i, 27, 0] = 200; v[i, 27, 1] = 200 }          // a couch: 40 voxels, never the largest
        for i in 0..<40 { v[i, 2, 0] = -600 }                              // below the threshold
        let e = try #require(HeadExtent.measure(v))
        #expect(e.rows == 5..<20 && e.columns == 3..<35)
        #expect(e.size == 32 && e.span(height: 30, width: 40) == 32.0 / 40)
        // slice 2 holds only the strip: there it is the largest, but its 40 voxels are under a
        // quarter of slice 0's 300 and it does not count; 80 voxels do
        for i in 0..<40 { v[i, 27, 2] = 200 }
        #expect(HeadExtent.measure(v) == e)
        for i in 0..<40 { v[i, 28, 2] = 200 }
        let withStrip = try #require(HeadExtent.measure(v))
        #expect(withStrip.rows == 5..<29 && withStrip.columns == 0..<40)
        #expect(HeadExtent.measure(scan(width: 8, height: 8, head: nil)) == nil)
        // diagonal neighbours join one component (8-connected)
        var diagonal = scan(width: 8, height: 8, depth: 1, head: nil)
        for d in 0..<5 { diagonal[1 + d, 1 + d, 0] = 0 }
        diagonal[7, 0, 0] = 0
        #expect(HeadExtent.measure(diagonal) == HeadExtent(rows: 1..<6, columns: 1..<6))
    }

    @Test("rule: bounds checked and decoded; the training range; spans outside go to the nearer bound")
    func rule() throws {
        let rule = try HeadSpanRule(trainingSpans: [0.7, 0.59, 0.95, 0.8])
        #expect(rule.least == 0.59 && rule.most == 0.95)
        #expect(rule.target(span: 0.59) == nil && rule.target(span: 0.95) == nil && rule.target(span: 0.7) == nil)
        #expect(rule.target(span: 0.4) == 0.59 && rule.target(span: 0.99) == 0.95)
        for (least, most) in [(0.0, 0.5), (0.6, 0.5), (0.5, 1.1), (Double.nan, 0.5), (-0.1, 0.5)] {
            #expect(throws: CTVolumeError.self) { try HeadSpanRule(least: least, most: most) }
        }
        #expect(throws: CTVolumeError.self) { try HeadSpanRule(trainingSpans: []) }
        let decoded = try JSONDecoder().decode(HeadSpanRule.self, from: try JSONEncoder().encode(rule))
        #expect(decoded == rule)
        #expect(throws: (any Error).self) { try JSONDecoder().decode(HeadSpanRule.self, from: Data(#"{"least": 0.9, "most": 0.5}"#.utf8)) }
        // no offsets: every offset accepted, and none written
        #expect(rule.mostOffset == nil && rule.accepts(offset: 0.5))
        #expect(!String(decoding: try JSONEncoder().encode(rule), as: UTF8.self).contains("mostOffset"))
    }

    @Test("offsets: the box's centre from the slice's, a share of the square's side; the rule's largest, checked and decoded")
    func offsets() throws {
        // rows 30..<50 of 80 (centre 39.5 against 39.5), columns 61..<75 of 100 (67.5 against
        // 49.5): 18 / 100 along the columns
        #expect(HeadExtent(rows: 30..<50, columns: 61..<75).offset(height: 80, width: 100) == 0.18)
        #expect(HeadExtent(rows: 30..<50, columns: 40..<60).offset(height: 80, width: 100) == 0)
        // half a voxel: a box of odd width in a slice of even width
        #expect(HeadExtent(rows: 0..<80, columns: 40..<59).offset(height: 80, width: 100) == 0.5 / 100)
        // rows: 2..<23 of 80 (centre 12 against 39.5), over the side 100
        #expect(HeadExtent(rows: 2..<23, columns: 40..<60).offset(height: 80, width: 100) == 27.5 / 100)
        let rule = try HeadSpanRule(trainingSpans: [0.7, 0.59, 0.95], trainingOffsets: [0.01, 0.08, 0.03])
        #expect(rule.least == 0.59 && rule.most == 0.95 && rule.mostOffset == 0.08)
        #expect(rule.accepts(offset: 0.08) && !rule.accepts(offset: 0.0801))
        for offset in [-0.01, 0.51, .nan, .infinity] {
            #expect(throws: CTVolumeError.self) { try HeadSpanRule(least: 0.5, most: 0.9, mostOffset: offset) }
        }
        #expect(throws: CTVolumeError.self) { try HeadSpanRule(trainingSpans: [0.7], trainingOffsets: []) }
        let decoded = try JSONDecoder().decode(HeadSpanRule.self, from: try JSONEncoder().encode(rule))
        #expect(decoded == rule)
        #expect(try JSONDecoder().decode(HeadSpanRule.self, from: Data(#"{"least": 0.5, "most": 0.9}"#.utf8)).mostOffset == nil)
        #expect(throws: (any Error).self) { try JSONDecoder().decode(HeadSpanRule.self, from: Data(#"{"least": 0.5, "most": 0.9, "mostOffset": 0.7}"#.utf8)) }
    }

    @Test("a head off the centre: the slice's own square centred on it, voxel by voxel, and back; a span outside the bounds still frames by span")
    func offCentreHead() throws {
        // a 30 x 24 box at rows 40..<70, columns 4..<28 of 60 x 80 slices (height 80, width 60):
        // span 30 / 80 within 0.3...0.9; offset along the columns |4 + 28 - 60| / 160 = 0.175,
        // along the rows |40 + 70 - 80| / 160 = 0.1875
        let v = scan(width: 60, height: 80, head: (40..<70, 4..<28))
        let head = try #require(HeadExtent.measure(v))
        #expect(head.offset(height: 80, width: 60) == 0.1875)
        let rule = try HeadSpanRule(least: 0.3, most: 0.9, mostOffset: 0.1)
        let frame = HeadFrame(v, rule: rule)
        // side 80, rows from floor((40 + 70 - 80) / 2) = 15, columns from floor((4 + 28 - 80) / 2) = -24
        #expect(frame.rows == 80 && frame.columns == 80 && frame.top == 15 && frame.left == -24)
        var named = v
        for n in named.voxels.indices { named.voxels[n] = Float(n) }
        let cut = frame.apply(named, fill: -1)
        for k in 0..<2 {
            for j in 0..<80 {
                for i in 0..<80 {
                    let (x, y) = (i - 24, j + 15)
                    #expect(cut[i, j, k] == ((0..<60).contains(x) && (0..<80).contains(y) ? named[x, y, k] : -1), "(\(i), \(j), \(k))")
                }
            }
        }
        // the same world position as the voxel it came from
        let a = cut.geometry.affine.apply(SIMD3(30, 40, 1)), b = v.geometry.affine.apply(SIMD3(6, 55, 1))
        #expect(((a - b) * (a - b)).sum() < 1e-20)
        // back: the window's voxels where it lay (rows 15..<80, columns 0..<56), fill elsewhere
        let back = frame.restore(cut, fill: -2, geometry: v.geometry)
        for n in back.voxels.indices {
            let i = n % 60, j = (n / 60) % 80
            #expect(back.voxels[n] == (j >= 15 && i < 56 ? named.voxels[n] : -2))
        }
        // in the window the head is centred, its span unchanged: framing again changes nothing
        let framed = frame.apply(v, fill: Preprocessing.air)
        let centred = try #require(HeadExtent.measure(framed))
        #expect(centred.offset(height: 80, width: 80) == 0 && centred.span(height: 80, width: 80) == 30.0 / 80)
        #expect(HeadFrame(framed, rule: rule).isIdentity)
        // an accepted offset, or no bound on it, leaves the scan as it is
        #expect(HeadFrame(v, rule: try HeadSpanRule(least: 0.3, most: 0.9, mostOffset: 0.1875)).isIdentity)
        #expect(HeadFrame(v, rule: try HeadSpanRule(least: 0.3, most: 0.9)).isIdentity)
        // a span outside the bounds frames by span (centred as always), whatever the offset
        let bySpan = HeadFrame(v, rule: try HeadSpanRule(least: 0.5, most: 0.9, mostOffset: 0.1))
        #expect(bySpan == HeadFrame(height: 80, width: 60, extent: head, span: 0.5) && bySpan.rows == 60)
        #expect(HeadFrame(height: 80, width: 60, extent: head, side: 80) == frame)
    }

    @Test("a small head: a square around it of side size / least, cut out with its world positions, and put back")
    func smallHead() throws {
        // a 20 x 14 box in 100 x 80 slices: span 20 / 100 = 0.2
        let v = scan(width: 100, height: 80, head: (30..<50, 61..<75))
        let frame = HeadFrame(v, rule: try HeadSpanRule(least: 0.5, most: 0.9))
        // side 20 / 0.5 = 40, centred on rows 30..<50 and columns 61..<75 (an odd margin after)
        #expect(frame.rows == 40 && frame.columns == 40 && frame.top == 20 && frame.left == 48 && !frame.isIdentity)
        var named = v
        for n in named.voxels.indices { named.voxels[n] = Float(n) }
        let cut = frame.apply(named, fill: -1)
        #expect(cut.shape == GridShape(40, 40, 2))
        for k in 0..<2 {
            for j in 0..<40 {
                for i in 0..<40 {
                    let (x, y) = (i + 48, j + 20)
                    let expected: Float = x < 100 && y < 80 ? named[x, y, k] : -1
                    #expect(cut[i, j, k] == expected)
                }
            }
            // the same world position as the voxel it came from
            let a = cut.geometry.affine.apply(SIMD3(3, 7, Double(k))), b = v.geometry.affine.apply(SIMD3(51, 27, Double(k)))
            #expect(((a - b) * (a - b)).sum() < 1e-20)
            #expect(cut.geometry.qform.apply(SIMD3(3, 7, Double(k))) == a)
        }
        #expect(cut.geometry.spacing == v.geometry.spacing)
        // back: the window's voxels where it lay, fill elsewhere, and the geometry given
        let back = frame.restore(cut, fill: -2, geometry: v.geometry)
        #expect(back.shape == v.shape && back.geometry == v.geometry)
        for n in back.voxels.indices {
            let i = n % 100, j = (n / 100) % 80
            let inside = (48..<88).contains(i) && (20..<60).contains(j)
            #expect(back.voxels[n] == (inside ? named.voxels[n] : -2))
        }
        // the head in the window spans exactly the rule's least
        let e = try #require(HeadExtent.measure(frame.apply(v, fill: Preprocessing.air)))
        #expect(e.span(height: 40, width: 40) == 0.5)
    }

    @Test("a large head: a square larger than the slice, air around it, and every voxel comes back")
    func largeHead() throws {
        // 38 rows, 36 columns in 40 x 40: span 0.95
        let v = scan(width: 40, height: 40, head: (1..<39, 2..<38))
        let frame = HeadFrame(v, rule: try HeadSpanRule(least: 0.5, most: 0.76))
        #expect(frame.rows == 50 && frame.top == -5 && frame.left == -5)
        let framed = frame.apply(v, fill: Preprocessing.air)
        #expect(framed[0, 0, 0] == Preprocessing.air && framed[49, 49, 1] == Preprocessing.air && framed[5 + 20, 5 + 20, 0] == 40)
        #expect(try #require(HeadExtent.measure(framed)).span(height: 50, width: 50) == 0.76)
        let back = frame.restore(framed, fill: 0, geometry: v.geometry)
        #expect(back.voxels == v.voxels)
        // masks go the same way
        let mask = MaskVolume(shape: v.shape, voxels: v.voxels.map { $0 > 0 ? 1 : 0 }, geometry: v.geometry)
        #expect(frame.restore(frame.apply(mask, fill: 0), fill: 0, geometry: v.geometry).voxels == mask.voxels)
    }

    @Test("an odd margin near a corner: the extra row and column before the head, air past the slice, the span within the bounds")
    func oddMarginAtCorner() throws {
        // a 21 x 15 box at rows 2..<23, columns 70..<85 of 100 x 80 slices: span 21 / 100
        let v = scan(width: 100, height: 80, head: (2..<23, 70..<85))
        let rule = try HeadSpanRule(least: 0.4, most: 0.9)
        let frame = HeadFrame(v, rule: rule)
        // side floor(21 / 0.4) = 52: rows from floor((2 + 23 - 52) / 2) = -14, columns from
        // floor((70 + 85 - 52) / 2) = 51, so 52 - 21 = 31 rows: 16 above the head, 15 below
        #expect(frame.rows == 52 && frame.columns == 52 && frame.top == -14 && frame.left == 51)
        let framed = frame.apply(v, fill: -7)
        for j in 0..<52 {
            for i in 0..<52 {
                let (x, y) = (i + 51, j - 14)
                let expected: Float = (0..<100).contains(x) && (0..<80).contains(y) ? v[x, y, 1] : -7
                #expect(framed[i, j, 1] == expected, "(\(i), \(j))")
            }
        }
        #expect(framed[0, 13, 0] == -7 && framed[0, 14, 0] == Preprocessing.air && framed[49, 14, 0] == -7 && framed[19, 16, 0] == 40 && framed[34, 16, 0] == Preprocessing.air)
        let span = try #require(HeadExtent.measure(frame.apply(v, fill: Preprocessing.air))).span(height: 52, width: 52)
        #expect(span >= rule.least && span <= rule.most)
        // framing the window again changes nothing
        #expect(HeadFrame(frame.apply(v, fill: Preprocessing.air), rule: rule).isIdentity)
        // a size whose quotient is not whole: 105 / (152 / 256) = 176.8, floor 176, span 0.5966
        let odd = HeadFrame(height: 256, width: 256, extent: HeadExtent(rows: 0..<105, columns: 0..<90), span: 152.0 / 256)
        #expect(odd.rows == 176 && 105.0 / 176 >= 152.0 / 256)
        let large = HeadFrame(height: 100, width: 100, extent: HeadExtent(rows: 0..<99, columns: 0..<80), span: 0.9)
        #expect(large.rows == 110 && 99.0 / 110 <= 0.9)
    }

    @Test("the identity: no rule, no head, or a span the rule accepts; apply and restore change nothing")
    func identity() throws {
        let v = scan(width: 40, height: 30, head: (2..<28, 5..<33))    // span 28 / 40 = 0.7
        let rule = try HeadSpanRule(least: 0.59, most: 0.95)
        for frame in [HeadFrame(v, rule: rule), HeadFrame(v, rule: nil), HeadFrame(scan(width: 40, height: 30, head: nil), rule: rule)] {
            #expect(frame == .identity(height: 30, width: 40) && frame.isIdentity)
            let same = frame.apply(v, fill: 0)
            #expect(same.voxels == v.voxels && same.geometry == v.geometry)
            var moved = v.geometry
            moved.qform[0, 3] += 1
            #expect(frame.restore(v, fill: 0, geometry: moved).geometry == moved)
        }
        // least == most brings every head to one span
        let one = HeadFrame(v, rule: try HeadSpanRule(least: 0.8, most: 0.8))
        #expect(one.rows == 35 && one.columns == 35)
    }
}
