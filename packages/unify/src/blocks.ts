import { TrainkitError, invalidArgument } from '@trainkit/core';

/** A block's extent `[g_o, g_i, g_k]` along (output channel, input channel, flattened spatial position). */
export type BlockShape = readonly [number, number, number];

/** The axis a one-number block size runs along: input channels, output channels, or kernel positions. */
export type BlockAxis = 'in' | 'out' | 'spatial';

/** How to cut a kernel into blocks. */
export interface BlockArgs {
  /**
   * A number `g` (then `along` says which axis) or a full `[g_o, g_i, g_k]` shape.
   * @defaultValue 4 (with `along: 'in'`, i.e. `[1, 4, 1]`: 4 consecutive input channels of one filter at one position)
   */
  blockSize?: number | BlockShape;
  /**
   * Axis of a one-number `blockSize`. Ignored when `blockSize` is a shape.
   * @defaultValue 'in'
   */
  along?: BlockAxis;
}

/** The block geometry of one kernel: which kernel elements each complete block holds. */
export interface BlockView {
  /** The kernel's own shape (tfjs layout: `[…spatial, in, out]`). */
  readonly shape: readonly number[];
  /** The canonical 3-D view `[O, I, K]`: output channels, input channels, product of the spatial dims. */
  readonly dims: readonly [number, number, number];
  /** The block shape `[g_o, g_i, g_k]`. */
  readonly blockShape: BlockShape;
  /** Complete blocks along each canonical axis `[n_o, n_i, n_k]`. */
  readonly grid: readonly [number, number, number];
  /** Complete blocks `n_o · n_i · n_k`; partial edge blocks are not counted (they stay dense). */
  readonly numBlocks: number;
  /** Elements per block `g = g_o · g_i · g_k`. */
  readonly blockLength: number;
  /** Kernel elements outside every complete block (in partial edge blocks). */
  readonly edgeCount: number;
  /**
   * Flat kernel indices, block-major: block `b`, element `j` is `indices[b·g + j]`.
   * Block `b = (b_o·n_i + b_i)·n_k + b_k`; element `j = (j_o·g_i + j_i)·g_k + j_k`.
   */
  readonly indices: Int32Array;
}

/**
 * Normalises a {@link BlockArgs} to a `[g_o, g_i, g_k]` shape.
 *
 * @param args - `blockSize` and `along`
 * @returns the block shape
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for a non-positive or non-integer size or an unknown axis
 */
export function toBlockShape(args: BlockArgs = {}): BlockShape {
  const size = args.blockSize ?? 4;
  if (Array.isArray(size)) {
    if (size.length !== 3 || !size.every((s) => Number.isInteger(s) && s >= 1)) {
      throw invalidArgument('blockSize', size, 'a positive integer or [g_o, g_i, g_k] of three positive integers');
    }
    return [size[0], size[1], size[2]] as BlockShape;
  }
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) {
    throw invalidArgument('blockSize', size, 'a positive integer or [g_o, g_i, g_k] of three positive integers');
  }
  const along = args.along ?? 'in';
  if (along === 'in') return [1, size, 1];
  if (along === 'out') return [size, 1, 1];
  if (along === 'spatial') return [1, 1, size];
  throw invalidArgument('along', along, "'in', 'out' or 'spatial'");
}

/**
 * The canonical `[O, I, K]` dims of a tfjs kernel: `[in, out]` (dense) → `[out, in, 1]`; `[kh, kw, in, out]` (conv2d)
 * → `[out, in, kh·kw]`. Element `(o, i, k)` sits at flat index `(k·I + i)·O + o`.
 *
 * @throws {@link TrainkitError} `SHAPE_MISMATCH` for a kernel of rank < 2 or with a zero dim
 */
export function canonicalDims(shape: readonly number[], argument = 'kernel'): [number, number, number] {
  if (shape.length < 2 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new TrainkitError(
      'SHAPE_MISMATCH',
      `${argument} must be a kernel of rank >= 2 with positive dims ([in, out] or [kh, kw, in, out]); received shape [${shape.join(',')}].`,
      argument,
    );
  }
  const O = shape[shape.length - 1] as number;
  const I = shape[shape.length - 2] as number;
  const K = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return [O, I, K];
}

/**
 * The micro-block geometry of a kernel (spec §1): view it as `V[o, i, k]` and tile it with `[g_o, g_i, g_k]` blocks.
 *
 * @param kernel - a tensor or variable (only its shape is read) or a shape
 * @param args - {@link BlockArgs}
 * @returns a {@link BlockView} (plain JS; nothing to dispose)
 * @throws {@link TrainkitError} `SHAPE_MISMATCH` for a kernel of rank < 2; `INVALID_ARGUMENT` for a bad block size
 * @remarks Partial edge blocks (a dim not divisible by the block size) are never selected and stay dense (spec §1).
 * The default `[1, 4, 1]` puts a block on the reduction axis: `Σ_j w_j x_j = a_b · Σ_j s_j x_j`, one multiply per block.
 * @example
 * ```ts
 * const v = blockView(tf.zeros([3, 3, 8, 16]), { blockSize: 4, along: 'in' }); // v.numBlocks === 16 * 2 * 9
 * ```
 */
export function blockView(kernel: { readonly shape: readonly number[] } | readonly number[], args: BlockArgs = {}): BlockView {
  if (typeof kernel !== 'object' || kernel === null) throw invalidArgument('kernel', kernel, 'a tensor or a shape');
  const shape: readonly number[] = Array.isArray(kernel) ? (kernel as readonly number[]) : (kernel as { shape: readonly number[] }).shape;
  if (!Array.isArray(shape)) throw invalidArgument('kernel', kernel, 'a tensor or a shape');
  const dims = canonicalDims(shape);
  const [O, I, K] = dims;
  const bs = toBlockShape(args);
  const [go, gi, gk] = bs;
  const grid: [number, number, number] = [Math.floor(O / go), Math.floor(I / gi), Math.floor(K / gk)];
  const [no, ni, nk] = grid;
  const numBlocks = no * ni * nk;
  const g = go * gi * gk;
  const indices = new Int32Array(numBlocks * g);
  let p = 0;
  for (let bo = 0; bo < no; bo++) {
    for (let bi = 0; bi < ni; bi++) {
      for (let bk = 0; bk < nk; bk++) {
        for (let jo = 0; jo < go; jo++) {
          const o = bo * go + jo;
          for (let ji = 0; ji < gi; ji++) {
            const i = bi * gi + ji;
            for (let jk = 0; jk < gk; jk++) {
              const k = bk * gk + jk;
              indices[p++] = (k * I + i) * O + o;
            }
          }
        }
      }
    }
  }
  return { shape: [...shape], dims, blockShape: bs, grid, numBlocks, blockLength: g, edgeCount: O * I * K - numBlocks * g, indices };
}
