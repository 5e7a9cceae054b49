"""Plain PyTorch reference for bench_sampler: a nanoGPT-style prior of the same size with
a preallocated key/value cache, sampled one token at a time with temperature and
torch.multinomial, the way a Python user would write it. Prints one line
'RESULT {json}' per batch size; bench_sampler runs it and prints the ratio.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width)
        self.fc = nn.Linear(width, 4 * width)
        self.out = nn.Linear(4 * width, width)

    def forward(self, x, cache_k, cache_v, pos):
        B, T, C = x.shape
        hd = C // self.heads
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q = q.view(B, T, self.heads, hd).transpose(1, 2)
        cache_k[:, :, pos:pos + T] = k.view(B, T, self.heads, hd).transpose(1, 2)
        cache_v[:, :, pos:pos + T] = v.view(B, T, self.heads, hd).transpose(1, 2)
        k, v = cache_k[:, :, :pos + T], cache_v[:, :, :pos + T]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.proj(y)
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, vocab, width, heads, layers, context):
        super().__init__()
        self.token = nn.Embedding(vocab, width)
        self.position = nn.Embedding(context + 1, width)
        self.start = nn.Parameter(torch.zeros(width))
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)

    def step(self, x, caches, pos):
        x = x + self.position.weight[pos]
        for block, (k, v) in zip(self.blocks, caches):
            x = block(x, k, v, pos)
        return self.head(self.ln(x))[:, -1]


@torch.inference_mode()
def sample(model, batch, tokens, temperature, layers, heads, width, device):
    hd = width // heads
    caches = [(torch.zeros(batch, heads, tokens + 1, hd, device=device),
               torch.zeros(batch, heads, tokens + 1, hd, device=device)) for _ in range(layers)]
    x = model.start.expand(batch, 1, width)
    out = torch.empty(batch, tokens, dtype=torch.long, device=device)
    for t in range(tokens):
        logits = model.step(x, caches, t)
        probs = F.softmax(logits / temperature, dim=-1)
        nxt = torch.multinomial(probs, 1)
        out[:, t] = nxt[:, 0]
        x = model.token(nxt)
    return out.cpu()


def main():
    p = argparse.ArgumentParser()
    for name, default in [("layers", 8), ("heads", 8), ("width", 512), ("vocab", 1024), ("tokens", 640),
                          ("repeats", 3), ("threads", 0), ("seed", 0)]:
        p.add_argument("--" + name, type=int, default=default)
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", default="1,8")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    device = torch.device(a.device)
    model = GPT(a.vocab, a.width, a.heads, a.layers, a.tokens).to(device).eval()
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads")
    for batch in [int(b) for b in a.batch.split(",") if b]:
        sample(model, batch, a.tokens, 1.0, a.layers, a.heads, a.width, device)  # warm-up
        times = []
        for _ in range(max(1, a.repeats)):
            t0 = time.perf_counter()
            sample(model, batch, a.tokens, 1.0, a.layers, a.heads, a.width, device)
            times.append(time.perf_counter() - t0)
        seconds = sorted(times)[len(times) // 2]
        print("RESULT " + json.dumps({"batch": batch, "mode": "eager", "steps_per_second": a.tokens / seconds}),
              flush=True)


if __name__ == "__main__":
    main()
