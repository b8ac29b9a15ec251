/** Entry of dist/cli.js: the whole `hezo` command line, run by bin/hezo.js (or `node dist/cli.js <command>`). */
import { main } from '../cli/main.ts';

process.exitCode = await main(process.argv.slice(2));
