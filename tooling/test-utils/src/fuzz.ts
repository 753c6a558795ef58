import { appendFileSync } from 'node:fs';
import { expect } from 'vitest';
import { tf } from './tf';

/**
 * Kinds of bad argument the fuzz tests substitute. Tensor kinds take the shape of the value they replace, so they
 * reach the deeper checks (dtype, values, disposal) instead of failing the first type test.
 */
export const BAD_KINDS = [
  'undefined', 'null', 'NaN', '-1', '1.5', '1e9', 'Infinity', '"bogus"', '"a/b"', '"yes"', 'true', '{}', '[]', '[null]',
  'function', 'disposedTensor', 'disposedVariable', 'int32Tensor', 'wrongShape', 'nanTensor', 'twos', 'huge', 'scalar',
  'mapUnknown', 'mapDisposed', 'emptyMap',
] as const;
export type BadKind = (typeof BAD_KINDS)[number];

/** One public function under fuzz: fresh valid arguments, the variables the call may write, and clean-up. */
export interface FuzzCase {
  name: string;
  /** Builds fresh, valid arguments; `watch` lists every variable the call could write. */
  setup(): { args: unknown[]; watch: tf.Variable[]; teardown(): void; ctx?: unknown };
  /** Calls the function with (possibly mutated) arguments; `ctx` is setup's (never mutated), e.g. the hook under test. */
  call(args: unknown[], ctx: unknown): unknown;
  /** Frees what a successful call returned or allocated (a hook, masks, …). */
  release?(result: unknown): void;
}

/** Where to put the bad value: a whole argument, or one member of an object / array / Map argument. */
export interface Mutation {
  pos: number;
  deep: boolean;
  member: number;
  kind: BadKind;
}

function isTensor(v: unknown): v is tf.Tensor {
  return v instanceof tf.Tensor;
}

function makeBad(kind: BadKind, like: unknown, own: (t: tf.Tensor) => tf.Tensor): unknown {
  const shape = isTensor(like) ? like.shape : [2, 2];
  const size = shape.reduce((a, b) => a * b, 1);
  switch (kind) {
    case 'undefined': return undefined;
    case 'null': return null;
    case 'NaN': return NaN;
    case '-1': return -1;
    case '1.5': return 1.5;
    case '1e9': return 1e9;
    case 'Infinity': return Infinity;
    case '"bogus"': return 'bogus';
    case '"a/b"': return 'a/b';
    case '"yes"': return 'yes';
    case 'true': return true;
    case '{}': return {};
    case '[]': return [];
    case '[null]': return [null];
    case 'function': return () => 0;
    case 'disposedTensor': {
      const t = tf.zeros(shape);
      t.dispose();
      return t;
    }
    case 'disposedVariable': {
      const v = tf.tidy(() => tf.variable(tf.zeros(shape)));
      v.dispose();
      return v;
    }
    case 'int32Tensor': return own(tf.ones(shape, 'int32'));
    case 'wrongShape': return own(tf.ones([size + 1]));
    case 'nanTensor': return own(tf.fill(shape, NaN));
    case 'twos': return own(tf.fill(shape, 2));
    case 'huge': return own(tf.fill(shape, 1e20));
    case 'scalar': return own(tf.scalar(0.5));
    case 'mapUnknown': return new Map([['no_such_variable', own(tf.ones(shape))]]);
    case 'mapDisposed': {
      const t = tf.ones(shape);
      t.dispose();
      return new Map([['no_such_variable', t]]);
    }
    case 'emptyMap': return new Map();
  }
}

