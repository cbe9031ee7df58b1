import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import initWabt from 'wabt';
import { loadImage, resizeBicubic, dynamicPreprocess } from '../../src/image/index.ts';
import { MinivlError } from '../../src/errors.ts';
import { setResampleEngine } from '../../src/image/resample.ts';
import { wasmAvailable } from '../../src/image/resample-wasm.ts';
import { encodePng, pseudoRandom } from './fixtures.ts';
import { GOLDEN, ROOT } from '../helpers/paths.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Deterministic noise (LCG), the same generator as the script that recorded the Pillow hashes. */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s % 256;
  }
  return out;
}

// [inW, inH, outW, outH, seed, sha256 of Pillow 9.4.0 `Image.frombytes('RGB', ...).resize((outW, outH))`].
// Noise is the hardest input for the fixed-point rounding and clipping; the sizes cover up/down scaling,
// 1-pixel axes, tiny images, identity, one-pass resizes, and inputs tall enough to need several bands.
const PILLOW_RESIZE: [number, number, number, number, number, string][] = [
  [1500, 2000, 1792, 1344, 27, '999cb28e0e3162f72861ec664564bdeced0c066395b9d55b93db0a7065db748c'],
  [2100, 900, 2688, 896, 28, '64cbf43e5572a0524c7c2f195764f6fb3119c25749c851943bf8862bf27b5deb'],
  [1, 1, 448, 448, 1, 'b5a8b14a1fa22c5b30e60ad3c3162e424e8f96f7252e6046947ec13b49f8c91c'],
  [1, 1, 896, 448, 2, '101fd5a5f7269fd641ae85eabee207dd46b9db847799c5665dd8646b6baa798d'],
  [2, 3, 448, 1344, 3, 'c295d70d2f50ba9460847ad51f6f0e656964d813f09ceb2ed5a6f70ff553b74d'],
  [3, 2, 1344, 448, 4, '6c066b86f6b96a0e4f13caf3fad8b23cfee87ca3ace2b25ccc3848b4fd36104c'],
  [5, 7, 448, 448, 5, 'b56dcc609fb16406f13b54de055b114b8805becb2ff3e653e4ae8b7a9821e6fe'],
  [1, 500, 448, 448, 6, '4fd7f11c1cf4fc676dde4a2c1aa29fe4bf3e5a158ece3ccb2be1ceb1870493d0'],
  [500, 1, 448, 448, 7, '7664630816f35ae501adcb81367c2c161fe7f6109ec6275c94a5560713d8c7ac'],
  [1, 3000, 448, 5376, 8, 'ae617a12c8e794c2810b9d7e711e4c52894f3756187147b3a9e5e4f84a0ddf6d'],
  [3000, 1, 5376, 448, 9, '100514c8401489c177d9a911e20a140196856cfd699ce63078bf898046fb8506'],
  [7, 2000, 448, 4480, 10, 'a4ea7d610e7d506e05528949954449f57f55f0c162b202acb69c02e95d2c10aa'],
  [2000, 7, 4480, 448, 11, 'b329c14684456762bf0f91347e5e059db3c8741e2f8a320e01b1c6d394672901'],
  [448, 448, 448, 448, 12, 'c7a5df72d5918f20ec33cdec4178c67ef100a632bb88bf9bb94463d61b40b43d'],
  [449, 447, 448, 448, 13, '863531344af4b64dce4a605edd95276087933620e761ab946efe6897f340561e'],
  [100, 50, 896, 448, 14, '1b8254280ba4d453b73320bbcb02d06296ec3a81bffb15e5ebcacf67f4d5a811'],
  [1000, 1000, 1344, 1344, 15, '78838be562b0fd258b3a6bf03a85c8296d35a240f81ae177d82517af4dedf745'],
  [333, 222, 1344, 896, 16, 'ba97c4257ba3425532ef07eef5bebffcb16e84b387e52f2d747099f7de18925b'],
  [4000, 300, 448, 448, 17, '847b024592cbeb09be609fe5c69fb9b3534d1382358be0afaa5800c5c11a554f'],
  [300, 4000, 448, 448, 18, '154cbd1325535b2b364b432575112550d9dd0bb2ccb4be0dadc71d4f1ab695fe'],
  [1920, 1080, 448, 448, 19, 'a66313cb7095722ca89538d78b6289fedc027ed2555d66b38436b416048a8adc'],
  [640, 480, 1792, 1344, 20, '7b8fb20ea069f87e83ee37df44a654220c4a48c992d1f4265124ab777e1b506b'],
  [1025, 769, 448, 448, 21, 'fe895e200e4f3749e75cdbd31a91c67e4647daad5dd77ce8daf54198979788b3'],
  [4, 4, 3, 3, 22, '3105f633385a41f5ecd0969e24dc2046bce0918eff85ee957ced3c656659cc11'],
  [9, 1, 448, 448, 23, '0b01d0eb11d3b5fd765f7bd2784a065c2fd16495d2ae37280dc69bab0dc0838e'],
  [1, 9, 3, 448, 24, '335fcb1c0d799e28d2da40261378bd2c64e7dc71378df7d0a024388996f110a9'],
  [2, 2, 1, 1, 25, '7c8ad78135276fdc66c47d463e375de7a9702fdae72bfbda8c4a332c803d9c22'],
  [1200, 10, 448, 448, 26, '04b10cb4e8aaaac336a02317d5c79798d6c0d0d8ed2c13d7417742031b892893'],
  [300, 200, 300, 448, 29, 'ec94583f0fcf6b53a5e50c926e59d74effbfa435ab89efdda560f5cc38cf4683'],
  [200, 300, 448, 300, 30, 'd803386c0e54300eadf6a0a68d1054522232fed8a36f66a9ab785849768fdf79'],
  [50, 20, 50, 1000, 31, 'b86d655083976be77cf7152a847d084c6ca47c6c42b9adcba0823001959917fd'],
];

