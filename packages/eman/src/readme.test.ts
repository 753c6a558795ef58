import { describe, it } from 'vitest';
import { expectReadmeExample } from '@trainkit/test-utils';

describe('README', () => {
  it('usage example is in the README and runs', () => {
    expectReadmeExample(new URL('..', import.meta.url).pathname, /^teacher updates: 8; sample 0 alone vs in a batch of 8 differs by (0\.0e\+0|\d\.\de-([7-9]|\d\d))$/m);
  });
});
