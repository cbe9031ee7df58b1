import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  StopController,
  findStopString,
  normalizeEosIds,
  templateEosId,
} from '../../src/generate/stop.ts';
import { answerFromDecoded, pyStrip } from '../../src/prompt/index.ts';
import { partialMatchLength } from '../../src/tokenizer/text.ts';
import { MinivlError } from '../../src/errors.ts';

test('eos ids: number, list, none', () => {
  assert.deepEqual(normalizeEosIds(151645), [151645]);
  assert.deepEqual(normalizeEosIds([2, 32000, 32007, 2]), [2, 32000, 32007]);
  assert.deepEqual(normalizeEosIds(undefined), []);
  assert.throws(() => normalizeEosIds(-1), MinivlError);
});

test('template eos id is the id of sep.strip() (prompting.md §5)', () => {
  const ids: Record<string, number> = { '<|im_end|>': 151645, '<|end|>': 32007 };
  const lookup = (t: string) => ids[t];
  assert.equal(templateEosId('<|im_end|>', lookup), 151645);
  assert.equal(templateEosId('<|im_end|>\n', lookup), 151645); // internvl2_5's sep ends in LF
  assert.equal(templateEosId('<|end|>', lookup), 32007);
  assert.throws(() => templateEosId('<|nope|>', lookup), /not a token of this tokenizer/);
});

test('answer = decoded text before the first sep, stripped like Python', () => {
  assert.equal(answerFromDecoded('  A red panda.<|im_end|>junk', '<|im_end|>'), 'A red panda.');
  assert.equal(answerFromDecoded('\nno sep here \u3000', '<|end|>'), 'no sep here');
  assert.equal(pyStrip('\x1c\x85 a b \t'), 'a b');
  assert.equal(pyStrip('\ufeffx'), '\ufeffx'); // U+FEFF is not whitespace in Python
});

test('token rules: eos stops (and counts), the length cap stops', () => {
  const s = new StopController({ eosTokenIds: [7, 9], maxNewTokens: 3 });
  assert.equal(s.acceptToken(1), null);
  assert.equal(s.acceptToken(9), 'eos');
  assert.equal(s.tokenCount, 2);
  const t = new StopController({ eosTokenIds: 7, maxNewTokens: 2 });
  assert.equal(t.acceptToken(1), null);
  assert.equal(t.acceptToken(2), 'length');
  assert.equal(t.stopped, true);
  const u = new StopController({ eosTokenIds: 7, maxNewTokens: 1 });
  assert.equal(u.acceptToken(7), 'eos'); // eos wins over the cap on the same token
  assert.throws(() => new StopController({ maxNewTokens: 0 }), MinivlError);
});

test('stop strings: earliest match, partial-match suffix', () => {
  assert.deepEqual(findStopString('abc END xyz STOP', ['STOP', 'END']), { index: 4, stop: 'END' });
  assert.equal(findStopString('abc', ['x']), null);
  assert.equal(partialMatchLength('hello EN', ['END']), 2);
  assert.equal(partialMatchLength('hello E', ['END', 'Every']), 1);
  assert.equal(partialMatchLength('hello', ['END']), 0);
  assert.equal(partialMatchLength('xxEN', ['END'], 2), 2);
  assert.equal(partialMatchLength('xxEN', ['END'], 3), 0); // the suffix must start at/after `from`
});

test('streaming holds back a partial stop string and returns the text before it', () => {
  const s = new StopController({ maxNewTokens: 100, stopStrings: ['###', 'User:'] });
  const shown: string[] = [];
  const push = (d: string) => {
    const r = s.acceptText(d);
    shown.push(r.emit);
    return r.stopped;
  };
  assert.equal(push('Hello #'), false);
  assert.equal(push('# wor'), false); // '##' could still be '###': '# wor' shows that it was not
  assert.equal(push('ld U'), false);
  assert.equal(push('se'), false);
  assert.equal(push('r: more'), true);
  assert.deepEqual(shown, ['Hello ', '## wor', 'ld ', '', '']);
  assert.equal(s.text, 'Hello ## world ');
  assert.equal(s.reason, 'stop_string');
  assert.deepEqual(s.acceptText('ignored'), { emit: '', stopped: true });
  assert.equal(s.finish(), '');
});

test('a stop string spanning deltas is found; a held-back tail is released by finish()', () => {
  const s = new StopController({ maxNewTokens: 10, stopStrings: ['<stop>'] });
  assert.deepEqual(s.acceptText('ab<st'), { emit: 'ab', stopped: false });
  assert.deepEqual(s.acceptText('op>cd'), { emit: '', stopped: true });
  assert.equal(s.text, 'ab');
  const t = new StopController({ maxNewTokens: 10, stopStrings: ['<stop>'] });
  assert.deepEqual(t.acceptText('ab<st'), { emit: 'ab', stopped: false });
  t.acceptToken(5);
  assert.equal(t.finish(), '<st');
  assert.equal(t.text, 'ab<st');
  const none = new StopController({ maxNewTokens: 10 });
  assert.deepEqual(none.acceptText('x<'), { emit: 'x<', stopped: false });
});
