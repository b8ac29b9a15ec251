#!/usr/bin/env node
/**
 * `npm run build`: bundles the command line into dist/ with esbuild (ESM, node 20, source maps).
 *   dist/cli.js    the `hezo` command (hub, agent, sim, demo, sla), lazily loaded chunks in dist/chunks/
 *   dist/agent.js  the agent alone as ONE file: `node --enable-source-maps dist/agent.js --config FILE [--once]`
 *   dist/build-stamp.json  the source files that went in, so bin/hezo.js can refuse a stale dist/
 * Native and optional packages stay external (they are loaded from node_modules at run time).
 * `--if-stale` builds only when the stamp is older than a source (used before tests).
 */
import { cpSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { staleReason } from './stamp.mjs';
import { trimSourceMap } from './trim-source-map.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');

/**
 * Native add-ons, their optional helpers, optional peers nothing here installs, and net-snmp (sloppy-mode code:
 * its MIB proxy's `set` trap returns undefined, which throws inside an ES module bundle, which is always strict),
 * snmp-native (calls the deprecated `new Buffer()`, which node warns about on stderr outside node_modules/),
 * pino (its transports start worker files found through `__dirname`, which an ES module bundle does not have),
 * node-ssh (ESM that imports ssh2: bundled, ssh2 would be hoisted into a static import and loaded at start-up;
 * external, `await import('node-ssh')` loads both at the first SSH session only).
 */
export const EXTERNAL = [
  'better-sqlite3',
  'net-snmp',
  'snmp-native',
  'pino',
  'ssh2',
  'node-ssh',
  'cpu-features',
  'pg-native',
  'bufferutil',
  'utf-8-validate',
  'fsevents',
  'esbuild',
  'tsx',
  'playwright-core',
];

// Bundled CommonJS packages still call require(); give the ESM bundle one.
const BANNER = [
  "import { createRequire as __hezoCreateRequire } from 'node:module';",
  'const require = __hezoCreateRequire(import.meta.url);',
].join('\n');

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  sourcesContent: false,
  external: EXTERNAL,
  banner: { js: BANNER },
  logLevel: 'warning',
  metafile: true,
  legalComments: 'none',
  absWorkingDir: ROOT,
};

/**
 * A module of protocols/ replaced in the agent bundle by ajv standalone code generated here from the zod schemas, so
 * the running agent holds neither zod, nor the ajv compiler, nor the code it would generate at start (bench B8):
 * protocols/compiled-checks.ts (build/compiled-checks-standalone.ts). `generator` is bundled, run once per build
 * process, and its `exportName` returns the module's source.
 */
function standalonePlugin(module, generator, exportName) {
  let source;
  const generate = async () => {
    const file = join(ROOT, `.${module}-gen-${process.pid}.mjs`);
    try {
      await build({
        ...common,
        metafile: false,
        sourcemap: false,
        entryPoints: [join(ROOT, generator)],
        outfile: file,
      });
      return (await import(pathToFileURL(file).href))[exportName]();
    } finally {
      rmSync(file, { force: true });
    }
  };
  return {
    name: `${module}-standalone`,
    setup(b) {
      b.onLoad({ filter: new RegExp(`[\\\\/]protocols[\\\\/]${module}\\.ts$`) }, async () => {
        source ??= await generate();
        return { contents: source, loader: 'js', resolveDir: ROOT };
      });
    },
  };
}

/**
 * agent/config.ts in the agent bundle: the config is checked by the real zod schema (exact errors, cross-field rules),
 * but by code that runs once and is dropped. The module and what it needs (zod, yaml, the schemas; ~10 MB once
 * loaded, bench B8) are bundled here as CommonJS text (gzipped), compiled at start with `vm.runInThisContext`, called,
 * and left to the garbage collector: nothing of it is reachable once the frozen config is out (zod's globals
 * removed). Its errors come back as this bundle's own AppError (the CLI's exit codes check the class).
 */
function disposableConfigPlugin() {
  let source;
  const generate = async () => {
    const out = await build({
      ...common,
      metafile: false,
      sourcemap: false,
      minify: true,
      format: 'cjs',
      banner: {},
      write: false,
      entryPoints: [join(ROOT, 'agent/config.ts')],
      outfile: join(ROOT, '.agent-config-check.cjs'),
    });
    const cjs = out.outputFiles[0].text;
    const loader = `(function (require) { const module = { exports: {} }; const exports = module.exports;\n${cjs}\nreturn module.exports; })`;
    // kept gzipped in the bundle (the bundle's text stays in memory for the agent's life: ~150 kB instead of ~600)
    const packed = gzipSync(loader, { level: 9 }).toString('base64');
    return [
      "import { createRequire } from 'node:module';",
      "import { runInThisContext } from 'node:vm';",
      "import { gunzipSync } from 'node:zlib';",
      "import { AppError } from './protocols/errors.ts';",
      "export { collectSecrets, isUsbDevice } from './agent/config-facts.ts';",
      `const LOADER_GZ = ${JSON.stringify(packed)};`,
      // zod keeps its registry and settings on globalThis (shared by copies): they would hold the loader alive
      "const ZOD_GLOBALS = ['__zod_globalRegistry', '__zod_globalConfig'];",
      'function withLoader(use) {',
      '  const before = ZOD_GLOBALS.filter((key) => key in globalThis);',
      "  const source = gunzipSync(Buffer.from(LOADER_GZ, 'base64')).toString('utf8');",
      "  const loader = runInThisContext(source, { filename: 'agent-config-check.cjs' })(createRequire(import.meta.url));",
      '  try {',
      '    return use(loader);',
      '  } catch (err) {',
      "    if (err !== null && typeof err === 'object' && err.name === 'AppError' && !(err instanceof AppError)) {",
      '      throw new AppError(err.code, err.message, { details: err.details });',
      '    }',
      '    throw err;',
      '  } finally {',
      '    for (const key of ZOD_GLOBALS) if (!before.includes(key)) delete globalThis[key];',
      '  }',
      '}',
      'export function loadAgentConfig(file, env = process.env) {',
      '  return withLoader((loader) => loader.loadAgentConfig(file, env));',
      '}',
      'export function buildAgentConfig(raw) {',
      '  return withLoader((loader) => loader.buildAgentConfig(raw));',
      '}',
      '',
    ].join('\n');
  };
  return {
    name: 'agent-config-disposable',
    setup(b) {
      b.onLoad({ filter: /[\\/]agent[\\/]config\.ts$/ }, async () => {
        source ??= await generate();
        return { contents: source, loader: 'js', resolveDir: ROOT };
      });
    },
  };
}

