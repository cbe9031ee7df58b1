// The judge client and the judged protocols against a local fake judge server (127.0.0.1): the reference's
// prompts byte for byte, temperatures, retries, replay of stored exchanges, and the no-judge path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openaiJudge, recordingJudge, replayJudge, judgeKey, type JudgeExchange } from '../../src/eval/judge.ts';
import { scoreItems } from '../../src/eval/score.ts';
import { matchPrompt } from '../../src/eval/metrics/mcq.ts';
import { startFakeJudge } from './fake-judge.ts';
import { rejectsWith } from '../helpers/tmp.ts';

const MATCH_PREFIX_START = 'You are an AI assistant who will help me to match an answer with several options of a single-choice question.';

test('match prompt: English and Chinese templates exactly as the reference formats them', () => {
  const en = matchPrompt('What is it?', { A: 'cat', B: 'dog' }, 'a kitten');
  assert.ok(en.startsWith(MATCH_PREFIX_START));
  assert.ok(en.endsWith('Example 3: \nQuestion: What is it??\nOptions: There are several options: \nA. cat\nB. dog\n\nAnswer: a kitten\nYour output: '));
  const cn = matchPrompt('这是什么', { A: '猫', B: '狗' }, '小猫');
  assert.ok(cn.startsWith('你是一个帮助我匹配答案与单选题中多个选项的 AI 助手。'));
  assert.ok(cn.endsWith('例 3: \n问题: 这是什么?\n选项: There are several options: \nA. 猫\nB. 狗\n\n答案: 小猫\n输出: '));
});

