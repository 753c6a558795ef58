import { io } from '@tensorflow/tfjs-core';
import { TrainkitError, invalidArgument } from '@trainkit/core';
import { writeFrame } from './internal/frame';

const MAGIC = [0x54, 0x4b, 0x53, 0x4d]; // "TKSM"
const VERSION = 1;

type Encoding = { encoding: 'dense' | 'raw'; bytes: number } | { encoding: 'bitmask'; bytes: number; count: number };

interface Header {
  artifacts: Omit<io.ModelArtifacts, 'weightData' | 'weightSpecs'>;
  weightSpecs: io.WeightsManifestEntry[];
  encodings: Encoding[];
}

/** Where a {@link sparseModelHandler} reads and writes its single file. */
export interface SparseModelHandlerArgs {
  /** The file to load (what an earlier save produced). */
  bytes?: Uint8Array;
  /** Called by `model.save` with the file's bytes (write them to disk, IndexedDB, a server…). */
  write?: (bytes: Uint8Array) => void | Promise<void>;
  /** Called by `tf.loadLayersModel` to get the file's bytes. */
  read?: () => Uint8Array | Promise<Uint8Array>;
}

/** A tfjs IOHandler writing one sparse-coded file; `bytes` holds the last file saved or given. */
export interface SparseModelHandler extends io.IOHandler {
  readonly bytes: Uint8Array | null;
}

const ELEMENT_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

function specBytes(spec: io.WeightsManifestEntry): number {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const dtype = spec.quantization ? spec.quantization.dtype : spec.dtype;
  const per = ELEMENT_BYTES[dtype];
  if (per === undefined) throw invalidArgument(`weightSpecs["${spec.name}"].dtype`, dtype, 'float32, int32, bool or a quantized dtype (strings are not supported)');
  return size * per;
}

function joined(data: io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return new Uint8Array(Array.isArray(data) ? io.CompositeArrayBuffer.join(data) : data);
}

/** Encodes model artifacts: float32/int32 tensors with many exact zeros as bitmask + non-zero values, the rest as they are. */
function encode(artifacts: io.ModelArtifacts): Uint8Array {
  const specs = artifacts.weightSpecs ?? [];
  const data = joined(artifacts.weightData);
  const encodings: Encoding[] = [];
  const chunks: Uint8Array[] = [];
  let off = 0;
  for (const spec of specs) {
    const n = specBytes(spec);
    if (off + n > data.length) throw invalidArgument('weightData', data.length, `at least ${off + n} bytes for the weight specs`);
    const raw = data.subarray(off, off + n);
    off += n;
    if (spec.quantization || (spec.dtype !== 'float32' && spec.dtype !== 'int32')) {
      encodings.push({ encoding: 'raw', bytes: n });
      chunks.push(raw);
      continue;
    }
    const words = new Uint32Array(raw.slice().buffer); // bit patterns: −0 and NaN payloads survive
    let count = 0;
    for (let i = 0; i < words.length; i++) if (words[i] !== 0) count++;
    const sparseBytes = Math.ceil(words.length / 8) + 4 * count;
    if (sparseBytes >= n) {
      encodings.push({ encoding: 'dense', bytes: n });
      chunks.push(raw);
      continue;
    }
    const out = new Uint8Array(sparseBytes);
    const values = new Uint32Array(count);
    let k = 0;
    for (let i = 0; i < words.length; i++) {
      if (words[i] !== 0) {
        out[i >> 3] = (out[i >> 3] as number) | (1 << (i & 7));
        values[k++] = words[i] as number;
      }
    }
    out.set(new Uint8Array(values.buffer), Math.ceil(words.length / 8));
    encodings.push({ encoding: 'bitmask', bytes: sparseBytes, count });
    chunks.push(out);
  }
  if (off !== data.length) throw invalidArgument('weightData', data.length, `exactly ${off} bytes for the weight specs`);
  const { weightData: _d, weightSpecs: _s, ...rest } = artifacts;
  const header: Header = { artifacts: rest, weightSpecs: specs, encodings };
  return writeFrame(MAGIC, VERSION, header, chunks);
}