for (const engine of ['wasm', 'js'] as const) {
  test(`resizeBicubic (${engine} passes) equals Pillow byte for byte on noise (31 size pairs)`, () => {
    if (engine === 'wasm') assert.ok(wasmAvailable(), 'WebAssembly SIMD kernels load under Node 20');
    setResampleEngine(engine);
    try {
      for (const [w, h, ow, oh, seed, want] of PILLOW_RESIZE) {
        const r = resizeBicubic({ width: w, height: h, data: noise(w * h * 3, seed) }, ow, oh);
        assert.equal(r.width, ow);
        assert.equal(r.height, oh);
        assert.equal(sha(r.data), want, `${w}x${h} -> ${ow}x${oh}`);
      }
    } finally {
      setResampleEngine('wasm');
    }
  });
}

// convert('RGB') of PNG colour types / depths beyond the golden set, recorded with Pillow 9.4.0.
const W = 7;
const H = 5;
const PNG_CASES: [string, Buffer, string][] = [
  ['LA 8-bit (alpha dropped)', encodePng({ width: W, height: H, colorType: 4, bitDepth: 8, samples: pseudoRandom(W * H * 2, 255, 3) }),
    '19f96a6534ba09a06f26411de0e39b91989d20cf6afa18c95c218917d446a18d'],
  ['LA 16-bit', encodePng({ width: W, height: H, colorType: 4, bitDepth: 16, samples: pseudoRandom(W * H * 2, 65535, 9) }),
    'fda2c0a36244ae88d6e8abc4e93a0c2bf69b98952b8d35ff2afc60978ddafa40'],
  ['gray 16-bit (Pillow clips to 255, does not scale)', encodePng({ width: W, height: H, colorType: 0, bitDepth: 16, samples: pseudoRandom(W * H, 400, 4) }),
    '4a96c475a6df99a0ce316e87b0b0cd6d99585ccf430db8836ce3999a3a3f0c98'],
  ['RGB 16-bit', encodePng({ width: W, height: H, colorType: 2, bitDepth: 16, samples: pseudoRandom(W * H * 3, 65535, 5) }),
    '67a1f77127e8d69ab1a69462b4889a69e4a0fe04c66210a390e85fb2c1dec2ea'],
  ['RGBA 16-bit', encodePng({ width: W, height: H, colorType: 6, bitDepth: 16, samples: pseudoRandom(W * H * 4, 65535, 6) }),
    '2d391dc3def0b5b0af51d10ba51588fa4fce2f9c3d29d9d931f16e1e7f989297'],
  ['RGBA 8-bit with zero alphas', encodePng({ width: W, height: H, colorType: 6, bitDepth: 8, samples: pseudoRandom(W * H * 4, 255, 10) }),
    '5e095681ee8679eb350e4ae8b06de706785c4166415542fa8a6dee9be4bbe35b'],
  ['palette with tRNS', encodePng({ width: W, height: H, colorType: 3, bitDepth: 8, samples: pseudoRandom(W * H, 3, 7),
    palette: [1, 2, 3, 40, 50, 60, 200, 100, 0, 9, 9, 9], trns: [0, 128] }),
    '6a8fe2f4bf8e076020cd940e49cf29ee8dc6b156a27b9433f3c6a4007ee47e7c'],
  ['gray with tRNS', encodePng({ width: W, height: H, colorType: 0, bitDepth: 8, samples: pseudoRandom(W * H, 255, 8), trns: [0, 7] }),
    '726b10af9d6161be67659b991e0f7278425d8f9b32faaed2e70bd7f5d93174d5'],
];

