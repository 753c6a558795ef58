import { describe, it } from 'vitest';
import { expectReadmeExample } from '@trainkit/test-utils';

describe('README', () => {
  it('usage example is in the README and runs', () => {
    expectReadmeExample(new URL('..', import.meta.url).pathname, /^train accuracy (0\.9\d|1\.00)$/m);
  });
});
