import { tensor, type Variable } from '@tensorflow/tfjs-core';
import { TrainkitError, invalidArgument, type LayersModelLike, type NamedTensor, type ParamRef } from '@trainkit/core';
import { BlockState } from './assign';
import { blockView, type BlockShape, type BlockView } from './blocks';
import { allVariables } from './internal/tensors';
import { planLayers, type LayerPlan, type UnifyPlan } from './projection';

const MAGIC = 0x31554b54; // 'TKU1' little-endian
const STATES = [BlockState.keep, BlockState.unify, BlockState.prune] as const;

/** Storage of one tensor in the encoded format. */
export interface LayerStats {
  /** Variable name. */
  name: string;
  /** Elements. */
  size: number;
  /** Complete blocks (0 for tensors without a plan). */
  blocks: number;
  /** Blocks pruned / unified / kept dense. */
  pruned: number;
  unified: number;
  kept: number;
  /** float32 values written: dense elements + one magnitude per unified block. */
  storedValues: number;
  /** One sign bit per element of each unified block. */
  signBits: number;
  /** Block-map bits: 0, 1 or 2 per block (enough for the states the layer uses). */
  mapBits: number;
  /** Bytes of this tensor's section (header excluded). */
  bytes: number;
  /** Multiplies per output position: dense `size`; kept/edge `1` each, unified block `min(g_o, g_i·g_k)`, pruned 0. */
  multiplies: number;
}

/** What {@link compressionStats} returns. */
export interface CompressionStats {
  /** All elements of all tensors counted. */
  totalWeights: number;
  /** `4 · totalWeights`: float32 storage. */
  denseBytes: number;
  /** Exactly `encodeUnified(params, plan).byteLength` (header included). */
  encodedBytes: number;
  /** `denseBytes / encodedBytes`: the real ratio of bytes written. */
  ratio: number;
  /** `32 · totalWeights`. */
  denseBits: number;
  /** `8 · encodedBytes`: every bit written, header and padding included. */
  storedBits: number;
  /** float32 values stored (spec §5 "stored values"). */
  storedValues: number;
  /** `totalWeights / storedValues` (spec §5 CR_values). */
  valuesRatio: number;
  /** Sign bits in total. */
  signBits: number;
  /** Block-map bits in total. */
  mapBits: number;
  /** `32·N / (32·stored + sign bits + map bits)` (spec §5 CR_bits, without the header). */
  bitsRatio: number;
  /** Multiplies per output position over the planned kernels: dense, remaining, saved (= dense − remaining), ratio. */
  multiplies: { dense: number; remaining: number; saved: number; ratio: number };
  layers: LayerStats[];
}

interface Entry {
  variable: Variable;
  plan?: LayerPlan;
  view?: BlockView;
  present: number[];
  bitsPerBlock: number;
}

function entries(params: readonly (Variable | ParamRef)[] | LayersModelLike, plan: UnifyPlan | LayerPlan | readonly LayerPlan[]): Entry[] {
  const vars = allVariables('params', params);
  const plans = new Map(planLayers(plan).map((p) => [p.name, p]));
  const out = vars.map((variable) => {
    if (variable.dtype !== 'float32' && variable.dtype !== 'int32') {
      throw invalidArgument('params', `${variable.name}: ${variable.dtype}`, 'float32 or int32 variables');
    }
    const p = plans.get(variable.name);
    plans.delete(variable.name);
    if (p && variable.dtype !== 'float32') throw invalidArgument('plan', `${p.name}: ${variable.dtype}`, 'plans for float32 kernels only');
    if (!p) return { variable, present: [], bitsPerBlock: 0 };
    if (p.shape.join(',') !== variable.shape.join(',')) {
      throw new TrainkitError('SHAPE_MISMATCH', `variable "${variable.name}" has shape [${variable.shape.join(',')}] but the plan says [${p.shape.join(',')}].`, 'plan');
    }
    const view = blockView(p.shape, { blockSize: p.blockShape });
    const present = STATES.filter((s) => p.states.includes(s));
    return { variable, plan: p, view, present, bitsPerBlock: present.length <= 1 ? 0 : present.length === 2 ? 1 : 2 };
  });
  if (plans.size > 0) {
    throw new TrainkitError('UNKNOWN_VARIABLE', `the plan names ${[...plans.keys()].map((n) => `"${n}"`).join(', ')}, not among params.`, 'plan');
  }
  return out;
}

