import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectReadmeExample } from '@trainkit/test-utils';

const pkgDir = new URL('..', import.meta.url).pathname;
// Σ of dL/dW for L = Σ conv2d(ones 5x5, W, 'same'): each 3x3 tap sees 25 (centre), 20 (edge) or
// 16 (corner) input pixels: 25 + 4·20 + 4·16 = 169 per output channel, 2 channels → 338.
const line = /^backend (wasm|cpu) \(cpu, (trainkit|native) kernels\): filter gradient sum 338$/m;

describe('README', () => {
  it('usage example is in the README and runs (ESM)', () => {
    expectReadmeExample(pkgDir, line);
  });

  it('the CommonJS example prints the same', () => {
    const out = execFileSync(process.execPath, [join(pkgDir, 'example', 'readme.cjs')], { cwd: pkgDir, encoding: 'utf8' });
    expect(out).toMatch(line);
  });
});
