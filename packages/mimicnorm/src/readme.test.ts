import { describe, it } from 'vitest';
import { expectReadmeExample } from '@trainkit/test-utils';

describe('README', () => {
  it('usage example is in the README, runs, and keeps the centred conv at mean ~0', () => {
    expectReadmeExample(new URL('..', import.meta.url).pathname, /^loss \d+\.\d+ \| max \|filter mean\| \d\.\de-(?:[7-9]|\d\d)$/m);
  });
});
