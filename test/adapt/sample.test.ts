import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTrainingSample, IGNORE_TOKEN_ID } from '../../src/adapt/sample/build.ts';
import { loadTokenizer } from '../../src/tokenizer/index.ts';
import type { Tokenizer } from '../../src/tokenizer/index.ts';
import { minivlBatch } from '../helpers/cli.ts';
import { shared } from '../helpers/paths.ts';
import { rejectsWith, tempDir } from '../helpers/tmp.ts';
import { assetDir, qwen2TokenizerJson, tempTokenizerDir } from '../tokenizer/helpers.ts';

interface GoldenCase {
  tokenizer: '1b' | '2b' | '4b'; template: string; conversations: Array<{ from: string; value: string }>;
  num_image_token_list: number[]; text_only: boolean; input_ids: number[]; labels: number[]; supervised: number;
}
const golden = JSON.parse(readFileSync(shared('golden/training/training_samples.json'), 'utf8')) as { cases: GoldenCase[] };
const tokDir = (k: string) => shared('assets', 'tokenizers', `internvl2-${k}`);
const tokenizers = new Map<string, Tokenizer>();
async function tok(k: string): Promise<Tokenizer> {
  if (!tokenizers.has(k)) tokenizers.set(k, await loadTokenizer(tokDir(k)));
  return tokenizers.get(k)!;
}
/** The Phi-3 three-turn case where the reference masks everything (golden README, "Reference quirk"). */
const isQuirk = (c: GoldenCase) => c.template === 'phi3-chat' && c.conversations.length === 6;

test('golden has 18 cases, one of them the Phi-3 quirk', () => {
  assert.equal(golden.cases.length, 18);
  assert.equal(golden.cases.filter(isQuirk).length, 1);
  assert.equal(golden.cases.find(isQuirk)!.supervised, 0);
});

golden.cases.forEach((c, i) => {
  test(`golden case ${i}: ${c.template} ${c.conversations.length} turns${c.text_only ? ' text-only' : ''}`, async () => {
    const s = buildTrainingSample({ tokenizer: await tok(c.tokenizer), template: c.template, conversations: c.conversations, numImageTokens: c.num_image_token_list, textOnly: c.text_only });
    assert.deepEqual(s.inputIds, c.input_ids);
    if (!isQuirk(c)) assert.deepEqual(s.labels, c.labels);
  });
});

/** Runs of supervised tokens, decoded. */
function supervisedRuns(t: Tokenizer, labels: number[]): string[] {
  const runs: string[] = [];
  let cur: number[] = [];
  for (const l of [...labels, IGNORE_TOKEN_ID]) {
    if (l !== IGNORE_TOKEN_ID) cur.push(l);
    else if (cur.length) {
      runs.push(t.decode(cur));
      cur = [];
    }
  }
  return runs;
}

test('Phi-3 three-turn quirk case: every answer and its <|end|> supervised by the common rule (deviation from the golden labels)', async () => {
  const c = golden.cases.find(isQuirk)!;
  const t = await tok('4b');
  const s = buildTrainingSample({ tokenizer: t, template: c.template, conversations: c.conversations, numImageTokens: c.num_image_token_list });
  assert.deepEqual(s.inputIds, c.input_ids);
  assert.deepEqual(supervisedRuns(t, s.labels), ['A busy street.<|end|>', 'Three.<|end|>', '<ref>bus</ref><box>[[12, 340, 567, 890]]</box><|end|>']);
  // The expected span, position by position: each answer's ids (as the tokenizer encodes it after
  // <|assistant|>) followed by <|end|> (32007), found in the golden input_ids.
  const end = t.tokenToId('<|end|>')!;
  const expected = new Array<number>(c.input_ids.length).fill(IGNORE_TOKEN_ID);
  const assistant = t.tokenToId('<|assistant|>')!;
  let k = 0;
  for (const turn of c.conversations.filter((x) => x.from === 'gpt')) {
    const ids = t.encode(`<|assistant|>\n${turn.value}`, { addSpecialTokens: false }).slice(1);
    k = c.input_ids.indexOf(assistant, k) + 1;
    assert.deepEqual(c.input_ids.slice(k, k + ids.length), ids);
    for (let j = 0; j < ids.length; j++) expected[k + j] = ids[j]!;
    assert.equal(c.input_ids[k + ids.length], end);
    expected[k + ids.length] = end;
  }
  assert.deepEqual(s.labels, expected);
  assert.equal(s.labels.filter((l) => l !== IGNORE_TOKEN_ID).length, 33);
});

