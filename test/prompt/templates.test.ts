import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  renderPrompt, getTemplate, countImagePlaceholders, extractResponse, expandImagePlaceholders, SYSTEM_MESSAGES,
  TEMPLATE_NAMES, videoFramePrefix, multiImagePrefix,
} from '../../src/prompt/index.ts';
import { MinivlError } from '../../src/errors.ts';
import { shared } from '../helpers/paths.ts';

interface TemplateCase {
  template: string; system_message: string; history: [string, string][]; question: string;
  prompt: string; prompt_with_image_tokens_3_per_image: string; stop_sep: string; roles: [string, string];
}
const cases = JSON.parse(readFileSync(shared('golden/templates.json'), 'utf8')) as TemplateCase[];

test('templates.json has 24 cases over the four templates', () => {
  assert.equal(cases.length, 24);
  assert.deepEqual([...new Set(cases.map((c) => c.template))].sort(), [...TEMPLATE_NAMES].sort());
});

cases.forEach((c, i) => {
  test(`template case ${i}: ${c.template} history=${c.history.length} ${JSON.stringify(c.question.slice(0, 30))}`, () => {
    // Images = the placeholders of the rendered prompt (question and history); 3 tokens per image as recorded.
    const numImages = countImagePlaceholders(c.prompt);
    const r = renderPrompt({
      template: c.template, systemMessage: c.system_message, history: c.history, question: c.question,
      numPatchesList: new Array(numImages).fill(1), numImageToken: 3,
    });
    assert.equal(r.promptWithPlaceholders, c.prompt);
    assert.equal(r.prompt, c.prompt_with_image_tokens_3_per_image);
    assert.equal(r.stopSep, c.stop_sep);
    assert.deepEqual(getTemplate(c.template).roles, c.roles);
  });
});

test('default system messages are the recorded ones', () => {
  for (const c of cases.filter((x) => x.history.length === 0 && x.question === 'What is 2+2?')) {
    assert.equal(getTemplate(c.template).systemMessage, c.system_message);
    assert.equal(renderPrompt({ template: c.template, question: c.question }).prompt, c.prompt);
  }
  assert.equal(Buffer.byteLength(SYSTEM_MESSAGES.internvl2), 157);
});

test('first turn with an image and no <image>: "<image>\\n" is prepended (chat() step 1)', () => {
  const golden = cases.find((c) => c.template === 'phi3-chat' && c.question === '<image>\nDescribe the image.')!;
  const r = renderPrompt({ template: 'phi3-chat', question: 'Describe the image.', numPatchesList: [1], numImageToken: 3 });
  assert.equal(r.question, '<image>\nDescribe the image.');
  assert.equal(r.prompt, golden.prompt_with_image_tokens_3_per_image);
});

test('several images and no <image>: Image-k prefixes, each expanded with its own tile count', () => {
  const golden = cases.find((c) => c.template === 'Hermes-2' && c.question.startsWith('Image-1'))!;
  const r = renderPrompt({ template: 'Hermes-2', question: 'Compare the two images.', numPatchesList: [1, 1], numImageToken: 3 });
  assert.equal(r.prompt, golden.prompt_with_image_tokens_3_per_image);
  const r2 = renderPrompt({ template: 'Hermes-2', question: 'Compare.', numPatchesList: [2, 3] });
  const ctx = (s: string) => s.split('<IMG_CONTEXT>').length - 1;
  const [a, b] = r2.prompt.split('Image-2: ');
  assert.equal(ctx(a!), 512);
  assert.equal(ctx(b!), 768);
  assert.equal(multiImagePrefix(2), 'Image-1: <image>\nImage-2: <image>\n');
});

test('later turns: no insertion; history placeholders are re-expanded', () => {
  const r = renderPrompt({ template: 'internlm2-chat', history: [['<image>\nWhat is it?', 'A cat.']], question: 'Color?', numPatchesList: [2], numImageToken: 1 });
  assert.equal(r.question, 'Color?');
  assert.ok(r.prompt.includes('<|im_start|>user\n<img><IMG_CONTEXT><IMG_CONTEXT></img>\nWhat is it?<|im_end|>'));
});

test('real image token count: 256 per tile', () => {
  const r = renderPrompt({ template: 'Hermes-2', question: 'Hi', numPatchesList: [13] });
  assert.equal(r.prompt.split('<IMG_CONTEXT>').length - 1, 13 * 256);
  assert.equal(r.prompt.split('<img>').length - 1, 1);
});

test('text-only: nothing inserted or expanded; empty assistant answer renders the role only', () => {
  const r = renderPrompt({ template: 'phi3-chat', systemMessage: 'S', history: [['q', '']], question: 'x' });
  assert.equal(r.prompt, '<|system|>\nS<|end|><|user|>\nq<|end|><|assistant|>\n<|user|>\nx<|end|><|assistant|>\n');
});

test('more images than placeholders is a one-line MinivlError; extra placeholders stay literal', () => {
  assert.throws(() => expandImagePlaceholders('<image> only', [1, 1]), (e: unknown) => e instanceof MinivlError && !e.message.includes('\n'));
  assert.equal(expandImagePlaceholders('<image><image>', [1], 1), '<img><IMG_CONTEXT></img><image>');
  assert.throws(() => getTemplate('vicuna'), /unknown conversation template 'vicuna'/);
});

test('video prefix: Frame1..N without hyphen by default', () => {
  assert.equal(videoFramePrefix(2), 'Frame1: <image>\nFrame2: <image>\n');
  assert.equal(videoFramePrefix(1, { hyphen: true }), 'Frame-1: <image>\n');
});

test('extractResponse: cut at the stripped separator, Python strip', () => {
  assert.equal(extractResponse('  The answer.\n<|im_end|>junk', 'internvl2_5'), 'The answer.');
  assert.equal(extractResponse('A<|end|>B', 'phi3-chat'), 'A');
  assert.equal(extractResponse('\x1c x \ufeff', 'Hermes-2'), 'x \ufeff');
});