function headerBytes(es: Entry[]): Uint8Array {
  const header = {
    v: 1,
    t: es.map((e) =>
      e.plan
        ? { n: e.variable.name, s: e.variable.shape, b: e.plan.blockShape, p: e.present }
        : e.variable.dtype === 'int32'
          ? { n: e.variable.name, s: e.variable.shape, d: 'int32' }
          : { n: e.variable.name, s: e.variable.shape },
    ),
  };
  return new TextEncoder().encode(JSON.stringify(header));
}

function layerStats(e: Entry): LayerStats {
  const size = e.variable.size;
  if (!e.plan || !e.view) {
    return { name: e.variable.name, size, blocks: 0, pruned: 0, unified: 0, kept: 0, storedValues: size, signBits: 0, mapBits: 0, bytes: 4 * size, multiplies: size };
  }
  const g = e.view.blockLength;
  let pruned = 0;
  let unified = 0;
  for (const s of e.plan.states) {
    if (s === BlockState.prune) pruned++;
    else if (s === BlockState.unify) unified++;
  }
  const blocks = e.plan.numBlocks;
  const dense = size - (pruned + unified) * g;
  const mapBits = blocks * e.bitsPerBlock;
  const signBits = unified * g;
  const [go, gi, gk] = e.view.blockShape;
  return {
    name: e.variable.name,
    size,
    blocks,
    pruned,
    unified,
    kept: blocks - pruned - unified,
    storedValues: dense + unified,
    signBits,
    mapBits,
    bytes: Math.ceil((mapBits + signBits) / 8) + 4 * (unified + dense),
    multiplies: dense + unified * Math.min(go, gi * gk),
  };
}

/**
 * Storage and compute of a model under a plan, counted exactly as {@link encodeUnified} writes it.
 *
 * @param params - the whole model (every weight counts, planned or not) or a list of variables
 * @param plan - the plan; every planned variable must be among `params`
 * @returns {@link CompressionStats} (plain JS)
 * @throws {@link TrainkitError} `UNKNOWN_VARIABLE` / `SHAPE_MISMATCH` when plan and params disagree
 * @remarks Spec §5: stored values = dense weights outside P∪U + |U|; sign bits g·|U|; block map ≤ 2 bits per block.
 * `ratio` is bytes: dense float32 / the encoded file, header included.
 */
export function compressionStats(params: readonly (Variable | ParamRef)[] | LayersModelLike, plan: UnifyPlan | LayerPlan | readonly LayerPlan[]): CompressionStats {
  const es = entries(params, plan);
  const layers = es.map(layerStats);
  const totalWeights = layers.reduce((a, l) => a + l.size, 0);
  const storedValues = layers.reduce((a, l) => a + l.storedValues, 0);
  const signBits = layers.reduce((a, l) => a + l.signBits, 0);
  const mapBits = layers.reduce((a, l) => a + l.mapBits, 0);
  const encodedBytes = 8 + headerBytes(es).length + layers.reduce((a, l) => a + l.bytes, 0);
  const planned = layers.filter((_, i) => es[i]!.plan !== undefined);
  const dense = planned.reduce((a, l) => a + l.size, 0);
  const remaining = planned.reduce((a, l) => a + l.multiplies, 0);
  return {
    totalWeights,
    denseBytes: 4 * totalWeights,
    encodedBytes,
    ratio: (4 * totalWeights) / encodedBytes,
    denseBits: 32 * totalWeights,
    storedBits: 8 * encodedBytes,
    storedValues,
    valuesRatio: totalWeights / storedValues,
    signBits,
    mapBits,
    bitsRatio: (32 * totalWeights) / (32 * storedValues + signBits + mapBits),
    multiplies: { dense, remaining, saved: dense - remaining, ratio: remaining === 0 ? Infinity : dense / remaining },
    layers,
  };
}

