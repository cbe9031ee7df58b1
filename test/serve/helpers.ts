// Shared by the server tests: a real server on 127.0.0.1 over a loaded tiny checkpoint, an openai
// client for it, data: URLs of golden images, and a /metrics reader.
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import type { MiniVL } from '../../src/minivl.ts';
import { createServer, type MinivlServer, type ServeOptions } from '../../src/serve/server.ts';
import { image } from '../generate/chat-helpers.ts';

export interface Running {
  server: MinivlServer;
  url: string;
  client: OpenAI;
}

export async function startServer(vl: MiniVL, opts: Partial<ServeOptions> = {}): Promise<Running> {
  const server = createServer(vl, { modelName: 'tiny', ...opts });
  const url = await server.listen('127.0.0.1', 0);
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: opts.apiKey ?? 'unused', maxRetries: 0, timeout: 60_000 });
  return { server, url, client };
}

export const imageBytes = (name: string) => readFileSync(image(name));
export const dataUrl = (name: string) => `data:image/${name.endsWith('.png') ? 'png' : 'jpeg'};base64,${imageBytes(name).toString('base64')}`;

/** One sample value from the Prometheus text (labels written exactly as the exposition prints them). */
export async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}
