#!/usr/bin/env python3
"""A tiny Hugging Face checkpoint in the DNABERT-2 layout, with reference outputs.

Real DNABERT-2 / GERM weights cannot be downloaded where germ's tests run, so this script
builds a faithful stand-in with nothing but python3 + torch + json + struct:

  <out>/mlm/         config.json, model.safetensors (BertForMaskedLM names), tokenizer.json
  <out>/classifier/  the same encoder with bert.pooler + classifier (BertForSequenceClassification)
  <out>/reference.safetensors  token ids of test strings, and the model outputs germ must match

The model follows DNABERT-2's bert_layers.py (MosaicBERT): word + token-type embeddings and a
LayerNorm, no position embeddings; post-LN layers whose attention uses one fused Wqkv, ALiBi
biases (the MosaicBERT slope rule, also for a head count that is not a power of two) and a
-10000 key mask on unpadded tokens; a GeGLU MLP (gated_layers -> GELU(first half) * second half
-> wo) with its own LayerNorm; an MLM head of dense -> GELU -> LayerNorm(eps 1e-12) -> decoder
tied to the word embeddings. The tokenizer is BPE in the `tokenizers` library's sense: a
vocabulary and ranked merges applied to each Whitespace-split word. Merges are learned here by
a small trainer and applied by a deliberately simple algorithm (rescan for the lowest-rank
pair each time), independent of germ's heap-based encoder, so the test cross-checks the two.
"""
import json
import math
import random
import re
import struct
import sys
from pathlib import Path

import torch

SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
UNK, CLS, SEP, PAD = 0, 1, 2, 3
CONFIG = {
    "architectures": ["BertForMaskedLM"],
    "model_type": "bert",
    "hidden_size": 72,
    "num_hidden_layers": 2,
    "num_attention_heads": 6,  # not a power of two: exercises the interleaved ALiBi slopes
    "intermediate_size": 96,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.0,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
    "alibi_starting_size": 512,
    "position_embedding_type": "absolute",
}
MERGES = 240


# ---------------------------------------------------------------- DNA and BPE
def training_dna(rng):
    """A few kb with repeated motifs (so BPE learns long tokens) in random background."""
    motifs = ["TATAAA", "GGGCGG", "CACGTG", "TTGACA", "AATAAA", "CCAAT", "GATC"]
    sequences = []
    for _ in range(40):
        parts = []
        while sum(map(len, parts)) < 150:
            parts.append(rng.choice(motifs) if rng.random() < 0.4 else "".join(rng.choice("ACGT") for _ in range(rng.randint(1, 8))))
        sequences.append("".join(parts))
    return sequences


def train_bpe(words, merges_wanted):
    """Most frequent adjacent pair first (ties by text), merged left to right in every word."""
    vocab = SPECIALS + ["A", "C", "G", "T", "N"]
    segmented = [list(w) for w in words]
    merges = []
    while len(merges) < merges_wanted:
        counts = {}
        for symbols in segmented:
            for pair in zip(symbols, symbols[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))
        merges.append(best)
        if best[0] + best[1] not in vocab:
            vocab.append(best[0] + best[1])
        for i, symbols in enumerate(segmented):
            merged, j = [], 0
            while j < len(symbols):
                if j + 1 < len(symbols) and (symbols[j], symbols[j + 1]) == best:
                    merged.append(best[0] + best[1])
                    j += 2
                else:
                    merged.append(symbols[j])
                    j += 1
            segmented[i] = merged
    return vocab, merges


def bpe_encode(text, vocab_ids, ranks):
    """`tokenizers` semantics: Whitespace pre-tokenizer, then per word the lowest-rank pair
    (leftmost on ties) is merged until no adjacent pair is a merge."""
    ids = []
    for word in re.findall(r"\w+|[^\w\s]+", text):
        symbols = list(word)
        while True:
            best = None
            for i in range(len(symbols) - 1):
                rank = ranks.get((symbols[i], symbols[i + 1]))
                if rank is not None and (best is None or rank < best[0]):
                    best = (rank, i)
            if best is None:
                break
            i = best[1]
            symbols[i:i + 2] = [symbols[i] + symbols[i + 1]]
        ids.extend(vocab_ids.get(s, UNK) for s in symbols)
    return ids


def tokenizer_json(vocab, merges):
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, t in enumerate(SPECIALS)]
    special = lambda t: {"SpecialToken": {"id": t, "type_id": 0}}
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": None, "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [special("[CLS]"), {"Sequence": {"id": "A", "type_id": 0}}, special("[SEP]")],
            "pair": [special("[CLS]"), {"Sequence": {"id": "A", "type_id": 0}}, special("[SEP]"),
                     {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {t: {"id": t, "ids": [SPECIALS.index(t)], "tokens": [t]} for t in ("[CLS]", "[SEP]")},
        },
        "decoder": None,
        "model": {"type": "BPE", "dropout": None, "unk_token": "[UNK]", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "vocab": {t: i for i, t in enumerate(vocab)}, "merges": [f"{a} {b}" for a, b in merges]},
    }


