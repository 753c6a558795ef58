import { describe, it } from 'vitest';
import { expectReadmeExample } from '@trainkit/test-utils';

describe('README', () => {
  it('usage example is in the README, runs, and keeps the norms frozen', () => {
    // "constrained frozen a b now a b": the same two numbers twice
    expectReadmeExample(new URL('..', import.meta.url).pathname, /^constrained frozen (\d+\.\d{4}) (\d+\.\d{4}) now \1 \2$/m);
  });
});
