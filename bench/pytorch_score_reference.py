#!/usr/bin/env python3
"""Plain PyTorch eager reference of germ's uncompressed windowed scoring with a causal LM.

Used by the benchmark to report germ's speed ratio against eager PyTorch, and to cross-check
germ's per-base values. Standard library + torch only: the safetensors file is parsed here.

Usage:
  pytorch_score_reference.py MODEL FASTA [--threads N] [--window W] [--context C] [--batch B]
                             [--max-bases X] [--out TSV] [--check]
  pytorch_score_reference.py --self-test

Scoring (as germ): for a contig of length n, windows start at s = 0, W, 2W, ... and score bases
[s, min(s+W, n)); the model input of window s is bases [max(0, s-C), min(s+W, n)). The value of
base p is log_softmax over the logits of A,C,G,T (ids 5..8) at the input token of base p-1,
taken at the observed base (natural log); entropy is -sum p log p over the same distribution.
Base 0 of a contig and N bases get no value (nor does base s of a window when C = 0, since its
predecessor is not in the input).

stdout: one line `bases_scored=<int> seconds=<float> bases_per_second=<float> threads=<N>`, where
bases_scored is the number of bases in the scored windows (the sequence length read) and seconds
covers only the model part (forward passes and the log-softmax/entropy), not FASTA reading,
tokenisation or output. stderr: `values=<int> mean_ll=<float> mean_entropy=<float>`.
--out writes `#contig pos0 ll entropy` (header line, tab-separated) then one row per base with
a value, pos0 0-based. --check recomputes every window with a single unpadded forward over its
full-context input and the full-vocabulary head, prints the max abs difference, exits 1 above 1e-5.
--batch defaults to 1 (measured fastest on the 2-core machine: the [B, H, L, L] scores of bigger
batches leave the caches). OMP_WAIT_POLICY defaults to PASSIVE, as in germ.
--self-test builds random small models in memory and checks scoring against one full-context
forward per window, batch B against batch 1, the model code against bench/pytorch_reference.py's
CausalLM, the safetensors parser, and that the check catches values computed with less context.
"""
import argparse
import json
import math
import os
import struct
import sys
import time

# As germ (cli/main.cpp) and bench/run.sh: passive OpenMP waiting unless the user chose a policy;
# it must be set before libgomp starts, i.e. before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ACGT_IDS = (5, 6, 7, 8)
N_ID = 9
TOLERANCE = 1e-5

# ----------------------------------------------------------------------------- safetensors

_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}


def load_safetensors(path):
    """Returns (tensors: {name: tensor}, metadata: {str: str})."""
    if sys.byteorder != "little":
        raise RuntimeError("safetensors data is little-endian; this reader assumes a little-endian host")
    with open(path, "rb") as f:  # one read: a concurrently replaced (renamed) file stays whole
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", blob[:8])
    if n == 0 or 8 + n > len(blob):
        raise ValueError(f"{path}: bad header length {n}")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    data = bytearray(blob[8 + n:])
    del blob
    tensors = {}
    for name, entry in header.items():
        dtype = _DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {entry['dtype']}")
        begin, end = entry["data_offsets"]
        shape = entry["shape"]
        count = math.prod(shape)
        if end - begin != count * torch.empty((), dtype=dtype).element_size() or end > len(data):
            raise ValueError(f"{path}: tensor {name}: bad data offsets")
        if count == 0:
            t = torch.empty(shape, dtype=dtype)
        else:
            t = torch.frombuffer(data, dtype=dtype, count=count, offset=begin).reshape(shape).clone()
        tensors[name] = t
    return tensors, metadata


# ----------------------------------------------------------------------------- model


def alibi_slopes(heads):
    """As germ's alibi_slopes (src/model/attention.cpp) and bench/pytorch_reference.py."""
    def power_of_two(n):
        start = 2.0 ** (-8.0 / n)
        return [start ** (i + 1) for i in range(n)]

    closest = 1
    while closest * 2 <= heads:
        closest *= 2
    slopes = power_of_two(closest)
    if closest < heads:
        slopes += power_of_two(2 * closest)[0::2][: heads - closest]
    return torch.tensor(slopes, dtype=torch.float32)


def softmax1(scores):
    m = scores.amax(-1, keepdim=True).clamp_min(0)
    e = (scores - m).exp()
    return e / (e.sum(-1, keepdim=True) + (-m).exp())