function mutate(args: unknown[], m: Mutation, own: (t: tf.Tensor) => tf.Tensor): unknown[] {
  const out = [...args];
  const pos = m.pos % Math.max(args.length, 1);
  const target = out[pos];
  if (m.deep && target instanceof Map && target.size > 0) {
    const keys = [...target.keys()];
    const key = keys[m.member % keys.length];
    const copy = new Map(target);
    copy.set(key, makeBad(m.kind, target.get(key), own));
    out[pos] = copy;
  } else if (m.deep && Array.isArray(target) && target.length > 0) {
    const copy = [...target];
    const i = m.member % copy.length;
    const el = copy[i];
    // {name, tensor} entries (optimizer state) get their tensor replaced; anything else is replaced whole.
    if (el && typeof el === 'object' && 'tensor' in el && 'name' in el) copy[i] = { ...el, tensor: makeBad(m.kind, el.tensor, own) };
    else copy[i] = makeBad(m.kind, el, own);
    out[pos] = copy;
  } else if (m.deep && target && typeof target === 'object' && !isTensor(target) && !('layers' in target)) {
    const keys = Object.keys(target);
    const key = m.member % (keys.length + 1) === keys.length ? 'bogusOption' : keys[m.member % (keys.length + 1)]!;
    out[pos] = { ...(target as object), [key]: makeBad(m.kind, (target as Record<string, unknown>)[key], own) };
  } else {
    out[pos] = makeBad(m.kind, target, own);
  }
  return out;
}

function bytesOf(vars: readonly tf.Variable[]): Array<string | null> {
  return vars.map((v) => (v.isDisposed ? null : Buffer.from((v.dataSync() as Float32Array).buffer).toString('base64')));
}

/** What {@link checkContract} saw: the call worked, or threw a TrainkitError (with its code). */
export type FuzzOutcome = { ok: true } | { ok: false; code: string };

/**
 * Calls `c` with one argument replaced as `m` says (`null`: as set up) and asserts the library contract: the call returns or throws a
 * `TrainkitError`; after a throw every watched variable is bit-identical; no tensor is left behind either way.
 * With `FUZZ_STATS=<file>` set, the outcome is appended there as one JSON line instead of failing (to count old code).
 */
export async function checkContract(c: FuzzCase, m: Mutation | null): Promise<FuzzOutcome> {
  const { args, watch, teardown, ctx } = c.setup();
  const made: tf.Tensor[] = [];
  const own = (t: tf.Tensor): tf.Tensor => {
    made.push(t);
    return t;
  };
  const bad = m === null ? args : mutate(args, m, own);
  const before = bytesOf(watch);
  const count = tf.memory().numTensors;
  let outcome: FuzzOutcome = { ok: true };
  let cryptic: unknown;
  try {
    const result = await c.call(bad, ctx);
    c.release?.(result);
  } catch (err) {
    const e = err as { name?: unknown; code?: unknown };
    if (e && e.name === 'TrainkitError' && typeof e.code === 'string') outcome = { ok: false, code: e.code };
    else cryptic = err;
  }
  const threw = cryptic !== undefined || !outcome.ok;
  const changed = threw && JSON.stringify(bytesOf(watch)) !== JSON.stringify(before);
  const leaked = tf.memory().numTensors - count;
  const stats = process.env['FUZZ_STATS'];
  if (stats) {
    appendFileSync(stats, `${JSON.stringify({ fn: c.name, kind: m?.kind ?? 'as given', ok: !threw, clear: !outcome.ok, cryptic: cryptic !== undefined, halfApplied: changed, leaked: leaked !== 0 })}\n`);
  }
  tf.dispose(made);
  teardown();
  if (stats) return outcome;
  const what = m === null ? `${c.name} with its setup's arguments` : `${c.name} with ${m.kind} at argument ${m.pos % Math.max(args.length, 1)}${m.deep ? ` (member ${m.member})` : ''}`;
  if (cryptic !== undefined) expect.fail(`${what} threw a non-TrainkitError: ${String((cryptic as Error)?.message ?? cryptic)}`);
  expect(changed, `${what} changed a variable and then threw`).toBe(false);
  expect(leaked, `${what} left tensors behind`).toBe(0);
  return outcome;
}