/**
 * Writes a model's weights in the compact unified format: per planned kernel a block map, sign bits, one float32 per
 * unified block and the dense rest; other weights as float32.
 *
 * @param model - a tf.LayersModel (all its weights, in `model.weights` order, so `model.setWeights` takes the decoded list) or a list of variables
 * @param plan - the structure the weights follow (e.g. from `hardProject()`)
 * @returns the bytes; `compressionStats(model, plan).encodedBytes === bytes.byteLength`
 * @throws {@link TrainkitError} `STATE_MISMATCH` when a pruned block is not all zero or a unified block's magnitudes
 * differ (encode right after `hardProject()` or fine-tuning with {@link unifiedHook}); `UNKNOWN_VARIABLE` /
 * `SHAPE_MISMATCH` when plan and model disagree
 * @remarks Layout: `'TKU1'`, u32 header length, JSON header (names, shapes, block shapes, states used), then each
 * tensor's section in order. Little-endian. Reads the weights synchronously.
 */
export function encodeUnified(model: readonly (Variable | ParamRef)[] | LayersModelLike, plan: UnifyPlan | LayerPlan | readonly LayerPlan[]): Uint8Array {
  const es = entries(model, plan);
  const stats = compressionStats(model, plan);
  const header = headerBytes(es);
  const out = new Uint8Array(stats.encodedBytes);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, header.length, true);
  out.set(header, 8);
  let pos = 8 + header.length;
  es.forEach((e) => {
    const values = e.variable.dataSync() as Float32Array;
    if (!e.plan || !e.view) {
      if (e.variable.dtype === 'int32') for (let i = 0; i < values.length; i++, pos += 4) dv.setInt32(pos, values[i]!, true);
      else for (let i = 0; i < values.length; i++, pos += 4) dv.setFloat32(pos, values[i]!, true);
      return;
    }
    const { view, plan: p } = e;
    const g = view.blockLength;
    const bits = new BitWriter(out, pos);
    const free = new Uint8Array(values.length).fill(1);
    for (let b = 0; b < view.numBlocks; b++) bits.write(e.present.indexOf(p.states[b] as never), e.bitsPerBlock);
    const mags: number[] = [];
    for (let b = 0; b < view.numBlocks; b++) {
      const s = p.states[b];
      if (s === BlockState.keep) continue;
      const first = Math.abs(values[view.indices[b * g]!]!);
      for (let j = b * g; j < (b + 1) * g; j++) {
        const idx = view.indices[j]!;
        free[idx] = 0;
        const v = values[idx]!;
        if (s === BlockState.prune ? v !== 0 : Math.abs(v) !== first) {
          throw new TrainkitError(
            'STATE_MISMATCH',
            `"${p.name}" block ${b} is planned ${s === BlockState.prune ? 'pruned but holds ' + v : `unified but holds magnitudes ${first} and ${Math.abs(v)}`}; encode right after hardProject() or fine-tuning with unifiedHook(plan).`,
            'model',
          );
        }
        if (s === BlockState.unify) bits.write(v < 0 || Object.is(v, -0) ? 1 : 0, 1);
      }
      if (s === BlockState.unify) mags.push(first);
    }
    pos = bits.end();
    for (const a of mags) {
      dv.setFloat32(pos, a, true);
      pos += 4;
    }
    for (let i = 0; i < values.length; i++) {
      if (free[i]) {
        dv.setFloat32(pos, values[i]!, true);
        pos += 4;
      }
    }
  });
  if (pos !== out.length) throw new TrainkitError('STATE_MISMATCH', `internal: wrote ${pos} bytes, expected ${out.length}.`);
  return out;
}

/**
 * Reads {@link encodeUnified}'s bytes back.
 *
 * @param bytes - the encoded file
 * @returns `{weights, plan}`: `weights` are new tensors in the encoded order (the caller disposes them; for a model,
 * `model.setWeights(weights.map((w) => w.tensor))`); `plan` is the structure that was encoded (its `cost` is 0)
 * @throws {@link TrainkitError} `BAD_FILE` for a wrong magic number, a truncated file or a corrupt header
 */
