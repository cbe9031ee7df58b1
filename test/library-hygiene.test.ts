// Library calls stay quiet and self-contained: no stderr output, no signal handlers, no state left on
// the facade; the system message comes from the checkpoint, never from the folder's name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeRandomCheckpoint } from '../src/dev/random-checkpoint.ts';
import { MiniVL, defaultSystemMessage } from '../src/index.ts';
import { SYSTEM_MESSAGES } from '../src/prompt/index.ts';
import { ROOT } from './helpers/paths.ts';
import { tempDir } from './helpers/tmp.ts';

test('defaultSystemMessage: the hub id of a V1-5 checkpoint, else the template message', () => {
  assert.equal(defaultSystemMessage('internlm2-chat', 'OpenGVLab/Mini-InternVL-Chat-2B-V1-5'), SYSTEM_MESSAGES.miniInternvl2bV15);
  assert.equal(defaultSystemMessage('phi3-chat', 'opengvlab/mini-internvl-chat-4b-v1-5'), SYSTEM_MESSAGES.miniInternvl4bV15);
  assert.equal(defaultSystemMessage('internlm2-chat', 'OpenGVLab/InternVL2-2B'), SYSTEM_MESSAGES.internvl2);
  assert.equal(defaultSystemMessage('internlm2-chat'), SYSTEM_MESSAGES.internvl2);
});

test('load + chat: nothing on stderr, no SIGINT listener, the folder name does not pick the system message', async () => {
  // A local folder named like the V1-5 release: its files equal InternVL2-2B's, so its message is the template's.
  const dir = join(await tempDir('minivl-hygiene-'), 'Mini-InternVL-Chat-2B-V1-5');
  await writeRandomCheckpoint({ like: 'mini-internvl-chat-2b-v1-5', tiny: true, out: dir });
  const sigint = process.listenerCount('SIGINT');
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  let vl: MiniVL;
  try {
    vl = await MiniVL.load(dir);
    const r = await vl.chat({ images: [join(ROOT, 'assets', 'demo.png')], maxNum: 1, question: 'Hi', generation: { maxNewTokens: 2 } });
    assert.ok(r.promptIds.length > 256);
    assert.equal(process.listenerCount('SIGINT'), sigint);
  } finally {
    process.stderr.write = write;
  }
  assert.equal(stderr, '');
  assert.equal(vl.systemMessage, SYSTEM_MESSAGES.internvl2);
  assert.equal('lastPromptIds' in vl, false);
  await vl.release();
});
