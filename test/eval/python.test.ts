// evaluation.md §1.4: the Python semantics the scorers rely on, as unit examples and fast-check properties.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pyFloat, pyInt, pyLen, pyLiteral, pyRound, pySplit, pyStr, pyStrFloat, pyStrip, pyStripChars, pyRstripChars } from '../../src/eval/python.ts';

const WS = [' ', '\t', '\n', '\r', '\v', '\f', '\x1c', '\x85', '\xa0', '\u2003', '\u3000'];

test('pyFloat: the examples of §1.4', () => {
  assert.equal(pyFloat(' 1.5 '), 1.5);
  assert.equal(pyFloat('-1_000.25'), -1000.25);
  assert.equal(pyFloat('1e3'), 1000);
  assert.equal(pyFloat('.5'), 0.5);
  assert.equal(pyFloat('5.'), 5);
  assert.equal(pyFloat('+inf'), Infinity);
  assert.equal(pyFloat('-Infinity'), -Infinity);
  assert.ok(Number.isNaN(pyFloat('NaN')!));
  assert.equal(pyFloat('１２'), 12); // Python accepts any Unicode decimal digit
  for (const bad of ['', ' ', '1,000', '12%', '0x10', '1__0', '_1', '1_', '1e', 'e5', '1.2.3', 'infinit', '.', '- 1', '1_.5']) assert.equal(pyFloat(bad), null, bad);
});

test('pyInt: the examples of §1.4', () => {
  assert.equal(pyInt(' 14 '), 14);
  assert.equal(pyInt('-1_000'), -1000);
  assert.equal(pyInt('+007'), 7);
  for (const bad of ['14.0', '', '1e3', '0x10', '1,000', '1__0', 'abc', '٣.']) assert.equal(pyInt(bad), null, bad);
});

test('pyRound: half-even on the binary value; str(float) prints 14.0', () => {
  assert.equal(pyRound(0.125, 2), 0.12); // JS toFixed gives 0.13
  assert.equal(pyRound(0.375, 2), 0.38);
  assert.equal(pyRound(2.675, 2), 2.67); // 2.675 is 2.67499999... in binary
  assert.equal(pyRound(2.5), 2);
  assert.equal(pyRound(3.5), 4);
  assert.equal(pyRound(-0.5), -0);
  assert.equal(pyRound(3.4286, 2), 3.43);
  assert.equal(pyRound(1255, -1), 1260);
  assert.equal(pyRound(1250, -2), 1200);
  assert.equal(pyStrFloat(14), '14.0');
  assert.equal(pyStrFloat(0.1), '0.1');
  assert.equal(pyStrFloat(1e16), '1e+16');
  assert.equal(pyStrFloat(123456789012345680), '1.2345678901234568e+17');
  assert.equal(pyStrFloat(1e-5), '1e-05');
  assert.equal(pyStrFloat(0.0001), '0.0001');
  assert.equal(pyStrFloat(-2.5e-7), '-2.5e-07');
  assert.equal(pyStrFloat(-0), '-0.0');
  assert.equal(pyStr([2007, 'a']), "[2007.0, 'a']");
});

test('split/strip/len: Python whitespace and code points', () => {
  assert.deepEqual(pySplit('  a \t b\n\u3000c\x1c '), ['a', 'b', 'c']);
  assert.deepEqual(pySplit(''), []);
  assert.equal(pyStrip('\x1c\x85 x \ufeff'), 'x \ufeff'); // U+FEFF is not Python whitespace; U+001C and U+0085 are
  assert.equal(pyStripChars('..1.06..', '.'), '1.06');
  assert.equal(pyRstripChars('500m2', 'm2'), '500');
  assert.equal(pyLen('a😀'), 2);
});

test('pyLiteral reads the list literals benchmark TSVs carry', () => {
  assert.deepEqual(pyLiteral("['3/11', \"8/11\", 'it\\'s']"), ['3/11', '8/11', "it's"]);
  assert.deepEqual(pyLiteral('[1, 2.5, -3, None, True]'), [1, 2.5, -3, null, true]);
  assert.deepEqual(pyLiteral("('a',)"), ['a']);
  assert.throws(() => pyLiteral("['a'"), /unterminated|expected/);
  assert.throws(() => pyLiteral('[a]'), /unexpected/);
});

// ── properties: generated strings that follow (or break) the stated grammar ───────────────────────────────

const digits = fc.array(fc.constantFrom(...'0123456789'), { minLength: 1, maxLength: 6 }).map((d) => d.join(''));
/** digits with single underscores between digits */
const digitPart = fc.array(digits, { minLength: 1, maxLength: 3 }).map((g) => g.join('_'));
const ws = fc.array(fc.constantFrom(...WS), { maxLength: 3 }).map((w) => w.join(''));
const sign = fc.constantFrom('', '+', '-');
const floatLiteral = fc
  .record({
    sign,
    int: fc.option(digitPart, { nil: undefined }),
    frac: fc.option(fc.option(digitPart, { nil: '' }), { nil: undefined }),
    exp: fc.option(fc.tuple(fc.constantFrom('e', 'E'), sign, digitPart), { nil: undefined }),
  })
  .filter((r) => r.int !== undefined || (r.frac !== undefined && r.frac !== ''))
  .map((r) => `${r.sign}${r.int ?? ''}${r.frac === undefined ? '' : `.${r.frac}`}${r.exp ? r.exp.join('') : ''}`);

