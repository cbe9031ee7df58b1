// The README's API reference lists exactly what the package exports (values and types).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as api from '../src/index.ts';
import { ROOT } from './helpers/paths.ts';

/** Type-only exports of an entry file: `type X` inside export lists and `export type { ... }`. */
function typeExports(file: string): string[] {
  const text = readFileSync(join(ROOT, 'src', file), 'utf8');
  const names: string[] = [];
  for (const m of text.matchAll(/export type \{([^}]*)\}/g)) names.push(...m[1]!.split(',').map((s) => s.trim()).filter(Boolean));
  for (const m of text.matchAll(/export \{([^}]*)\}/g)) {
    for (const part of m[1]!.split(',')) if (part.trim().startsWith('type ')) names.push(part.trim().slice(5).trim());
  }
  return names;
}

test('README API reference = the exports of src/index.ts', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### API reference'));
  const table = section.slice(0, section.indexOf('\n## ')).split('\n').filter((l) => l.startsWith('| `'));
  const documented = new Set(table.flatMap((row) => [...row.split(' | ')[0]!.matchAll(/`([A-Za-z_]+)`/g)].map((m) => m[1]!)));
  const exported = new Set([...Object.keys(api), ...typeExports('core.ts'), ...typeExports('index.ts')]);
  assert.deepEqual([...documented].sort(), [...exported].sort());
});
