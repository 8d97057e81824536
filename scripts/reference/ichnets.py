"""ichct's networks, preprocessing, Grad-CAM and checkpoint format, written in PyTorch.

This module is the executable contract the Swift package is tested against: the fixture
scripts in scripts/fixtures/ build their reference tensors with it, and a checkpoint written by
`ichctl` (NeuralCore) loads here with the same outputs, and the reverse. The prose behind each
part is in this repository's documentation:

    preprocessing   Docs/method.md#0-data-and-preprocessing, Docs/ctvolume-preprocessing.md
    classifier      Docs/method.md#1-slice-classifier-resnet-lstm, Docs/checkpoints.md#networks
    Grad-CAM        Docs/method.md#2-class-activation-maps, Docs/training-and-cam.md
    refiner         Docs/method.md#5-refinement-unetlite, Docs/checkpoints.md#networks
    checkpoints     Docs/checkpoints.md#checkpoint-format

Where prose and this file disagree about arithmetic, this file (and the fixtures made with it)
is the one the tests hold the Swift code to. It needs torch and numpy; checkpoints need
safetensors. None of them is a dependency of the Swift package: `bash scripts/python-env.sh`
makes a .venv with the pinned versions.

Command line (run from anywhere):

    python scripts/reference/ichnets.py load CKPT.safetensors [--json]
        load an ichct checkpoint (e.g. `ichctl train refiner` output) into its PyTorch module
        and print its configuration, tensor and parameter counts and one forward's shape
    python scripts/reference/ichnets.py selftest
        build both networks, run them and Grad-CAM, save and reload a checkpoint

From Python, for deployment in PyTorch:

    import ichnets                                   # with scripts/reference on sys.path
    model = ichnets.load_checkpoint("refiner.safetensors")          # eval mode
    x = ichnets.preprocess_volume(hu_xyz, model.ichct_config["input_size"],
                                  model.ichct_config["windows"])     # (Z, C, S, S)
    x = ichnets.with_context(x, model.ichct_config.get("context_slices", 0))  # a 2.5-D refiner's input
    logits = model(x)                                               # (Z, 1, S, S)
    probs = torch.sigmoid(ichnets.to_slices(logits, Y, X))          # (Z, 1, Y, X), the scan's slices
"""
import argparse
import json
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# (center, width) in HU of the three input channels: brain, subdural, bone
# (Docs/ctvolume-preprocessing.md#windows). Floats, so that configurations serialise as the
# Swift side expects ("40.0").
DEFAULT_WINDOWS = [[40.0, 80.0], [80.0, 200.0], [600.0, 2800.0]]

# The safetensors metadata key that holds a checkpoint's architecture as JSON
# (Docs/checkpoints.md#checkpoint-format).
CONFIG_KEY = "ichct.config"


# ------------------------------------------------------------------------------------------
# Preprocessing (Docs/method.md#0-data-and-preprocessing)
# ------------------------------------------------------------------------------------------

def slice_image(volume_xyz: np.ndarray, k: int) -> np.ndarray:
    """Axial slice `k` of an (X, Y, Z) array in NIfTI index order, as a row-major (Y, X) image.

    Row j, column i is voxel (i, j, k), which is how the voxels of one slice follow each other
    on disk; Swift's `Preprocessing` reads them in that order without a transpose.
    """
    return np.ascontiguousarray(volume_xyz[:, :, k].T)


def resample(images: torch.Tensor, size: int) -> torch.Tensor:
    """The network rule: (N, C, H, W) -> (N, C, size, size).

    Area averaging (`adaptive_avg_pool2d`) when neither side grows, otherwise bilinear with
    `align_corners=False` (Docs/ctvolume-preprocessing.md#resampling).
    """
    height, width = images.shape[-2:]
    shrinking = size <= height and size <= width
    if shrinking:
        return F.adaptive_avg_pool2d(images, size)
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)


