// Sums the vitest JSON reports of every workspace package into one "N passed, N failed" line (for .ci/run).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
let passed = 0;
let failed = 0;
let skipped = 0; // the tree allows no skipped tests: any skip fails the run
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
    failed += r.numFailedTests;
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    // A test file that failed to load has no failed test of its own: count it once.
    for (const file of r.testResults ?? []) {
      if (file.status === 'failed' && !(file.assertionResults ?? []).some((a) => a.status === 'failed')) {
        console.error(`test file failed to run: ${file.name}`);
        failed++;
      }
    }
  }
}
for (const name of missing) console.error(`no test report from ${name}`);
failed += missing.length;
const extra = process.argv.slice(2).map((f) => JSON.parse(readFileSync(f, 'utf8')));
for (const e of extra) {
  passed += e.passed;
  failed += e.failed;
}
console.log(skipped > 0 ? `${passed} passed, ${failed} failed, ${skipped} skipped` : `${passed} passed, ${failed} failed`);
process.exit(failed > 0 || skipped > 0 ? 1 : 0);
