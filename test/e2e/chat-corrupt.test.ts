// `minivl chat` on broken checkpoint folders: one `minivl: error:` line naming the file and the problem,
// exit 1, never a stack trace or a hang. One tiny checkpoint; each variant links its untouched files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeRandomCheckpoint } from '../../src/dev/random-checkpoint.ts';
import { minivlBatch } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

test('chat on corrupted checkpoint folders: one error line naming the file', async () => {
  const root = await tempDir('minivl-corrupt-');
  const good = join(root, 'good');
  await writeRandomCheckpoint({ like: 'internvl2-1b', tiny: true, out: good });
  /** A variant of the good folder: `files` replace (string/bytes) or drop (null) entries, the rest are links. */
  const variant = (name: string, files: Record<string, string | Uint8Array | null>) => {
    const dir = join(root, name);
    mkdirSync(dir);
    for (const f of readdirSync(good)) if (!(f in files)) symlinkSync(join(good, f), join(dir, f));
    for (const [f, data] of Object.entries(files)) if (data !== null) writeFileSync(join(dir, f), data);
    return dir;
  };
  const weights = readFileSync(join(good, 'model.safetensors'));
  const config = JSON.parse(readFileSync(join(good, 'config.json'), 'utf8'));
  const withLlmArch = { ...config, llm_config: { ...config.llm_config, architectures: ['BarForCausalLM'] } };
  const dirs = {
    truncated: variant('truncated', { 'model.safetensors': weights.subarray(0, weights.length >> 1) }),
    noConfig: variant('no-config', { 'config.json': null }),
    badJson: variant('bad-json', { 'config.json': '{"llm_config": ' }),
    badArch: variant('bad-arch', { 'config.json': JSON.stringify(withLlmArch) }),
    noWeights: variant('no-weights', { 'model.safetensors': null }),
    badVocab: variant('bad-vocab', { 'vocab.json': '{' }),
    empty: variant('empty', Object.fromEntries(readdirSync(good).map((f) => [f, null]))),
  };
  const rs = minivlBatch(Object.values(dirs).map((d) => ['chat', '--model', d, '--max-new-tokens', '2', 'Hi']));
  const errors = rs.map((r) => {
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.ok(lines.every((l) => l.startsWith('minivl: ')), r.stderr); // progress lines and the error, nothing else
    const errs = lines.filter((l) => l.startsWith('minivl: error: '));
    assert.equal(errs.length, 1, r.stderr);
    return errs[0]!.slice('minivl: error: '.length);
  });
  const [truncated, noConfig, badJson, badArch, noWeights, badVocab, empty] = errors;
  assert.match(truncated!, new RegExp(`^${dirs.truncated}/model\\.safetensors: truncated: header says \\d+ bytes of data, file has \\d+$`));
  assert.equal(noConfig, `${dirs.noConfig}/config.json: missing (not a checkpoint folder?)`);
  assert.match(badJson!, new RegExp(`^${dirs.badJson}/config\\.json: invalid JSON \\(.+\\)$`));
  assert.match(badArch!, new RegExp(`^${dirs.badArch}/config\\.json: unsupported LLM architecture .*"BarForCausalLM"`));
  assert.match(noWeights!, new RegExp(`^${dirs.noWeights}: no model\\.safetensors or model\\.safetensors\\.index\\.json`));
  assert.match(badVocab!, new RegExp(`^${dirs.badVocab}/vocab\\.json: malformed JSON \\(.+\\)$`));
  // Neither config.json nor tokenizer files: the config error, whichever loader fails first.
  assert.equal(empty, `${dirs.empty}/config.json: missing (not a checkpoint folder?)`);
});