# Air in HU (water is 0 and air -1000 by the Hounsfield scale's definition): what a slice that
# is not square is padded with before it is resampled (Docs/ctvolume-preprocessing.md#square-frames).
AIR_HU = -1000.0


def square_frame(height: int, width: int):
    """(side, top, left): a height x width slice sits in the middle of a side x side square,
    side = max(height, width), with top = (side - height) // 2 rows and left = (side - width) // 2
    columns of padding before it (Swift's `SquareFrame`)."""
    side = max(height, width)
    return side, (side - height) // 2, (side - width) // 2


def pad_to_square(images: torch.Tensor, fill: float) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, side, side), each image in the middle of its square frame, the
    margin `fill` (air for HU, 0 for a mask). A square image comes back unchanged."""
    height, width = images.shape[-2:]
    side, top, left = square_frame(height, width)
    if side == height == width:
        return images
    return F.pad(images, (left, side - width - left, top, side - height - top), value=fill)


def crop_from_square(maps: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(..., side, side) -> (..., height, width): the slice's rectangle of its square frame."""
    _, top, left = square_frame(height, width)
    return maps[..., top:top + height, left:left + width]


def resample_slices(images: torch.Tensor, size: int, fill: float = AIR_HU) -> torch.Tensor:
    """Slices as the networks see them: (N, C, H, W) padded to their square frame with `fill`,
    then `resample`d to (N, C, size, size). A slice that is not square keeps its shape instead
    of being stretched; a square one is `resample` itself."""
    return resample(pad_to_square(images, fill), size)


