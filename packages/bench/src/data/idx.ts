import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { TrainkitError } from '@trainkit/core';

/** A parsed IDX file (unsigned-byte data only, as MNIST-format sets use). */
export interface IdxArray {
  /** Dimensions from the header, e.g. [60000, 28, 28]. */
  dims: number[];
  /** The data, row-major; length = product of dims. */
  data: Uint8Array;
}

function badFile(file: string, what: string): TrainkitError {
  return new TrainkitError('BAD_FILE', `${file}: ${what}`, file);
}

/**
 * Reads a file into bytes, gunzipping it when it starts with the gzip magic (1f 8b).
 *
 * @param file - path, named in every error
 * @throws TrainkitError `BAD_FILE` naming the file when it is missing, unreadable or a broken gzip stream
 */
export function readMaybeGzip(file: string): Uint8Array {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (e) {
    throw badFile(file, `cannot read the file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      const out = gunzipSync(raw);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (e) {
      throw badFile(file, `broken gzip stream, the file is truncated or corrupt (${(e as Error).message})`);
    }
  }
  return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
}

/**
 * Parses IDX bytes (the MNIST format: magic 00 00 08 <ndim>, big-endian u32 dims, then unsigned bytes).
 *
 * @param bytes - the file's bytes (already gunzipped)
 * @param file - the file name for errors
 * @returns dims and a view of the data (not a copy)
 * @throws TrainkitError `BAD_FILE` naming the file on a wrong magic number, an unsupported element type, or a data
 * length that differs from the header's dims (truncated or trailing bytes)
 */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    const got = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw badFile(file, `not an IDX file: expected magic 00 00 08 0N, found ${got || '(empty file)'}`);
  }
  if (bytes[2] !== 0x08) {
    throw badFile(file, `unsupported IDX element type 0x${(bytes[2] as number).toString(16)}; expected 0x08 (unsigned byte)`);
  }
  const ndim = bytes[3] as number;
  if (ndim < 1 || ndim > 4) throw badFile(file, `IDX header says ${ndim} dimensions; expected 1 to 4`);
  const header = 4 + 4 * ndim;
  if (bytes.length < header) throw badFile(file, `truncated IDX header: ${bytes.length} bytes, expected at least ${header}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  const got = bytes.length - header;
  if (got < expected) {
    throw badFile(file, `truncated: header dims [${dims.join(', ')}] need ${expected} data bytes, found ${got}`);
  }
  if (got > expected) {
    throw badFile(file, `${got - expected} unexpected trailing bytes after the data of dims [${dims.join(', ')}]`);
  }
  return { dims, data: bytes.subarray(header) };
}

/**
 * Reads an IDX file, gzipped or raw.
 *
 * @param file - path
 * @returns the parsed array
 * @throws TrainkitError `BAD_FILE` naming the file (missing, bad gzip, wrong magic, truncated)
 */
export function readIdx(file: string): IdxArray {
  return parseIdx(readMaybeGzip(file), file);
}

/**
 * Reads a pair of MNIST-format IDX files (images [n, h, w] and labels [n]) and checks that they agree.
 *
 * @param imagesFile - IDX3 images (gz or raw)
 * @param labelsFile - IDX1 labels (gz or raw)
 * @param classes - labels must lie in [0, classes)
 * @returns `{ images, labels, n, h, w }` as unsigned bytes
 * @throws TrainkitError `BAD_FILE` naming the file at fault: wrong rank, no examples, empty images, count mismatch,
 * label out of range
 */
export function readIdxPair(
  imagesFile: string,
  labelsFile: string,
  classes: number,
): { images: Uint8Array; labels: Uint8Array; n: number; h: number; w: number } {
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  if (images.dims.length !== 3) throw badFile(imagesFile, `expected 3 dims [n, h, w], found [${images.dims.join(', ')}]`);
  if (labels.dims.length !== 1) throw badFile(labelsFile, `expected 1 dim [n], found [${labels.dims.join(', ')}]`);
  const [n, h, w] = images.dims as [number, number, number];
  if (n === 0) throw badFile(imagesFile, 'the header says 0 examples: an empty set cannot be trained or evaluated on');
  if (h === 0 || w === 0) throw badFile(imagesFile, `the header says images of ${h}×${w} pixels`);
  if (labels.dims[0] !== n) {
    throw badFile(labelsFile, `label count ${labels.dims[0]} does not match the image count ${n} of ${imagesFile}`);
  }
  for (let i = 0; i < n; i++) {
    if ((labels.data[i] as number) >= classes) {
      throw badFile(labelsFile, `label ${labels.data[i]} at index ${i} is outside [0, ${classes})`);
    }
  }
  return { images: images.data, labels: labels.data, n, h, w };
}

/**
 * Encodes unsigned bytes as an IDX file (the inverse of {@link parseIdx}); used to write the embedded subset and test files.
 *
 * @returns the raw (not gzipped) bytes
 */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  const view = new DataView(header.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}
