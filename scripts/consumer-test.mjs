// "Install only the method you need": packs @trainkit/core and each published package that ships an
// example/readme.{mjs,cjs}, installs core + that one package + @tensorflow/tfjs into an empty npm project,
// and runs the README example there as ESM and as CJS. Writes {passed, failed} to the path in argv[2].
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const out = resolve(process.argv[2] ?? join(root, '.tmp', 'consumer-result.json'));
const tfjsVersion = '4.22.0';
const work = join(tmpdir(), `trainkit-consumer-${process.pid}`);
rmSync(work, { recursive: true, force: true });
mkdirSync(join(work, 'tarballs'), { recursive: true });

const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

function pack(pkgDir) {
  const before = new Set(readdirSync(join(work, 'tarballs')));
  run('pnpm', ['pack', '--pack-destination', join(work, 'tarballs')], pkgDir);
  const made = readdirSync(join(work, 'tarballs')).find((f) => !before.has(f));
  if (!made) throw new Error(`pnpm pack produced nothing in ${pkgDir}`);
  return join(work, 'tarballs', made);
}

const pkgs = readdirSync(join(root, 'packages'))
  .map((name) => ({ name, dir: join(root, 'packages', name) }))
  .map((p) => ({ ...p, json: JSON.parse(readFileSync(join(p.dir, 'package.json'), 'utf8')) }))
  .filter((p) => !p.json.private);
const core = pkgs.find((p) => p.name === 'core');
const coreTgz = pack(core.dir);
let passed = 0;
let failed = 0;
for (const p of pkgs) {
  const examples = ['readme.mjs', 'readme.cjs'].filter((f) => existsSync(join(p.dir, 'example', f)));
  if (examples.length === 0) continue;
  const project = join(work, p.name);
  mkdirSync(project, { recursive: true });
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: `consumer-${p.name}`, private: true, version: '0.0.0' }));
  const tgz = p.name === 'core' ? [coreTgz] : [coreTgz, pack(p.dir)];
  try {
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tgz, `@tensorflow/tfjs@${tfjsVersion}`], project);
  } catch (err) {
    console.error(`FAIL ${p.json.name}: npm install: ${err.stderr || err.message}`);
    failed += examples.length;
    continue;
  }
  for (const f of examples) {
    copyFileSync(join(p.dir, 'example', f), join(project, f));
    try {
      const stdout = run('node', [f], project);
      console.log(`ok   ${p.json.name} ${f}: ${stdout.trim().split('\n').pop() ?? ''}`);
      passed++;
    } catch (err) {
      console.error(`FAIL ${p.json.name} ${f}:\n${err.stderr || err.message}`);
      failed++;
    }
  }
}
rmSync(work, { recursive: true, force: true });
mkdirSync(dirname(out), { recursive: true });
writeFileSync(`${out}.tmp`, JSON.stringify({ passed, failed }));
renameSync(`${out}.tmp`, out);
console.log(`consumer test: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