def to_slices(maps: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The way back: (N, C, S, S) network maps -> (N, C, height, width) on the slices' grid,
    bilinear (`align_corners=False`) to the square frame's side, then the slice cut out, so a
    pixel goes back where `resample_slices` took it from."""
    side, _, _ = square_frame(height, width)
    full = F.interpolate(maps, size=(side, side), mode="bilinear", align_corners=False)
    return crop_from_square(full, height, width)


def window(hu: torch.Tensor, windows=DEFAULT_WINDOWS) -> torch.Tensor:
    """(N, 1, H, W) in HU -> (N, len(windows), H, W), each channel
    clamp((hu - (center - width / 2)) / width, 0, 1)."""
    channels = [((hu - (center - width / 2.0)) / width).clamp(0.0, 1.0) for center, width in windows]
    return torch.cat(channels, dim=1)


def preprocess_volume(volume_xyz: np.ndarray, size: int, windows=DEFAULT_WINDOWS) -> torch.Tensor:
    """A whole (X, Y, Z) HU volume -> network input (Z, C, size, size).

    Each slice's HU are padded to its square frame with air and resampled first
    (`resample_slices`), and windowed second (windowing clamps, so the order changes area
    averages). `to_slices` takes the networks' maps back to the volume's slices.
    """
    slices = [slice_image(volume_xyz, k) for k in range(volume_xyz.shape[2])]
    hu = torch.from_numpy(np.stack(slices).astype(np.float32))[:, None]
    return window(resample_slices(hu, size), windows)


def slice_labels(label_xyz: np.ndarray) -> np.ndarray:
    """The weak labels: per axial slice, 1.0 when the mask holds any voxel > 0, else 0.0."""
    return (np.asarray(label_xyz) > 0).any(axis=(0, 1)).astype(np.float32)


# ------------------------------------------------------------------------------------------
# Stage 1: the slice classifier (Docs/method.md#1-slice-classifier-resnet-lstm)
# ------------------------------------------------------------------------------------------

def _conv(cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Conv2d:
    """A bias-free convolution padded to keep the grid (before its stride)."""
    return nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False)


class BasicBlock(nn.Module):
    """torchvision's residual BasicBlock: two 3x3 conv + BN, a 1x1 conv + BN `downsample` on
    the shortcut where the stride or the width changes. State names as torchvision's."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = _conv(cin, cout, 3, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = _conv(cout, cout, 3)
        self.bn2 = nn.BatchNorm2d(cout)
        reshapes = stride != 1 or cin != cout
        self.downsample = nn.Sequential(_conv(cin, cout, 1, stride), nn.BatchNorm2d(cout)) if reshapes else None

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        residual = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(residual + shortcut)


class ResNetLSTM(nn.Module):
    """A ResNet encoder per slice, an LSTM across the slices of a sequence, a logit per slice.

    Input (B, T, C, S, S), T contiguous slices; output (B, T) logits. The stem is `conv1` 7x7/2,
    `bn1`, ReLU, max-pool 3x3/2; stage i (`layer1`, `layer2`, ...) holds `blocks[i]`
    BasicBlocks of width `width * 2**i`, stride 1 for the first stage and 2 after. The stages'
    output is averaged over space, run through `lstm` (batch-first, one layer, bidirectional by
    default) and `fc`. State names and shapes are those Swift's `ResNetLSTM` reads and writes
    (Docs/checkpoints.md#networks). With `pooling="max"` the stages' output is reduced by its
    spatial maximum instead of its mean (Swift's `SlicePooling.max`).
    """

    def __init__(self, in_channels=3, width=64, blocks=(2, 2, 2, 2), hidden=128, bidirectional=True, pooling="average"):
        super().__init__()
        if pooling not in ("average", "max"):
            raise ValueError(f"unknown pooling {pooling!r} (expected 'average' or 'max')")
        self.pooling = pooling
        self.conv1 = _conv(in_channels, width, 7, 2)
        self.bn1 = nn.BatchNorm2d(width)
        channels = width
        for stage, count in enumerate(blocks):
            out = width * 2 ** stage
            first = BasicBlock(channels, out, 1 if stage == 0 else 2)
            self.add_module(f"layer{stage + 1}", nn.Sequential(first, *[BasicBlock(out, out, 1) for _ in range(count - 1)]))
            channels = out
        self.feature_channels = channels
        self.lstm = nn.LSTM(channels, hidden, batch_first=True, bidirectional=bidirectional)
        self.fc = nn.Linear(hidden * (2 if bidirectional else 1), 1)
        self.blocks = list(blocks)

    def stage(self, index: int) -> nn.Sequential:
        """Residual stage `index` (1-based): `layer1`, `layer2`, ..."""
        return getattr(self, f"layer{index}")

    def feature_maps(self, x):
        """(N, C, S, S) -> the last residual stage's output: the activations Grad-CAM weighs."""
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        for index in range(1, len(self.blocks) + 1):
            x = self.stage(index)(x)
        return x

    def head(self, maps, b, t):
        """Feature maps of B*T slices -> (B, T) logits: spatial mean (or max), LSTM over T, `fc`."""
        pooled = maps.amax(dim=(2, 3)) if self.pooling == "max" else maps.mean(dim=(2, 3))
        sequence, _ = self.lstm(pooled.reshape(b, t, -1))
        return self.fc(sequence).squeeze(-1)

    def forward(self, x):
        b, t = x.shape[:2]
        return self.head(self.feature_maps(x.flatten(0, 1)), b, t)


# ------------------------------------------------------------------------------------------
# Stage 2: Grad-CAM (Docs/method.md#2-class-activation-maps)
# ------------------------------------------------------------------------------------------

def grad_cam_raw(model: ResNetLSTM, seq: torch.Tensor) -> torch.Tensor:
    """Grad-CAM's raw maps of one sequence (T, C, S, S) -> (T, h, w), each slice for its own logit.

    A_t are slice t's maps at the last residual stage and g_t = d logit_t / d A_t, with the LSTM
    run over the whole sequence. The map is ReLU(sum_c mean_ij(g_t,c) A_t,c).
    """
    t = seq.shape[0]
    maps = model.feature_maps(seq).detach().requires_grad_(True)
    logits = model.head(maps, 1, t)[0]
    per_slice = []
    for k in range(t):
        (gradient,) = torch.autograd.grad(logits[k], maps, retain_graph=True)
        weights = gradient[k].mean(dim=(1, 2))
        per_slice.append(F.relu((weights[:, None, None] * maps[k]).sum(0)))
    return torch.stack(per_slice)


def _divided_by_peaks(cams: torch.Tensor) -> torch.Tensor:
    peaks = cams.flatten(1).max(dim=1).values.clamp_min(1e-12)
    return cams / peaks[:, None, None]


def grad_cam(model: ResNetLSTM, seq: torch.Tensor, out_size) -> torch.Tensor:
    """Grad-CAM of each slice for its own logit: one sequence (T, C, S, S) -> (T, H, W) in [0, 1].

    `grad_cam_raw`'s maps resized bilinearly (`align_corners=False`) to `out_size` = (H, W), then
    divided by their own maximum (an all-zero map stays zero). Swift's `GradCAM` is tested
    against this (Docs/training-and-cam.md).
    """
    raw = grad_cam_raw(model, seq)
    return _divided_by_peaks(F.interpolate(raw[:, None], size=out_size, mode="bilinear", align_corners=False)[:, 0])


def grad_cam_on_slices(model: ResNetLSTM, seq: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Grad-CAM of a scan's slices on their own height x width grid, as `ichctl cam` writes it:
    `grad_cam_raw`'s maps taken back by `to_slices` (square frame, then the slice cut out), then
    each divided by its own maximum within the slice. For square slices this is `grad_cam`."""
    raw = grad_cam_raw(model, seq)
    return _divided_by_peaks(to_slices(raw[:, None], height, width)[:, 0])


# ------------------------------------------------------------------------------------------
# Stage 5: the refiner (Docs/method.md#5-refinement-unetlite)
# ------------------------------------------------------------------------------------------

class ConvBlock(nn.Module):
    """Two rounds of 3x3 conv (no bias) + BN + ReLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = _conv(cin, cout, 3)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = _conv(cout, cout, 3)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(x)))


