#!/usr/bin/env python3
"""Seed corpora for the fuzz targets: test_data files, small valid and damaged safetensors files
built the way germ writes them, and the shipped model's real header. Usage: make_seeds.py SOURCE_DIR OUT_DIR"""
import gzip, json, os, shutil, struct, sys

source, out = sys.argv[1], sys.argv[2]
data = os.path.join(source, "test_data")


def put(target, name, content):
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(content)


def safetensors(tensors, metadata=None):
    """tensors: [(name, dtype, shape, bytes)] laid out in order."""
    header, blob = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(raw)]}
        blob += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + blob


# FASTA/FASTQ: a leading byte picks the chunk size (see fuzz_fasta.cpp).
for name in sorted(os.listdir(data)):
    path = os.path.join(data, name)
    if name.endswith((".fa", ".fq", ".gz", ".bin")) and os.path.getsize(path) < 20000:
        put("fasta", name, b"\x07" + open(path, "rb").read())
put("fasta", "gzip_member.fa.gz", b"\x03" + gzip.compress(b">a desc\nACGT\nNNac\n>b\n\n>c\nT\n"))

# VCF: a leading byte picks the half window (low 6 bits) and both strands (top bit); contigs
# "1" (3,000 bases, N at 1,001-1,100) and "chr2" (700 bases) of fuzz_vcf.cpp's reference.
vcf_head = (b"##fileformat=VCFv4.2\n##INFO=<ID=AF,Number=A,Type=Float,Description=\"x\">\n"
            b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
vcf_rows = (b"1\t1\t.\tA\tC\t.\t.\tAF=0.1\n1\t500\trs1\tACG\tA,ACGTT,<DEL>,*\t50\tPASS\t.\n"
            b"1\t1050\t.\tN\tA\t.\t.\t.\n1\t2050\t.\ta\tg\t.\t.\t.\nchr2\t700\t.\tT\tG]1:5]\t.\t.\t.\n"
            b"chrX\t5\t.\tA\tC\t.\t.\t.\n")
put("vcf", "mixed.vcf", b"\x20" + vcf_head + vcf_rows)
put("vcf", "both_strands.vcf", b"\xbf" + vcf_head + vcf_rows)
put("vcf", "gzip.vcf.gz", b"\x05" + gzip.compress(vcf_head + vcf_rows))
put("vcf", "cut.vcf", b"\x10" + (vcf_head + vcf_rows)[:-20])

# CSV: a leading byte picks the label count (see fuzz_labelled_csv.cpp).
put("csv", "ok.csv", b"\x02sequence,label\nACGT,0\nGGCC,1\n")
put("csv", "quoted.csv", b"\x00\"sequence\",\"label\"\r\n\"ACGTN\",\"1\"\r\n")
put("csv", "reordered.csv", b"\x03label,id,sequence\n2,x,acgt\n")
put("csv", "bad_label.csv", b"\x02sequence,label\nACGT,5\nACGT,\n")
put("csv", "pair.csv", b"\x00seq1,seq2,label\nA,C,0\n")
put("csv", "gzip.csv.gz", b"\x02" + gzip.compress(b"sequence,label\nAC,1\n"))

# Regions.
for i, text in enumerate(["chr1", "chr1:1,000-2,000", "chr1:5-", "chr1:-9", "{a:b}:1-2", "HLA-A*01:01",
                          "{x}", "c:1-2:3-4", "chr1:0-10", "chr1:10-5"]):
    put("region", f"r{i}", text.encode())

# Model files.
f32 = lambda n: struct.pack(f"<{n}f", *range(n))
put("safetensors", "valid.safetensors", safetensors(
    [("a", "F32", [2, 3], f32(6)), ("b", "BF16", [4], b"\0" * 8), ("c", "U8", [], b"\x01")],
    {"germ.kind": "causal-lm", "germ.format_version": "1"}))
put("safetensors", "empty_tensor.safetensors", safetensors([("z", "I64", [0, 5], b"")]))
put("safetensors", "no_tensors.safetensors", safetensors([], {"k": "v"}))
put("safetensors", "overlap.safetensors", struct.pack("<Q", 112) + json.dumps(
    {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
     "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}).encode().ljust(112) + b"\0" * 12)
model = os.path.join(source, "models", "germ-focus-default.safetensors")
raw = open(model, "rb").read()
(length,) = struct.unpack("<Q", raw[:8])
put("safetensors", "shipped_header_only.safetensors", raw[:8 + length])
# The shipped header with every tensor shrunk to one element, so the file stays small but valid.
header = json.loads(raw[8:8 + length])
offset, shrunk = 0, {}
for name, entry in header.items():
    if name == "__metadata__":
        shrunk[name] = entry
        continue
    size = {"F32": 4, "BF16": 2, "F16": 2, "I64": 8, "I32": 4, "I8": 1, "U8": 1}.get(entry["dtype"], 4)
    shrunk[name] = {"dtype": entry["dtype"], "shape": [1], "data_offsets": [offset, offset + size]}
    offset += size
text = json.dumps(shrunk).encode()
text += b" " * (-len(text) % 8)
put("safetensors", "shipped_shrunk.safetensors", struct.pack("<Q", len(text)) + text + b"\0" * offset)
