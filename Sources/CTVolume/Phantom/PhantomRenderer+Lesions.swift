#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension PhantomRenderer {
    /// Hemorrhages (and the oedema around intraparenchymal ones), drawn last.
    func drawLesions(z: Double, cls: inout [Tissue], hu: inout [Double], depth: [Double],
                     lesionAt: inout [UInt8], bloodCount: inout [UInt8]) {
        let n = nx * ny
        for (index, lesion) in lesions.enumerated()
        where z + maxZShift > lesion.zRange.lowerBound && z - maxZShift < lesion.zRange.upperBound {
            let id = UInt8(index + 1)
            let plain = lesion.texture.isEmpty && lesion.levelContrast == 0
            func bleed(_ p: Int) {
                cls[p] = .blood
                hu[p] = plain ? lesion.hu : lesion.value(u: pu[p], v: pv[p], z: z + zShift[p], y: yRel[p])
                lesionAt[p] = id
            }
            switch lesion.shape {
            case .blobs(let lobes, let rim):
                var cu = 0.0, cv = 0.0, radius = 0.0
                for l in lobes { cu += l.cu / Double(lobes.count); cv += l.cv / Double(lobes.count) }
                for l in lobes {
                    let off = ((l.cu - cu) * (l.cu - cu) + (l.cv - cv) * (l.cv - cv)).squareRoot()
                    radius = max(radius, off + max(l.ru, l.rv) + rim)
                }
                forEachPixel(cu: cu, cv: cv, radius: radius) { p in
                    guard cls[p].isIntracranial && cls[p] != .falx && depth[p] > 0.5 else { return }
                    var best = Double.infinity, bestRim = Double.infinity
                    let z = z + zShift[p]
                    for l in lobes {
                        let a = (pu[p] - l.cu) / l.ru, b = (pv[p] - l.cv) / l.rv, c = (z - l.cz) / l.rz
                        let q = a * a + b * b + c * c
                        best = min(best, q)
                        let a2 = (pu[p] - l.cu) / (l.ru + rim), b2 = (pv[p] - l.cv) / (l.rv + rim), c2 = (z - l.cz) / (l.rz + rim)
                        bestRim = min(bestRim, a2 * a2 + b2 * b2 + c2 * c2)
                    }
                    if best < 1 { bleed(p) }
                    else if bestRim < 1 && cls[p].isParenchyma {
                        cls[p] = .oedema; hu[p] = max(hu[p] - lesion.oedemaDrop, 10)
                    }
                }
            case .extraAxial(let phi, let halfSpan, let zc, let hz, let thickness, let lens):
                for p in 0..<n where depth[p] >= 0 && depth[p] < thickness && cls[p].isIntracranial {
                    let qz = (z + zShift[p] - zc) / hz
                    let qz2 = qz * qz
                    guard qz2 < 1 else { continue }
                    var dphi = pphi[p] - phi
                    if dphi > .pi { dphi -= 2 * .pi } else if dphi < -.pi { dphi += 2 * .pi }
                    let qa = dphi / halfSpan
                    let q2 = qa * qa + qz2
                    guard q2 < 1 else { continue }
                    let t = lens ? thickness * (1 - q2).squareRoot() : thickness * (1 - q2 * q2).squareRoot()
                    if depth[p] < t { bleed(p) }
                }
            case .ventricular(let right, let left, let level, let cast):
                for p in 0..<n where (cls[p] == .csfVentricle || (cast && cls[p] == .csfMidVentricle)) && yRel[p] > level {
                    let isRight = midDist[p] > 0
                    if cls[p] == .csfMidVentricle || (isRight && right) || (!isRight && left) { bleed(p) }
                }
            case .subarachnoid(let phi, let halfSpan, let zc, let hz, let basal):
                if basal {
                    for p in 0..<n where cls[p] == .csfCistern && lesion.zRange.contains(z + zShift[p]) { bleed(p) }
                } else {
                    for p in 0..<n where cls[p] == .csfSulcus || cls[p] == .csfSurface {
                        let qz = (z + zShift[p] - zc) / hz
                        guard qz * qz < 1 else { continue }
                        var dphi = pphi[p] - phi
                        if dphi > .pi { dphi -= 2 * .pi } else if dphi < -.pi { dphi += 2 * .pi }
                        let qa = dphi / halfSpan
                        if qa * qa + qz * qz < 1 { bleed(p) }
                    }
                }
            }
        }
        for p in 0..<n where cls[p] == .blood { bloodCount[p] &+= 1 }
    }
}
