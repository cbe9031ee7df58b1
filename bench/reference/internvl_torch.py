#!/usr/bin/python3
"""PyTorch eager fp32 reference for bench/compare.ts: InternViT (one tile) and the Qwen2 decoder of an
InternVL2-1B checkpoint, written out in plain torch ops (Debian's python3-torch 1.13 has no SDPA and
no transformers), with an HF-style KV cache (concatenate per step). Prints one JSON line:
  {"engine": "torch-fp32", "vision_ms_per_tile", "prefill_tok_s", "decode_tok_s", "load_s", "peak_rss_gib", ...}
Usage: /usr/bin/python3 bench/reference/internvl_torch.py --dir CKPT [--prefill 1024] [--context 1024] [--steps 32] [--threads 2]
"""
import argparse, json, math, os, resource, struct, time

import numpy as np
import torch
import torch.nn.functional as F


def load_safetensors(path, prefix_filter=None):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name, info in header.items():
            if name == "__metadata__" or (prefix_filter and not name.startswith(prefix_filter)):
                continue
            a, b = info["data_offsets"]
            f.seek(base + a)
            raw = np.frombuffer(f.read(b - a), dtype=np.uint16 if info["dtype"] == "BF16" else np.float32)
            if info["dtype"] == "BF16":
                t = torch.from_numpy((raw.astype(np.uint32) << 16).view(np.float32).copy())
            else:
                t = torch.from_numpy(raw.copy())
            out[name] = t.reshape(info["shape"])
        return out


def rms_norm(x, w, eps):
    v = x.pow(2).mean(-1, keepdim=True)
    return x * torch.rsqrt(v + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Qwen2:
    def __init__(self, w, cfg):
        self.w, self.c = w, cfg
        self.L, self.H = cfg["num_hidden_layers"], cfg["hidden_size"]
        self.nh, self.kvh = cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.d = self.H // self.nh
        self.eps = cfg["rms_norm_eps"]
        inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, self.d, 2, dtype=torch.float32) / self.d))
        self.inv_freq = inv
        p = "language_model."
        self.embed = w[p + "model.embed_tokens.weight"]
        self.head = w.get(p + "lm_head.weight", self.embed)

    def rope(self, pos):
        f = torch.outer(pos.float(), self.inv_freq)
        e = torch.cat((f, f), dim=-1)
        return e.cos()[None, None], e.sin()[None, None]

    @torch.no_grad()
    def forward(self, ids, cache, start):
        x = self.embed[ids][None]  # [1, S, H]
        S = x.shape[1]
        cos, sin = self.rope(torch.arange(start, start + S))
        for i in range(self.L):
            p = f"language_model.model.layers.{i}."
            w = self.w
            h = rms_norm(x, w[p + "input_layernorm.weight"], self.eps)
            q = F.linear(h, w[p + "self_attn.q_proj.weight"], w[p + "self_attn.q_proj.bias"]).view(1, S, self.nh, self.d).transpose(1, 2)
            k = F.linear(h, w[p + "self_attn.k_proj.weight"], w[p + "self_attn.k_proj.bias"]).view(1, S, self.kvh, self.d).transpose(1, 2)
            v = F.linear(h, w[p + "self_attn.v_proj.weight"], w[p + "self_attn.v_proj.bias"]).view(1, S, self.kvh, self.d).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            if cache[i] is not None:
                k = torch.cat((cache[i][0], k), dim=2)
                v = torch.cat((cache[i][1], v), dim=2)
            cache[i] = (k, v)
            rep = self.nh // self.kvh
            kr = k.repeat_interleave(rep, dim=1)
            vr = v.repeat_interleave(rep, dim=1)
            T = kr.shape[2]
            s = torch.matmul(q, kr.transpose(-1, -2)) / math.sqrt(self.d)
            if S > 1:
                mask = torch.full((S, T), float("-inf")).triu(T - S + 1)
                s = s + mask
            a = torch.matmul(torch.softmax(s, dim=-1), vr).transpose(1, 2).reshape(1, S, self.H)
            x = x + F.linear(a, w[p + "self_attn.o_proj.weight"])
            h = rms_norm(x, w[p + "post_attention_layernorm.weight"], self.eps)
            g = F.linear(h, w[p + "mlp.gate_proj.weight"])
            u = F.linear(h, w[p + "mlp.up_proj.weight"])
            x = x + F.linear(F.silu(g) * u, w[p + "mlp.down_proj.weight"])
        x = rms_norm(x[:, -1:], self.w["language_model.model.norm.weight"], self.eps)
        return F.linear(x, self.head)[0, -1]


