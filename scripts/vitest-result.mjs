// Turns one vitest JSON report into {passed, failed} for test-summary.mjs. A missing report, a test file that failed
// to load, and any skipped or todo test all count as failures (CI allows no skips).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const [report, out] = process.argv.slice(2);
if (!report || !out) {
  console.error('usage: node scripts/vitest-result.mjs <vitest-report.json> <result.json>');
  process.exit(2);
}
let passed = 0;
let failed = 0;
if (!existsSync(report)) {
  console.error(`no test report at ${report}`);
  failed = 1;
} else {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed = r.numPassedTests;
  failed = r.numFailedTests + (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  for (const file of r.testResults ?? []) {
    if (file.status === 'failed' && !(file.assertionResults ?? []).some((a) => a.status === 'failed')) {
      console.error(`test file failed to run: ${file.name}`);
      failed++;
    }
  }
}
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ passed, failed })}\n`);
console.log(`${report}: ${passed} passed, ${failed} failed`);