class UNetLite(nn.Module):
    """A small 2D U-Net, the only network that runs at test time: (N, C, S, S) -> (N, 1, S, S) logits.

    `down.i` ConvBlocks each followed by 2x2 max pooling, `bottom` at the coarsest level, `up.j`
    ConvBlocks each after bilinear x2 upsampling (`align_corners=False`) and concatenation with
    the matching skip (upsampled first, skip second), and a 1x1 `head`. `widths` run from the
    finest level to the bottom; S must be divisible by 2**(len(widths) - 1).
    """

    def __init__(self, in_channels=3, widths=(16, 32, 64, 128)):
        super().__init__()
        w = list(widths)
        levels = len(w) - 1
        self.down = nn.ModuleList([ConvBlock(w[i - 1] if i else in_channels, w[i]) for i in range(levels)])
        self.bottom = ConvBlock(w[levels - 1], w[levels])
        self.up = nn.ModuleList([ConvBlock(w[i] + w[i + 1], w[i]) for i in range(levels - 1, -1, -1)])
        self.head = nn.Conv2d(w[0], 1, 1)

    def forward(self, x):
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x)
        for block, skip in zip(self.up, reversed(skips)):
            upsampled = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = block(torch.cat([upsampled, skip], dim=1))
        return self.head(x)


# ------------------------------------------------------------------------------------------
# Configurations and checkpoints (Docs/checkpoints.md#checkpoint-format)
# ------------------------------------------------------------------------------------------

def classifier_config(size=256, width=64, blocks=(2, 2, 2, 2), hidden=128, bidirectional=True, windows=DEFAULT_WINDOWS,
                      pooling="average"):
    """The `ichct.config` of a ResNetLSTM (keys in the order the checkpoints carry them;
    `pooling` only when it is not the default "average", as Swift writes it)."""
    config = {"kind": "resnet_lstm", "input_size": size, "width": width, "blocks": list(blocks),
              "hidden": hidden, "bidirectional": bidirectional, "windows": windows}
    if pooling != "average":
        config["pooling"] = pooling
    return config


