#!/usr/bin/env python3
"""Copies a safetensors file with every F32 tensor stored as F16 (names, shapes, other dtypes and the
__metadata__ kept): how training/ stores its pieces at half the size. germ widens F16 to F32 on load.

    python3 scripts/safetensors_to_f16.py IN.safetensors OUT.safetensors   (needs numpy)

Exit status 1 with one line naming the file when it is not a readable safetensors file.
"""
import json
import os
import struct
import sys

import numpy as np


def read(path):
    with open(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 8:
        raise ValueError("too short for a safetensors header")
    size = struct.unpack("<Q", raw[:8])[0]
    if 8 + size > len(raw):
        raise ValueError("header runs past the end of the file")
    return json.loads(raw[8:8 + size]), raw[8 + size:]


def to_f16(header, data):
    out_header, chunks, offset = {}, [], 0
    for name, info in header.items():
        if name == "__metadata__":
            out_header[name] = info
            continue
        begin, end = info["data_offsets"]
        if not 0 <= begin <= end <= len(data):
            raise ValueError(f"tensor {name}: offsets {begin}-{end} outside the data")
        chunk, dtype = data[begin:end], info["dtype"]
        if dtype == "F32":
            chunk, dtype = np.frombuffer(chunk, dtype="<f4").astype("<f2").tobytes(), "F16"
        out_header[name] = {"dtype": dtype, "shape": info["shape"], "data_offsets": [offset, offset + len(chunk)]}
        chunks.append(chunk)
        offset += len(chunk)
    encoded = json.dumps(out_header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)  # the data starts 8-byte aligned
    return encoded, chunks


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: safetensors_to_f16.py IN.safetensors OUT.safetensors")
    source, destination = sys.argv[1:]
    try:
        encoded, chunks = to_f16(*read(source))
    except (OSError, ValueError, KeyError, TypeError) as error:
        sys.exit(f"safetensors_to_f16.py: {source}: {error}")
    temporary = destination + ".tmp"
    with open(temporary, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)))
        handle.write(encoded)
        for chunk in chunks:
            handle.write(chunk)
    os.replace(temporary, destination)


if __name__ == "__main__":
    main()