// Sub-byte PNGs: 1/2/4-bit gray (Pillow modes 1 and L, scaled to 0..255) and 1/2/4-bit palette.
const LOW_PAL = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 200, 200, 200, 1, 2, 3, 50, 60, 70, 80, 90, 100, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 77, 77, 77, 88, 88, 88, 99, 99, 99, 111, 0, 0];
const LOW_BIT: [1 | 2 | 4, string, string][] = [
  [1, '770c218e73369540ae9369f7399387476ef67082b43ccedfba1bab6689a19f1b', '307b2ef37119c9156112a52d35f13edcfbbd261275f9107bb85d0a873dc011fc'],
  [2, '8f34640a3b47c781c3f2aad949dcec2384165c50ba774b03745a6b1d1a76cad9', '9b59b0a1b337e6cbafdf7d3bbc0a902196890147f66d16bf1723e40be9a4cfa4'],
  [4, '0ded50441b2256e82d7f3664de329d9079867002be173ceec61512df3d94daa2', 'bb2af266e55305cad65bcb689e3d54efb283dfd64c27d66551302928a4b1dc5d'],
];
for (const [bd, grayHash, palHash] of LOW_BIT) {
  PNG_CASES.push(
    [`gray ${bd}-bit`, encodePng({ width: 11, height: 3, colorType: 0, bitDepth: bd, samples: pseudoRandom(33, (1 << bd) - 1, bd) }), grayHash],
    [`palette ${bd}-bit`, encodePng({ width: 11, height: 3, colorType: 3, bitDepth: bd, samples: pseudoRandom(33, (1 << bd) - 1, 10 + bd),
      palette: LOW_PAL.slice(0, 3 * (1 << bd)) }), palHash],
  );
}

for (const [name, png, want] of PNG_CASES) {
  test(`PNG ${name}: RGB like Pillow convert('RGB')`, async () => {
    const img = await loadImage(png);
    assert.equal(img.data.length, img.width * img.height * 3);
    assert.equal(sha(img.data), want);
  });
}

// 4x2 GIF (written by sharp/cgif) with a transparent palette index: Pillow shows that index's palette colour.
const GIF_TRANSPARENT = 'R0lGODlhBAACAIIAAExpcQD/AP8AAAAA/woUHgAAAAAAAAAAACH5BAUAAAAALAAAAAAEAAIAAAMGKDAgMSQBADs=';
// 16x16 CMYK JPEG (Adobe marker) written by sharp; Pillow converts with its integer CMYK formula.
const CMYK_JPEG =
  '/9j/7gAOQWRvYmUAZAAAAAAA/9sAQwABAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB' +
  'AQEBAQEBAQEBAQEB/8AAFAgAEAAQBEMRAE0RAFkRAEsRAP/EABkAAAIDAQAAAAAAAAAAAAAAAAYHBQgJCv/EACEQAAICAwEBAAMB' +
  'AQAAAAAAAAUGBAcBAwgCCREUFhUX/9oADgRDAE0AWQBLAAA/ALawERUMvQixrrSQFe8y11cmUeieXdqjEW1I6qLHdVj1BPSXunGN' +
  'A9ps/mF+5K+o6Ydp4IrzIg5rFxhk3GjTXmsZAftBgagktrQJ+flEymn/AIqoaEimesb8BstdhrumVOTjfUr5dCbmOvMWMO0O/Sa+' +
  '11vzzWhJi/5+zTQeNC1r8qGtQT50dO1VZtzvQtXbeXKJZvHQv1K6IomTXlt9Iw30AfLiOi2X5K9SUZMG829HkyVevacxM3V3wlRJ' +
  'duTrc2Q5EV7g5YnCYLZhI2BT3U5BQwEo8MhuK0IWqjV3SLWqTUWAA0IFKAw97dC80bQbXXZtQ8LsikWmluqq2lIcFf3aIbDGjCt3' +
  '6+lHjw4rRVeQR82bTEXrfouf70VXG52EO9G1/kr7x7sfGOBK0tGr7wwwKLtDNKvumepflYfB7q7aAGfT/j8yzkfKBjREfTaa9zrn' +
  '9F9NMegNRUrUMrFuWu9rQNZ8DYdz6qv+bH0tylbUPzPWZ5o31cEQOipzha4bSV0KjQWPOLbuMuZeEKPXLDsE+ibflci8lx1yy+l3' +
  'LpW27j6EuKOqqSMzptKa/qFyV2Db/O57W/wpsWwA6Jx79gbFOKjMEed28TOw0EK1VhlvWPJWVNPSDmHtA1X7Ykzxpr6PV0WzUIH5' +
  'nefPhz9a+aecOlU6xfJpbbYhMDHQri4xsAf7VDgnPlwzmTNKx8p+dUVxYMkji1aZjdY9CENcKoh3PgV3pVG/1denNj7fHAtX2rV9' +
  '5YYFF2gHFbFRdPfK5iBya/ZwHrD9szmcfj/wuyNEf44c8jG89vqqhPR6r6mRyNpdS2rZ+gGzvCqGubMX5kfUhxrQsWaJesaON9Xa' +
  '2C/5K5nS2a46QP8AbjPQFMoMrqWrBAvYfFcp3qYo3mPQwW11JbvR8010NaC4rNkmcj0nt+u/MnTzhR02sDUR0VZwavOZPuVZbAxX' +
  'spTBO8IoCSzgb3hpQKCMpww3G9boj6bzsCV61ImmtdNmIgTzN2Z8OONfPnOvSCi/eDy80xyAGOh23yQ+DvSicGYw3eMSpE+NlO1e' +
  'YrYxTkLVZlzzeh+rRviPVUPogxGriinET48Ysf3477syu2yJc1cviVLCtPPl08t/VJYba3wGL4xYH4hmZn4QP1Y78TT0QTdH+VyF' +
  'UWs/UnFdQQ88xl3MOcZtRSPTeq0fpR88Ctbc+2gfhPw9h6Fo83avPJdl0vkwpuVVUoMYGveZYi4MWfUVaI9s0fztu+cvH7psbeuL' +
  'foqrlHp/otZYWY5R/PFrw/lZ1Bwqhv8AVduVmGgP9YwELrj5Hoyg8MNiopJjUXJ/lhRsLxZLUvo9fERQB/eP0hkuGNnTX2i0ZamD' +
  'QGKDnH9pjHSvR/OrBpsJTcFKWMYKje6d7Nrw8o5gkc/2GcwCsv8AKh+nHcf/2Q==';

