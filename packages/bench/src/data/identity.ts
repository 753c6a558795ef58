import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { TrainkitError } from '@trainkit/core';

/** One data file as a run used it: base name, size and SHA-256 of its bytes (as stored, e.g. still gzipped). */
export interface FileIdentity {
  name: string;
  size: number;
  sha256: string;
}

/** How a loader was asked for its data, so the same request can be resolved again later. */
export type DataRequest =
  | { loader: 'fashion-mnist'; dir?: string; embedded?: boolean }
  | { loader: 'cifar'; dir: string; classes: 10 | 100; label: 'fine' | 'coarse' };

/** What a run's data was: the set, where it came from, the identity of every file read, and the subset taken. */
export interface DataIdentity {
  /** e.g. `fashion-mnist`, `cifar-10`. */
  dataset: string;
  /** `full`, `embedded` (the subset shipped in this package) or `user`. */
  source: string;
  dir: string;
  files: FileIdentity[];
  /** The seeded subset choice (`null` = all). */
  subset: { trainSize: number | null; testSize: number | null; seed: number };
  request: DataRequest;
}

const hashes = new Map<string, FileIdentity>();

/**
 * Size and SHA-256 of a file, cached per (path, size, mtime, inode) so a set is hashed once per process.
 *
 * @throws TrainkitError `BAD_FILE` naming the file when it cannot be read
 */
export function fileIdentity(file: string): FileIdentity {
  let key: string;
  try {
    const st = statSync(file);
    key = `${file}|${st.size}|${st.mtimeMs}|${st.ino}`;
  } catch (e) {
    throw new TrainkitError('BAD_FILE', `${file}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, file);
  }
  const hit = hashes.get(key);
  if (hit) return hit;
  const bytes = readFileSync(file);
  const id: FileIdentity = { name: basename(file), size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  hashes.set(key, id);
  return id;
}

/** The part of an identity that decides the result (not the folder it sat in): equal keys mean the same data. */
export function dataKey(id: Pick<DataIdentity, 'dataset' | 'source' | 'files' | 'subset'>): string {
  const files = [...id.files].sort((a, b) => (a.name < b.name ? -1 : 1)).map((f) => `${f.name}:${f.size}:${f.sha256}`);
  return JSON.stringify([id.dataset, id.source, files, id.subset.trainSize, id.subset.testSize, id.subset.seed]);
}

/** A one-line description, e.g. `fashion-mnist embedded 10000/2000 (4 files, sha256 3f2a9c1d…)`. */
export function describeData(id: DataIdentity): string {
  const digest = createHash('sha256').update(dataKey({ ...id, subset: { trainSize: null, testSize: null, seed: 0 } })).digest('hex').slice(0, 8);
  const sub = id.subset.trainSize !== null || id.subset.testSize !== null ? `, subset ${id.subset.trainSize ?? 'all'}/${id.subset.testSize ?? 'all'}` : '';
  return `${id.dataset} ${id.source} in ${id.dir} (${id.files.length} files, ${id.files.reduce((a, f) => a + f.size, 0)} bytes, content ${digest}${sub})`;
}

const recording = new AsyncLocalStorage<DataIdentity[]>();

/**
 * Runs `fn`, collecting the data identities the loaders report from inside it (the runner wraps each run in this;
 * the context follows `fn`'s async calls, so concurrent sweeps in one process do not mix their records).
 *
 * @returns what `fn` returned and the data it used, without duplicates
 */
export async function recordDataUse<T>(fn: () => Promise<T>): Promise<{ value: T; data: DataIdentity[] }> {
  const data: DataIdentity[] = [];
  const value = await recording.run(data, fn);
  return { value, data };
}

/** Called by the loaders: notes that the current run used this data. */
export function noteDataUse(id: DataIdentity): void {
  const mine = recording.getStore();
  if (!mine) return;
  const key = dataKey(id);
  if (!mine.some((r) => dataKey(r) === key)) mine.push(id);
}
