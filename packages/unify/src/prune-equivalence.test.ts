import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { seededVariable } from '@trainkit/test-utils';
import { disposeMasks, magnitudeMasks } from '@trainkit/prune';
import { unifyProjection } from './projection';

describe('shared with @trainkit/prune (spec: block (1,1,1) with r_u = 0 is layerwise magnitude pruning)', () => {
  it('zeroes exactly the weights that prune.magnitudeMasks masks, for several sparsities', () => {
    const w = seededVariable(41, [3, 3, 6, 5], 'pe_kernel');
    for (const s of [0.1, 0.37, 0.5, 0.9]) {
      const { weights } = unifyProjection(w, { blockSize: 1, pruneRatio: s, unifyRatio: 0 });
      const masks = magnitudeMasks([w], { sparsity: s });
      const mask = masks.get(w.name)!.dataSync();
      const got = weights.dataSync();
      for (let i = 0; i < got.length; i++) expect(got[i] === 0 ? 0 : 1).toBe(mask[i]);
      weights.dispose();
      disposeMasks(masks);
    }
    w.dispose();
  });
});