test('the same rule on the other templates gives the golden multi-round spans', async () => {
  const c = golden.cases.find((x) => x.template === 'Hermes-2' && x.conversations.length === 6)!;
  const t = await tok('1b');
  const s = buildTrainingSample({ tokenizer: t, template: c.template, conversations: c.conversations, numImageTokens: c.num_image_token_list });
  assert.deepEqual(supervisedRuns(t, s.labels), ['A busy street.<|im_end|>', 'Three.<|im_end|>', '<ref>bus</ref><box>[[12, 340, 567, 890]]</box><|im_end|>']);
});

test('the 1b golden cases with the fast-tokenizer form (tokenizer.json) give the same samples', async () => {
  const { dir, cleanup } = tempTokenizerDir({ from: assetDir('1b'), names: ['tokenizer_config.json'] }, { 'tokenizer.json': qwen2TokenizerJson() });
  try {
    const t = await loadTokenizer(dir);
    for (const c of golden.cases.filter((x) => x.tokenizer === '1b')) {
      const s = buildTrainingSample({ tokenizer: t, template: c.template, conversations: c.conversations, numImageTokens: c.num_image_token_list, textOnly: c.text_only });
      assert.deepEqual(s.inputIds, c.input_ids);
      assert.deepEqual(s.labels, c.labels);
    }
  } finally {
    cleanup();
  }
});

test('truncation cuts input_ids and labels to maxLength', async () => {
  const c = golden.cases[0]!;
  const s = buildTrainingSample({ tokenizer: await tok('1b'), template: c.template, conversations: c.conversations, numImageTokens: c.num_image_token_list, maxLength: 60 });
  assert.deepEqual(s.inputIds, c.input_ids.slice(0, 60));
  assert.deepEqual(s.labels, c.labels.slice(0, 60));
});

test('bad turn order and too many images are one-line errors', async () => {
  const t = await tok('1b');
  await rejectsWith(() => buildTrainingSample({ tokenizer: t, template: 'Hermes-2', conversations: [{ from: 'human', value: 'a' }, { from: 'human', value: 'b' }] }), /turn 2: expected a 'gpt' turn/);
  await rejectsWith(() => buildTrainingSample({ tokenizer: t, template: 'Hermes-2', conversations: [{ from: 'human', value: '<image>\na' }, { from: 'gpt', value: 'b' }], numImageTokens: [3, 3] }), /fewer <image> placeholders than the 2 image/);
  await rejectsWith(() => buildTrainingSample({ tokenizer: t, template: 'nope', conversations: [{ from: 'human', value: 'a' }] }), /unknown conversation template 'nope'/);
});

test('minivl adapt sample prints the golden input_ids and labels (quirk case: the common rule)', async () => {
  const dir = await tempDir();
  const cases = golden.cases.map((c, i) => {
    const f = join(dir, `conv${i}.json`);
    writeFileSync(f, JSON.stringify(c.conversations));
    const args = ['adapt', 'sample', '--tokenizer', tokDir(c.tokenizer), '--template', c.template, '--conversations', f];
    if (c.num_image_token_list.length) args.push('--image-tokens', c.num_image_token_list.join(','));
    if (c.text_only) args.push('--text-only');
    return args;
  });
  const quirk = golden.cases.findIndex(isQuirk);
  const results = minivlBatch([...cases, ['adapt', 'sample', '--tokenizer', tokDir('1b'), '--template', 'Hermes-2', '--conversations', join(dir, 'missing.json')]]);
  for (const [i, c] of golden.cases.entries()) {
    const r = results[i]!;
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { input_ids: number[]; labels: number[] };
    assert.deepEqual(out.input_ids, c.input_ids);
    if (i !== quirk) assert.deepEqual(out.labels, c.labels);
    else assert.equal(out.labels.filter((l) => l !== IGNORE_TOKEN_ID).length, 33);
  }
  const bad = results[results.length - 1]!;
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^minivl: error: --conversations .*missing\.json: no such file\n$/);
});
