#!/usr/bin/env python3
"""Writes the damaged inputs of tests/cli/bad_input.sh into OUT_DIR (at test time: nothing large is
committed). Usage: make_cases.py SOURCE_DIR OUT_DIR. See docs/reliability.md for the table."""
import gzip, json, os, random, shutil, struct, sys, zlib

source, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
rng = random.Random(12)
small_fa = open(os.path.join(source, "test_data", "small.fa"), "rb").read()


def put(name, content):
    with open(os.path.join(out, name), "wb") as f:
        f.write(content)


def bgzf_block(data):
    """One BGZF block: a gzip member whose extra field 'BC' holds the block size."""
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    payload = deflate.compress(data) + deflate.flush()
    header = b"\x1f\x8b\x08\x04\0\0\0\0\0\xff\x06\0BC\x02\0" + struct.pack("<H", len(payload) + 25)
    return header + payload + struct.pack("<II", zlib.crc32(data), len(data))


BGZF_EOF = bgzf_block(b"")


# ---- FASTA ----
put("empty.fa", b"")
put("gt_only.fa", b">\n")
put("non_acgtn.fa", b">chr1\nACGTNNacgt\nACGJTT\n")
put("nul_in_sequence.fa", b">chr1\nACGT\x00ACGT\n")
put("garbage.bin", bytes([0x7f]) + bytes(rng.randrange(256) for _ in range(4095)))
# A FASTA large enough that its gzip spans many deflate blocks, cut in the middle of a record.
big = b">r1\n" + b"".join(bytes(rng.choice(b"ACGT") for _ in range(60)) + b"\n" for _ in range(4000))
compressed = gzip.compress(big)
put("truncated_mid_record.fa.gz", compressed[: len(compressed) // 2])
put("gzip_header_only.fa.gz", compressed[:10])
bad_crc = bytearray(gzip.compress(small_fa))
bad_crc[-6] ^= 0xFF  # the CRC32 of the trailer
put("gzip_bad_crc.fa.gz", bytes(bad_crc))
# bgzip cut exactly at a block boundary: every block decompresses, only the EOF marker is missing.
put("bgzf_no_eof.fa.gz", bgzf_block(small_fa[:3000]) + bgzf_block(small_fa[3000:]))
# bgzip with a .fai and a damaged .gzi (what region access reads): an entry count far beyond
# the file, and offsets pointing past the end.
blocks = [small_fa[i:i + 1000] for i in range(0, len(small_fa), 1000)]
put("bad_gzi.fa.gz", b"".join(bgzf_block(b) for b in blocks) + BGZF_EOF)
shutil.copy(os.path.join(source, "test_data", "small.fa.fai"), os.path.join(out, "bad_gzi.fa.gz.fai"))
put("bad_gzi.fa.gz.gzi", struct.pack("<Q", 1 << 40) + b"\xff" * 64)
put("bad_gzi_offsets.fa.gz", b"".join(bgzf_block(b) for b in blocks) + BGZF_EOF)
shutil.copy(os.path.join(source, "test_data", "small.fa.fai"), os.path.join(out, "bad_gzi_offsets.fa.gz.fai"))
put("bad_gzi_offsets.fa.gz.gzi", struct.pack("<Q", 2) + struct.pack("<QQQQ", 1 << 50, 1000, 1 << 51, 2000))
# CRLF line ends: valid input, must give the same results as LF.
put("crlf.fa", small_fa.replace(b"\n", b"\r\n"))
put("lf.fa", small_fa)

# ---- task CSVs (GUE layout: DIR/train.csv, DIR/dev.csv) ----
good = b"sequence,label\nACGTACGTAC,0\nGGGGCCCCGG,1\n"
csvs = {
    "csv_missing_label": b"sequence,label\nACGTACGTAC,0\nGGGGCCCCGG,\n",
    "csv_label_out_of_range": b"sequence,label\nACGTACGTAC,0\nGGGGCCCCGG,7\n",
    "csv_non_dna": b"sequence,label\nACGTACGTAC,0\nACGT<html>,1\n",
    "csv_header_only": b"sequence,label\n",
    "csv_label_not_integer": b"sequence,label\nACGTACGTAC,zero\n",
    "csv_wrong_field_count": b"sequence,label\nACGTACGTAC,0,extra\n",
    "csv_good": good,
}
for name, content in csvs.items():
    os.makedirs(os.path.join(out, name), exist_ok=True)
    put(f"{name}/train.csv", content)
    put(f"{name}/dev.csv", good)

# ---- model files: edits of the shipped model ----
model = open(os.path.join(source, "models", "germ-focus-default.safetensors"), "rb").read()
(header_length,) = struct.unpack("<Q", model[:8])
header = json.loads(model[8:8 + header_length])
data = model[8 + header_length:]


def with_header(new_header, data_region=data):
    text = json.dumps(new_header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data_region


tensors = sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])
put("model_empty.safetensors", b"")
put("model_truncated.safetensors", model[: len(model) // 2])
put("model_header_past_end.safetensors", struct.pack("<Q", len(model) + 100) + model[8:])
put("model_header_2_63.safetensors", struct.pack("<Q", 1 << 63) + model[8:])
put("model_offset_past_end.safetensors", model[:-4])  # the last tensor now ends past the data
overlap = json.loads(json.dumps(header))
first, second = tensors[0], tensors[1]
span = overlap[second]["data_offsets"][1] - overlap[second]["data_offsets"][0]
start = overlap[first]["data_offsets"][0]
overlap[second]["data_offsets"] = [start, start + span]
put("model_overlapping_tensors.safetensors", with_header(overlap))
# A matrix stored transposed: same bytes, a shape the config does not expect.
reshaped = json.loads(json.dumps(header))
matrix = next(k for k in tensors if len(header[k]["shape"]) == 2 and header[k]["shape"][0] != header[k]["shape"][1])
reshaped[matrix]["shape"] = header[matrix]["shape"][::-1]
put("model_shape_mismatch.safetensors", with_header(reshaped))
unknown = json.loads(json.dumps(header))
unknown[tensors[0]]["dtype"] = "F8_E4M3"
put("model_unknown_dtype.safetensors", with_header(unknown))
bomb = b'{"a":' + b"[" * 100000
put("model_json_bomb.safetensors", struct.pack("<Q", len(bomb)) + bomb)
put("model_not_a_model.safetensors", small_fa)
bare = {k: v for k, v in header.items() if k != "__metadata__"}
put("model_not_germ.safetensors", with_header(bare))  # valid safetensors, no germ metadata
