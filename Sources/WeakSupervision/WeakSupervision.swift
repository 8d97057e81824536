// WeakSupervision: from slice-level labels to voxel masks. The non-neural stages of the
// method (Docs/method.md: thresholding, k-means pseudo-masks, the comparison): CAM thresholds,
// k-means, pseudo-masks, connected components and the baselines of the comparison table. This file holds the module's small
// internal helpers.
import Dispatch

// The parallel loop (`parallelFor`) and the unchecked-Sendable box come from ImageCore.
