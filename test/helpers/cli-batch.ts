// Child process of minivlBatch() (cli.ts): reads a JSON list of argument lists on stdin, runs each through
// main() with stdout/stderr captured, and prints the results as one JSON array.
import { readFileSync } from 'node:fs';
import { main } from '../../src/cli/main.ts';

const cases = JSON.parse(readFileSync(0, 'utf8')) as string[][];
const results: { status: number; stdout: string; stderr: string }[] = [];
const realOut = process.stdout.write.bind(process.stdout);
const realErr = process.stderr.write.bind(process.stderr);
for (const argv of cases) {
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  let status: number;
  try {
    status = await main(argv);
  } finally {
    process.stdout.write = realOut;
    process.stderr.write = realErr;
  }
  results.push({ status, stdout, stderr });
}
realOut(`${JSON.stringify(results)}\n`);