test('property: pyFloat accepts every literal of the grammar, with its decimal value', () => {
  fc.assert(
    fc.property(ws, floatLiteral, ws, (a, lit, b) => {
      assert.equal(pyFloat(a + lit + b), Number(lit.replaceAll('_', '')));
    }),
  );
  fc.assert(
    fc.property(sign, fc.constantFrom('inf', 'INF', 'Infinity', 'iNfInItY', 'nan', 'NaN'), (s, w) => {
      const v = pyFloat(s + w)!;
      if (w.toLowerCase() === 'nan') assert.ok(Number.isNaN(v));
      else assert.equal(v, s === '-' ? -Infinity : Infinity);
    }),
  );
});

test('property: pyFloat rejects thousands separators, percent signs, hex, doubled or dangling underscores', () => {
  fc.assert(
    fc.property(floatLiteral, fc.constantFrom(',', '%', '__', 'x', ' '), fc.nat(), (lit, junk, at) => {
      const body = lit.replace(/^[+-]/, '');
      const i = 1 + (at % body.length); // inside or at the end, never before the first character
      const broken = body.slice(0, i) + junk + body.slice(i);
      if (junk === ' ' && i === body.length) return; // trailing whitespace is allowed
      assert.equal(pyFloat(broken), null, broken);
    }),
  );
  fc.assert(fc.property(digitPart, (d) => assert.equal(pyFloat(`0x${d}`), null)));
  fc.assert(fc.property(ws, (w) => assert.equal(pyFloat(w), null)));
});

test('property: pyInt accepts signed digit groups and rejects any fraction or exponent', () => {
  fc.assert(
    fc.property(ws, sign, digitPart, ws, (a, s, d, b) => {
      assert.equal(pyInt(a + s + d + b), Number(`${s}${d.replaceAll('_', '')}`) + 0);
    }),
  );
  fc.assert(
    fc.property(sign, digitPart, fc.constantFrom('.0', '.', 'e1', '.5', ',000'), (s, d, tail) => {
      assert.equal(pyInt(s + d + tail), null);
    }),
  );
});

test('property: pyRound agrees with the exact binary value and breaks exact ties to even', () => {
  // Away from ties the correctly rounded decimal equals toFixed's (which uses the exact value but rounds ties up).
  fc.assert(
    fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 8 }), (x, n) => {
      const scaled = Math.abs(x) * 10 ** n;
      if (Math.abs(scaled - Math.floor(scaled) - 0.5) < 1e-6) return; // (near-)ties: covered below
      const want = Number(x.toFixed(n));
      assert.equal(pyRound(x, n), want !== 0 ? want : x < 0 || Object.is(x, -0) ? -0 : 0); // Python keeps the sign of zero
    }),
  );
  // x = (2k+1) / 2^(n+1) has n+1 decimals ending in 5: an exact tie at n decimals, which goes to the even neighbour.
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 5 }), (k, n) => {
      const x = (2 * k + 1) / 2 ** (n + 1);
      const lo = Math.floor(x * 10 ** n);
      const even = lo % 2 === 0 ? lo : lo + 1;
      assert.equal(pyRound(x, n), Number(`${even}e-${n}`));
    }),
  );
});

test('property: str(float) round-trips, integral floats end in .0, exponent form outside 1e-4..1e16', () => {
  fc.assert(
    fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
      const s = pyStrFloat(x);
      assert.ok(Object.is(Number(s), x), s);
      const a = Math.abs(x);
      const sci = a !== 0 && (a < 1e-4 || a >= 1e16);
      assert.equal(s.includes('e'), sci, s);
      if (!sci && Number.isInteger(x)) assert.ok(s.endsWith('.0'), s);
    }),
  );
});

test('property: split() drops empty pieces and whitespace; strip() removes exactly the surrounding whitespace', () => {
  const text = fc.array(fc.oneof(fc.constantFrom(...WS), fc.constantFrom('a', 'b', 'é', '字', '\ufeff', '.')), { maxLength: 20 }).map((c) => c.join(''));
  const isWs = (c: string) => WS.includes(c) || /[\x1d-\x1f\u2000-\u200a\u2028\u2029\u202f\u205f\u1680]/.test(c);
  fc.assert(
    fc.property(text, (s) => {
      const parts = pySplit(s);
      for (const p of parts) assert.ok(p.length > 0 && ![...p].some(isWs), JSON.stringify(p));
      assert.equal(parts.join(''), [...s].filter((c) => !isWs(c)).join(''));
      const t = pyStrip(s);
      assert.ok(s.includes(t));
      if (t) assert.ok(!isWs(t[0]!) && !isWs(t.at(-1)!));
      assert.equal(pyStrip(t), t);
      assert.deepEqual(pySplit(t), parts);
    }),
  );
});
