#!/usr/bin/env node
// Builds the GPU-machine bundle (default .device/bundle, at most 64 MiB): a Node binary (xz), the bench CLI bundled
// with esbuild, dawn.node from the `webgpu` package (xz), the wasm files, the Vulkan loader .debs, the embedded
// Fashion-MNIST subset, any PyTorch speed script of the bench, and run.sh, which runs it all on a machine with no
// Node and no registry. Build the workspace first (`pnpm build`). Usage: node scripts/device/build.mjs [OUT_DIR]
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(new URL('../..', import.meta.url).pathname);
const here = join(root, 'scripts', 'device');
const args = process.argv.slice(2);
const jsOnly = args.includes('--js-only'); // rebuild bench.mjs (and the scripts) in an existing bundle
const out = resolve(args.find((a) => !a.startsWith('--')) ?? join(root, '.device', 'bundle'));
const LIMIT = 64 * 2 ** 20;
const log = (m) => console.log(`device bundle: ${m}`);

for (const p of ['core', 'backend', 'lawn', 'mimicnorm', 'eman', 'afan', 'prune', 'unify']) {
  if (!existsSync(join(root, 'packages', p, 'dist', 'index.js'))) throw new Error(`packages/${p} is not built: run pnpm build first`);
}
if (!jsOnly) rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// Packages resolved from where the workspace installed them (pnpm keeps them per package).
const fromBackend = createRequire(join(root, 'packages', 'backend', 'package.json'));
const pkgDir = (req, name) => dirname(req.resolve(`${name}/package.json`));
const webgpuDir = pkgDir(fromBackend, 'webgpu');
const wasmDir = pkgDir(fromBackend, '@tensorflow/tfjs-backend-wasm');

// 1. The bench CLI in one ESM file. `webgpu` (dawn.node), tfjs-node(-gpu) stay outside: they are imported by name.
const esbuild = createRequire(join(root, 'package.json'))('esbuild');
await esbuild.build({
  entryPoints: [join(here, 'entry.ts')],
  outfile: join(out, 'bench.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  keepNames: true,
  legalComments: 'none',
  nodePaths: [join(root, 'packages', 'backend', 'node_modules'), join(root, 'packages', 'bench', 'node_modules')],
  external: ['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
  // CommonJS parts of tfjs (the wasm backend's emscripten glue) call require(), __dirname and __filename.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);",
  },
  logLevel: 'warning',
});
for (const f of ['run.sh', 'collect.mjs']) copyFileSync(join(here, f), join(out, f));
if (jsOnly) {
  log(`rebuilt bench.mjs, run.sh and collect.mjs in ${out}`);
  process.exit(0);
}
writeFileSync(join(out, 'package.json'), `${JSON.stringify({ name: '@trainkit/bench', private: true, type: 'module' }, null, 2)}\n`);

// 2. Runtime files found by name: dawn.node (xz; run.sh unpacks it) and the wasm backend's .wasm files.
const nm = join(out, 'node_modules');
mkdirSync(join(nm, 'webgpu', 'dist', 'linux-x64'), { recursive: true });
for (const f of ['package.json', 'index.js', 'LICENSE.md']) copyFileSync(join(webgpuDir, f), join(nm, 'webgpu', f));
execFileSync('sh', ['-c', `xz -T2 -6 -c "${join(webgpuDir, 'dist', 'linux-x64', 'dawn.node')}" > "${join(nm, 'webgpu', 'dist', 'linux-x64', 'dawn.node.xz')}"`]);
const wasmOut = join(nm, '@tensorflow', 'tfjs-backend-wasm');
mkdirSync(join(wasmOut, 'dist'), { recursive: true });
copyFileSync(join(wasmDir, 'package.json'), join(wasmOut, 'package.json'));
for (const f of readdirSync(join(wasmDir, 'dist')).filter((n) => n.endsWith('.wasm'))) copyFileSync(join(wasmDir, 'dist', f), join(wasmOut, 'dist', f));

// 3. Node itself (xz), the embedded data, the runner.
log(`compressing ${process.execPath} (${process.version})`);
execFileSync('sh', ['-c', `xz -T2 -6 -c "${process.execPath}" > "${join(out, 'node.xz')}"`]);
cpSync(join(root, 'packages', 'bench', 'data'), join(out, 'data'), { recursive: true });
chmodSync(join(out, 'run.sh'), 0o755);

// 4. The Vulkan loader (the GPU image has the NVIDIA ICD but may lack libvulkan.so.1).
mkdirSync(join(out, 'debs'), { recursive: true });
try {
  execFileSync('apt-get', ['download', 'libvulkan1'], { cwd: join(out, 'debs'), stdio: 'pipe' });
} catch (err) {
  const cached = existsSync('/var/cache/apt/archives') ? readdirSync('/var/cache/apt/archives').filter((n) => n.startsWith('libvulkan1_') && n.endsWith('.deb')) : [];
  if (cached.length === 0) throw new Error(`apt-get download libvulkan1 failed (${String(err).split('\n')[0]}); run apt-get update first`);
  for (const f of cached) copyFileSync(join('/var/cache/apt/archives', f), join(out, 'debs', f));
}

// 5. A PyTorch peer of the speed table, if the bench has one (run.sh calls it with --device cuda).
const scripts = join(root, 'packages', 'bench', 'python');
const torch = existsSync(scripts) ? readdirSync(scripts).filter((n) => n.endsWith('.py')) : [];
if (torch.length > 0) {
  mkdirSync(join(out, 'torch'), { recursive: true });
  for (const f of torch) copyFileSync(join(scripts, f), join(out, 'torch', f));
}

const size = (p) => (statSync(p).isDirectory() ? readdirSync(p).reduce((s, n) => s + size(join(p, n)), 0) : statSync(p).size);
const total = size(out);
for (const n of readdirSync(out)) log(`  ${n}: ${(size(join(out, n)) / 2 ** 20).toFixed(1)} MiB`);
log(`${relative(process.cwd(), out) || out}: ${(total / 2 ** 20).toFixed(1)} MiB${torch.length ? `, torch script(s): ${torch.join(', ')}` : ', no PyTorch script found (the torch row will be skipped)'}`);
if (total > LIMIT) throw new Error(`the bundle is ${(total / 2 ** 20).toFixed(1)} MiB, over the 64 MiB limit`);
