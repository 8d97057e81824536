"""Timing shared by the Python peers of the read benchmarks (nifti.py, dicom.py).

`time_reads(name, tool, read, repeats)` calls `read()` once untimed, then `repeats` times
timed, and prints the JSON line scripts/bench/side_by_side.sh reads: min, median and mean
seconds and a checksum of one value per read (so no read can be skipped).
"""
import json
import time


def time_reads(name, tool, read, repeats):
    checksum = float(read().ravel()[0])
    seconds = []
    for _ in range(max(1, repeats)):
        t = time.perf_counter()
        volume = read()
        seconds.append(time.perf_counter() - t)
        checksum += float(volume.ravel()[volume.size // 2])
    s = sorted(seconds)
    print(json.dumps({"name": name, "tool": tool, "result": {
        "min_s": s[0], "median_s": s[len(s) // 2], "mean_s": sum(s) / len(s), "repeats": len(s), "checksum": checksum}},
        sort_keys=True))