class InternViT:
    def __init__(self, w, vc):
        self.w, self.c = w, vc
        self.D, self.nh = vc["hidden_size"], vc["num_attention_heads"]
        self.L = vc["num_hidden_layers"]
        self.eps = vc["layer_norm_eps"]

    @torch.no_grad()
    def forward(self, px):
        w, D = self.w, self.D
        p = "vision_model."
        x = F.conv2d(px, w[p + "embeddings.patch_embedding.weight"], w[p + "embeddings.patch_embedding.bias"], stride=14)
        T = x.shape[0]
        x = x.flatten(2).transpose(1, 2)
        x = torch.cat((w[p + "embeddings.class_embedding"].expand(T, 1, D), x), dim=1) + w[p + "embeddings.position_embedding"]
        N = x.shape[1]
        dh = D // self.nh
        for i in range(self.L):  # select_layer -1: all layers
            q = f"{p}encoder.layers.{i}."
            h = F.layer_norm(x, (D,), w[q + "norm1.weight"], w[q + "norm1.bias"], self.eps)
            qkv = F.linear(h, w[q + "attn.qkv.weight"], w[q + "attn.qkv.bias"]).view(T, N, 3, self.nh, dh).permute(2, 0, 3, 1, 4)
            s = torch.matmul(qkv[0], qkv[1].transpose(-1, -2)) / math.sqrt(dh)
            a = torch.matmul(torch.softmax(s, dim=-1), qkv[2]).transpose(1, 2).reshape(T, N, D)
            x = x + F.linear(a, w[q + "attn.proj.weight"], w[q + "attn.proj.bias"]) * w[q + "ls1"]
            h = F.layer_norm(x, (D,), w[q + "norm2.weight"], w[q + "norm2.bias"], self.eps)
            h = F.linear(F.gelu(F.linear(h, w[q + "mlp.fc1.weight"], w[q + "mlp.fc1.bias"])), w[q + "mlp.fc2.weight"], w[q + "mlp.fc2.bias"])
            x = x + h * w[q + "ls2"]
        x = x[:, 1:]
        g = int(math.sqrt(x.shape[1]))
        x = x.reshape(T, g, g // 2, D * 2).permute(0, 2, 1, 3).reshape(T, g // 2, g // 2, D * 4).permute(0, 2, 1, 3).reshape(T, -1, D * 4)
        x = F.layer_norm(x, (D * 4,), w["mlp1.0.weight"], w["mlp1.0.bias"], 1e-5)
        x = F.linear(F.gelu(F.linear(x, w["mlp1.1.weight"], w["mlp1.1.bias"])), w["mlp1.3.weight"], w["mlp1.3.bias"])
        return x


def peak_rss_gib():
    # VmHWM, not getrusage: ru_maxrss survives fork + exec (a child reports its parent's peak).
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 2**30


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--prefill", type=int, default=1024)
    ap.add_argument("--context", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--skip-vision", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = json.load(open(os.path.join(a.dir, "config.json")))
    t = time.perf_counter()
    w = load_safetensors(os.path.join(a.dir, "model.safetensors"))
    load_s = time.perf_counter() - t
    out = {"engine": "torch-fp32", "torch": torch.__version__, "threads": a.threads, "load_s": load_s}
    if not a.skip_vision:
        vit = InternViT(w, cfg["vision_config"])
        px = torch.sin(torch.arange(3 * 448 * 448, dtype=torch.float32) * 0.37).reshape(1, 3, 448, 448)
        ts = []
        for _ in range(2):
            t = time.perf_counter(); vit.forward(px); ts.append(time.perf_counter() - t)
        out["vision_ms_per_tile"] = sorted(ts)[0] * 1000
    llm = Qwen2(w, cfg["llm_config"])
    ids = torch.arange(a.prefill) * 7919 % 30000 + 100
    ts = []
    for _ in range(2):
        t = time.perf_counter(); llm.forward(ids, [None] * llm.L, 0); ts.append(time.perf_counter() - t)
    out["prefill_tok_s"] = a.prefill / sorted(ts)[0]
    cache = [None] * llm.L
    llm.forward(torch.arange(a.context) * 7919 % 30000 + 100, cache, 0)
    nxt = torch.tensor([123])
    llm.forward(nxt, cache, a.context)
    t = time.perf_counter()
    for s in range(a.steps):
        logits = llm.forward(nxt, cache, a.context + 1 + s)
        nxt = logits.argmax()[None]
    out["decode_tok_s"] = a.steps / (time.perf_counter() - t)
    out["peak_rss_gib"] = peak_rss_gib()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
