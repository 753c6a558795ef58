import * as fc from 'fast-check';
import { describe, it } from 'vitest';
import { BAD_KINDS, checkContract, tf, type FuzzCase } from '@trainkit/test-utils';
import {
  applyMasks,
  disposeMasks,
  disposeSnapshot,
  exportSparse,
  importSparse,
  iterativeMagnitudePruning,
  magnitudeMasks,
  maskHook,
  maskSparsity,
  pruneAndFinetune,
  restore,
  snapshot,
  sparsityOf,
  weightCorrelation,
  type Masks,
  type PruneResult,
  type SparseImport,
} from './index';

/** Two tiny variables and half-masks for them. */
function world() {
  const w1 = tf.tidy(() => tf.variable(tf.tensor2d([[0.5, -1], [2, 0.1]])));
  const w2 = tf.tidy(() => tf.variable(tf.tensor1d([3, -0.2, 0.7])));
  const masks: Masks = new Map([
    [w1.name, tf.tensor2d([[1, 0], [1, 0]]) as tf.Tensor],
    [w2.name, tf.tensor1d([1, 1, 0])],
  ]);
  tf.tidy(() => {
    w1.assign(tf.mul(w1, masks.get(w1.name)!));
    w2.assign(tf.mul(w2, masks.get(w2.name)!));
  });
  const free = () => {
    disposeMasks(masks);
    tf.dispose([w1, w2]);
  };
  return { w1, w2, masks, free };
}

function simple(name: string, args: (w: ReturnType<typeof world>) => unknown[], call: (a: unknown[]) => unknown, release?: (r: unknown) => void): FuzzCase {
  return {
    name,
    setup() {
      const w = world();
      return { args: args(w), watch: [w.w1, w.w2], teardown: w.free };
    },
    call,
    release,
  };
}

const CASES: FuzzCase[] = [
  simple('magnitudeMasks', (w) => [[w.w1, w.w2], { sparsity: 0.5, previous: w.masks, scope: 'layer' }], (a) => magnitudeMasks(a[0] as never, a[1] as never), (r) => disposeMasks(r as Masks)),
  simple('applyMasks', (w) => [[w.w1, w.w2], w.masks], (a) => applyMasks(a[0] as never, a[1] as never)),
  simple('sparsityOf', (w) => [[w.w1, w.w2]], (a) => sparsityOf(a[0] as never)),
  simple('maskSparsity', (w) => [w.masks], (a) => maskSparsity(a[0] as never)),
  simple('snapshot', (w) => [[w.w1, w.w2]], (a) => snapshot(a[0] as never), (r) => disposeSnapshot(r as Masks)),
  {
    name: 'restore',
    setup() {
      const w = world();
      const snap = snapshot([w.w1, w.w2]);
      tf.tidy(() => w.w1.assign(tf.add(w.w1, 1)));
      return { args: [[w.w1, w.w2], snap, { masks: w.masks, partial: false }], watch: [w.w1, w.w2], teardown: () => { disposeSnapshot(snap); w.free(); } };
    },
    call: (a) => restore(a[0] as never, a[1] as never, a[2] as never),
  },
  {
    name: 'weightCorrelation',
    setup() {
      const w = world();
      const snap = snapshot([w.w1, w.w2]);
      return { args: [snap, [w.w1, w.w2], 0.5, w.masks], watch: [w.w1, w.w2], teardown: () => { disposeSnapshot(snap); w.free(); } };
    },
    call: (a) => weightCorrelation(a[0] as never, a[1] as never, a[2] as never, a[3] as never),
  },
  simple('maskHook', (w) => [w.masks, 'prune'], (a) => maskHook(a[0] as never, a[1] as never), (r) => (r as { dispose(): void }).dispose()),
  {
    name: 'MaskHook.setWeights',
    setup() {
      const w = world();
      const hook = maskHook(w.masks);
      const state = hook.getWeights().map((x) => ({ name: x.name, tensor: tf.clone(x.tensor) }));
      const watch = [w.w1, w.w2, ...hook.getWeights().map((x) => x.tensor as tf.Variable)];
      return { args: [state], ctx: hook, watch, teardown: () => { tf.dispose(state.map((s) => s.tensor)); hook.dispose(); w.free(); } };
    },
    call: (a, hook) => (hook as ReturnType<typeof maskHook>).setWeights(a[0] as never),
  },
  simple('exportSparse', (w) => [[w.w1, w.w2], w.masks], (a) => exportSparse(a[0] as never, a[1] as never)),
  {
    name: 'importSparse',
    setup() {
      const w = world();
      const bytes = exportSparse([w.w1, w.w2], w.masks);
      tf.tidy(() => w.w1.assign(tf.add(w.w1, 1)));
      return { args: [bytes, [w.w1, w.w2]], watch: [w.w1, w.w2], teardown: w.free };
    },
    call: (a) => importSparse(a[0] as never, a[1] as never),
    release: (r) => {
      disposeSnapshot((r as SparseImport).weights);
      disposeMasks((r as SparseImport).masks);
    },
  },
  simple('pruneAndFinetune', (w) => [{ model: [w.w1, w.w2], mask: w.masks, epochs: 1, pretrainEpochs: 0, train: () => ({ acc: 1 }) }], (a) => pruneAndFinetune(a[0] as never), (r) => (r as PruneResult).dispose()),
  simple('iterativeMagnitudePruning', (w) => [{ model: [w.w1, w.w2], rounds: 1, rate: 0.2, epochs: 1, train: () => undefined }], (a) => iterativeMagnitudePruning(a[0] as never), (r) => (r as PruneResult).dispose()),
];

const mutation = fc.record({ pos: fc.nat(3), deep: fc.boolean(), member: fc.nat(5), kind: fc.constantFrom(...BAD_KINDS) });

describe('fuzz: every public function either works or throws TrainkitError, changes nothing when it throws, leaks nothing', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      await fc.assert(fc.asyncProperty(mutation, async (m) => void (await checkContract(c, m))), { seed: 16, numRuns: 40 });
    });
  }
});