test('GIF first frame: transparent pixels keep their palette colour (Pillow)', async () => {
  const img = await loadImage(Buffer.from(GIF_TRANSPARENT, 'base64'));
  assert.deepEqual([img.width, img.height], [4, 2]);
  assert.equal(sha(img.data), 'af2fdb3653260d17a52e7df6dfedd4b5fd77591d24dfa14517353f44d29a5553');
  assert.deepEqual(Array.from(img.data.subarray(3, 6)), [76, 105, 113]);
});

test('CMYK JPEG: Pillow integer CMYK -> RGB', async () => {
  const img = await loadImage(Buffer.from(CMYK_JPEG, 'base64'));
  assert.deepEqual([img.width, img.height], [16, 16]);
  assert.equal(sha(img.data), '1dfd7aa711f7a166f6293f3996f536e6aa45123b7de46a7a3da8b5467c740f0c');
});

test('progressive 4:2:0 JPEGs decode exactly like Pillow (libjpeg-turbo islow IDCT + fancy upsampling)', async () => {
  // Recorded with Pillow 9.4.0 (Debian libjpeg-turbo 2.1.5): Image.open(f).convert('RGB').tobytes().
  const want: Record<string, string> = {
    'photo_demo1.jpg': '7c9c583a1197dadfa8e366084d62dc7637fcd26b96b3d956a5940bea48861797',
    'photo_demo2.jpg': 'af6f9aa95964e43af06c43fb0890c1df215a90fcc4a2e3200f8a0d2bfc953248',
  };
  for (const [name, hash] of Object.entries(want)) assert.equal(sha((await loadImage(`${GOLDEN}/images/${name}`)).data), hash, name);
});

