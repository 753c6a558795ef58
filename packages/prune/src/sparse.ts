import { tensor, tidy, type DataType, type Tensor } from '@tensorflow/tfjs-core';
import { TrainkitError, invalidArgument, type ParamsArg } from '@trainkit/core';
import { byName, checkShape, checkTensorMap, resolveVariables, sizeOf } from './internal/params';
import { writeFrame } from './internal/frame';
import type { Masks } from './mask';
import type { Snapshot } from './snapshot';

const MAGIC = [0x54, 0x4b, 0x53, 0x50]; // "TKSP"
const VERSION = 1;

interface EntryHeader {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  /** `dense`: size values; `bitmask`: ceil(size/8) mask bytes (bit i = byte i>>3, bit i&7, LSB first), then one value per set bit. */
  encoding: 'dense' | 'bitmask';
  /** Values stored. */
  count: number;
}

/**
 * Writes weights to a compact binary file: masked tensors as a bitmask plus their kept values, the others dense.
 *
 * @param model - the weights to write: a model (all its variables, in `model.weights` order), variables or ParamRefs
 * @param masks - {@link Masks}; each masked tensor is stored as bitmask + kept values
 * @returns the file's bytes (little-endian): `TKSP`, version, a JSON header (names, shapes, dtypes, encodings),
 *   then each tensor's data. Its `byteLength` is the real size on disk.
 * @throws {@link TrainkitError} `STATE_MISMATCH` when a masked position holds a non-zero weight (call
 *   {@link applyMasks} first, so the file round-trips exactly); `UNKNOWN_VARIABLE` / `SHAPE_MISMATCH` for bad masks
 * @remarks Size: 4·N bytes dense vs N/8 + 4·(kept) sparse, so a tensor shrinks once more than 1/32 of it is pruned;
 *   at 50% sparsity the file is ≈ 0.53 of the dense one. Dense tfjs kernels do not run faster: this is about storage.
 * @example
 * ```ts
 * const bytes = exportSparse(model, masks); // write bytes to disk or IndexedDB
 * ```
 */
export function exportSparse(model: ParamsArg, masks: Masks): Uint8Array {
  if (!(masks instanceof Map)) throw invalidArgument('masks', masks, 'Masks (a Map from variable name to tensor)');
  const vars = resolveVariables('model', model, true);
  checkTensorMap('masks', masks, byName(vars), { binary: true });
  const headers: EntryHeader[] = [];
  const chunks: Uint8Array[] = [];
  for (const v of vars) {
    if (v.dtype !== 'float32' && v.dtype !== 'int32') {
      throw invalidArgument('model', v.name, 'variables of dtype float32 or int32');
    }
    const values = v.dataSync() as Float32Array | Int32Array;
    const m = masks.get(v.name);
    if (!m) {
      headers.push({ name: v.name, shape: [...v.shape], dtype: v.dtype, encoding: 'dense', count: values.length });
      chunks.push(pack(values, v.dtype));
      continue;
    }
    const md = m.dataSync();
    const bitmask = new Uint8Array(Math.ceil(values.length / 8));
    const kept: number[] = [];
    for (let i = 0; i < values.length; i++) {
      if ((md[i] as number) !== 0) {
        bitmask[i >> 3] = (bitmask[i >> 3] as number) | (1 << (i & 7));
        kept.push(values[i] as number);
      } else if ((values[i] as number) !== 0) {
        throw new TrainkitError('STATE_MISMATCH', `"${v.name}" holds ${values[i]} at pruned position ${i}; call applyMasks(model, masks) before exportSparse.`, 'model');
      }
    }
    headers.push({ name: v.name, shape: [...v.shape], dtype: v.dtype, encoding: 'bitmask', count: kept.length });
    chunks.push(bitmask, pack(v.dtype === 'int32' ? Int32Array.from(kept) : Float32Array.from(kept), v.dtype));
  }
  return writeFrame(MAGIC, VERSION, { entries: headers }, chunks);
}

