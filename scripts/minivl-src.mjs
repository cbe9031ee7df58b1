#!/usr/bin/env node
// The CLI straight from src/ through tsx, for tests and development (bin/minivl.mjs runs the build in dist/).
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
