import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const pkgDir = new URL('..', import.meta.url).pathname;

describe('README gradual-pruning example', () => {
  it('is in the README verbatim and prints the scheduled sparsity after each epoch', () => {
    const code = readFileSync(join(pkgDir, 'example', 'gradual.mjs'), 'utf8').trim();
    expect(readFileSync(join(pkgDir, 'README.md'), 'utf8').includes(code)).toBe(true);
    const out = execFileSync(process.execPath, [join(pkgDir, 'example', 'gradual.mjs')], { cwd: pkgDir, encoding: 'utf8' });
    // 8 steps per epoch; updates at steps 0, 10, 20, 30, 40 with s = 0.8(1 − (1 − t/40)^3):
    // 0 → 0/288; 0.4625 → (118 + 15)/288; 0.7 → (179 + 22)/288; 0.7875 → (202 + 25)/288 (held); 0.8 → (205 + 26)/288.
    expect(out).toMatch(/^kernel sparsity after each epoch 0\.000 0\.462 0\.698 0\.788 0\.788 0\.802$/m);
  });
});
