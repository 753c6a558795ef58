import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectReadmeExample } from '@trainkit/test-utils';

const pkgDir = new URL('..', import.meta.url).pathname;

describe('README', () => {
  it('usage example is in the README and runs (ESM): 75% of the kernels stay pruned after Adam', () => {
    expectReadmeExample(pkgDir, /^kernel sparsity after training 0\.750$/m);
  });

  it('the CommonJS example prints the same', () => {
    const out = execFileSync(process.execPath, [join(pkgDir, 'example', 'readme.cjs')], { cwd: pkgDir, encoding: 'utf8' });
    expect(out).toMatch(/^kernel sparsity after training 0\.750$/m);
  });
});