# ---------------------------------------------------------------- the model
def alibi_slopes(heads):
    def geometric(n):
        first = 2.0 ** (-8.0 / n)
        return [first ** (i + 1) for i in range(n)]
    if math.log2(heads).is_integer():
        return geometric(heads)
    lower = 2 ** math.floor(math.log2(heads))
    return geometric(lower) + alibi_slopes(2 * lower)[0::2][: heads - lower]


def softmax1(scores):
    top = scores.max(dim=-1, keepdim=True).values.clamp_min(0)
    e = (scores - top).exp()
    return e / (e.sum(dim=-1, keepdim=True) + (-top).exp())


def layer_norm(x, p, name, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), p[name + ".weight"], p[name + ".bias"], eps)


def linear(x, p, name):
    return torch.nn.functional.linear(x, p[name + ".weight"], p.get(name + ".bias"))


def encoder(p, ids, mask, normaliser):
    """DNABERT-2's BertModel forward on a padded batch; padded positions come back as zeros."""
    c = CONFIG
    eps, heads = c["layer_norm_eps"], c["num_attention_heads"]
    batch, length = ids.shape
    head_dim = c["hidden_size"] // heads
    x = p["bert.embeddings.word_embeddings.weight"][ids] + p["bert.embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, p, "bert.embeddings.LayerNorm", eps)
    keep = mask.bool().flatten()
    x = x.reshape(batch * length, -1)[keep]  # unpadded tokens [nnz, d]
    position = torch.arange(length)
    alibi = -torch.tensor(alibi_slopes(heads)).view(-1, 1, 1) * (position[None, :] - position[:, None]).abs()
    bias = alibi.unsqueeze(0) + ((1.0 - mask.float()) * -10000.0)[:, None, None, :]
    for layer in range(c["num_hidden_layers"]):
        n = f"bert.encoder.layer.{layer}."
        qkv = torch.zeros(batch * length, 3 * c["hidden_size"])
        qkv[keep] = linear(x, p, n + "attention.self.Wqkv")
        qkv = qkv.view(batch, length, 3, heads, head_dim)
        q, k, v = (qkv[:, :, i].transpose(1, 2) for i in range(3))  # [B, H, L, D]
        scores = q @ k.transpose(-1, -2) / math.sqrt(head_dim) + bias
        weights = softmax1(scores) if normaliser == "softmax1" else torch.softmax(scores, dim=-1)
        context = (weights @ v).transpose(1, 2).reshape(batch * length, -1)[keep]
        x = layer_norm(linear(context, p, n + "attention.output.dense") + x, p, n + "attention.output.LayerNorm", eps)
        gated = linear(x, p, n + "mlp.gated_layers")
        half = c["intermediate_size"]
        ffn = linear(torch.nn.functional.gelu(gated[:, :half]) * gated[:, half:], p, n + "mlp.wo")
        x = layer_norm(ffn + x, p, n + "mlp.layernorm", eps)
    out = torch.zeros(batch * length, c["hidden_size"])
    out[keep] = x
    return out.view(batch, length, -1)


def mlm_logits(p, hidden):
    h = torch.nn.functional.gelu(linear(hidden, p, "cls.predictions.transform.dense"))
    h = layer_norm(h, p, "cls.predictions.transform.LayerNorm", 1e-12)  # hard-coded in DNABERT-2
    return torch.nn.functional.linear(h, p["cls.predictions.decoder.weight"], p["cls.predictions.decoder.bias"])


def class_logits(p, hidden):
    pooled = torch.tanh(linear(hidden[:, 0], p, "bert.pooler.dense"))
    return linear(pooled, p, "classifier")


def make_parameters(vocab_size, generator):
    c = CONFIG
    d, inter = c["hidden_size"], c["intermediate_size"]
    rand = lambda *shape, scale=0.15: torch.randn(*shape, generator=generator) * scale
    norm = lambda name: {name + ".weight": 1 + rand(d, scale=0.1), name + ".bias": rand(d, scale=0.1)}
    p = {"bert.embeddings.word_embeddings.weight": rand(vocab_size, d, scale=0.5),
         "bert.embeddings.token_type_embeddings.weight": rand(c["type_vocab_size"], d, scale=0.5)}
    p.update(norm("bert.embeddings.LayerNorm"))
    for layer in range(c["num_hidden_layers"]):
        n = f"bert.encoder.layer.{layer}."
        p[n + "attention.self.Wqkv.weight"], p[n + "attention.self.Wqkv.bias"] = rand(3 * d, d), rand(3 * d)
        p[n + "attention.output.dense.weight"], p[n + "attention.output.dense.bias"] = rand(d, d), rand(d)
        p.update(norm(n + "attention.output.LayerNorm"))
        p[n + "mlp.gated_layers.weight"] = rand(2 * inter, d)
        p[n + "mlp.wo.weight"], p[n + "mlp.wo.bias"] = rand(d, inter), rand(d)
        p.update(norm(n + "mlp.layernorm"))
    return p


# ---------------------------------------------------------------- files
DTYPES = {torch.float32: ("F32", "f"), torch.int64: ("I64", "q")}


def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        dtype, code = DTYPES[t.dtype]
        values = t.contiguous().flatten().tolist()
        blob = struct.pack(f"<{len(values)}{code}", *values)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def write_checkpoint(directory, config, tensors, tokenizer):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config, indent=2))
    (directory / "tokenizer.json").write_text(json.dumps(tokenizer))
    write_safetensors(directory / "model.safetensors", tensors)


