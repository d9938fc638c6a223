#!/usr/bin/env python3
"""Plain PyTorch eager reference of germ's causal LM (pre-LN, GeGLU, ALiBi, Softmax_1),
used by bench/run.sh to compare training throughput at the same size, batch and threads.
Usage: pytorch_reference.py THREADS BATCH SEQ_LEN STEPS  -> prints tokens/s"""
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def alibi_slopes(heads):
    closest = 2 ** int(math.floor(math.log2(heads)))
    base = [2 ** (-8.0 * (i + 1) / closest) for i in range(closest)]
    if closest < heads:
        extra = [2 ** (-8.0 * (i + 1) / (2 * closest)) for i in range(2 * closest)]
        base += extra[0::2][: heads - closest]
    return torch.tensor(base)


def softmax1(scores):
    m = scores.amax(-1, keepdim=True).clamp_min(0)
    e = (scores - m).exp()
    return e / (e.sum(-1, keepdim=True) + (-m).exp())


class Layer(nn.Module):
    def __init__(self, d, h, inter):
        super().__init__()
        self.h = h
        self.norm1, self.norm2 = nn.LayerNorm(d, eps=1e-12), nn.LayerNorm(d, eps=1e-12)
        self.wqkv, self.dense = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.gated, self.wo = nn.Linear(d, 2 * inter, bias=False), nn.Linear(inter, d)

    def forward(self, x, bias):
        b, l, d = x.shape
        q, k, v = self.wqkv(self.norm1(x)).chunk(3, -1)
        q, k, v = (t.view(b, l, self.h, -1).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(d // self.h) + bias
        ctx = (softmax1(scores) @ v).transpose(1, 2).reshape(b, l, d)
        x = x + self.dense(ctx)
        g, u = self.gated(self.norm2(x)).chunk(2, -1)
        return x + self.wo(F.gelu(g) * u)


class CausalLM(nn.Module):
    def __init__(self, vocab=10, d=256, h=8, inter=512, layers=4):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList(Layer(d, h, inter) for _ in range(layers))
        self.norm, self.head = nn.LayerNorm(d, eps=1e-12), nn.Linear(d, vocab)
        self.slopes = alibi_slopes(h)

    def forward(self, ids):
        l = ids.shape[1]
        pos = torch.arange(l)
        dist = (pos[:, None] - pos[None, :]).float()
        bias = -self.slopes.view(-1, 1, 1) * dist.abs()
        bias = bias.masked_fill(dist < 0, float("-inf")).unsqueeze(0)
        x = self.emb(ids)
        for layer in self.layers:
            x = layer(x, bias)
        return self.head(self.norm(x))


def main():
    threads, batch, seq, steps = (int(a) for a in sys.argv[1:5])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = CausalLM()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.01)
    ids = torch.randint(5, 9, (batch, seq + 1))

    def step():
        logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, 10), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    elapsed = time.perf_counter() - start
    print(f"{batch * seq * steps / elapsed:.1f}")


if __name__ == "__main__":
    main()