function pack(values: Float32Array | Int32Array, dtype: 'float32' | 'int32'): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    if (dtype === 'float32') view.setFloat32(i * 4, values[i] as number, true);
    else view.setInt32(i * 4, values[i] as number, true);
  }
  return out;
}

/** What {@link importSparse} returns; the caller owns (and disposes) every tensor. */
export interface SparseImport {
  /** name → dense tensor (zeros where pruned), in file order. Names are the target's when a target was given. */
  weights: Snapshot;
  /** name → 0/1 mask for every tensor stored with a bitmask. */
  masks: Masks;
}

/**
 * Reads a file written by {@link exportSparse}; optionally writes the weights into a model.
 *
 * @param bytes - the file's bytes
 * @param target - optional model (all its variables) or variables: entries are matched by position (as
 *   `model.setWeights`), shapes must agree, and the weights are assigned; the returned maps then use the target's names
 * @returns a {@link SparseImport}; the caller disposes `weights` and `masks`
 * @throws {@link TrainkitError} `BAD_FILE` on a wrong magic number, version, or truncated data; `SHAPE_MISMATCH` or
 *   `STATE_MISMATCH` (different tensor count) against `target`
 */
export function importSparse(bytes: Uint8Array, target?: ParamsArg): SparseImport {
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('bytes', bytes, 'a Uint8Array from exportSparse');
  const bad = (why: string): TrainkitError => new TrainkitError('BAD_FILE', `bytes is not a trainkit sparse file: ${why}.`, 'bytes');
  if (bytes.length < 12 || MAGIC.some((b, i) => bytes[i] !== b)) throw bad('missing the "TKSP" magic number');
  if (bytes[4] !== VERSION) throw bad(`version ${bytes[4]}, expected ${VERSION}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  if (12 + headerLength > bytes.length) throw bad('truncated header');
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength)));
  } catch {
    throw bad('unreadable header');
  }
  const entries = checkHeader(parsed, bytes.length - 12 - headerLength, bad);
  if (target !== undefined && (typeof target !== 'object' || target === null)) throw invalidArgument('target', target, 'a model or an array of variables');
  const vars = target === undefined ? undefined : resolveVariables('target', target, true);
  if (vars && vars.length !== entries.length) {
    throw new TrainkitError('STATE_MISMATCH', `the file holds ${entries.length} tensors but target has ${vars.length}.`, 'target');
  }
  vars?.forEach((v, i) => {
    const e = entries[i] as EntryHeader;
    checkShape('bytes', e.name, v, e.shape);
    if (v.dtype !== e.dtype) {
      throw new TrainkitError('STATE_MISMATCH', `file entry "${e.name}" is ${e.dtype}, but target variable "${v.name}" is ${v.dtype}.`, 'target');
    }
  });
  // Decode everything on the host first, so that nothing is half-loaded on error.
  let off = 12 + headerLength;
  const decoded: Array<{ name: string; shape: number[]; dtype: DataType; values: Float32Array | Int32Array; mask: Float32Array | null }> = [];
  entries.forEach((e, idx) => {
    const size = sizeOf(e.shape);
    const read = (count: number): Float32Array | Int32Array => {
      if (off + count * 4 > bytes.length) throw bad(`truncated data in "${e.name}"`);
      const a = e.dtype === 'int32' ? new Int32Array(count) : new Float32Array(count);
      for (let i = 0; i < count; i++) a[i] = e.dtype === 'int32' ? view.getInt32(off + i * 4, true) : view.getFloat32(off + i * 4, true);
      off += count * 4;
      return a;
    };
    let values: Float32Array | Int32Array;
    let mask: Float32Array | null = null;
    if (e.encoding === 'dense') {
      values = read(size);
    } else if (e.encoding === 'bitmask') {
      const nBytes = Math.ceil(size / 8);
      if (off + nBytes > bytes.length) throw bad(`truncated bitmask in "${e.name}"`);
      const bits = bytes.subarray(off, off + nBytes);
      off += nBytes;
      const kept = read(e.count);
      values = e.dtype === 'int32' ? new Int32Array(size) : new Float32Array(size);
      mask = new Float32Array(size);
      let k = 0;
      for (let i = 0; i < size; i++) {
        if (((bits[i >> 3] as number) >> (i & 7)) & 1) {
          mask[i] = 1;
          values[i] = kept[k++] as number;
        }
      }
      if (k !== e.count) throw bad(`"${e.name}" has ${k} set bits but ${e.count} stored values`);
    } else {
      throw bad(`unknown encoding ${JSON.stringify(e.encoding)}`);
    }
    const v = vars?.[idx];
    decoded.push({ name: v ? v.name : e.name, shape: e.shape, dtype: e.dtype, values, mask });
  });
  if (off !== bytes.length) throw bad(`${bytes.length - off} trailing bytes`);
  const weights: Snapshot = new Map();
  const masks: Masks = new Map();
  try {
    for (const d of decoded) {
      weights.set(d.name, tensor(d.values, d.shape, d.dtype));
      if (d.mask) masks.set(d.name, tensor(d.mask, d.shape, 'float32'));
    }
    if (vars) tidy(() => vars.forEach((v) => v.assign(weights.get(v.name) as Tensor)));
  } catch (err) {
    for (const t of [...weights.values(), ...masks.values()]) t.dispose();
    throw err;
  }
  return { weights, masks };
}

/** Largest tensor a file may declare (2^28 elements, 1 GiB of float32): anything bigger is a corrupt header. */
const MAX_ELEMENTS = 2 ** 28;

/** Validates every header field before anything is allocated; `dataBytes` bounds what the entries can need. */
function checkHeader(parsed: unknown, dataBytes: number, bad: (why: string) => TrainkitError): EntryHeader[] {
  const list = (parsed as { entries?: unknown } | null)?.entries;
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray(list)) throw bad('header without entries');
  let need = 0;
  return list.map((raw: unknown, i: number) => {
    if (typeof raw !== 'object' || raw === null) throw bad(`entry ${i} is ${describe(raw)}, not an object`);
    const e = raw as Record<string, unknown>;
    const where = `entry ${i}`;
    if (typeof e['name'] !== 'string' || e['name'].length === 0) throw bad(`${where} has no name`);
    const shape = e['shape'];
    if (!Array.isArray(shape) || shape.length > 8 || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw bad(`${where} ("${e['name']}") has shape ${JSON.stringify(shape)}, not a list of at most 8 integers >= 0`);
    }
    const size = sizeOf(shape as number[]);
    if (size > MAX_ELEMENTS) throw bad(`${where} ("${e['name']}") declares ${size} elements (more than ${MAX_ELEMENTS})`);
    if (e['dtype'] !== 'float32' && e['dtype'] !== 'int32') throw bad(`${where} ("${e['name']}") has dtype ${JSON.stringify(e['dtype'])}, not "float32" or "int32"`);
    const count = e['count'];
    if (!Number.isSafeInteger(count) || (count as number) < 0 || (count as number) > size) {
      throw bad(`${where} ("${e['name']}") stores ${JSON.stringify(count)} values, not an integer in [0, ${size}]`);
    }
    if (e['encoding'] === 'dense') {
      if (count !== size) throw bad(`${where} ("${e['name']}") is dense but stores ${count} of ${size} values`);
      need += 4 * size;
    } else if (e['encoding'] === 'bitmask') {
      need += Math.ceil(size / 8) + 4 * (count as number);
    } else {
      throw bad(`unknown encoding ${JSON.stringify(e['encoding'])}`);
    }
    if (need > dataBytes) throw bad(`truncated data: the header needs more than the ${dataBytes} data bytes (at "${e['name']}")`);
    return { name: e['name'], shape: [...(shape as number[])], dtype: e['dtype'], encoding: e['encoding'], count: count as number };
  });
}

function describe(v: unknown): string {
  return v === null ? 'null' : typeof v;
}
