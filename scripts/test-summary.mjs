// Sums the vitest JSON reports of every workspace package into one "N passed, N failed" line (for .ci/run).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
let passed = 0;
let failed = 0;
const missing = [];
for (const group of ['packages', 'tooling']) {
  for (const name of readdirSync(join(root, group))) {
    const dir = join(root, group, name);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (!pkg.scripts?.test) continue;
    const report = join(dir, '.vitest-report.json');
    if (!existsSync(report)) {
      missing.push(pkg.name);
      continue;
    }
    const r = JSON.parse(readFileSync(report, 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests + (r.numFailedTestSuites ?? 0) + (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  }
}
for (const name of missing) console.error(`no test report from ${name}`);
failed += missing.length;
const extra = process.argv.slice(2).map((f) => JSON.parse(readFileSync(f, 'utf8')));
for (const e of extra) {
  passed += e.passed;
  failed += e.failed;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