def refiner_config(size=256, widths=(16, 32, 64, 128), windows=DEFAULT_WINDOWS, context_slices=0):
    """The `ichct.config` of a UNetLite (`context_slices` only when not 0, as Swift writes it)."""
    config = {"kind": "unet_lite", "input_size": size, "widths": list(widths), "windows": windows}
    if context_slices:
        config["context_slices"] = context_slices
    return config


def with_context(x: torch.Tensor, k: int) -> torch.Tensor:
    """(Z, C, S, S) windowed slices -> (Z, (2k+1)C, S, S): for slice z the channels of slices
    z-k ... z+k, the end slices repeated past either end (Swift's `SliceContext.stack`)."""
    if k == 0:
        return x
    z = x.shape[0]
    index = (torch.arange(z)[:, None] + torch.arange(-k, k + 1)[None, :]).clamp(0, z - 1)
    return x[index].reshape(z, -1, *x.shape[2:])


def build(config: dict) -> nn.Module:
    """A fresh network (PyTorch's default initialisation) for an `ichct.config`; one input
    channel per window (a refiner's per window and slice seen)."""
    kind = config["kind"]
    channels = len(config["windows"]) * (2 * config.get("context_slices", 0) + 1)
    if kind == "resnet_lstm":
        return ResNetLSTM(channels, config["width"], tuple(config["blocks"]), config["hidden"], config["bidirectional"],
                          config.get("pooling", "average"))
    if kind == "unet_lite":
        return UNetLite(channels, tuple(config["widths"]))
    raise ValueError(f"unknown model kind {kind!r} (expected 'resnet_lstm' or 'unet_lite')")


def save(model: nn.Module, config: dict, path: str):
    """Write `model`'s state_dict (float32; BatchNorm's num_batches_tracked int64) and `config`
    under the metadata key `ichct.config`: the file Swift's `ResNetLSTM(contentsOf:)` /
    `UNetLite(contentsOf:)` read."""
    from safetensors.torch import save_file
    tensors = {name: value.contiguous() for name, value in model.state_dict().items()}
    save_file(tensors, path, metadata={CONFIG_KEY: json.dumps(config)})


def read_config(path: str) -> dict:
    """The `ichct.config` JSON of a checkpoint, without reading its tensors."""
    from safetensors import safe_open
    with safe_open(path, "pt") as f:
        metadata = f.metadata() or {}
    if CONFIG_KEY not in metadata:
        raise ValueError(f"{path}: no {CONFIG_KEY!r} metadata; not an ichct network checkpoint")
    return json.loads(metadata[CONFIG_KEY])


def load(path: str, strict: bool = True):
    """(model in eval mode, config) from an ichct checkpoint, written by `save` or by Swift.

    The tensors are loaded with `load_state_dict(strict=...)`: by default every name and shape
    must match the module built from the checkpoint's own configuration.
    """
    from safetensors.torch import load_file
    config = read_config(path)
    model = build(config)
    model.load_state_dict(load_file(path), strict=strict)
    return model.eval(), config


def load_checkpoint(path: str) -> nn.Module:
    """An ichct checkpoint as a ready PyTorch module, for users who deploy in PyTorch.

    Returns the ResNetLSTM or UNetLite in eval mode, with the checkpoint's configuration as
    `model.ichct_config` (its `input_size` and `windows` are what `preprocess_volume` needs;
    a refiner with `context_slices` k takes `with_context(x, k)`).
    A ResNetLSTM takes (B, T, C, S, S) and gives (B, T) slice logits; a UNetLite takes
    (N, C, S, S) and gives (N, 1, S, S) logits (sigmoid >= 0.5 is the refiner's mask at S x S;
    `ichctl segment` then resizes the logits to the scan's grid and keeps the intracranial
    mask, Docs/checkpoints.md#volume-inference-weaksupervision).
    """
    model, config = load(path)
    model.ichct_config = config
    return model


