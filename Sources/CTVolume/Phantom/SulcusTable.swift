/// For each angular bin, the nearest active sulcus at one height: its centre angle, half
/// width and depth. Rebuilt per sub-slice because sulci drift and end with height.
struct SulcusTable {
    var phi: [Double], halfWidth: [Double], depth: [Double], bend: [Double], sylvian: [Bool]
    let bins: Int

    init(bins: Int) {
        self.bins = bins
        phi = [Double](repeating: 100, count: bins)
        halfWidth = [Double](repeating: 0, count: bins)
        depth = [Double](repeating: 0, count: bins)
        bend = [Double](repeating: 0, count: bins)
        sylvian = [Bool](repeating: false, count: bins)
    }

    mutating func build(_ sulci: [Sulcus], at z: Double) {
        for b in 0..<bins { phi[b] = 100; halfWidth[b] = 0; depth[b] = 0; bend[b] = 0; sylvian[b] = false }
        let binWidth = 2 * Double.pi / Double(bins)
        var best = [Double](repeating: .infinity, count: bins)
        for s in sulci where z > s.z0 && z < s.z1 {
            let ends = min(1, (z - s.z0) / 10, (s.z1 - z) / 10)
            var centre = s.phi0 + s.drift * (z - s.z0)
            centre = centre - 2 * .pi * ((centre + .pi) / (2 * .pi)).rounded(.down)
            // Reach: half width plus the grey ribbon around the sulcus, at a radius of 25 mm.
            let reach = (s.halfWidth + 4) / 25 + abs(s.bend) * s.depth / 35
            let c = Int((centre + .pi) / binWidth)
            let w = Int(reach / binWidth) + 1
            for o in -w...w {
                let b = ((c + o) % bins + bins) % bins
                let bc = -Double.pi + (Double(b) + 0.5) * binWidth
                var dd = abs(bc - centre)
                if dd > .pi { dd = 2 * .pi - dd }
                if dd < best[b] {
                    best[b] = dd; phi[b] = centre; halfWidth[b] = s.halfWidth
                    depth[b] = s.depth * max(0.2, ends); bend[b] = s.bend; sylvian[b] = s.isSylvian
                }
            }
        }
    }
}
