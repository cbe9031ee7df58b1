// The web page in a real browser (Debian's chromium driven by playwright-core): pick an image, ask with
// the keyboard, watch the answer stream in, and see the grounding box the server parsed from the model's
// answer drawn on the image; a screenshot is saved (path printed). The model is a tiny checkpoint steered
// to answer with a grounding answer (steered-checkpoint.ts), run by the real engine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { MiniVL } from '../../src/minivl.ts';
import { tempDir } from '../helpers/tmp.ts';
import { image } from '../generate/chat-helpers.ts';
import { writeSteeredCheckpoint, STEERED_BOX } from './steered-checkpoint.ts';
import { startServer, type Running } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SCREENSHOT = process.env.MINIVL_SCREENSHOT ?? join(tmpdir(), 'minivl-serve-web.png');

let vl: MiniVL;
let srv: Running;
let browser: Browser;

before(async () => {
  if (!existsSync(CHROMIUM)) return;
  const dir = join(await tempDir(), 'steered');
  await writeSteeredCheckpoint(dir);
  vl = await MiniVL.load(dir);
  srv = await startServer(vl, { modelName: 'steered' });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
});
after(async () => {
  await browser?.close();
  await srv?.server.close(0);
  await vl?.release();
});

test('upload an image, ask, the answer streams and the grounding box is drawn; screenshot saved', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is not installed` }, async () => {
  const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(srv.url);
  // Page-side code is passed as strings: this project's TypeScript has no DOM types.
  await page.waitForFunction("document.getElementById('model').textContent === 'model: steered'");
  await page.setInputFiles('#file', image('photo_demo1.jpg'));
  await page.waitForSelector('#pending img');
  // Record every length the answer text goes through: a streamed answer grows in steps.
  await page.evaluate(`
    window.lengths = [];
    new MutationObserver(() => {
      const a = document.querySelector('.msg.assistant');
      if (a) window.lengths.push(a.textContent.length);
    }).observe(document.getElementById('log'), { subtree: true, childList: true, characterData: true });
  `);
  await page.click('#settings summary'); // open the settings, use 2 tiles
  await page.fill('#max-num', '2');
  await page.focus('#question');
  await page.keyboard.type('Where is the cat?');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.figure .box', { timeout: 60_000 });
  await page.waitForFunction("!document.querySelector('.msg.assistant.streaming')");

  const answer = await page.textContent('.msg.assistant');
  assert.equal(answer, 'cat[[10,23 ,456,\n789]]');
  const lengths = (await page.evaluate('window.lengths')) as number[];
  assert.ok(new Set(lengths).size >= 5, `the answer arrived in steps: ${lengths.join(',')}`);
  const box = await page.evaluate(`(() => {
    const b = document.querySelector('.figure .box');
    return { left: b.style.left, top: b.style.top, width: b.style.width, height: b.style.height, label: b.textContent };
  })()`);
  const [x1, y1, x2, y2] = STEERED_BOX;
  assert.deepEqual(box, { left: `${x1! / 10}%`, top: `${y1! / 10}%`, width: `${(x2! - x1!) / 10}%`, height: `${(y2! - y1!) / 10}%`, label: 'cat' });
  // The box lies on the uploaded image, which is in the user's message.
  assert.equal(await page.evaluate("document.querySelector('.figure .box').parentElement.querySelector('img').alt"), 'photo_demo1.jpg');
  assert.equal(await page.isEnabled('#send'), true);
  assert.equal(await page.isDisabled('#stop'), true);
  assert.deepEqual(pageErrors, []);
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  assert.deepEqual([...readFileSync(SCREENSHOT).subarray(1, 4)], [...Buffer.from('PNG')]);
  console.log(`screenshot: ${SCREENSHOT}`);
});