def describe(path: str) -> dict:
    """What `load` prints: configuration, tensor and parameter counts, one forward's shapes."""
    from safetensors.torch import load_file
    model = load_checkpoint(path)
    config = model.ichct_config
    tensors = load_file(path)
    s, c = config["input_size"], len(config["windows"]) * (2 * config.get("context_slices", 0) + 1)
    x = torch.zeros(1, 1, c, s, s) if config["kind"] == "resnet_lstm" else torch.zeros(1, c, s, s)
    with torch.no_grad():
        y = model(x)
    return {"path": path, "config": config, "class": type(model).__name__,
            "tensors": len(tensors), "parameters": sum(p.numel() for p in model.parameters()),
            "buffers": sum(b.numel() for b in model.buffers()),
            "input_shape": list(x.shape), "output_shape": list(y.shape)}


# ------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------

def _selftest():
    import os
    import tempfile
    torch.manual_seed(0)
    config = classifier_config(size=64, width=8, blocks=(1, 1, 1, 1), hidden=16)
    classifier = build(config).eval()
    seq = torch.rand(1, 5, 3, 64, 64)
    print("classifier logits", tuple(classifier(seq).shape))
    print("grad-cam", tuple(grad_cam(classifier, seq[0], (80, 80)).shape))
    assert torch.equal(grad_cam_on_slices(classifier, seq[0], 80, 80), grad_cam(classifier, seq[0], (80, 80)))
    print("grad-cam on 60 x 80 slices", tuple(grad_cam_on_slices(classifier, seq[0], 60, 80).shape))
    slab = torch.rand(2, 1, 7, 12)
    assert torch.equal(crop_from_square(pad_to_square(slab, AIR_HU), 7, 12), slab)
    assert pad_to_square(slab, AIR_HU).shape[-2:] == (12, 12) and square_frame(7, 12) == (12, 2, 0)
    refiner = build(refiner_config(size=64)).eval()
    print("refiner logits", tuple(refiner(seq[0]).shape))
    deep = build(refiner_config(size=64, context_slices=1)).eval()
    stacked = with_context(seq[0], 1)
    assert torch.equal(stacked[0, 3:6], seq[0, 0]) and torch.equal(stacked[0, 0:3], seq[0, 0]) and torch.equal(stacked[4, 6:9], seq[0, 4])
    print("2.5-D refiner input", tuple(stacked.shape), "logits", tuple(deep(stacked).shape))
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "refiner.safetensors")
        save(deep, refiner_config(size=64, context_slices=1), path)
        print("2.5-D refiner described:", describe(path)["input_shape"])
        path = os.path.join(folder, "classifier.safetensors")
        save(classifier, config, path)
        again = load_checkpoint(path)
        with torch.no_grad():
            print("reload max |difference|", float((again(seq) - classifier(seq)).abs().max()))
        print("reloaded config equal:", again.ichct_config == config)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="ichct's PyTorch reference (Docs/checkpoints.md).")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("load", help="load an ichct checkpoint into its PyTorch module and describe it")
    p.add_argument("checkpoint")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    commands.add_parser("selftest", help="build, run, save and reload both networks")
    args = parser.parse_args(argv)
    if args.command == "selftest":
        _selftest()
        return 0
    info = describe(args.checkpoint)
    if args.json:
        print(json.dumps(info))
    else:
        print(f"{info['path']}: {info['class']} ({info['config']['kind']})")
        print(f"  config      {json.dumps(info['config'])}")
        print(f"  tensors     {info['tensors']} (parameters {info['parameters']:,}, buffers {info['buffers']:,})")
        print(f"  forward     {tuple(info['input_shape'])} -> {tuple(info['output_shape'])} (eval mode)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
