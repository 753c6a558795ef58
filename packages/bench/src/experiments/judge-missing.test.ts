import { describe, expect, it } from 'vitest';
import eman from './eman';
import mimicnorm from './mimicnorm';

describe('claims whose arms did not run (trainkit-bench run --arms)', () => {
  it('say "no verdict (arms not run)" instead of a verdict', () => {
    for (const e of [mimicnorm, eman]) {
      const verdicts = e.judge([], e.profiles.quick as never);
      expect(verdicts.map((v) => v.claimId)).toEqual(e.claims.map((c) => c.id));
      for (const v of verdicts) expect(v, `${e.id}/${v.claimId}`).toMatchObject({ verdict: 'inconclusive', verdictText: 'no verdict (arms not run)' });
    }
  });
});