export function decodeUnified(bytes: Uint8Array): { weights: NamedTensor[]; plan: UnifyPlan } {
  if (!(bytes instanceof Uint8Array) || bytes.length < 8) throw new TrainkitError('BAD_FILE', 'decodeUnified needs the Uint8Array from encodeUnified (at least 8 bytes).', 'bytes');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== MAGIC) throw new TrainkitError('BAD_FILE', "bytes do not start with the 'TKU1' magic of encodeUnified.", 'bytes');
  const hlen = dv.getUint32(4, true);
  if (8 + hlen > bytes.length) throw new TrainkitError('BAD_FILE', `header of ${hlen} bytes runs past the end (${bytes.length} bytes).`, 'bytes');
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hlen)));
  } catch {
    throw new TrainkitError('BAD_FILE', 'the header is not valid JSON.', 'bytes');
  }
  const header = { t: checkHeader(parsed) };
  let pos = 8 + hlen;
  const need = (n: number): void => {
    if (pos + n > bytes.length) throw new TrainkitError('BAD_FILE', `the file is truncated: need ${pos + n} bytes, have ${bytes.length}.`, 'bytes');
  };
  const weights: NamedTensor[] = [];
  const layers: LayerPlan[] = [];
  const arrays: { name: string; values: Float32Array | Int32Array; shape: number[]; dtype: 'float32' | 'int32' }[] = [];
  for (const t of header.t) {
    const size = t.s.reduce((a, b) => a * b, 1);
    if (!t.b || !t.p) {
      need(4 * size);
      if (t.d === 'int32') {
        const ints = new Int32Array(size);
        for (let i = 0; i < size; i++, pos += 4) ints[i] = dv.getInt32(pos, true);
        arrays.push({ name: t.n, values: ints, shape: t.s, dtype: 'int32' });
      } else {
        const floats = new Float32Array(size);
        for (let i = 0; i < size; i++, pos += 4) floats[i] = dv.getFloat32(pos, true);
        arrays.push({ name: t.n, values: floats, shape: t.s, dtype: 'float32' });
      }
      continue;
    }
    const values = new Float32Array(size);
    const view = blockView(t.s, { blockSize: t.b });
    const g = view.blockLength;
    const bitsPerBlock = t.p.length <= 1 ? 0 : t.p.length === 2 ? 1 : 2;
    const bits = new BitReader(bytes, pos);
    const states = new Uint8Array(view.numBlocks);
    let nU = 0;
    let nP = 0;
    for (let b = 0; b < view.numBlocks; b++) {
      const s = t.p[bits.read(bitsPerBlock)];
      if (s === undefined) throw new TrainkitError('BAD_FILE', `tensor "${t.n}" block ${b} has an unknown state code.`, 'bytes');
      states[b] = s;
      if (s === BlockState.unify) nU++;
      else if (s === BlockState.prune) nP++;
    }
    const signs = new Int8Array(size);
    const free = new Uint8Array(size).fill(1);
    for (let b = 0; b < view.numBlocks; b++) {
      if (states[b] === BlockState.keep) continue;
      for (let j = b * g; j < (b + 1) * g; j++) {
        const idx = view.indices[j]!;
        free[idx] = 0;
        if (states[b] === BlockState.unify) signs[idx] = bits.read(1) ? -1 : 1;
      }
    }
    pos = bits.end();
    const magnitudes = new Float32Array(view.numBlocks);
    need(4 * nU);
    for (let b = 0; b < view.numBlocks; b++) {
      if (states[b] !== BlockState.unify) continue;
      const a = dv.getFloat32(pos, true);
      pos += 4;
      magnitudes[b] = a;
      for (let j = b * g; j < (b + 1) * g; j++) {
        const idx = view.indices[j]!;
        values[idx] = signs[idx]! < 0 ? -a : a;
      }
    }
    const dense = size - (nU + nP) * g;
    need(4 * dense);
    for (let i = 0; i < size; i++) {
      if (free[i]) {
        values[i] = dv.getFloat32(pos, true);
        pos += 4;
      }
    }
    arrays.push({ name: t.n, values, shape: t.s, dtype: 'float32' });
    layers.push({ name: t.n, shape: t.s, blockShape: t.b, numBlocks: view.numBlocks, states, magnitudes, signs, pruneCount: nP, unifyCount: nU, cost: 0 });
  }
  if (pos !== bytes.length) throw new TrainkitError('BAD_FILE', `${bytes.length - pos} trailing bytes after the last tensor.`, 'bytes');
  for (const a of arrays) weights.push({ name: a.name, tensor: tensor(a.values, a.shape, a.dtype) });
  return { weights, plan: { layers } };
}

