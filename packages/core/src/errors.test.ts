import { describe, expect, it } from 'vitest';
import { TrainkitError, checkNumber, describeValue, invalidArgument } from './errors';

describe('TrainkitError', () => {
  it('names the argument, the value and what is accepted, with a stable code', () => {
    const e = invalidArgument('freeSteps', -1, 'an integer >= 0');
    expect(e).toBeInstanceOf(TrainkitError);
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.argument).toBe('freeSteps');
    expect(e.message).toBe('freeSteps must be an integer >= 0; received -1.');
  });

  it('checkNumber enforces integer and bounds', () => {
    expect(checkNumber('k', 3, { integer: true, min: 0, max: 3 })).toBe(3);
    expect(() => checkNumber('k', 3.5, { integer: true })).toThrow(/k must be an integer; received 3.5/);
    expect(() => checkNumber('p', 1, { min: 0, maxExclusive: 1 })).toThrow(/p must be a finite number >= 0 < 1; received 1/);
    expect(() => checkNumber('p', Number.NaN)).toThrow(/received NaN/);
    expect(() => checkNumber('p', '1')).toThrow(/received "1"/);
  });

  it('describes values briefly', () => {
    expect(describeValue({ shape: [2, 3], constructor: { name: 'Tensor' } })).toBe('Tensor[2,3]');
    expect(describeValue([1, 2])).toBe('array(2)');
    expect(describeValue(null)).toBe('null');
  });
});