class GermCausalLM:
    """germ's causal LM as plain functions over a {name: tensor} dict (germ's tensor names)."""

    def __init__(self, tensors, config):
        self.c = config
        self.w = {k: v.float() for k, v in tensors.items()
                  if not (k.startswith("focus.") or k.startswith("__train."))}
        self.layers = int(config["layers"])
        self.d = int(config["hidden"])
        self.h = int(config["heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.attention = config.get("attention", "softmax1")
        self.norm = config.get("norm", "pre")
        self.ffn = config.get("ffn", "geglu")
        if config.get("mask", "causal") != "causal":
            raise ValueError("a causal LM needs mask 'causal'")
        if self.attention not in ("softmax1", "softmax"):
            raise ValueError(f"unknown attention {self.attention}")
        if self.norm not in ("pre", "post") or self.ffn not in ("geglu", "gelu"):
            raise ValueError(f"unsupported norm/ffn {self.norm}/{self.ffn}")
        self.slopes = alibi_slopes(self.h)
        # The ACGT rows of the head: all that renormalised scoring needs.
        self.head_w4 = self.w["lm_head.weight"][ACGT_IDS[0]:ACGT_IDS[-1] + 1].contiguous()
        self.head_b4 = self.w["lm_head.bias"][ACGT_IDS[0]:ACGT_IDS[-1] + 1].contiguous()
        self._bias_cache = {}

    def _ln(self, x, prefix):
        return F.layer_norm(x, (self.d,), self.w[prefix + ".weight"], self.w[prefix + ".bias"], self.eps)

    def _lin(self, x, prefix, bias=True):
        return F.linear(x, self.w[prefix + ".weight"], self.w[prefix + ".bias"] if bias else None)

    def alibi_bias(self, length):
        bias = self._bias_cache.get(length)
        if bias is None:
            pos = torch.arange(length)
            dist = (pos[:, None] - pos[None, :]).float()
            bias = -self.slopes.view(-1, 1, 1) * dist.abs()
            bias = bias.masked_fill(dist < 0, float("-inf")).unsqueeze(0)  # [1, H, L, L]
            self._bias_cache = {length: bias}
        return bias

    def _layer(self, x, i, bias):
        p = f"encoder.layer.{i}"
        b, l, d = x.shape
        a = self._ln(x, p + ".attention.output.LayerNorm") if self.norm == "pre" else x
        q, k, v = self._lin(a, p + ".attention.self.Wqkv").chunk(3, -1)
        q, k, v = (t.view(b, l, self.h, -1).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(d // self.h) + bias
        probs = softmax1(scores) if self.attention == "softmax1" else scores.softmax(-1)
        ctx = (probs @ v).transpose(1, 2).reshape(b, l, d)
        attended = self._lin(ctx, p + ".attention.output.dense")

        def ffn(t):
            if self.ffn == "geglu":
                g, u = self._lin(t, p + ".mlp.gated_layers", bias=False).chunk(2, -1)
                t = F.gelu(g) * u
            else:
                t = F.gelu(self._lin(t, p + ".mlp.dense"))
            return self._lin(t, p + ".mlp.wo")

        if self.norm == "pre":
            x = x + attended
            return x + ffn(self._ln(x, p + ".mlp.layernorm"))
        h = self._ln(x + attended, p + ".attention.output.LayerNorm")
        return self._ln(h + ffn(h), p + ".mlp.layernorm")

    def hidden_states(self, ids):
        x = F.embedding(ids, self.w["embeddings.word_embeddings.weight"])
        if "embeddings.token_type_embeddings.weight" in self.w:
            x = x + self.w["embeddings.token_type_embeddings.weight"][0]
        if self.norm == "post":
            x = self._ln(x, "embeddings.LayerNorm")
        bias = self.alibi_bias(ids.shape[1])
        for i in range(self.layers):
            x = self._layer(x, i, bias)
        return self._ln(x, "encoder.final_norm") if self.norm == "pre" else x

    def acgt_log_probs(self, ids):
        """[B, L] ids -> [B, L, 4] log-probabilities renormalised over A,C,G,T."""
        logits4 = F.linear(self.hidden_states(ids), self.head_w4, self.head_b4)
        return logits4.log_softmax(-1)

    def full_logits(self, ids):
        return self._lin(self.hidden_states(ids), "lm_head")


def load_model(path):
    tensors, metadata = load_safetensors(path)
    kind = metadata.get("germ.kind")
    if kind != "causal-lm":
        raise ValueError(f"{path}: germ.kind is {kind!r}, need 'causal-lm'")
    return GermCausalLM(tensors, json.loads(metadata["germ.config"]))


# ----------------------------------------------------------------------------- sequences

_TOKEN = bytes(N_ID if chr(c) not in "ACGT" else {"A": 5, "C": 6, "G": 7, "T": 8}[chr(c)]
               for c in range(256))
_UPPER = bytes(range(256)).upper()


def read_fasta(path, max_bases=None):
    """Yields (name, token ids as bytes), stopping after max_bases bases in all."""
    remaining = max_bases if max_bases is not None else float("inf")
    name, parts = None, []

    def finish():
        seq = b"".join(parts).translate(_UPPER).translate(_TOKEN)
        return name, seq

    with open(path, "rb") as f:
        for line in f:
            line = line.rstrip(b"\r\n")
            if line.startswith(b">"):
                if name is not None:
                    yield finish()
                if remaining <= 0:
                    return
                name = line[1:].split()[0].decode() if line[1:].split() else ""
                parts = []
            elif name is not None and remaining > 0:
                line = line.strip()
                if len(line) > remaining:
                    line = line[:int(remaining)]
                parts.append(line)
                remaining -= len(line)
    if name is not None:
        yield finish()


def windows(contigs, window, context):
    """Yields (contig index, s, input start, input end, scored end) for every window."""
    for ci, (_, seq) in enumerate(contigs):
        n = len(seq)
        for s in range(0, n, window):
            yield ci, s, max(0, s - context), min(s + window, n), min(s + window, n)


# ----------------------------------------------------------------------------- scoring


def score(model, contigs, window, context, batch):
    """Returns (per-window results [(ci, positions, ll, entropy)], model seconds).
    positions/ll/entropy are 1-D tensors for the bases of the window that have a value."""
    results = []
    seconds = 0.0
    pending = list(windows(contigs, window, context))
    for first in range(0, len(pending), batch):
        group = pending[first:first + batch]
        length = max(e - b for _, _, b, e, _ in group)
        ids = torch.full((len(group), length), N_ID, dtype=torch.long)  # padding after the end
        for row, (ci, _, b, e, _) in enumerate(group):
            ids[row, :e - b] = torch.frombuffer(bytearray(contigs[ci][1][b:e]), dtype=torch.uint8)
        start = time.perf_counter()
        with torch.inference_mode():
            logp = model.acgt_log_probs(ids)  # [B, L, 4]
            ent = -(logp.exp() * logp).sum(-1)  # [B, L]
        seconds += time.perf_counter() - start
        for row, (ci, s, b, e, se) in enumerate(group):
            # Base p is predicted at input index p-1-b; it needs p >= 1 and p-1 >= b.
            lo = max(s, b + 1)
            if lo >= se:
                continue
            target = ids[row, lo - b:se - b]
            pred = logp[row, lo - 1 - b:se - 1 - b]
            keep = target != N_ID
            pos = torch.arange(lo, se)[keep]
            ll = pred[keep].gather(1, (target[keep] - ACGT_IDS[0]).unsqueeze(1)).squeeze(1)
            results.append((ci, s, pos, ll, ent[row, lo - 1 - b:se - 1 - b][keep]))
    return results, seconds


def check(model, contigs, window, context, results):
    """Max abs difference between `results` and one unpadded full-context forward per window
    (full-vocabulary head, ACGT logits renormalised afterwards, values picked per base)."""
    worst = 0.0
    by_window = {(ci, s): (pos, ll, en) for ci, s, pos, ll, en in results}
    with torch.inference_mode():
        for ci, s, b, e, se in windows(contigs, window, context):
            seq = contigs[ci][1]
            ids = torch.tensor(list(seq[b:e]), dtype=torch.long).unsqueeze(0)
            logits = model.full_logits(ids)[0]
            logp = logits[:, ACGT_IDS[0]:ACGT_IDS[-1] + 1].log_softmax(-1)
            ref_pos, ref_ll, ref_en = [], [], []
            for p in range(s, se):
                if p == 0 or p - 1 < b or seq[p] == N_ID:
                    continue
                row = logp[p - 1 - b]
                ref_pos.append(p)
                ref_ll.append(float(row[seq[p] - ACGT_IDS[0]]))
                ref_en.append(float(-(row.exp() * row).sum()))
            pos, ll, en = by_window.get((ci, s), (torch.zeros(0, dtype=torch.long), torch.zeros(0), torch.zeros(0)))
            if pos.tolist() != ref_pos:
                print(f"check: contig {ci} window {s}: positions differ", file=sys.stderr)
                return float("inf")
            if ref_pos:
                worst = max(worst, float((ll - torch.tensor(ref_ll)).abs().max()),
                            float((en - torch.tensor(ref_en)).abs().max()))
    return worst


def run_scoring(model, contigs, args, out=None, do_check=False):
    results, seconds = score(model, contigs, args.window, args.context, args.batch)
    bases = sum(len(seq) for _, seq in contigs)
    values = sum(len(r[2]) for r in results)
    ll_sum = sum(float(r[3].double().sum()) for r in results)
    en_sum = sum(float(r[4].double().sum()) for r in results)
    print(f"bases_scored={bases} seconds={seconds:.6f} "
          f"bases_per_second={bases / seconds if seconds > 0 else 0.0:.1f} threads={args.threads}")
    print(f"values={values} mean_ll={ll_sum / max(values, 1):.6f} "
          f"mean_entropy={en_sum / max(values, 1):.6f}", file=sys.stderr)
    if out:
        with open(out, "w") as f:
            f.write("#contig\tpos0\tll\tentropy\n")
            for ci, _, pos, ll, en in results:
                name = contigs[ci][0]
                f.writelines(f"{name}\t{p}\t{l:.7g}\t{h:.7g}\n"
                             for p, l, h in zip(pos.tolist(), ll.tolist(), en.tolist()))
    if do_check:
        worst = check(model, contigs, args.window, args.context, results)
        print(f"check: max_abs_diff={worst:.3g} (batched+padded vs one full-context forward "
              f"per window; tolerance {TOLERANCE})", file=sys.stderr)
        return worst < TOLERANCE
    return True


# ----------------------------------------------------------------------------- self-test


def random_model(config, seed):
    g = torch.Generator().manual_seed(seed)
    d, inter, v = config["hidden"], config["intermediate"], config["vocab"]

    def r(*shape, scale=0.3):
        return torch.randn(*shape, generator=g) * scale

    w = {"embeddings.word_embeddings.weight": r(v, d, scale=1.0),
         "encoder.final_norm.weight": 1 + r(d, scale=0.1), "encoder.final_norm.bias": r(d, scale=0.1),
         "lm_head.weight": r(v, d), "lm_head.bias": r(v, scale=0.1),
         "__train.step": torch.zeros(1), "focus.ignored.weight": torch.zeros(2)}
    for i in range(config["layers"]):
        p = f"encoder.layer.{i}"
        w.update({
            p + ".attention.self.Wqkv.weight": r(3 * d, d), p + ".attention.self.Wqkv.bias": r(3 * d, scale=0.1),
            p + ".attention.output.dense.weight": r(d, d), p + ".attention.output.dense.bias": r(d, scale=0.1),
            p + ".attention.output.LayerNorm.weight": 1 + r(d, scale=0.1),
            p + ".attention.output.LayerNorm.bias": r(d, scale=0.1),
            p + ".mlp.gated_layers.weight": r(2 * inter, d), p + ".mlp.dense.weight": r(inter, d),
            p + ".mlp.dense.bias": r(inter, scale=0.1),
            p + ".mlp.wo.weight": r(d, inter), p + ".mlp.wo.bias": r(d, scale=0.1),
            p + ".mlp.layernorm.weight": 1 + r(d, scale=0.1), p + ".mlp.layernorm.bias": r(d, scale=0.1),
        })
    return w


def self_test():
    ok = True
    rng = torch.Generator().manual_seed(1)
    letters = "ACGTacgtNnRY"
    lengths = [1, 7, 123, 250, 37, 400]
    contigs = []
    for i, n in enumerate(lengths):
        idx = torch.randint(0, len(letters), (n,), generator=rng).tolist()
        text = "".join(letters[j] for j in idx).encode()
        contigs.append((f"c{i}", text.translate(_UPPER).translate(_TOKEN)))
    base = {"layers": 2, "hidden": 24, "heads": 3, "intermediate": 40, "vocab": 10,
            "layer_norm_eps": 1e-5, "mask": "causal", "norm": "pre", "ffn": "geglu",
            "attention": "softmax1"}
    variants = [dict(base), dict(base, attention="softmax", ffn="gelu", heads=4)]
    settings = [(50, 10, 3), (64, 0, 4), (100, 30, 1), (1000, 100, 8)]
    for vi, config in enumerate(variants):
        model = GermCausalLM(random_model(config, seed=vi), config)
        for window, context, batch in settings:
            results, _ = score(model, contigs, window, context, batch)
            worst = check(model, contigs, window, context, results)
            # Batching/padding must not change anything: batch 1 vs batch B.
            single, _ = score(model, contigs, window, context, 1)
            same = all(a[2].tolist() == b[2].tolist() for a, b in zip(results, single)) and len(results) == len(single)
            diff = max((float((a[3] - b[3]).abs().max()) for a, b in zip(results, single) if len(a[3])), default=0.0)
            good = worst < TOLERANCE and same and diff < TOLERANCE
            ok &= good
            print(f"self-test: {config['attention']}/{config['ffn']} heads={config['heads']} W={window} "
                  f"C={context} B={batch}: max_abs_diff_vs_full_context={worst:.3g} "
                  f"batch_vs_single={diff:.3g} {'ok' if good else 'FAIL'}", file=sys.stderr)
    # Negative control: the check notices values computed with less context than checked.
    model = GermCausalLM(random_model(base, seed=0), base)
    short, _ = score(model, contigs, 50, 5, 3)
    worst = check(model, contigs, 50, 10, short)
    good = worst > 1e-3
    ok &= good
    print(f"self-test: negative control (C=5 values checked as C=10): max_abs_diff={worst:.3g} "
          f"{'ok (detected)' if good else 'FAIL (not detected)'}", file=sys.stderr)
    # The model code agrees with bench/pytorch_reference.py's CausalLM (softmax1, geglu, pre-LN).
    try:
        sys.path.insert(0, __file__.rsplit("/", 1)[0])
        import pytorch_reference as ref
        config = dict(base, layer_norm_eps=1e-12, heads=2, hidden=32)
        w = random_model(config, seed=7)
        ours = GermCausalLM(w, config)
        theirs = ref.CausalLM(vocab=10, d=32, h=2, inter=40, layers=2)
        with torch.no_grad():
            theirs.emb.weight.copy_(w["embeddings.word_embeddings.weight"])
            for i, layer in enumerate(theirs.layers):
                p = f"encoder.layer.{i}"
                for mod, name in ((layer.norm1, ".attention.output.LayerNorm"), (layer.norm2, ".mlp.layernorm"),
                                  (layer.wqkv, ".attention.self.Wqkv"), (layer.dense, ".attention.output.dense"),
                                  (layer.wo, ".mlp.wo")):
                    mod.weight.copy_(w[p + name + ".weight"])
                    mod.bias.copy_(w[p + name + ".bias"])
                layer.gated.weight.copy_(w[p + ".mlp.gated_layers.weight"])
            theirs.norm.weight.copy_(w["encoder.final_norm.weight"])
            theirs.norm.bias.copy_(w["encoder.final_norm.bias"])
            theirs.head.weight.copy_(w["lm_head.weight"])
            theirs.head.bias.copy_(w["lm_head.bias"])
            ids = torch.randint(5, 10, (2, 90), generator=rng)
            diff = float((ours.full_logits(ids) - theirs(ids)).abs().max())
        good = diff < TOLERANCE
        ok &= good
        print(f"self-test: vs pytorch_reference.CausalLM: max_abs_diff={diff:.3g} {'ok' if good else 'FAIL'}",
              file=sys.stderr)
    except ImportError as e:
        print(f"self-test: pytorch_reference.py not importable ({e}); skipped", file=sys.stderr)
    # The safetensors parser round-trips a hand-written file.
    import tempfile
    tensors = {"a": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.tensor([1, -2], dtype=torch.int64)}
    header, blobs, offset = {"__metadata__": {"germ.kind": "causal-lm"}}, [], 0
    for name in ("b", "a"):
        raw = tensors[name].numpy().tobytes()
        header[name] = {"dtype": "F32" if name == "a" else "I64", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.safetensors")
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
        loaded, meta = load_safetensors(path)
    good = meta == {"germ.kind": "causal-lm"} and all(torch.equal(loaded[k], tensors[k]) for k in tensors)
    ok &= good
    print(f"self-test: safetensors parser {'ok' if good else 'FAIL'}", file=sys.stderr)
    print("self-test: " + ("PASS" if ok else "FAIL"), file=sys.stderr)
    return 0 if ok else 1


# ----------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?")
    ap.add_argument("fasta", nargs="?")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--window", type=int, default=1000)
    ap.add_argument("--context", type=int, default=100)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--max-bases", type=int, default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--check", action="store_true",
                    help="recompute every window unbatched over its full context; exit 1 on a difference")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.self_test:
        return self_test()
    if not args.model or not args.fasta:
        ap.error("MODEL and FASTA are required")
    if args.window < 1 or args.context < 0 or args.batch < 1 or args.threads < 1:
        ap.error("--window, --batch and --threads must be >= 1, --context >= 0")
    model = load_model(args.model)
    contigs = list(read_fasta(args.fasta, args.max_bases))
    return 0 if run_scoring(model, contigs, args, args.out, args.check) else 1


if __name__ == "__main__":
    sys.exit(main())