/**
 * The agent runs on small boxes: its bundle is minified (half the source text the process keeps in memory, ~4 MB
 * less heap and ~8 MB less RSS); names stay (`keepNames`) for logs and errors, and the source map maps stack traces
 * back to the sources (`--enable-source-maps`): the repo's own sources only (trimAgentMap).
 */
const agentOptions = {
  minify: true,
  keepNames: true,
  plugins: [
    standalonePlugin('compiled-checks', 'build/compiled-checks-standalone.ts', 'compiledChecksModuleSource'),
    disposableConfigPlugin(),
  ],
};

/**
 * The agent's source map without the bundled packages' code (build/trim-source-map.mjs): node keeps the map in
 * memory for the agent's whole life; mappings 1.3 MB -> 0.2 MB, names 13,000 -> 1,750 (bench B8, fourth round).
 */
function trimAgentMap(jsFile) {
  const mapFile = `${jsFile}.map`;
  const map = JSON.parse(readFileSync(mapFile, 'utf8'));
  writeFileSync(mapFile, JSON.stringify(trimSourceMap(map, (source) => !source.includes('node_modules/'))));
}

/** One more entry bundled like dist/agent.js (benchmarks measure their agent harness this way), into dist/. */
export async function bundleOne(entry, outName) {
  const outfile = join(DIST, outName);
  await build({ ...common, ...agentOptions, metafile: false, entryPoints: [join(ROOT, entry)], outfile });
  trimAgentMap(outfile);
  return outfile;
}

export async function runBuild({ ifStale = false } = {}) {
  if (ifStale) {
    const reason = staleReason(ROOT);
    if (reason === null) return false;
  }
  const tmp = join(ROOT, `.dist-tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  const started = Date.now();
  const cli = await build({
    ...common,
    entryPoints: { cli: 'build/cli-entry.ts' },
    outdir: tmp,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
  });
  const agent = await build({
    ...common,
    ...agentOptions,
    entryPoints: { agent: 'build/agent-entry.ts' },
    outdir: tmp,
  });
  trimAgentMap(join(tmp, 'agent.js'));
  // The pages' static files (hub/ws/noc-module.ts and hub/web/pages-module.ts find them here in a build).
  const inputs = new Set();
  for (const [from, to] of [
    ['dashboards/noc/static', 'noc-static'],
    ['dashboards/web', 'web-static'],
  ]) {
    cpSync(join(ROOT, from), join(tmp, to), { recursive: true });
    inputs.add(from);
    for (const f of readdirSync(join(ROOT, from))) inputs.add(`${from}/${f}`);
  }
  for (const result of [cli, agent]) {
    for (const file of Object.keys(result.metafile.inputs)) {
      if (!file.includes('node_modules/')) inputs.add(file);
    }
  }
  inputs.add('package-lock.json');
  inputs.add('build/build.mjs');
  inputs.add('build/compiled-checks-standalone.ts');
  inputs.add('build/ajv-standalone.ts');
  inputs.add('build/trim-source-map.mjs');
  // What the bundle still imports at run time (node builtins and the external packages): a test checks that a
  // production install (`npm ci --omit=dev`) provides every package here.
  const externals = new Set();
  for (const result of [cli, agent]) {
    for (const output of Object.values(result.metafile.outputs)) {
      for (const imp of output.imports) if (imp.external) externals.add(imp.path);
    }
  }
  // The packages in dist/agent.js's own module graph (its config check is apart: disposableConfigPlugin), for the
  // footprint test: zod and yaml must not be among them.
  const agentPackages = new Set();
  for (const file of Object.keys(agent.metafile.inputs)) {
    const m = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(file);
    if (m) agentPackages.add(m[1]);
  }
  const stamp = {
    builtAt: started,
    externals: [...externals].sort(),
    agentPackages: [...agentPackages].sort(),
    inputs: [...inputs].sort(),
  };
  writeFileSync(join(tmp, 'build-stamp.json'), `${JSON.stringify(stamp, null, 1)}\n`);
  // Swap in the new dist/ whole, so a CLI started meanwhile never sees half a build.
  const old = join(ROOT, `.dist-old-${process.pid}`);
  try {
    renameSync(DIST, old);
  } catch {}
  renameSync(tmp, DIST);
  rmSync(old, { recursive: true, force: true });
  return true;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const ifStale = process.argv.includes('--if-stale');
  const built = await runBuild({ ifStale });
  if (built) {
    const size = (f) => `${(statSync(join(DIST, f)).size / 1024).toFixed(0)} kB`;
    process.stdout.write(
      `built ${relative(process.cwd(), DIST) || '.'}: cli.js ${size('cli.js')}, agent.js ${size('agent.js')}\n`,
    );
  }
}