test('lossless WebP and EXIF-rotated JPEG keep stored pixels (no auto-rotation, no ICC transform)', async () => {
  const raw = noise(9 * 6 * 3, 77);
  const webp = await sharp(raw, { raw: { width: 9, height: 6, channels: 3 } }).webp({ lossless: true }).toBuffer();
  const img = await loadImage(webp);
  assert.deepEqual([img.width, img.height], [9, 6]);
  assert.deepEqual(Array.from(img.data), Array.from(raw));
  const jpg = await sharp(raw, { raw: { width: 9, height: 6, channels: 3 } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  const j = await loadImage(jpg);
  assert.deepEqual([j.width, j.height], [9, 6]);
});

test('unreadable, empty, truncated and non-image inputs give one-line MinivlErrors', async () => {
  const png = encodePng({ width: 64, height: 64, colorType: 2, bitDepth: 8, samples: pseudoRandom(64 * 64 * 3, 255, 1) });
  const jpg = await sharp(noise(64 * 64 * 3, 5), { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer();
  const bad: [string, string | Uint8Array, RegExp][] = [
    ['missing file', '/nonexistent/dir/img.png', /cannot read image \/nonexistent\/dir\/img\.png: no such file/],
    ['directory', '/tmp', /cannot read image \/tmp: is a directory/],
    ['zero bytes', new Uint8Array(0), /empty \(0 bytes\)/],
    ['text', Buffer.from('definitely not an image'), /not a supported image/],
    ['truncated PNG', png.subarray(0, png.length >> 1), /cannot decode image .*: corrupt or truncated image file \(.+\)$/],
    ['PNG header only', png.subarray(0, 24), /cannot decode image .*: corrupt or truncated image file \(.+\)$/],
    ['truncated JPEG', jpg.subarray(0, jpg.length >> 1), /cannot decode image .*: corrupt or truncated image file \(.+\)$/],
    ['device, not a file', '/dev/zero', /^cannot read image \/dev\/zero: not a regular file$/],
  ];
  for (const [name, input, re] of bad) {
    await assert.rejects(loadImage(input), (e: unknown) => {
      assert.ok(e instanceof MinivlError, `${name}: ${String(e)}`);
      assert.match(e.message, re, name);
      assert.ok(!e.message.includes('\n'), `${name}: one line`);
      return true;
    });
  }
});

test('absurd sizes tile correctly and quickly: 1x100000 and 100000x1', async () => {
  const tall = await sharp({ create: { width: 1, height: 100000, channels: 3, background: { r: 10, g: 200, b: 30 } } }).png().toBuffer();
  const wide = await sharp({ create: { width: 100000, height: 1, channels: 3, background: { r: 10, g: 200, b: 30 } } }).png().toBuffer();
  for (const [buf, grid] of [[tall, [1, 12]], [wide, [12, 1]]] as const) {
    const img = await loadImage(buf);
    const r = dynamicPreprocess(img, { maxNum: 12 });
    assert.deepEqual(r.grid, grid);
    assert.equal(r.tiles.length, 13);
    // A constant image stays constant through Pillow's normalized filter.
    for (const t of r.tiles) for (let i = 0; i < t.data.length; i += 3) assert.deepEqual([t.data[i], t.data[i + 1], t.data[i + 2]], [10, 200, 30]);
  }
});

test('extreme aspect ratios beyond what the reference could resize are a clear MinivlError, not a hang', () => {
  const img = { width: 5, height: 300000, data: new Uint8Array(5 * 300000 * 3) };
  assert.throws(() => dynamicPreprocess(img, { maxNum: 12 }), /image of 5x300000 pixels is too extreme to resize to 448x5376/);
});

test('bad tiling options and images over the pixel limit are one-line MinivlErrors', async () => {
  const img = { width: 4, height: 4, data: new Uint8Array(48) };
  assert.throws(() => dynamicPreprocess(img, { maxNum: 0 }), /max_num must be an integer from 1 to 100, got 0/);
  assert.throws(() => dynamicPreprocess(img, { maxNum: 2.5 }), MinivlError);
  assert.throws(() => dynamicPreprocess(img, { maxNum: 6, minNum: 7 }), /min_num/);
  assert.throws(() => dynamicPreprocess({ width: 0, height: 0, data: new Uint8Array(0) }, { maxNum: 6 }), MinivlError);
  // 20000 x 10000 = 200M pixels > Pillow's DecompressionBombError limit (2 x 89,478,485).
  const huge = await sharp({ create: { width: 20000, height: 10000, channels: 3, background: 'red' } }).png({ compressionLevel: 1 }).toBuffer();
  await assert.rejects(loadImage(huge), /larger than the 178956970-pixel limit/);
});

test('the embedded WebAssembly bytes are resample.wat compiled (WABT, from the wabt dev dependency)', async () => {
  const wabt = await initWabt();
  const wasm = Buffer.from(wabt.parseWat('resample.wat', readFileSync(`${ROOT}/src/image/resample.wat`, 'utf8'), { simd: true }).toBinary({}).buffer);
  const src = readFileSync(`${ROOT}/src/image/resample-wasm.ts`, 'utf8');
  const embedded = /RESAMPLE_WASM_BASE64 =\s*'([A-Za-z0-9+/=]+)'/.exec(src)?.[1];
  assert.equal(embedded, wasm.toString('base64'));
});
