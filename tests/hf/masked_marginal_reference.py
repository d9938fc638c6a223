#!/usr/bin/env python3
"""The masked-marginal variant LLR (docs/score_variants.md, "Encoder models: masked-marginal
LLR") computed in PyTorch on the DNABERT-2 fixture of make_dnabert2_checkpoint.py, for germ's
parity test (tests/unit/test_masked_marginal_hf.cpp).

usage: masked_marginal_reference.py FIXTURE_DIR FASTA VARIANTS_TSV CONTEXT_BASES OUT_TSV

VARIANTS_TSV: one ALT per line, "contig<TAB>0-based position<TAB>REF<TAB>ALT", all scorable
(ACGT, REF matching the FASTA). OUT_TSV: the LLR in nats, one line per input line.

Independent of germ's C++: the tokenizer is the fixture's own BPE (bpe_encode), the model the
fixture's own DNABERT-2 forward (encoder, mlm_logits) on weights read back from
<FIXTURE_DIR>/mlm/model.safetensors, each masked input run alone (no padding).
"""
import json
import struct
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_dnabert2_checkpoint import CLS, SEP, bpe_encode, encoder, mlm_logits  # noqa: E402

MASK = 4


def read_safetensors(path):
    data = Path(path).read_bytes()
    size = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + size])
    header.pop("__metadata__", None)
    base = 8 + size
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", name
        begin, end = info["data_offsets"]
        values = struct.unpack(f"<{(end - begin) // 4}f", data[base + begin:base + end])
        tensors[name] = torch.tensor(values, dtype=torch.float32).view(info["shape"])
    return tensors


def read_fasta(path):
    contigs, name = {}, None
    for line in Path(path).read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            contigs[name] = []
        elif name is not None:
            contigs[name].append(line.strip().upper())
    return {k: "".join(v) for k, v in contigs.items()}


class Tokenizer:
    def __init__(self, path):
        model = json.loads(Path(path).read_text())["model"]
        self.vocab = model["vocab"]
        self.text = {i: t for t, i in self.vocab.items()}
        self.ranks = {tuple(m.split(" ")): r for r, m in enumerate(model["merges"])}

    def encode(self, bases):
        return bpe_encode(bases, self.vocab, self.ranks) if bases else []

    def cuts(self, bases):
        """Offsets where a token of the whole string's tokenization starts or ends."""
        at, cuts = 0, {0}
        for token in self.encode(bases):
            at += 1 if token == 0 else len(self.text[token])
            cuts.add(at)
        assert at == len(bases)
        return cuts


def masked_log_probability(params, left, span, right):
    """Sum of log p(span tokens) at [MASK]s put in their place between the flank tokens."""
    ids = [CLS] + left + [MASK] * len(span) + right + [SEP]
    tensor = torch.tensor([ids])
    with torch.no_grad():
        logits = mlm_logits(params, encoder(params, tensor, torch.ones_like(tensor), "softmax"))
    log_probs = torch.log_softmax(logits[0].double(), dim=-1)
    first = 1 + len(left)
    return sum(log_probs[first + k, token].item() for k, token in enumerate(span))


def llr(params, tokenizer, contig, position, ref, alt, half):
    begin, end = max(0, position - half), min(len(contig), position + len(ref) + half)
    window = contig[begin:end]
    at = position - begin
    assert window[at:at + len(ref)] == ref
    alt_window = window[:at] + alt + window[at + len(ref):]
    ref_cuts, alt_cuts = tokenizer.cuts(window), tokenizer.cuts(alt_window)
    shift = len(alt) - len(ref)
    a = max(x for x in ref_cuts if x <= at and x in alt_cuts)
    b = min(y for y in ref_cuts if y >= at + len(ref) and y + shift in alt_cuts)
    left, right = tokenizer.encode(window[:a]), tokenizer.encode(window[b:])
    ref_span, alt_span = tokenizer.encode(window[a:b]), tokenizer.encode(alt_window[a:b + shift])
    return (masked_log_probability(params, left, alt_span, right)
            - masked_log_probability(params, left, ref_span, right))


def main(fixture, fasta, variants, context, out):
    fixture = Path(fixture)
    params = read_safetensors(fixture / "mlm" / "model.safetensors")
    tokenizer = Tokenizer(fixture / "mlm" / "tokenizer.json")
    contigs = read_fasta(fasta)
    values = []
    for line in Path(variants).read_text().splitlines():
        name, position, ref, alt = line.split("\t")
        values.append(llr(params, tokenizer, contigs[name], int(position), ref, alt, int(context) // 2))
    Path(out).write_text("".join(f"{v:.9g}\n" for v in values))


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(*sys.argv[1:])
