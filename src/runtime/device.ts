/**
 * Choosing the execution device. `webgpu` needs an adapter (a GPU driver, or Mesa's software Vulkan
 * "lavapipe" on a GPU-less machine); whether one exists is learned once per process by opening a
 * one-node session on the WebGPU provider. `auto` takes WebGPU when that works, else the CPU; an
 * explicit `webgpu` without an adapter falls back to the CPU too, said once (per process) through `warn`.
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
let fallbackSaid = false;

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
      // ORT's message starts with a source location; the part after the last "was false." says why.
      const line = (e as Error).message.split('\n')[0]!;
      return { available: false, reason: line.replace(/^.*was false\.\s*/, '') };
    }
  })();
  return probe;
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
