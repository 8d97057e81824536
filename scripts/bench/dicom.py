#!/usr/bin/env python3
"""Python peer of `bench dicom`: pydicom + numpy read a DICOM series folder to float32 HU.

    python scripts/bench/dicom.py FOLDER [--repeats N]          # one JSON line on stdout
    python scripts/bench/dicom.py --make FOLDER [--syntax S]    # writes a 512x512x40 CT series

Each timed read lists the folder, `pydicom.dcmread`s every file, sorts the slices by Image
Position (Patient) projected on the slice normal, stacks `pixel_array` and applies Rescale
Slope / Intercept to float32: the same work as `DICOMSeriesReader.read(folder:)`. One untimed
warm-up read first. `--syntax` picks explicit (uncompressed, default) or rle.
"""
import argparse
import os
import sys

import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, RLELossless, generate_uid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_timing import time_reads  # noqa: E402


def make(folder, syntax):
    """A CT-like 512 x 512 x 40 int16 head (air, skull, brain, noise), files in shuffled order."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(42)
    x, y = np.meshgrid(np.arange(512) - 255.5, np.arange(512) - 255.5, indexing="xy")
    series, study, frame = (generate_uid(entropy_srcs=[f"bench-{n}"]) for n in ("series", "study", "frame"))
    order = rng.permutation(40)
    for k in range(40):
        s = 1.0 - abs(k - 20) / 40.0
        r = np.sqrt((x / (200 * s)) ** 2 + (y / (170 * s)) ** 2)
        hu = np.full((512, 512), -1000.0, dtype=np.float32)
        hu[r < 1.0] = 1000.0
        hu[r < 0.93] = 35.0
        hu += rng.normal(0, 20, hu.shape).astype(np.float32) * (hu > -900)
        stored = np.clip(np.rint(hu + 1024), 0, 4095).astype(np.int16)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[f"bench-sop-{k}"])
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.Modality, ds.PatientID, ds.InstanceNumber = "CT", "BENCH", int(order[k]) + 1
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.ImagePositionPatient = [-107.5, -107.5, 5.0 * k]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [0.42, 0.42]
        ds.SliceThickness = 5.0
        ds.Rows, ds.Columns = 512, 512
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.PixelData = stored.tobytes()
        if syntax == "rle":
            ds.compress(RLELossless)
        ds.save_as(os.path.join(folder, f"IM{int(order[k]):04d}.dcm"), enforce_file_format=True)


def read(folder):
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if not f.startswith("."))
    slices = [pydicom.dcmread(f) for f in files]
    o = np.array(slices[0].ImageOrientationPatient, dtype=np.float64)
    normal = np.cross(o[:3], o[3:])
    slices.sort(key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, dtype=np.float64), normal)))
    volume = np.empty((len(slices), slices[0].Rows, slices[0].Columns), dtype=np.float32)
    for k, d in enumerate(slices):
        volume[k] = d.pixel_array.astype(np.float32) * float(d.RescaleSlope) + float(d.RescaleIntercept)
    return volume


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--make", action="store_true")
    ap.add_argument("--syntax", choices=["explicit", "rle"], default="explicit")
    a = ap.parse_args()
    if a.make:
        make(a.folder, a.syntax)
        return
    time_reads("dicom", "pydicom", lambda: read(a.folder), a.repeats)

if __name__ == "__main__":
    main()
