/**
 * Choosing the execution device. `webgpu` needs an adapter (a GPU driver, or Mesa's software Vulkan
 * "lavapipe" on a GPU-less machine); whether one exists is learned once per process by opening a
 * one-node session on the WebGPU provider. `auto` takes WebGPU when that works, else the CPU; an
 * explicit `webgpu` without an adapter falls back to the CPU too, said once (per process) through `warn`.
 *
 * fp16 on WebGPU computes in float16 (graph/float16.ts) only where the adapter runs float16 kernels
 * (WebGPU's optional `shader-f16` feature): learned once by a probe session of float16 MatMul +
 * Softmax with ONNX Runtime's CPU fallback turned off, so a missing float16 kernel fails the probe
 * instead of moving to the CPU. onnxruntime-node exposes no adapter object to ask directly. Without
 * it fp16 runs the float32 kernels (the fp16 weights widened once at load), said once.
 */
import { GraphBuilder } from '../graph/builder.ts';
import { fail } from '../errors.ts';
import { DEVICE_REQUESTS, type Device, type DeviceRequest } from '../host/types.ts';

export interface WebGpuProbe {
  available: boolean;
  /** Why not (ONNX Runtime's first error line), when unavailable. */
  reason?: string;
}

let probe: Promise<WebGpuProbe> | null = null;
let f16Probe: Promise<WebGpuProbe> | null = null;
let fallbackSaid = false;
let f16FallbackSaid = false;

/** ORT's message starts with a source location; the part after the last "was false." says why. */
const ortReason = (e: unknown) => (e as Error).message.split('\n')[0]!.replace(/^.*was false\.\s*/, '');

/** Whether the WebGPU provider finds an adapter here (probed once per process). */
export function probeWebGpu(): Promise<WebGpuProbe> {
  probe ??= (async () => {
    const g = new GraphBuilder('minivl_webgpu_probe');
    const x = g.input('x', 'float32', [1]);
    g.output(g.add(x, x), 'y', 'float32', [1]);
    try {
      // Loaded here, not at import: parsing a --device flag must not start ONNX Runtime.
      const { ort } = await import('./session.ts');
      const s = await ort.InferenceSession.create(g.toBytes(), { executionProviders: ['webgpu'], logSeverityLevel: 3 });
      const y = await s.run({ x: new ort.Tensor('float32', new Float32Array([1]), [1]) });
      await s.release();
      if ((y.y!.data as Float32Array)[0] !== 2) return { available: false, reason: 'the WebGPU provider computed a wrong result' };
      return { available: true };
    } catch (e) {
      return { available: false, reason: ortReason(e) };
    }
  })();
  return probe;
}

/**
 * Whether float16 kernels run on this WebGPU adapter (probed once per process, after probeWebGpu):
 * y = Softmax(x · x) in float16 with every node required on the WebGPU provider.
 */
export function probeWebGpuFloat16(): Promise<WebGpuProbe> {
  f16Probe ??= (async () => {
    const base = await probeWebGpu();
    if (!base.available) return base;
    const g = new GraphBuilder('minivl_webgpu_f16_probe');
    const x = g.input('x', 'float16', [2, 2]);
    g.output(g.softmax(g.matMul(x, x), -1), 'y', 'float16', [2, 2]);
    try {
      const { ort } = await import('./session.ts');
      const s = await ort.InferenceSession.create(g.toBytes(), {
        executionProviders: ['webgpu'],
        logSeverityLevel: 3,
        extra: { session: { disable_cpu_ep_fallback: '1' } },
      });
      // x = [[1, 0], [0, 1]] → x·x = I → each row softmax([1, 0]) = [0.731, 0.269] (float16 bits 0x39d9, 0x344e).
      const one = 0x3c00;
      const y = await s.run({ x: new ort.Tensor('float16', new Uint16Array([one, 0, 0, one]), [2, 2]) });
      await s.release();
      const got = Array.from(y.y!.data as Uint16Array);
      if (Math.abs(got[0]! - 0x39d9) > 1 || Math.abs(got[1]! - 0x344e) > 1) return { available: false, reason: 'float16 kernels computed a wrong result' };
      return { available: true };
    } catch (e) {
      return { available: false, reason: ortReason(e) };
    }
  })();
  return f16Probe;
}

/** How a precision computes on a device: whether its float tensors are float16 in the kernels. */
export interface ComputePlan {
  float16: boolean;
  /** Said once when fp16 was asked for on WebGPU and runs the float32 kernels instead. */
  fallback?: string;
}

/** The compute plan of `precision` on `device`, given the float16 probe (a pure decision). */
export function computePlan(device: Device, precision: string, f16: WebGpuProbe | null): ComputePlan {
  if (device !== 'webgpu' || precision !== 'fp16') return { float16: false };
  if (f16?.available) return { float16: true };
  return { float16: false, fallback: `webgpu: no float16 kernels on this adapter (${f16?.reason ?? 'not probed'}); fp16 runs the float32 kernels` };
}

/** Says a fallback once per process (a second load learns nothing new). */
export function sayFloat16Fallback(msg: string, warn?: (msg: string) => void): void {
  if (!warn || f16FallbackSaid) return;
  f16FallbackSaid = true;
  warn(msg);
}

export function parseDevice(s: string, what = '--device'): DeviceRequest {
  if (!(DEVICE_REQUESTS as readonly string[]).includes(s)) fail(`${what} must be one of ${DEVICE_REQUESTS.join(', ')}, got '${s}'`);
  return s as DeviceRequest;
}

/** The device a request runs on; a WebGPU request without an adapter warns once and runs on the CPU. */
export async function resolveDevice(req: DeviceRequest = 'cpu', warn?: (msg: string) => void): Promise<Device> {
  if (req === 'cpu') return 'cpu';
  const p = await probeWebGpu();
  if (p.available) return 'webgpu';
  // Said once per process: a second load (bench's warm load, a server's reload) learns nothing new.
  if (req === 'webgpu' && warn && !fallbackSaid) {
    fallbackSaid = true;
    warn(`webgpu: no WebGPU adapter (${p.reason}); running on the CPU`);
  }
  return 'cpu';
}
