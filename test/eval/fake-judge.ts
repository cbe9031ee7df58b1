// A local OpenAI-compatible judge for tests: a real HTTP server on 127.0.0.1 that records every request and
// answers with `reply(body)` (a string, or a status number to fail that try).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';

export interface FakeRequest {
  model: string;
  messages: { role: string; content: { type: string; text: string }[] }[];
  temperature: number;
  max_tokens: number;
  n: number;
  authorization?: string;
  path: string;
}

export interface FakeJudge {
  url: string;
  requests: FakeRequest[];
  /** The user message text of each request. */
  prompts(): string[];
}

export async function startFakeJudge(reply: (req: FakeRequest) => string | number): Promise<FakeJudge> {
  const requests: FakeRequest[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const parsed = { ...(JSON.parse(body) as FakeRequest), authorization: req.headers.authorization, path: req.url ?? '' };
      requests.push(parsed);
      const r = reply(parsed);
      if (typeof r === 'number') {
        res.writeHead(r, { 'content-type': 'application/json' }).end('{"error":{"message":"fake failure"}}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: r } }] }));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  after(() => new Promise<void>((ok) => server.close(() => ok())));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    prompts: () => requests.map((r) => r.messages.at(-1)!.content.map((c) => c.text).join('')),
  };
}