function decode(bytes: Uint8Array): io.ModelArtifacts {
  const bad = (why: string): TrainkitError => new TrainkitError('BAD_FILE', `bytes is not a trainkit sparse model file: ${why}.`, 'bytes');
  if (bytes.length < 12 || MAGIC.some((b, i) => bytes[i] !== b)) throw bad('missing the "TKSM" magic number');
  if (bytes[4] !== VERSION) throw bad(`version ${bytes[4]}, expected ${VERSION}`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + headerLength > bytes.length) throw bad('truncated header');
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))) as Header;
  } catch {
    throw bad('unreadable header');
  }
  if (!Array.isArray(header.weightSpecs) || !Array.isArray(header.encodings) || header.weightSpecs.length !== header.encodings.length) {
    throw bad('header without matching weightSpecs and encodings');
  }
  const sizes = header.weightSpecs.map(specBytes);
  const out = new Uint8Array(sizes.reduce((a, b) => a + b, 0));
  let src = 12 + headerLength;
  let dst = 0;
  header.encodings.forEach((e, i) => {
    const n = sizes[i] as number;
    if (src + e.bytes > bytes.length) throw bad(`truncated data in "${header.weightSpecs[i]?.name}"`);
    const chunk = bytes.subarray(src, src + e.bytes);
    src += e.bytes;
    if (e.encoding === 'dense' || e.encoding === 'raw') {
      if (e.bytes !== n) throw bad(`"${header.weightSpecs[i]?.name}" stores ${e.bytes} bytes, expected ${n}`);
      out.set(chunk, dst);
    } else if (e.encoding === 'bitmask') {
      const words = n / 4;
      const maskBytes = Math.ceil(words / 8);
      if (e.bytes !== maskBytes + 4 * e.count) throw bad(`"${header.weightSpecs[i]?.name}" has an inconsistent size`);
      const values = new Uint32Array(chunk.slice(maskBytes).buffer);
      const target = new Uint32Array(words);
      let k = 0;
      for (let j = 0; j < words; j++) if (((chunk[j >> 3] as number) >> (j & 7)) & 1) target[j] = values[k++] as number;
      if (k !== e.count) throw bad(`"${header.weightSpecs[i]?.name}" has ${k} set bits but ${e.count} values`);
      out.set(new Uint8Array(target.buffer), dst);
    } else {
      throw bad(`unknown encoding ${JSON.stringify((e as { encoding: unknown }).encoding)}`);
    }
    dst += n;
  });
  if (src !== bytes.length) throw bad(`${bytes.length - src} trailing bytes`);
  return { ...header.artifacts, weightSpecs: header.weightSpecs, weightData: out.buffer };
}

/**
 * A `tf.io` IOHandler that stores a model as one file whose weights are sparse-coded: `model.save(handler)` writes the
 * topology, the weight specs and, per tensor, either its raw bytes or (when that is smaller) a bitmask of its non-zero
 * entries followed by their values; `tf.loadLayersModel(handler)` reads it back exactly (bit for bit).
 *
 * @param args - {@link SparseModelHandlerArgs}: the `bytes` to load, and/or `write` / `read` callbacks
 * @returns a {@link SparseModelHandler}; after a save, `handler.bytes` is the file
 * @throws {@link TrainkitError} on save: `INVALID_ARGUMENT` for string weights; on load: `BAD_FILE` for a file that is
 *   not one, `INVALID_ARGUMENT` when there is nothing to load
 * @remarks A tensor of N float32 costs N/8 + 4·(non-zeros) bytes instead of 4·N, so it shrinks once more than 1/32 of
 *   it is zero. Works with `includeOptimizer` (optimizer weights are coded the same way). No filesystem access: give
 *   `write`/`read` to put the bytes somewhere (write a temp file and rename it for atomic saves).
 * @example
 * ```ts
 * const handler = sparseModelHandler();
 * await model.save(handler);
 * const loaded = await tf.loadLayersModel(sparseModelHandler({ bytes: handler.bytes! }));
 * ```
 */
export function sparseModelHandler(args: SparseModelHandlerArgs = {}): SparseModelHandler {
  if (typeof args !== 'object' || args === null) throw invalidArgument('args', args, 'an object {bytes?, write?, read?}');
  if (args.bytes !== undefined && !(args.bytes instanceof Uint8Array)) throw invalidArgument('bytes', args.bytes, 'a Uint8Array');
  if (args.write !== undefined && typeof args.write !== 'function') throw invalidArgument('write', args.write, 'a function (bytes) => void');
  if (args.read !== undefined && typeof args.read !== 'function') throw invalidArgument('read', args.read, 'a function () => Uint8Array');
  let bytes: Uint8Array | null = args.bytes ?? null;
  return {
    get bytes() {
      return bytes;
    },
    async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) throw invalidArgument('modelTopology', 'ArrayBuffer', 'a JSON model topology (a tfjs-layers model)');
      const file = encode(artifacts);
      if (args.write) await args.write(file);
      bytes = file;
      const weightDataBytes = file.length - 12 - new DataView(file.buffer).getUint32(8, true);
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: JSON.stringify(artifacts.modelTopology ?? null).length,
          weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
          weightDataBytes,
        },
      };
    },
    async load(): Promise<io.ModelArtifacts> {
      const file = args.read ? await args.read() : bytes;
      if (!(file instanceof Uint8Array)) throw invalidArgument('bytes', file, 'a Uint8Array to load (give bytes or read, or save first)');
      return decode(file);
    },
  };
}
