// Release rehearsal (`pnpm release:dry`): runs `pnpm -r publish --dry-run`, then packs every published package
// and checks the tarball as npm would serve it: a real version, no `workspace:` ranges left, internal ranges that
// the sibling's version satisfies, and every file named by main/module/types/exports, README and CHANGELOG inside.
// Exits non-zero when any package would publish broken, listing every problem.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });

run('pnpm', ['-r', 'publish', '--dry-run', '--no-git-checks'], root);

const pkgs = readdirSync(join(root, 'packages'))
  .map((name) => join(root, 'packages', name))
  .map((dir) => ({ dir, json: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
  .filter((p) => !p.json.private);
const versions = new Map(pkgs.map((p) => [p.json.name, p.json.version]));

/** Every file path a package.json points at (main, module, types, exports leaves). */
function targets(json) {
  const out = [json.main, json.module, json.types].filter(Boolean);
  const walk = (v) => {
    if (typeof v === 'string') out.push(v);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(json.exports);
  return out.map((p) => p.replace(/^\.\//, ''));
}

/** `^0.2.0` satisfied by `version`? (the only range shapes changesets writes: ^x.y.z, ~x.y.z, x.y.z) */
function satisfies(range, version) {
  const m = /^([\^~]?)(\d+)\.(\d+)\.(\d+)$/.exec(range);
  const v = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!m || !v) return false;
  const [a, b, c] = [Number(m[2]), Number(m[3]), Number(m[4])];
  const [x, y, z] = [Number(v[1]), Number(v[2]), Number(v[3])];
  const ge = x > a || (x === a && (y > b || (y === b && z >= c)));
  if (!ge) return false;
  if (m[1] === '') return x === a && y === b && z === c;
  if (m[1] === '~') return x === a && y === b;
  if (a > 0) return x === a; // ^1.2.3: <2.0.0
  if (b > 0) return x === 0 && y === b; // ^0.2.3: <0.3.0
  return x === 0 && y === 0 && z === c; // ^0.0.3: exactly
}

const problems = [];
const work = mkdtempSync(join(tmpdir(), 'trainkit-release-'));
try {
  for (const p of pkgs) {
    const name = p.json.name;
    const before = problems.length;
    const tgz = run('pnpm', ['pack', '--pack-destination', work], p.dir).trim().split('\n').pop();
    const files = new Set(run('tar', ['-tzf', tgz], work).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, '')));
    const packed = JSON.parse(run('tar', ['-xzOf', tgz, 'package/package.json'], work));
    if (!/^\d+\.\d+\.\d+/.test(packed.version) || packed.version === '0.0.0') problems.push(`${name}: version ${packed.version}`);
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const [dep, range] of Object.entries(packed[field] ?? {})) {
        if (String(range).startsWith('workspace:')) problems.push(`${name}: ${field}.${dep} is still ${range}`);
        const sibling = versions.get(dep);
        if (sibling && field === 'dependencies' && !satisfies(range, sibling)) {
          problems.push(`${name}: ${dep}@${range} does not accept the workspace's ${dep}@${sibling}`);
        }
      }
    }
    for (const t of [...targets(packed), 'README.md', 'CHANGELOG.md']) {
      if (!files.has(t)) problems.push(`${name}: ${t} is not in the tarball`);
    }
    console.log(`${problems.length > before ? 'BAD' : 'ok '}  ${name}@${packed.version}: ${files.size} files`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (problems.length) {
  for (const line of problems) console.error(`release:dry: ${line}`);
  process.exit(1);
}
console.log(`release:dry: ${pkgs.length} packages would publish cleanly`);