interface HeaderEntry {
  n: string;
  s: number[];
  b?: BlockShape;
  p?: number[];
  d?: 'int32';
}

/** Largest tensor, and largest file total, a header may declare (2^28 elements: 1 GiB of float32). */
const MAX_ELEMENTS = 2 ** 28;

/** Validates every header field before anything is allocated. */
function checkHeader(parsed: unknown): HeaderEntry[] {
  const bad = (why: string): TrainkitError => new TrainkitError('BAD_FILE', `corrupt header: ${why}.`, 'bytes');
  const h = parsed as { v?: unknown; t?: unknown } | null;
  if (typeof h !== 'object' || h === null || h.v !== 1 || !Array.isArray(h.t)) throw bad('expected {v: 1, t: [...]}');
  let total = 0;
  return h.t.map((raw: unknown, i: number) => {
    const e = raw as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null) throw bad(`tensor ${i} is ${e === null ? 'null' : typeof e}, not an object`);
    if (typeof e['n'] !== 'string' || e['n'].length === 0) throw bad(`tensor ${i} has no name`);
    const shape = e['s'];
    if (!Array.isArray(shape) || shape.length > 8 || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw bad(`tensor "${e['n']}" has shape ${JSON.stringify(shape)}, not a list of at most 8 integers >= 0`);
    }
    const size = (shape as number[]).reduce((a, b) => a * b, 1);
    total += size;
    if (size > MAX_ELEMENTS || total > MAX_ELEMENTS) throw bad(`tensor "${e['n']}" makes ${total} elements (more than ${MAX_ELEMENTS})`);
    if (e['d'] !== undefined && e['d'] !== 'int32') throw bad(`tensor "${e['n']}" has dtype ${JSON.stringify(e['d'])} (only "int32" is marked)`);
    const planned = e['b'] !== undefined || e['p'] !== undefined;
    if (!planned) return { n: e['n'], s: [...(shape as number[])], ...(e['d'] === 'int32' ? { d: 'int32' as const } : {}) };
    if (e['d'] !== undefined) throw bad(`planned tensor "${e['n']}" must be float32`);
    const b = e['b'];
    if (!Array.isArray(b) || b.length !== 3 || !b.every((g) => Number.isSafeInteger(g) && (g as number) >= 1)) {
      throw bad(`tensor "${e['n']}" has block shape ${JSON.stringify(b)}, not three integers >= 1`);
    }
    const p = e['p'];
    if (!Array.isArray(p) || p.length === 0 || p.length > 3 || !p.every((x) => (STATES as readonly unknown[]).includes(x)) || new Set(p).size !== p.length) {
      throw bad(`tensor "${e['n']}" lists states ${JSON.stringify(p)}, not 1 to 3 distinct block states`);
    }
    if (shape.length < 2 || (shape as number[]).some((d) => d < 1)) throw bad(`planned tensor "${e['n']}" has shape ${JSON.stringify(shape)}, not a kernel`);
    return { n: e['n'], s: [...(shape as number[])], b: [b[0], b[1], b[2]] as unknown as BlockShape, p: [...(p as number[])] };
  });
}

class BitWriter {
  private bit = 0;
  constructor(
    private readonly out: Uint8Array,
    private readonly start: number,
  ) {}
  write(value: number, nbits: number): void {
    for (let k = 0; k < nbits; k++, this.bit++) {
      if ((value >> k) & 1) {
        const i = this.start + (this.bit >> 3);
        this.out[i] = this.out[i]! | (1 << (this.bit & 7));
      }
    }
  }
  end(): number {
    return this.start + Math.ceil(this.bit / 8);
  }
}

class BitReader {
  private bit = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly start: number,
  ) {}
  read(nbits: number): number {
    let v = 0;
    for (let k = 0; k < nbits; k++, this.bit++) {
      const i = this.start + (this.bit >> 3);
      if (i >= this.bytes.length) throw new TrainkitError('BAD_FILE', 'the file is truncated inside a bit field.', 'bytes');
      v |= ((this.bytes[i]! >> (this.bit & 7)) & 1) << k;
    }
    return v;
  }
  end(): number {
    return this.start + Math.ceil(this.bit / 8);
  }
}
