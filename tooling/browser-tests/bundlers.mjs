// vite and webpack builds of the browser harness, each from @trainkit/backend's README recipe as written: its
// `// vite.config.js` and `// webpack.config.js` blocks are copied verbatim into a scratch app (src/main.js imports the
// harness; node_modules links to this package's) and built there by the bundler's CLI / Node API in a child process.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const readme = join(here, '..', '..', 'packages', 'backend', 'README.md');

/** The js block of the backend README whose first line is `// <file>`, verbatim. */
export function recipe(file) {
  const text = readFileSync(readme, 'utf8');
  const block = text.split('```js\n').slice(1).map((b) => b.slice(0, b.indexOf('```'))).find((b) => b.startsWith(`// ${file}\n`));
  if (!block) throw new Error(`packages/backend/README.md has no js block starting with "// ${file}"`);
  return block;
}

function scaffold(work, name, srcDir, { bundler = name, entry = 'harness.js', config = (text) => text } = {}) {
  const app = join(work, `${name}-app`);
  mkdirSync(join(app, 'src'), { recursive: true });
  for (const f of readdirSync(srcDir)) if (f.endsWith('.js')) copyFileSync(join(srcDir, f), join(app, 'src', f));
  writeFileSync(join(app, 'src', 'main.js'), `import './${entry}';\n`);
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ private: true, type: 'module' })}\n`);
  symlinkSync(join(here, 'node_modules'), join(app, 'node_modules'), 'dir');
  writeFileSync(join(app, `${bundler}.config.js`), config(recipe(`${bundler}.config.js`)));
  return app;
}

function run(app, args, what) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${what} failed (exit ${code}): ${out.slice(0, 4000)}`))));
  });
}

/** `vite build` with the README's vite.config.js; returns dist/ (index.html, assets/, wasm/ from public/). */
export function buildVite(work, srcDir) {
  return viteBuild(scaffold(work, 'vite', srcDir));
}

/**
 * The same recipe with vite's minifier turned back on, bundling only src/threads-minified.js: the page where tfjs's
 * threaded wasm workers die at start-up, so useBackend must fail with the cause instead of hanging.
 */
export function buildViteMinified(work, srcDir) {
  const config = (text) => {
    if (!text.includes('minify: false')) throw new Error('the vite recipe no longer sets minify: false');
    return text.replace('minify: false', 'minify: true');
  };
  return viteBuild(scaffold(work, 'vite-min', srcDir, { bundler: 'vite', entry: 'threads-minified.js', config }));
}

async function viteBuild(app) {
  writeFileSync(join(app, 'index.html'), '<!doctype html><meta charset="utf-8"><title>trainkit</title><script type="module" src="/src/main.js"></script>\n');
  await run(app, [join(here, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'error'], 'vite build');
  const dist = join(app, 'dist');
  if (!existsSync(join(dist, 'wasm', 'tfjs-backend-wasm-simd.wasm'))) throw new Error('vite build: dist/wasm/ holds no .wasm files');
  return dist;
}

/** webpack 5 (its Node API; webpack-cli would read the same file) with the README's webpack.config.js; returns dist/. */
export async function buildWebpack(work, srcDir) {
  const app = scaffold(work, 'webpack', srcDir);
  const script = `import webpack from 'webpack';
const { default: config } = await import(new URL('./webpack.config.js', 'file://' + process.cwd() + '/').href);
webpack(config, (err, stats) => {
  if (err || stats.hasErrors()) { console.error(String(err ?? stats.toString('errors-only'))); process.exit(1); }
});`;
  await run(app, ['--input-type=module', '-e', script], 'webpack');
  const dist = join(app, 'dist');
  if (!existsSync(join(dist, 'wasm', 'tfjs-backend-wasm-simd.wasm'))) throw new Error('webpack: dist/wasm/ holds no .wasm files');
  writeFileSync(join(dist, 'index.html'), '<!doctype html><meta charset="utf-8"><title>trainkit</title><script src="/main.js"></script>\n');
  return dist;
}

/** Starts vite's dev server in the app of {@link buildVite} (the recipe's `server.headers` apply); resolves to its origin. */
export function startViteDev(dist) {
  const app = dirname(dist);
  const child = spawn(process.execPath, [join(here, 'node_modules', 'vite', 'bin', 'vite.js'), '--host', '127.0.0.1', '--port', '5180'],
    { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const origin = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`vite dev server did not start in 60 s: ${out.slice(0, 2000)}`)), 60_000);
    const seen = (d) => {
      out += d;
      const m = /Local:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out.replace(/\x1b\[[0-9;]*m/g, ''));
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('close', (code) => { clearTimeout(timer); reject(new Error(`vite dev server exited (${code}): ${out.slice(0, 2000)}`)); });
  });
  return { origin, stop: () => child.kill() };
}
