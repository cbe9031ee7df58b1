// The pieces behind image-aware caching and the address policy, with exact expected values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LruCache } from '../../src/serve/lru.ts';
import { PrefixCache, imageKey } from '../../src/serve/caches.ts';
import { isBlockedAddress } from '../../src/serve/image-source.ts';
import type { KVRows } from '../../src/runtime/batch-cache.ts';

const rows = (n: number): KVRows => ({ length: n, keys: [new Float32Array(n)], values: [new Float32Array(n)] });

test('LruCache evicts least recently used entries beyond its byte budget', () => {
  const c = new LruCache<string, Float32Array>(16, (v) => v.byteLength);
  c.set('a', new Float32Array(2));
  c.set('b', new Float32Array(2));
  c.get('a'); // a is now the most recent
  c.set('c', new Float32Array(2));
  assert.deepEqual(c.entries().map(([k]) => k), ['a', 'c']);
  assert.equal(c.size, 16);
  c.set('huge', new Float32Array(5)); // larger than the budget: never cached, nothing evicted
  assert.deepEqual(c.entries().map(([k]) => k), ['a', 'c']);
});

test('PrefixCache: longest common prefix, cut back to an image whose bytes differ, at least one id left', () => {
  const p = new PrefixCache(1 << 20);
  // ids 1,2 then an image block at [2, 5) then 9, 9.
  const ids = [1, 2, 7, 7, 7, 9, 9];
  p.store(ids, [{ start: 2, end: 5, key: 'A' }], rows(7));
  assert.equal(p.lookup([...ids, 4, 5], [{ start: 2, end: 5, key: 'A' }])!.length, 7);
  assert.equal(p.lookup(ids, [{ start: 2, end: 5, key: 'A' }])!.length, 6, 'one id is left to prefill');
  assert.equal(p.lookup([...ids, 4], [{ start: 2, end: 5, key: 'B' }])!.length, 2, 'another image: reuse stops before it');
  assert.equal(p.lookup([1, 2, 7, 7, 3], [{ start: 2, end: 4, key: 'A' }])!.length, 2, 'inside an image block: back to its start');
  assert.equal(p.lookup([5, 6], []), null);
  // A longer turn of the same conversation replaces the shorter entry.
  p.store([...ids, 4, 5], [{ start: 2, end: 5, key: 'A' }], rows(9));
  assert.equal(p.lookup([...ids, 4, 5, 6], [{ start: 2, end: 5, key: 'A' }])!.rows.length, 9);
  assert.equal(p.bytes, 9 * 4 * 2, "keys + values of the one entry left");
});

test('imageKey: same bytes and tile settings ⇒ same key; any difference ⇒ another key', () => {
  const a = new Uint8Array([1, 2, 3]);
  assert.equal(imageKey(a, 12, 448, true), imageKey(new Uint8Array([1, 2, 3]), 12, 448, true));
  assert.notEqual(imageKey(a, 12, 448, true), imageKey(a, 6, 448, true));
  assert.notEqual(imageKey(a, 12, 448, true), imageKey(new Uint8Array([1, 2, 4]), 12, 448, true));
});

test('isBlockedAddress: loopback, private, link-local, CGNAT, multicast, mapped and unspecified are refused', () => {
  for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '::1', '::', 'fe80::1', 'fc00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', 'not-an-ip']) {
    assert.equal(isBlockedAddress(a), true, a);
  }
  for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8']) assert.equal(isBlockedAddress(a), false, a);
});
