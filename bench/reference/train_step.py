"""PyTorch CPU reference for bench/finetune-step.ts: one InternVL2 training step of the same shapes
(random float32 weights): InternViT (frozen) on the tiles -> pixel shuffle -> mlp1 -> Qwen2-style
decoder over the whole sequence -> cross-entropy on the labelled tail -> backward -> AdamW.
mode lora: LoRA (r, alpha 2r, no dropout) on q/k/v/o/gate/up/down, everything else frozen;
mode mlp: mlp1 trained, the rest frozen; mode full: every LLM tensor (embedding, head, norms) and mlp1
trained, the ViT frozen (no drop path). Prints one JSON line.
  /usr/bin/python3 bench/reference/train_step.py --config CONFIG.json --mode lora --tokens 512
"""
import argparse, json, math, resource, sys, time
import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument('--config', required=True)
p.add_argument('--mode', default='lora')
p.add_argument('--tokens', type=int, default=512)
p.add_argument('--labelled', type=int, default=64)
p.add_argument('--tiles', type=int, default=1)
p.add_argument('--rank', type=int, default=16)
p.add_argument('--steps', type=int, default=3)
p.add_argument('--warmup', type=int, default=1, help='untimed steps first (eager PyTorch barely needs one)')
p.add_argument('--threads', type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
cfg = json.load(open(a.config))
vc, lc = cfg['vision_config'], cfg['llm_config']

def attend(q, k, v, causal):
    # torch 1.13 (Debian) has no F.scaled_dot_product_attention: the plain form.
    s = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    if causal:
        n = s.shape[-1]
        s = s.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float('-inf'))
    return s.softmax(-1) @ v

def w(*s, scale=0.02):
    return torch.randn(*s) * scale

class Lin(torch.nn.Module):
    def __init__(s, i, o, bias, lora):
        super().__init__()
        s.w = torch.nn.Parameter(w(o, i), requires_grad=full)
        s.b = torch.nn.Parameter(torch.zeros(o), requires_grad=full) if bias else None
        s.lora = lora
        if lora:
            s.A = torch.nn.Parameter(w(a.rank, i)); s.B = torch.nn.Parameter(torch.zeros(o, a.rank))
    def forward(s, x):
        y = F.linear(x, s.w, s.b)
        if s.lora: y = y + 2.0 * F.linear(F.linear(x, s.A), s.B)
        return y

D, NHV, I = vc['hidden_size'], vc['num_attention_heads'], vc['intermediate_size']
H, NH, KVH, IL, V = lc['hidden_size'], lc['num_attention_heads'], lc['num_key_value_heads'], lc['intermediate_size'], lc['vocab_size']
hd = H // NH
lora = a.mode == 'lora'
full = a.mode == 'full'

class VitBlock(torch.nn.Module):
    def __init__(s):
        super().__init__()
        s.n1, s.n2 = torch.nn.LayerNorm(D, eps=1e-6), torch.nn.LayerNorm(D, eps=1e-6)
        s.qkv, s.proj, s.fc1, s.fc2 = Lin(D, 3 * D, True, False), Lin(D, D, True, False), Lin(D, I, True, False), Lin(I, D, True, False)
    def forward(s, x):
        T, N, _ = x.shape
        q, k, v = s.qkv(s.n1(x)).view(T, N, 3, NHV, D // NHV).permute(2, 0, 3, 1, 4)
        o = attend(q, k, v, False).transpose(1, 2).reshape(T, N, D)
        x = x + 0.1 * s.proj(o)
        return x + 0.1 * s.fc2(F.gelu(s.fc1(s.n2(x))))

class Rms(torch.nn.Module):
    def __init__(s): super().__init__(); s.w = torch.nn.Parameter(torch.ones(H), requires_grad=full)
    def forward(s, x): return s.w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6))

