import Foundation
import NeuralCore

/// Grad-CAM (Selvaraju et al., ICCV 2017), the method's default, exactly `ichnets.grad_cam`:
///
///     w_c = (1/hw) Σ_ij ∂logit_t/∂A_t,c,ij          cam_t = ReLU(Σ_c w_c A_t,c)
///
/// for each slice t and its own logit, at stage ``layer`` (default `layer4`, the last).
///
/// ```swift
/// let cam = GradCAM(model: net)                       // layer4
/// let raw = try cam.computeMap(sequence)              // (T, S/32, S/32)
/// let maps = try cam(sequence, height: 512, width: 512)  // (T, 512, 512) in [0, 1]
/// ```
public struct GradCAM: GradientCAMMethod {
    /// The classifier.
    public var model: ResNetLSTM
    /// Target stage (default `layer4`).
    public var layer: String

    /// Grad-CAM of `model` at `layer` (default `"layer4"`).
    public init(model: ResNetLSTM, layer: String = "layer4") {
        self.model = model
        self.layer = layer
    }

    /// `gradcam`.
    public var name: String { "gradcam" }

    /// ReLU(Σ_c mean_ij(g_c) · A_c).
    public func combine(_ slice: CAMSliceInput) -> [Float] {
        slice.weightedSum(slice.channelMeans(slice.gradients)).map { max($0, 0) }
    }
}

/// Grad-CAM++ (Chattopadhay et al., WACV 2018) with the exponential-score simplification,
/// written as MONAI's `GradCAMpp.compute_map` computes it. With Y = exp(S) for the slice's
/// logit S, the higher derivatives of Y are exp(S)·g², exp(S)·g³, and exp(S) cancels in α:
///
///     α_c,ij = g²_c,ij / (D_c,ij + 1e-7),   D = 2 g² + Σ_ab A_c,ab g³_c,ab   (D := 1 where D = 0;
///              α := 0 where D + 1e-7 = 0, which MONAI does not guard: its α is ∞ or 0/0
///              there, and one such position makes the whole map NaN)
///     w_c    = Σ_ij α_c,ij · ReLU(exp(S) · g_c,ij)
///     cam    = ReLU(Σ_c w_c A_c)
///
/// (MONAI sums A·g³ over positions in the denominator; pytorch-grad-cam uses (Σ A)·g³ and drops
/// exp(S). After per-slice normalisation exp(S) does not matter; the sum does.)
public struct GradCAMPlusPlus: GradientCAMMethod {
    /// The classifier.
    public var model: ResNetLSTM
    /// Target stage (default `layer4`).
    public var layer: String

    /// Grad-CAM++ of `model` at `layer` (default `"layer4"`).
    public init(model: ResNetLSTM, layer: String = "layer4") {
        self.model = model
        self.layer = layer
    }

    /// `gradcampp`.
    public var name: String { "gradcampp" }

    /// See the type's formula.
    public func combine(_ slice: CAMSliceInput) -> [Float] {
        let n = slice.planeCount
        let score = Float(Foundation.exp(Double(slice.logit)))
        var weights = [Float](repeating: 0, count: slice.channels)
        for c in 0..<slice.channels {
            let base = c * n
            var s: Float = 0
            for i in 0..<n {
                let g = slice.gradients[base + i]
                s += slice.activations[base + i] * g * g * g
            }
            var wc: Float = 0
            for i in 0..<n {
                let g = slice.gradients[base + i]
                let g2 = g * g
                var d = 2 * g2 + s
                if d == 0 { d = 1 }
                // MONAI guards d = 0 but not d + 1e-7 = 0, which Σ A g³ ≈ −1e-7 reaches (a
                // classifier's slice had −1.02e-7): there α = 0 instead of ∞ or 0/0, either of
                // which made the whole map NaN. Everywhere else, MONAI's value.
                let denominator = d + 1e-7
                let alpha = denominator == 0 ? 0 : g2 / denominator
                wc += alpha * max(score * g, 0)
            }
            weights[c] = wc
        }
        return slice.weightedSum(weights).map { max($0, 0) }
    }
}

/// LayerCAM (Jiang et al., IEEE TIP 2021): every position weighted by its own positive gradient,
/// suited to shallower stages (`layer3`, `layer2`) for finer maps:
///
///     cam_ij = ReLU(Σ_c ReLU(g_c,ij) · A_c,ij)
public struct LayerCAM: GradientCAMMethod {
    /// The classifier.
    public var model: ResNetLSTM
    /// Target stage (default `layer4`; `layer3` for finer maps).
    public var layer: String

    /// LayerCAM of `model` at `layer` (default `"layer4"`).
    public init(model: ResNetLSTM, layer: String = "layer4") {
        self.model = model
        self.layer = layer
    }

    /// `layercam`.
    public var name: String { "layercam" }

    /// See the type's formula.
    public func combine(_ slice: CAMSliceInput) -> [Float] {
        let n = slice.planeCount
        var out = [Float](repeating: 0, count: n)
        for c in 0..<slice.channels {
            let base = c * n
            for i in 0..<n { out[i] += max(slice.gradients[base + i], 0) * slice.activations[base + i] }
        }
        return out.map { max($0, 0) }
    }
}