def main(out):
    out = Path(out)
    rng = random.Random(7)
    generator = torch.Generator().manual_seed(7)
    vocab, merges = train_bpe(training_dna(rng), MERGES)
    vocab_ids = {t: i for i, t in enumerate(vocab)}
    ranks = {pair: rank for rank, pair in enumerate(merges)}
    tokenizer = tokenizer_json(vocab, merges)
    config = dict(CONFIG, vocab_size=len(vocab))

    d = CONFIG["hidden_size"]
    p = make_parameters(len(vocab), generator)
    mlm = dict(p)
    mlm["cls.predictions.transform.dense.weight"] = torch.randn(d, d, generator=generator) * 0.15
    mlm["cls.predictions.transform.dense.bias"] = torch.randn(d, generator=generator) * 0.15
    mlm["cls.predictions.transform.LayerNorm.weight"] = 1 + torch.randn(d, generator=generator) * 0.1
    mlm["cls.predictions.transform.LayerNorm.bias"] = torch.randn(d, generator=generator) * 0.1
    mlm["cls.predictions.decoder.weight"] = p["bert.embeddings.word_embeddings.weight"]  # tied
    mlm["cls.predictions.decoder.bias"] = torch.randn(len(vocab), generator=generator) * 0.1
    write_checkpoint(out / "mlm", config, mlm, tokenizer)

    classifier = dict(p)
    classifier["bert.pooler.dense.weight"] = torch.randn(d, d, generator=generator) * 0.15
    classifier["bert.pooler.dense.bias"] = torch.randn(d, generator=generator) * 0.15
    classifier["classifier.weight"] = torch.randn(3, d, generator=generator) * 0.3
    classifier["classifier.bias"] = torch.randn(3, generator=generator) * 0.1
    labels = {"0": "promoter", "1": "enhancer", "2": "background"}
    write_checkpoint(out / "classifier", dict(config, architectures=["BertForSequenceClassification"],
                                              id2label=labels, label2id={v: int(k) for k, v in labels.items()}),
                     classifier, tokenizer)

    # Token ids: DNA (with N and motif runs), repeats that make overlapping pairs, and text
    # that exercises [UNK] and the Whitespace pre-tokenizer.
    strings = ["".join(rng.choice("ACGT") for _ in range(rng.randint(40, 160))) for _ in range(6)]
    strings += ["TATAAAGGGCGGCACGTGNNNNACGT", "AAAAAAAAAAAAA", "GATCGATCGATC", "A", "ACGTXACGT", "ACGT-TATA AAGG ,,C"]
    tokens = [bpe_encode(s, vocab_ids, ranks) for s in strings]
    flat = [i for t in tokens for i in t]

    # A padded batch of framed DNA sequences of different lengths for the model outputs.
    batch_strings = strings[:7]
    framed = [[CLS] + bpe_encode(s, vocab_ids, ranks) + [SEP] for s in batch_strings]
    length = max(map(len, framed))
    ids = torch.tensor([f + [PAD] * (length - len(f)) for f in framed])
    mask = torch.tensor([[1] * len(f) + [0] * (length - len(f)) for f in framed])
    with torch.no_grad():
        hidden = encoder(p, ids, mask, "softmax")
        reference = {
            "token_ids": torch.tensor(flat), "token_counts": torch.tensor([len(t) for t in tokens]),
            "input_ids": ids, "attention_mask": mask,
            "hidden_states": hidden, "mlm_logits": mlm_logits(mlm, hidden),
            "class_logits": class_logits(classifier, hidden),
            "hidden_states_softmax1": encoder(p, ids, mask, "softmax1"),
        }
    write_safetensors(out / "reference.safetensors", reference, {"strings": json.dumps(strings)})
    print(f"{out}: vocab {len(vocab)}, {len(merges)} merges, batch {tuple(ids.shape)}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_dnabert2_checkpoint.py OUT_DIR")
    main(sys.argv[1])
