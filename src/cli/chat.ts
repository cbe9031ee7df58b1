// `minivl chat`: thin CLI over the MiniVL library (src/minivl.ts): flags → request, stream the answer.
import { statSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { errnoCode, fail } from '../errors.ts';
import { checkImageFile, MAX_TILES } from '../image/index.ts';
import { MiniVL, GenerationAbortedError, type ChatSession, type ChatStream, type ProgressEvent } from '../minivl.ts';
import type { GenerationOptions } from '../generate/generate.ts';
import { resolveSamplingOptions } from '../generate/sampling.ts';
import { parseDevice } from '../runtime/device.ts';
import { inputDir, intFlag, numFlag, outputFile, parseCommandArgs, printWarning, required, weightFlags, WEIGHT_OPTIONS, type CommandSpec } from './args.ts';

const CMD: CommandSpec = {
  name: 'chat',
  help: `usage: minivl chat --model DIR|ORG/NAME [--image FILE...] [options] "question"
       minivl chat --model DIR|ORG/NAME [--image FILE]... --interactive

Streams the model's answer about the images to stdout (reference chat() prompt and answer rules).

  --model DIR|ORG/NAME    checkpoint folder, or a Hugging Face id (downloaded to the cache;
                          MINIVL_OFFLINE=1 uses the cache only)
  --image FILE...         images (JPEG, PNG, WebP, GIF...): repeat the flag, or list the files after it
                          (prompted as "Image-1: <image>\\nImage-2: <image>\\n...")
  --max-num N             max tiles per image, thumbnail not counted (1 to ${MAX_TILES}; default 12)
  --max-new-tokens N      cap on generated tokens (default 1024)
  --min-new-tokens N      no stop token before N tokens (default 0)
  --do-sample             sample instead of greedy decoding (model cards: top-k 50)
  --temperature T         sampling temperature (default 1; 0 = greedy)
  --top-k K               keep the K most likely tokens (default 50; 0 = off)
  --top-p P               nucleus sampling mass (default 1 = off)
  --repetition-penalty R  HF repetition penalty (default 1 = off)
  --seed S                sampling seed (default 0)
  --stop TEXT             also stop at this text (repeatable)
  --system TEXT           system message (default: the checkpoint's)
  --device D              cpu (default) | webgpu | auto (WebGPU when an adapter exists; without one
                          the CPU runs it, with a warning)
  --dtype P               weight precision: fp32 (default), fp16, int8 or int4 (converted once into the
                          weight cache, $MINIVL_CACHE/converted; README "Precisions")
  --prefill-weights int8  with --dtype int4: the prompt runs on an int8 copy of the LLM's linears (about
                          1.8× the prefill speed of int4, decode stays int4; +0.41 GiB on the 1B)
  --threads N             ONNX Runtime intra-op threads (default: all cores)
  --lora DIR              apply a LoRA adapter folder (minivl finetune's OUT/adapter) unmerged at load
  --boxes                 after the answer, print grounded boxes (pixels of image 1) as JSON on stderr
  --dump-prompt-ids FILE  write the prompt token ids fed to the model as JSON (for tests)
  -i, --interactive       multi-turn session: each line is a question asked with the history.
                          Commands: /image FILE  add an image for the next question
                                    /reset       forget history and images
                                    /exit        quit (also Ctrl-D)
                          Ctrl-C stops the current answer; Ctrl-C at the prompt quits.
  -h, --help              this help

Ctrl-C during a one-shot answer stops generation and exits with status 130.
`,
};

const OPTIONS = {
  model: { type: 'string' },
  image: { type: 'string', multiple: true },
  'max-num': { type: 'string' },
  'max-new-tokens': { type: 'string' },
  'min-new-tokens': { type: 'string' },
  'do-sample': { type: 'boolean' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  'repetition-penalty': { type: 'string' },
  seed: { type: 'string' },
  stop: { type: 'string', multiple: true },
  system: { type: 'string' },
  device: { type: 'string' },
  ...WEIGHT_OPTIONS,
  threads: { type: 'string' },
  lora: { type: 'string' },
  boxes: { type: 'boolean' },
  'dump-prompt-ids': { type: 'string' },
  interactive: { type: 'boolean', short: 'i' },
  help: { type: 'boolean', short: 'h' },
} as const;

function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(CMD, { args: argv, options: OPTIONS, allowPositionals: true });
  if (!args) return 0;
  const { values: v, positionals } = args;
  const model = required(CMD, '--model', v.model);
  // The documented form is `--image FILE...`: files right after the images (`--image a.jpg b.jpg "q"`) are
  // images too; the rest is the question.
  const images = [...(v.image ?? [])];
  let firstWord = 0;
  if (images.length > 0) {
    while (firstWord < positionals.length - 1 && isRegularFile(positionals[firstWord]!)) images.push(positionals[firstWord++]!);
  }
  const question = positionals.slice(firstWord).join(' ');
  if (!v.interactive && question.trim() === '') fail('chat: give a question, e.g. minivl chat --model DIR --image cat.jpg "Describe the image." (or --interactive)');
  // Fail fast, before the (slow) model load: files, numbers and the sampling ranges.
  for (const f of images) checkImageFile(f);
  if (v['dump-prompt-ids'] !== undefined) outputFile('--dump-prompt-ids', v['dump-prompt-ids']);
  const maxNum = intFlag('--max-num', v['max-num'], { min: 1, max: MAX_TILES });
  const { dtype, prefillWeights } = weightFlags(v);
  const threads = intFlag('--threads', v.threads, { min: 1 });
  const generation: GenerationOptions = {
    maxNewTokens: intFlag('--max-new-tokens', v['max-new-tokens'], { min: 1 }),
    minNewTokens: intFlag('--min-new-tokens', v['min-new-tokens'], { min: 0 }),
    doSample: v['do-sample'] ?? false,
    temperature: numFlag('--temperature', v.temperature),
    topK: intFlag('--top-k', v['top-k'], { min: 0 }),
    topP: numFlag('--top-p', v['top-p']),
    repetitionPenalty: numFlag('--repetition-penalty', v['repetition-penalty']),
    seed: intFlag('--seed', v.seed, { min: 0 }),
    stopStrings: v.stop,
  };
  resolveSamplingOptions(generation);

  const status = new StatusLine(process.stderr);
  const sigint = new SigintGuard();
  process.stdout.on('error', onStdoutError);
  try {
    // The library is silent unless asked: the CLI shows download progress and owns Ctrl-C.
    const hub = { progress: process.stderr, handleSigint: false };
    if (v.lora !== undefined) inputDir('--lora', v.lora);
    const warn = (m: string) => (status.clear(), printWarning(m));
    const device = parseDevice(v.device ?? 'cpu');
    const log = (m: string) => (status.clear(), process.stderr.write(`${m}\n`));
    const vl = await MiniVL.load(model, { hub, systemMessage: v.system, lora: v.lora, device, dtype, prefillWeights, threads, warn, log, onProgress: (e) => status.progress(e), signal: sigint.signal });
    status.clear();
    if (sigint.signal.aborted) {
      process.stderr.write('minivl: interrupted while loading the model\n');
      return 130;
    }
    const session = vl.session({ maxNum, generation });
    session.addImages(...images);
    const ask = (q: string, signal: AbortSignal) =>
      session.ask(q, { signal, onProgress: (e) => status.progress(e) });
    const opts = { boxes: v.boxes ?? false, dumpPromptIds: v['dump-prompt-ids'], vl, status };
    if (!v.interactive) {
      const r = await answer(ask(question, sigint.signal), opts);
      return r === 'aborted' ? 130 : 0;
    }
    return await interactive(session, ask, sigint, opts, question);
  } finally {
    status.clear();
    sigint.dispose();
    process.stdout.off('error', onStdoutError);
  }
}

/** The reader went away (`minivl chat ... | head`): stop quietly, as a pipe writer should. */
function onStdoutError(e: NodeJS.ErrnoException): void {
  if (e.code !== 'EPIPE') process.stderr.write(`minivl: error: cannot write the answer to stdout: ${e.message}\n`);
  process.exit(e.code === 'EPIPE' ? 0 : 1);
}

interface AnswerOpts {
  boxes: boolean;
  dumpPromptIds?: string;
  vl: MiniVL;
  status: StatusLine;
}

/** Streams one answer to stdout; 'aborted' when Ctrl-C stopped it. */
async function answer(stream: ChatStream, o: AnswerOpts): Promise<'done' | 'aborted'> {
  let started = false;
  try {
    for await (const chunk of stream) {
      if (!started) {
        o.status.clear();
        started = true;
      }
      if (chunk.text) process.stdout.write(chunk.text);
    }
    const r = await stream.result;
    if (o.dumpPromptIds) writePromptIds(o.dumpPromptIds, r.promptIds);
    process.stdout.write('\n');
    if (o.boxes && r.grounding.length > 0) process.stderr.write(`${JSON.stringify(r.grounding)}\n`);
    return 'done';
  } catch (e) {
    o.status.clear();
    if (e instanceof GenerationAbortedError) {
      if (started) process.stdout.write('\n');
      process.stderr.write(`minivl: interrupted; generation stopped after ${e.tokenIds.length} token(s)\n`);
      return 'aborted';
    }
    throw e;
  }
}

/** The --interactive loop: one question per line, commands start with '/'. */
async function interactive(
  session: ChatSession,
  ask: (q: string, signal: AbortSignal) => ChatStream,
  sigint: SigintGuard,
  o: AnswerOpts,
  firstQuestion: string,
): Promise<number> {
  const tty = Boolean(process.stdin.isTTY);
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: tty, prompt: tty ? '> ' : '' });
  let quitting = false;
  // With a terminal, readline reads Ctrl-C as a key and emits 'SIGINT' here instead of a signal.
  rl.on('SIGINT', () => {
    if (sigint.busy) sigint.interrupt();
    else {
      quitting = true;
      rl.close();
    }
  });
  sigint.onIdleInterrupt = () => {
    quitting = true;
    rl.close();
  };
  if (tty) process.stderr.write('minivl: interactive chat; /image FILE adds an image, /reset forgets, /exit quits\n');

  const handle = async (line: string): Promise<boolean> => {
    const text = line.trim();
    if (text === '') return true;
    if (text === '/exit' || text === '/quit') return false;
    if (text === '/reset') {
      session.reset();
      process.stderr.write('minivl: history and images cleared\n');
      return true;
    }
    if (text === '/help') {
      process.stderr.write('commands: /image FILE, /reset, /exit\n');
      return true;
    }
    if (text.startsWith('/image')) {
      const file = text.slice('/image'.length).trim();
      try {
        if (!file) fail('/image needs a file name');
        checkImageFile(file);
        session.addImages(file);
        process.stderr.write(`minivl: ${file} will be sent with the next question\n`);
      } catch (e) {
        process.stderr.write(`minivl: error: ${(e as Error).message}\n`);
      }
      return true;
    }
    const signal = sigint.begin();
    try {
      await answer(ask(line, signal), o);
    } catch (e) {
      // A bad image or an overflowing context ends this question, not the session.
      if ((e as Error).name !== 'MinivlError') throw e;
      process.stderr.write(`minivl: error: ${(e as Error).message}\n`);
    } finally {
      sigint.end();
    }
    return true;
  };

  if (firstQuestion.trim() && !(await handle(firstQuestion))) {
    rl.close();
    return 0;
  }
  rl.prompt();
  for await (const line of rl) {
    if (!(await handle(line))) break;
    if (quitting) break;
    rl.prompt();
  }
  rl.close();
  if (tty) process.stdout.write('\n');
  return 0;
}

