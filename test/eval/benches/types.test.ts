// mapLimit: judge calls run with a bounded number in flight, results stay in item order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { mapLimit } from '../../../src/eval/benches/types.ts';

test('mapLimit keeps order and never exceeds the limit', async () => {
  let inFlight = 0;
  let peak = 0;
  const out = await mapLimit([5, 1, 4, 2, 3, 0, 6], 3, async (x, i) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await sleep(x);
    inFlight--;
    return `${i}:${x}`;
  });
  assert.deepEqual(out, ['0:5', '1:1', '2:4', '3:2', '4:3', '5:0', '6:6']);
  assert.equal(peak, 3);
  assert.deepEqual(await mapLimit([], 4, async (x) => x), []);
});
