#!/usr/bin/env node
// The `hezo` command. Runs the TypeScript sources through tsx's loader, so `npx hezo` works right after `npm ci`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
