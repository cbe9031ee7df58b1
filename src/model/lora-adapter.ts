/**
 * An unmerged LoRA adapter applied at load (`minivl chat --lora DIR`): the adapter folder's
 * `adapter_config.json` (r, lora_alpha) and `adapter_model.safetensors` (the reference's names,
 * `<scope>.base_model.model.<module>.lora_{A,B}.default.weight`) become LoRA branches in the
 * inference graphs — the same rewrite the training graph uses, with A/B as initializers.
 */
import { host } from '../host/platform.ts';
import { GraphBuilder, type Value } from '../graph/builder.ts';
import { inlineGraph } from '../graph/inline.ts';
import { SafetensorsFile } from '../io/safetensors.ts';
import { errnoCode, fail } from '../errors.ts';
import { loraRewrite, moduleOfPeftName, type LoraModule, type LoraScope } from './lora.ts';

export interface LoraAdapter {
  dir: string;
  /** Per wrapped model (PEFT's r / lora_alpha for the LLM; `minivl_vision_lora` for InternViT). */
  spec: Record<LoraScope, { rank: number; alpha: number } | undefined>;
  /** PEFT name → float32 values. */
  tensors: Map<string, { data: Float32Array; shape: number[] }>;
}

export async function readLoraAdapter(dir: string): Promise<LoraAdapter> {
  const cfgPath = host.path.join(dir, 'adapter_config.json');
  let cfg: { r?: unknown; lora_alpha?: unknown; minivl_vision_lora?: { r?: unknown; lora_alpha?: unknown } };
  try {
    cfg = JSON.parse(await host.files.readTextFile(cfgPath));
  } catch (e) {
    fail(`${cfgPath}: cannot read the adapter config (${e instanceof SyntaxError ? 'not JSON' : errnoCode(e)})`);
  }
  const specOf = (c: { r?: unknown; lora_alpha?: unknown }, what: string) => {
    const rank = c.r;
    const alpha = c.lora_alpha ?? (typeof rank === 'number' ? 2 * rank : undefined);
    if (!Number.isInteger(rank) || (rank as number) < 1 || typeof alpha !== 'number') fail(`${cfgPath}: ${what}"r" and "lora_alpha" must be numbers`);
    return { rank: rank as number, alpha };
  };
  const spec = { language_model: specOf(cfg, ''), vision_model: cfg.minivl_vision_lora ? specOf(cfg.minivl_vision_lora, 'minivl_vision_lora: ') : undefined };
  const f = await SafetensorsFile.open(host.path.join(dir, 'adapter_model.safetensors'));
  const tensors = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const name of f.names()) {
    if (!moduleOfPeftName(name)) fail(`${f.label}: '${name}' is not a LoRA tensor name (expected <scope>.base_model.model.<module>.lora_A.default.weight)`);
    tensors.set(name, { data: await f.readFloat32(name), shape: f.info(name).shape });
  }
  if (tensors.size === 0) fail(`${f.label}: no LoRA tensors`);
  return { dir, spec, tensors };
}

/** Scopes the adapter touches ('language_model', 'vision_model'). */
export function adapterScopes(a: LoraAdapter): Set<LoraScope> {
  return new Set([...a.tensors.keys()].map((n) => moduleOfPeftName(n)!.module.split('.')[0] as LoraScope));
}

/**
 * A copy of `src` with the adapter's LoRA branches under `scope` (same inputs and outputs). Fails
 * when an adapter module has no linear product in the graph or its shapes do not fit.
 */
export function applyLoraAdapter(src: GraphBuilder, adapter: LoraAdapter, scope: LoraScope): GraphBuilder {
  const modules = new Set([...adapter.tensors.keys()].map((n) => moduleOfPeftName(n)!.module).filter((m) => m.startsWith(`${scope}.`)));
  const g = new GraphBuilder(src.name);
  const inputs: Record<string, Value> = {};
  for (const i of src.listInputs()) inputs[i.name] = g.input(i.name, i.dtype, i.dims ?? []);
  const param = (name: string, dims: (number | string)[]): Value => {
    const t = adapter.tensors.get(name) ?? fail(`${adapter.dir}: no tensor '${name}'`);
    if (t.shape.length !== dims.length || t.shape.some((d, i) => d !== dims[i])) fail(`${adapter.dir}: '${name}' has shape [${t.shape.join(', ')}], the model needs [${dims.join(', ')}]`);
    return g.initializer({ name, dtype: 'float32', dims: t.shape, data: { kind: 'raw', bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) } });
  };
  const attached: LoraModule[] = [];
  const suffixes = [...modules].map((m) => m.slice(scope.length + 1));
  const spec = adapter.spec[scope] ?? fail(`${adapter.dir}: adapter_config.json describes no LoRA for ${scope}`);
  const rewrite = loraRewrite(scope, spec, suffixes, param, attached, () => []);
  // Only the adapter's own modules (suffix matching alone could catch another layer's module).
  const outs = inlineGraph(g, src, { prefix: 'base/', inputs, rewrite: (node, ctx) => {
    const w = ctx.weightOf(node.inputs[1] ?? '');
    return w && modules.has(w.replace(/\.weight$/, '')) ? rewrite(node, ctx) : undefined;
  } });
  const missing = [...modules].filter((m) => !attached.some((a) => a.module === m));
  if (missing.length) fail(`${adapter.dir}: the model has no linear layer '${missing[0]}'`);
  for (const o of src.listOutputs()) g.output(outs[o.name]!, o.name, o.dtype, o.dims);
  return g;
}
