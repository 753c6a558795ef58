import { describe, it } from 'vitest';
import { expectReadmeExample } from '@trainkit/test-utils';

describe('README', () => {
  it('usage example is in the README and runs', () => {
    // 3·3·16·32 / 4 = 1152 blocks; round(0.5·1152) = 576 pruned; round(0.4·1152) = 461 unified
    expectReadmeExample(new URL('..', import.meta.url).pathname, /^1152 blocks: 576 pruned, 461 unified; \d+ bytes, 4\.\d\dx smaller$/m);
  });
});
