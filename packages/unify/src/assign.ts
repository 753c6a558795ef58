import { TrainkitError, invalidArgument } from '@trainkit/core';

/** A block's state in a plan: kept dense, unified (one magnitude, signs kept) or pruned (all zero). */
export const BlockState = { keep: 0, unify: 1, prune: 2 } as const;
/** One of {@link BlockState}'s values. */
export type BlockStateValue = (typeof BlockState)[keyof typeof BlockState];

/**
 * Exact minimum-cost assignment of blocks to prune / unify / keep with exact counts.
 *
 * @param pruneCost - cost of zeroing each block (`‖w_b‖²` for the Euclidean projection)
 * @param unifyCost - cost of unifying each block (`‖w_b‖² − g·mean|w_b|²`)
 * @param numPrune - how many blocks to prune, exactly
 * @param numUnify - how many other blocks to unify, exactly (keeping costs 0)
 * @returns one {@link BlockState} per block and the total cost
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` when the counts do not fit or a cost is not finite
 * @remarks Exchange argument: with `d_b = p_b − e_b`, swapping a pruned block with a unified block of smaller `d`
 * lowers the cost by their difference in `d`, so some optimum prunes only blocks that come before every unified block
 * in the order of increasing `d`. For each split point `t` of that order the best choice is the `numPrune` cheapest
 * blocks to prune before `t` and the `numUnify` cheapest blocks to unify after it; running max-heaps give every
 * prefix and suffix sum, so the whole search is O(B log B). Ties go to the lowest split and the lowest block index.
 * The greedy "prune the smallest ‖w‖², then unify" order of spec §3 is not optimal in general; this is.
 */
export function assignBlocks(
  pruneCost: ArrayLike<number>,
  unifyCost: ArrayLike<number>,
  numPrune: number,
  numUnify: number,
): { states: Uint8Array; cost: number } {
  const isList = (x: unknown): boolean => Array.isArray(x) || ArrayBuffer.isView(x);
  if (!isList(pruneCost)) throw invalidArgument('pruneCost', pruneCost, 'an array of block costs');
  if (!isList(unifyCost)) throw invalidArgument('unifyCost', unifyCost, 'an array of block costs');
  const B = pruneCost.length;
  if (unifyCost.length !== B) {
    throw new TrainkitError('SHAPE_MISMATCH', `pruneCost and unifyCost must have the same length; received ${B} and ${unifyCost.length}.`, 'unifyCost');
  }
  if (!Number.isInteger(numPrune) || numPrune < 0) throw invalidArgument('numPrune', numPrune, 'an integer >= 0');
  if (!Number.isInteger(numUnify) || numUnify < 0) throw invalidArgument('numUnify', numUnify, 'an integer >= 0');
  if (numPrune + numUnify > B) {
    throw invalidArgument('numPrune + numUnify', numPrune + numUnify, `at most the number of blocks (${B})`);
  }
  for (let b = 0; b < B; b++) {
    if (!Number.isFinite(pruneCost[b] as number) || !Number.isFinite(unifyCost[b] as number)) {
      throw invalidArgument(`cost of block ${b}`, Number.isFinite(pruneCost[b] as number) ? unifyCost[b] : pruneCost[b], 'a finite number (NaN/Inf weights cannot be projected)');
    }
  }
  const p = Float64Array.from(pruneCost);
  const e = Float64Array.from(unifyCost);
  const order = new Int32Array(B);
  for (let b = 0; b < B; b++) order[b] = b;
  order.sort((x, y) => p[x]! - e[x]! - (p[y]! - e[y]!) || x - y);

  // L[t] = sum of the numPrune smallest prune costs among order[0..t); R[t] = numUnify smallest unify costs in order[t..B).
  const L = new Float64Array(B + 1).fill(Infinity);
  const R = new Float64Array(B + 1).fill(Infinity);
  const heap = new MaxHeap(numPrune);
  let sum = 0;
  if (numPrune === 0) L.fill(0);
  for (let t = 0; t < B && numPrune > 0; t++) {
    sum += heap.pushKeepSmallest(p[order[t]!]!);
    if (heap.size === numPrune) L[t + 1] = sum;
  }
  const heapU = new MaxHeap(numUnify);
  sum = 0;
  if (numUnify === 0) R.fill(0);
  for (let t = B - 1; t >= 0 && numUnify > 0; t--) {
    sum += heapU.pushKeepSmallest(e[order[t]!]!);
    if (heapU.size === numUnify) R[t] = sum;
  }
  let best = -1;
  let bestCost = Infinity;
  for (let t = numPrune; t <= B - numUnify; t++) {
    const c = L[t]! + R[t]!;
    if (c < bestCost) {
      bestCost = c;
      best = t;
    }
  }
  const states = new Uint8Array(B);
  if (best < 0) return { states, cost: 0 }; // B = 0
  const pre = Array.from(order.subarray(0, best)).sort((x, y) => p[x]! - p[y]! || x - y);
  const suf = Array.from(order.subarray(best)).sort((x, y) => e[x]! - e[y]! || x - y);
  let cost = 0;
  for (let j = 0; j < numPrune; j++) {
    states[pre[j]!] = BlockState.prune;
    cost += p[pre[j]!]!;
  }
  for (let j = 0; j < numUnify; j++) {
    states[suf[j]!] = BlockState.unify;
    cost += e[suf[j]!]!;
  }
  return { states, cost };
}

/** A max-heap of at most `cap` numbers that keeps the smallest ones seen. */
class MaxHeap {
  private readonly a: Float64Array;
  size = 0;
  constructor(private readonly cap: number) {
    this.a = new Float64Array(Math.max(cap, 1));
  }
  /** Offers `v`; returns the change of the sum of the kept values. */
  pushKeepSmallest(v: number): number {
    const a = this.a;
    if (this.size < this.cap) {
      let i = this.size++;
      a[i] = v;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (a[parent]! >= a[i]!) break;
        [a[parent], a[i]] = [a[i]!, a[parent]!];
        i = parent;
      }
      return v;
    }
    const top = a[0]!;
    if (v >= top) return 0;
    a[0] = v;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.size && a[l]! > a[m]!) m = l;
      if (r < this.size && a[r]! > a[m]!) m = r;
      if (m === i) break;
      [a[m], a[i]] = [a[i]!, a[m]!];
      i = m;
    }
    return v - top;
  }
}
