/**
 * The benchmarks' name for a minivl configuration, `P[+prefill-W]`: precision P, with prefill weights W
 * (MiniVLLoadOptions.prefillWeights) when given — e.g. `int4+prefill-int8` (bench/compare.ts engine
 * `minivl-int4+prefill-int8`, bench/ttft.ts `--dtypes`).
 */
export function splitVariant(name: string): { dtype: string; prefillWeights?: string } {
  const [dtype, prefillWeights] = name.split('+prefill-') as [string, string | undefined];
  return prefillWeights === undefined ? { dtype } : { dtype, prefillWeights };
}