test('HTTP judge: payload as OpenAIWrapper sends it, retries on failures, fail text after the last try', async () => {
  let n = 0;
  const fake = await startFakeJudge(() => (++n <= 2 ? 500 : 'B'));
  const judge = openaiJudge({ baseUrl: fake.url, apiKey: 'sk-test', maxWaitMs: 0 });
  const reply = await judge.ask({ model: 'gpt-3.5-turbo-0125', messages: [{ role: 'user', content: 'hi' }], temperature: 0, maxTokens: 2048 });
  assert.equal(reply, 'B');
  assert.equal(fake.requests.length, 3);
  const r = fake.requests[0]!;
  assert.equal(r.path, '/v1/chat/completions');
  assert.equal(r.authorization, 'Bearer sk-test');
  assert.deepEqual([r.model, r.temperature, r.max_tokens, r.n], ['gpt-3.5-turbo-0125', 0, 2048, 1]);
  assert.deepEqual(r.messages, [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);

  const down = await startFakeJudge(() => 503);
  const failing = openaiJudge({ baseUrl: down.url, model: 'my-judge', tries: 2, maxWaitMs: 0 });
  assert.match(await failing.ask({ model: 'x', messages: [{ role: 'user', content: 'q' }], temperature: 0, maxTokens: 5 }), /Failed to obtain answer via API/);
  assert.equal(down.requests.length, 2);
  assert.equal(down.requests[0]!.model, 'my-judge'); // --judge-model overrides the reference's model
});

const CH = { A: 'apple', B: 'banana', C: 'cherry', D: 'date' };

test('MMMU (vlmevalkit): rules first, the judge only for unreadable answers; no judge → miss and a note', async () => {
  const items = [
    { id: 'q1', prediction: 'B', question: 'Which fruit is yellow', options: CH, answer: 'B', question_type: 'multiple-choice' },
    { id: 'q2', prediction: 'It is the long yellow one', question: 'Which fruit is yellow', options: CH, answer: 'B', question_type: 'multiple-choice' },
    { id: 'q3', prediction: '2', question: 'How far?', options: {}, answer: '1.06', question_type: 'open' },
  ];
  const none = await scoreItems('mmmu', undefined, items);
  assert.deepEqual(none.items.map((i) => i.correct), [true, false, false]);
  assert.equal(none.judge.used, false);
  assert.match(none.judge.note!, /no judge/);

  const fake = await startFakeJudge((r) => (r.messages[0]!.content[0]!.text.includes('Answer: 2\n') ? 'Z' : 'The answer is B'));
  const log: JudgeExchange[] = [];
  const r = await scoreItems('mmmu', undefined, items, { judge: openaiJudge({ baseUrl: fake.url, maxWaitMs: 0 }), onJudgeExchange: (ex) => void log.push(ex) });
  assert.deepEqual(r.items.map((i) => [i.correct, i.via]), [[true, 'rule'], [true, 'judge'], [false, 'judge']]);
  assert.equal(r.score, 100 * (2 / 3)); // np.mean(hits) * 100
  assert.deepEqual(r.judge, { used: true, model: 'gpt-3.5-turbo-0125', calls: 2, failures: 0 });
  assert.equal(fake.prompts()[0], matchPrompt('Which fruit is yellow', CH, 'It is the long yellow one'));
  // the open question was converted: A = the answer, B = "Other Answers"
  assert.ok(fake.prompts()[1]!.includes('Options: There are several options: \nA. 1.06\nB. Other Answers\n\nAnswer: 2\nYour output: '));
  assert.equal(fake.requests[0]!.model, 'gpt-3.5-turbo-0125');

  // re-scoring from the stored exchanges needs no judge; a request never stored is a one-line error
  assert.equal(log.length, 2);
  assert.equal(log[0]!.key, judgeKey(log[0]!.request));
  const again = await scoreItems('mmmu', undefined, items, { judge: replayJudge(log) });
  assert.deepEqual(again.items, r.items);
  assert.equal(fake.requests.length, 2);
  await rejectsWith(scoreItems('mmmu', undefined, [{ ...items[1]!, prediction: 'something else' }], { judge: replayJudge(log) }), /no stored reply/);
});

test('MMMU: after 3 failed judge tries, a seeded random letter among the options and Z', async () => {
  const fake = await startFakeJudge(() => 'I cannot tell');
  const items = [{ id: 'q', prediction: 'hmm', question: 'q', options: CH, answer: 'B', question_type: 'multiple-choice' }];
  const judge = openaiJudge({ baseUrl: fake.url, maxWaitMs: 0 });
  const a = await scoreItems('mmmu', undefined, items, { judge, seed: 7 });
  const b = await scoreItems('mmmu', undefined, items, { judge, seed: 7 });
  assert.equal(fake.requests.length, 6);
  assert.equal(a.items[0]!.via, 'random');
  assert.ok(['A', 'B', 'C', 'D', 'Z'].includes(a.items[0]!.extracted!));
  assert.equal(a.items[0]!.extracted, b.items[0]!.extracted);
});

test('MMBench-CN (vlmevalkit): Chinese questions get the Chinese prompt; only unparsed copies are asked', async () => {
  const fake = await startFakeJudge(() => 'B');
  const q = '图中是什么水果';
  const items = [
    { id: 'r0', index: 7, prediction: 'A', question: q, options: { A: '苹果', B: '香蕉' }, answer: 'A', category: 'fruit' },
    { id: 'r1', index: 1000007, prediction: '我不确定', question: q, options: { A: '香蕉', B: '苹果' }, answer: 'B', category: 'fruit' },
  ];
  const r = await scoreItems('mmbench-cn', undefined, items, { judge: openaiJudge({ baseUrl: fake.url, maxWaitMs: 0 }) });
  assert.deepEqual(r.items, [{ id: 7, correct: true, extracted: 'A,B', via: 'judge' }]);
  assert.equal(fake.requests.length, 1);
  assert.ok(fake.prompts()[0]!.startsWith('你是一个帮助我匹配答案'));
  assert.equal(r.breakdown['category:fruit'], 100);
  const none = await scoreItems('mmbench-cn', undefined, items);
  assert.deepEqual([none.score, none.judge.used], [0, false]);
  const internvl = await scoreItems('mmbench-cn', 'internvl', items);
  assert.equal(internvl.items[0]!.correct, false); // post_process of copy 2 is its raw text, not B
});

test('MathVista (vlmevalkit): prefetch, then the 5-shot prompt at temperatures 0, 0.5, 1.0 ... until a reply', async () => {
  let n = 0;
  const fake = await startFakeJudge(() => (++n <= 2 * 5 ? 500 : '14')); // the client tries each request 5 times
  const base = { question: 'Hint: integer\nQuestion: Which number is missing?', question_type: 'free_form', answer_type: 'integer', answer: '14', choices: null, precision: null };
  const items = [
    { id: 1, prediction: '14', ...base },
    { id: 2, prediction: 'The missing number is 14.', ...base },
    { id: 3, prediction: 'x', ...base, extraction: '14.0' },
  ];
  const r = await scoreItems('mathvista', undefined, items, { judge: openaiJudge({ baseUrl: fake.url, maxWaitMs: 0 }) });
  assert.deepEqual(r.items.map((i) => [i.correct, i.extracted, i.via]), [[true, '14', 'rule'], [true, '14', 'judge'], [false, '14.0', 'judge']]);
  assert.deepEqual([...new Set(fake.requests.map((q) => q.temperature))], [0, 0.5, 1]);
  assert.deepEqual([...new Set(fake.requests.map((q) => [q.model, q.max_tokens].join()))], ['gpt-4-1106-preview,128']);
  assert.ok(fake.prompts()[0]!.endsWith('\n\nHint: integer\nQuestion: Which number is missing?\nModel respone: The missing number is 14.Extracted answer:'));
  assert.equal(r.judge.failures, 2); // two tries came back as the fail text
  const rules = await scoreItems('mathvista', undefined, items.slice(0, 2));
  assert.deepEqual(rules.items.map((i) => i.correct), [true, false]);
});

test('DriveLM: ChatGPT ratings with the challenge prompt at temperature 0.6; final score needs the judge', async () => {
  const fake = await startFakeJudge(() => '80');
  const items = [
    { id: 'a', frame: 'f1', tag: [3], question: 'Important objects?', prediction: 'There is <c1,CAM_FRONT,[500,250]>.', answer: 'There is <c1,CAM_FRONT,805.2,449.1>.' },
    { id: 'b', frame: 'f1', tag: [0], question: 'Is <c1,CAM_FRONT,805.2,449.1> moving?', prediction: 'No.', answer: 'No.' },
    { id: 'c', frame: 'f1', tag: [1, 2], question: 'What about <c9,CAM_BACK,10.0,20.0>?', prediction: 'x', answer: 'y' },
  ];
  const r = await scoreItems('drivelm', undefined, items, { judge: recordingJudge(openaiJudge({ baseUrl: fake.url, maxWaitMs: 0 }), () => {}) });
  assert.equal(r.items[0]!.extracted, 'There is <c1,CAM_FRONT,800.0,450.0>.');
  assert.equal(r.items[2]!.skipped, true); // its point is not in the frame's graph
  assert.equal(r.breakdown.accuracy, 1);
  assert.ok(Math.abs(r.breakdown.match! - (99.999999 + 80) / 2) < 1e-4);
  const q = fake.requests[0]!;
  assert.deepEqual([q.model, q.temperature, q.max_tokens], ['gpt-3.5-turbo', 0.6, 3000]);
  assert.equal(q.messages[0]!.content[0]!.text, 'an evaluator who rates my answer based on the correct answer');
  assert.ok(q.messages[1]!.content[0]!.text.endsWith('Output the number onlyThis is the correct answer: There is <c1,CAM_FRONT,805.2,449.1>.This is my answer: There is <c1,CAM_FRONT,800.0,450.0>.'));
  assert.ok(r.score !== null && r.score > 0);
  // a rating that is no number (Python's float() would raise) counts 0 and is reported
  const words = await startFakeJudge(() => 'eighty');
  const w = await scoreItems('drivelm', undefined, items.slice(0, 1), { judge: openaiJudge({ baseUrl: words.url, maxWaitMs: 0 }) });
  assert.deepEqual([w.breakdown.chatgpt_failures, w.breakdown.match! * 2], [1, w.breakdown.match_f1]);
  const none = await scoreItems('drivelm', undefined, items);
  assert.equal(none.score, null);
  assert.match(none.judge.note!, /no judge/);
});
