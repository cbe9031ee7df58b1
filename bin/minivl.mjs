#!/usr/bin/env node
// The CLI, compiled to dist/ by `npm run build` (run by `npm ci`/`npm pack`; tests run src/ through tsx).
import { main } from '../dist/cli/main.js';
process.exitCode = await main(process.argv.slice(2));