class Layer(torch.nn.Module):
    def __init__(s):
        super().__init__()
        s.n1, s.n2 = Rms(), Rms()
        s.q, s.k, s.v = Lin(H, NH * hd, True, lora), Lin(H, KVH * hd, True, lora), Lin(H, KVH * hd, True, lora)
        s.o = Lin(NH * hd, H, False, lora)
        s.g, s.u, s.d = Lin(H, IL, False, lora), Lin(H, IL, False, lora), Lin(IL, H, False, lora)
    def forward(s, x, cos, sin):
        L = x.shape[1]
        h = s.n1(x)
        q = s.q(h).view(1, L, NH, hd).transpose(1, 2); k = s.k(h).view(1, L, KVH, hd).transpose(1, 2); v = s.v(h).view(1, L, KVH, hd).transpose(1, 2)
        rot = lambda t: torch.cat([-t[..., hd // 2:], t[..., :hd // 2]], -1)
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        k, v = k.repeat_interleave(NH // KVH, 1), v.repeat_interleave(NH // KVH, 1)
        o = attend(q, k, v, True).transpose(1, 2).reshape(1, L, H)
        x = x + s.o(o)
        h = s.n2(x)
        return x + s.d(F.silu(s.g(h)) * s.u(h))

vit = torch.nn.ModuleList([VitBlock() for _ in range(vc['num_hidden_layers'])])
patch = torch.nn.Conv2d(3, D, 14, 14)
for q in patch.parameters(): q.requires_grad = False
mlp1 = torch.nn.Sequential(torch.nn.LayerNorm(4 * D), torch.nn.Linear(4 * D, H), torch.nn.GELU(), torch.nn.Linear(H, H))
for q in mlp1.parameters(): q.requires_grad = not lora
layers = torch.nn.ModuleList([Layer() for _ in range(lc['num_hidden_layers'])])
norm = Rms()
embed = torch.nn.Parameter(w(V, H), requires_grad=full); head = torch.nn.Parameter(w(V, H), requires_grad=full)
params = [q for m in (layers, mlp1, norm) for q in m.parameters() if q.requires_grad] + ([embed, head] if full else [])
opt = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.01)

L = a.tokens
img = 256 * a.tiles
ids = torch.randint(0, V, (L,))
pix = torch.randn(a.tiles, 3, 448, 448)
pos = torch.arange(L, dtype=torch.float32)
inv = 1.0 / (lc.get('rope_theta', 1e6) ** (torch.arange(0, hd, 2).float() / hd))
ang = pos[:, None] * inv[None]
cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)
labels = ids.clone(); labels[:L - a.labelled] = -100

def step():
    with torch.no_grad():
        x = patch(pix).flatten(2).transpose(1, 2)
        x = torch.cat([torch.zeros(a.tiles, 1, D), x], 1)
        for b in vit: x = b(x)
        x = x[:, 1:].reshape(a.tiles, 32, 16, 2 * D).transpose(1, 2).reshape(a.tiles, 16, 16, 4 * D).transpose(1, 2).reshape(a.tiles, 256, 4 * D)
    v = mlp1(x).reshape(-1, H)
    e = torch.cat([embed[ids[:8]], v, embed[ids[8 + img:]]], 0)[None]
    for l in layers: e = l(e, cos, sin)
    h = norm(e)[0, L - a.labelled - 1:L - 1]
    loss = F.cross_entropy(F.linear(h, head), labels[L - a.labelled:])
    opt.zero_grad(); loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    return loss.item()

for _ in range(a.warmup): step()
times = []
for i in range(a.steps):
    t = time.perf_counter(); step(); times.append(time.perf_counter() - t)
    print(f'step {i + 1}: {times[-1]:.1f} s', file=sys.stderr, flush=True)
times.sort()
s = times[len(times) // 2]
blas = 'openblas' if 'openblas' in torch.__config__.show().lower() else 'the BLAS torch links (see torch.__config__.show())'
print(json.dumps({'impl': f'pytorch {torch.__version__} cpu', 'blas': blas, 'mode': a.mode, 'tokens': L, 'tiles': a.tiles, 'threads': a.threads,
                  'step_s': s, 'tokens_per_s': L / s, 'peak_rss_gib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20,
                  'trainable_params': sum(q.numel() for q in params)}))
