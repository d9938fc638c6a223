#!/usr/bin/env python3
"""Writes the small sequence files under test_data/ that the io unit tests read.

Standard library only, fixed seed: running it again reproduces the same files (the bgzip
output may differ by zlib version, which the tests do not depend on). It uses the `bgzip`
command when present and otherwise writes BGZF itself, so it works on any machine.

    python3 scripts/make_test_data.py [output_dir]    (default: test_data/ in the repo)
"""
import gzip
import os
import random
import shutil
import struct
import subprocess
import sys
import zlib

RNG = random.Random(20240601)


def random_bases(length, alphabet="ACGT"):
    return "".join(RNG.choice(alphabet) for _ in range(length))


def wrap(sequence, width):
    if width is None:
        return [sequence] if sequence else []
    return [sequence[i:i + width] for i in range(0, len(sequence), width)]


def fasta_text(records, newline="\n"):
    lines = []
    for header, sequence, width in records:
        lines.append(">" + header)
        lines.extend(wrap(sequence, width))
    return newline.join(lines) + newline


def fai_text(records):
    """The samtools .fai for an uncompressed file written by fasta_text with "\n"."""
    rows, offset = [], 0
    for header, sequence, width in records:
        name = header.split()[0]
        offset += len(header) + 2
        line_bases = width if width is not None else len(sequence)
        rows.append(f"{name}\t{len(sequence)}\t{offset}\t{line_bases}\t{line_bases + 1}\n")
        offset += sum(len(line) + 1 for line in wrap(sequence, width))
    return "".join(rows)


# --- BGZF, for machines without the bgzip command -------------------------------------------
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
BGZF_BLOCK_INPUT = 0xff00


def bgzf_block(data):
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    deflated = compressor.compress(data) + compressor.flush()
    header = struct.pack("<4BI2BH2BHH", 0x1f, 0x8b, 8, 4, 0, 0, 0xff, 6, ord("B"), ord("C"), 2,
                         len(deflated) + 25)
    return header + deflated + struct.pack("<II", zlib.crc32(data) & 0xffffffff, len(data))


def write_bgzip(source, target):
    """bgzip-compresses `source` into `target` and writes the `.gzi` block index beside it."""
    if shutil.which("bgzip"):
        with open(target, "wb") as out:
            subprocess.run(["bgzip", "-c", "-i", "-I", target + ".gzi", source], stdout=out, check=True)
        return
    data = open(source, "rb").read()
    blocks, offsets = [], []
    compressed_offset = 0
    for start in range(0, len(data), BGZF_BLOCK_INPUT):
        if start:
            offsets.append((compressed_offset, start))
        block = bgzf_block(data[start:start + BGZF_BLOCK_INPUT])
        blocks.append(block)
        compressed_offset += len(block)
    with open(target, "wb") as out:
        out.write(b"".join(blocks) + BGZF_EOF)
    with open(target + ".gzi", "wb") as out:
        out.write(struct.pack("<Q", len(offsets)))
        for pair in offsets:
            out.write(struct.pack("<QQ", *pair))


def write(directory, name, content):
    data = content if isinstance(content, bytes) else content.encode()
    with open(os.path.join(directory, name), "wb") as out:
        out.write(data)


def small_fasta_records():
    chr1 = list(random_bases(3000))
    chr1[700:1100] = random_bases(400, "acgt")  # soft-masked repeat
    chr2 = random_bases(1200) + "N" * 300 + random_bases(1000)
    hla = random_bases(512) + random_bases(100, "acgtn") + random_bases(311)
    return [("chr1 soft-masked stretch at 701-1100", "".join(chr1), 60),
            ("chr2", chr2, None),  # one line, with an N run at 1201-1500
            ("HLA-A*01:01 contig name with colons", hla, 50)]


def fastq_text(count, newline="\n"):
    records = []
    for index in range(count):
        bases = random_bases(RNG.randint(30, 150))
        quality = "".join(chr(33 + RNG.randint(2, 40)) for _ in bases)
        records.append(f"@read{index + 1} sample=test{newline}{bases}{newline}+{newline}{quality}{newline}")
    return "".join(records)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "test_data")
    os.makedirs(out, exist_ok=True)

    records = small_fasta_records()
    write(out, "small.fa", fasta_text(records))
    write(out, "small.fa.fai", fai_text(records))
    write(out, "small.fa.seq", "".join(f"{h.split()[0]}\t{s}\n" for h, s, _ in records))
    write_bgzip(os.path.join(out, "small.fa"), os.path.join(out, "small.fa.gz"))
    write(out, "small.fa.gz.fai", fai_text(records))
    write(out, "small.plain.fa.gz", gzip.compress(fasta_text(records).encode(), mtime=0))

    fastq = fastq_text(20)
    write(out, "small.fq", fastq)
    write(out, "small.fq.gz", gzip.compress(fastq.encode(), mtime=0))
    write(out, "multiline.fq", "@wrapped\nACGTACGT\nTTGG\n+\nIIIIIIII\n@@II\n@empty\n\n+\n\n@last\nNNA\n+last\n###\n")

    crlf_records = [("crlf1 windows line ends", random_bases(130), 60), ("crlf2", random_bases(45), 60)]
    write(out, "crlf.fa", fasta_text(crlf_records, newline="\r\n"))
    write(out, "crlf.fa.seq", "".join(f"{h.split()[0]}\t{s}\n" for h, s, _ in crlf_records))

    iupac = "ACGTURYSWKMBDHVNX*-.acgturyswkmbdhvnx"
    write(out, "iupac.fa", f">iupac\n{iupac}\n")
    write(out, "empty_record.fa", ">first\nACGT\n>empty description only\n>third\nGGCC\nTT\n>trailing_empty\n")
    write(out, "header_only.fa", ">lonely\n")
    write(out, "blank_lines.fa", "\n\n>a\nAC\n\nGT\n\n>b\nTT\n\n")

    # Bad inputs: each must give an error naming the file.
    write(out, "empty.fa", "")
    write(out, "blank_only.fa", "\n \r\n\t\n")
    write(out, "empty_name.fa", ">ok\nACGT\n> no name\nACGT\n")
    write(out, "bad_char.fa", ">chr1\nACGTACGT\nACGT1ACGT\n")
    write(out, "binary_in_sequence.fa", b">chr1\nACGT\x00\x01\x02ACGT\n")
    write(out, "sequence_before_header.fa", "ACGT\n>chr1\nACGT\n")
    write(out, "duplicate_names.fa", ">dup\nACGT\n>other\nGG\n>dup\nTT\n")
    write(out, "ragged.fa", ">ragged\nACGTACGT\nACG\nACGTACGT\n")
    garbage = bytes([0x89]) + bytes(RNG.randrange(256) for _ in range(1023))
    write(out, "garbage.bin", garbage)
    bgzipped = open(os.path.join(out, "small.fa.gz"), "rb").read()
    write(out, "truncated.fa.gz", bgzipped[:len(bgzipped) // 2])
    plain_gzip = open(os.path.join(out, "small.plain.fa.gz"), "rb").read()
    write(out, "truncated_plain.fa.gz", plain_gzip[:len(plain_gzip) // 2])
    write(out, "quality_mismatch.fq", "@r1\nACGTACGT\n+\nIIIIIIII\n@r2\nACGT\n+\nIIIIII\n")
    write(out, "truncated.fq", "@r1\nACGTACGT\n+\nIIIIIIII\n@r2\nACGT\n")
    write(out, "bad_quality.fq", "@r1\nACGT\n+\nII I\n")


if __name__ == "__main__":
    main()
