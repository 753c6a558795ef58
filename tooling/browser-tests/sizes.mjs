// Bundle sizes per published package, as an app would ship it: the whole public API (every export, every
// subpath) bundled with esbuild --minify, tfjs external (a peer the app ships once), then gzip -9.
// Usage: node sizes.mjs  → a markdown table for packages/backend/README.md.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
async function size(contents, external) {
  const r = await build({ stdin: { contents, resolveDir: here, loader: 'js' }, bundle: true, minify: true, format: 'esm', platform: 'browser',
    target: 'es2022', write: false, external, logLevel: 'error' });
  const code = r.outputFiles[0].contents;
  return { min: code.length, gz: gzipSync(code, { level: 9 }).length };
}
const rows = ['| package | minified | gzip |', '|---|---|---|'];
for (const pkg of ['core', 'backend', 'lawn', 'prune', 'eman', 'unify', 'afan', 'mimicnorm']) {
  const exportsMap = JSON.parse(readFileSync(join(root, 'packages', pkg, 'package.json'), 'utf8')).exports;
  const subpaths = Object.keys(exportsMap).filter((k) => k !== './package.json').map((k) => `@trainkit/${pkg}${k.slice(1)}`);
  const entry = subpaths.map((s, i) => `export * as m${i} from '${s}';`).join('\n');
  // @trainkit/core is counted inside each method (it is their one dependency); tfjs is not.
  const s = await size(entry, ['@tensorflow/*']);
  rows.push(`| \`@trainkit/${pkg}\`${subpaths.length > 1 ? ` (+ ${subpaths.slice(1).map((x) => `\`${x.slice(x.lastIndexOf('/'))}\``).join(', ')})` : ''} | ${kib(s.min)} | ${kib(s.gz)} |`);
}
const tfjs = await size("export * from '@tensorflow/tfjs';", []);
const wasm = await size("export * from '@tensorflow/tfjs-backend-wasm';", ['@tensorflow/tfjs-core']);
rows.push(`| for scale: \`@tensorflow/tfjs\` | ${kib(tfjs.min)} | ${kib(tfjs.gz)} |`);
rows.push(`| for scale: \`@tensorflow/tfjs-backend-wasm\` (JS only; the .wasm files are fetched) | ${kib(wasm.min)} | ${kib(wasm.gz)} |`);
console.log(rows.join('\n'));
