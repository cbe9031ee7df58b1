/**
 * The three decoder families as data: tensor names and how the packed projections split
 * (architecture.md §8). The shared decoder core (decoder.ts) reads only this description.
 */
import type { LlmConfig } from './config.ts';

const P = 'language_model.';

export type QkvLayout =
  /** Separate q/k/v projections (Qwen2), optional biases. */
  | { kind: 'separate'; q: string; k: string; v: string; bias: boolean }
  /** One projection, rows [Q heads | K heads | V heads] (Phi-3 qkv_proj). */
  | { kind: 'packed'; w: string; bias: boolean }
  /** One projection in KV groups of [group query heads, 1 key head, 1 value head] (InternLM2 wqkv). */
  | { kind: 'grouped'; w: string; bias: boolean };

export type MlpLayout =
  | { kind: 'separate'; gate: string; up: string; down: string }
  /** gate_up_proj rows [gate | up] (Phi-3). */
  | { kind: 'packed'; gateUp: string; down: string };

export interface LayerNames {
  attnNorm: string;
  mlpNorm: string;
  qkv: QkvLayout;
  o: string;
  oBias: boolean;
  mlp: MlpLayout;
}

export interface FamilySpec {
  embed: string;
  finalNorm: string;
  lmHead: string;
  layer(i: number): LayerNames;
}

/** Names without the `.weight` / `.bias` suffix. */
export function familySpec(llm: LlmConfig): FamilySpec {
  switch (llm.family) {
    case 'qwen2':
      return {
        embed: `${P}model.embed_tokens.weight`,
        finalNorm: `${P}model.norm.weight`,
        lmHead: `${P}lm_head.weight`,
        layer: (i) => {
          const l = `${P}model.layers.${i}.`;
          return {
            attnNorm: `${l}input_layernorm.weight`,
            mlpNorm: `${l}post_attention_layernorm.weight`,
            qkv: { kind: 'separate', q: `${l}self_attn.q_proj`, k: `${l}self_attn.k_proj`, v: `${l}self_attn.v_proj`, bias: llm.qkvBias },
            o: `${l}self_attn.o_proj`,
            oBias: llm.oBias,
            mlp: { kind: 'separate', gate: `${l}mlp.gate_proj`, up: `${l}mlp.up_proj`, down: `${l}mlp.down_proj` },
          };
        },
      };
    case 'internlm2':
      return {
        embed: `${P}model.tok_embeddings.weight`,
        finalNorm: `${P}model.norm.weight`,
        lmHead: `${P}output.weight`,
        layer: (i) => {
          const l = `${P}model.layers.${i}.`;
          return {
            attnNorm: `${l}attention_norm.weight`,
            mlpNorm: `${l}ffn_norm.weight`,
            qkv: { kind: 'grouped', w: `${l}attention.wqkv`, bias: llm.qkvBias },
            o: `${l}attention.wo`,
            oBias: llm.oBias,
            mlp: { kind: 'separate', gate: `${l}feed_forward.w1`, up: `${l}feed_forward.w3`, down: `${l}feed_forward.w2` },
          };
        },
      };
    case 'phi3':
      return {
        embed: `${P}model.embed_tokens.weight`,
        finalNorm: `${P}model.norm.weight`,
        lmHead: `${P}lm_head.weight`,
        layer: (i) => {
          const l = `${P}model.layers.${i}.`;
          return {
            attnNorm: `${l}input_layernorm.weight`,
            mlpNorm: `${l}post_attention_layernorm.weight`,
            qkv: { kind: 'packed', w: `${l}self_attn.qkv_proj`, bias: false },
            o: `${l}self_attn.o_proj`,
            oBias: false,
            mlp: { kind: 'packed', gateUp: `${l}mlp.gate_up_proj`, down: `${l}mlp.down_proj` },
          };
        },
      };
  }
}
