import { describe, it } from 'vitest';
import { expectReadmeExample } from '@trainkit/test-utils';

describe('README', () => {
  it('usage example is in the README and runs', () => {
    expectReadmeExample(new URL('..', import.meta.url).pathname, /^loss \d/m);
  });
});
