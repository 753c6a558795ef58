#!/usr/bin/env node
// Sums the outcome lines that the fuzz tests append with FUZZ_STATS=<file> (see tooling/test-utils/src/fuzz.ts):
//   FUZZ_STATS=/tmp/stats.jsonl npx vitest run src/fuzz.test.ts   (in each package), then
//   node scripts/fuzz-counts.mjs /tmp/stats.jsonl
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) {
  console.error('usage: node scripts/fuzz-counts.mjs <stats.jsonl>');
  process.exit(2);
}
const rows = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const count = (f) => rows.filter(f).length;
const byFn = new Map();
for (const r of rows) {
  const s = byFn.get(r.fn) ?? { calls: 0, cryptic: 0, halfApplied: 0, leaked: 0 };
  s.calls++;
  if (r.cryptic) s.cryptic++;
  if (r.halfApplied) s.halfApplied++;
  if (r.leaked) s.leaked++;
  byFn.set(r.fn, s);
}
console.log(`calls ${rows.length}: worked ${count((r) => r.ok)}, clear TrainkitError ${count((r) => r.clear)}, cryptic error ${count((r) => r.cryptic)}`);
console.log(`half-applied (changed a variable, then threw) ${count((r) => r.halfApplied)}, leaked tensors ${count((r) => r.leaked)}`);
const bad = [...byFn].filter(([, s]) => s.cryptic + s.halfApplied + s.leaked > 0);
for (const [fn, s] of bad) console.log(`  ${fn}: ${s.calls} calls, ${s.cryptic} cryptic, ${s.halfApplied} half-applied, ${s.leaked} leaked`);