/**
 * Ctrl-C policy: while an answer runs, the first Ctrl-C aborts it (the library stops before its next
 * model call); a second one exits at once. Outside an answer, one-shot mode aborts the load; interactive
 * mode quits.
 */
class SigintGuard {
  private controller = new AbortController();
  private readonly root = new AbortController();
  busy = false;
  private count = 0;
  onIdleInterrupt: (() => void) | null = null;
  private readonly handler = () => this.interrupt();

  constructor() {
    process.on('SIGINT', this.handler);
  }

  /** Aborted by Ctrl-C outside interactive answers (load, one-shot answer). */
  get signal(): AbortSignal {
    return this.root.signal;
  }

  begin(): AbortSignal {
    this.controller = new AbortController();
    this.busy = true;
    this.count = 0;
    return this.controller.signal;
  }

  end(): void {
    this.busy = false;
  }

  interrupt(): void {
    this.count++;
    if (this.count >= 2) {
      process.stderr.write('\nminivl: interrupted\n');
      process.exit(130);
    }
    if (this.busy) this.controller.abort();
    else if (this.onIdleInterrupt) this.onIdleInterrupt();
    else this.root.abort();
  }

  dispose(): void {
    process.off('SIGINT', this.handler);
  }
}

/** Progress on stderr: one rewritten line on a terminal, plain lines otherwise. */
class StatusLine {
  private shown = false;
  constructor(private readonly out: NodeJS.WriteStream) {}

  progress(e: ProgressEvent): void {
    const msg = describe(e);
    if (msg === null) return;
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[2K\x1b[2m${msg}\x1b[0m`);
      this.shown = true;
    } else {
      this.out.write(`minivl: ${msg}\n`);
    }
  }

  clear(): void {
    if (this.shown) this.out.write('\r\x1b[2K');
    this.shown = false;
  }
}

function describe(e: ProgressEvent): string | null {
  switch (e.stage) {
    case 'load':
      return `loading model ${e.dir} ...`;
    case 'loaded':
      return `model loaded in ${(e.ms / 1000).toFixed(1)} s`;
    case 'preprocess':
      return `reading ${e.images} image(s) ...`;
    case 'encode':
      return `encoding ${e.tiles} image tile(s) ...`;
    case 'prefill':
      return `reading the prompt (${e.tokens} tokens) ...`;
    default:
      return null;
  }
}

/** --dump-prompt-ids: a small debugging file, written in one call (its folder was checked up front). */
function writePromptIds(file: string, ids: unknown): void {
  try {
    writeFileSync(file, `${JSON.stringify(ids)}\n`);
  } catch (e) {
    fail(`--dump-prompt-ids ${file}: cannot write (${errnoCode(e)})`);
  }
}
