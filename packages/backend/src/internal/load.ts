/**
 * Imports an optional module by name at run time, in Node only. The specifier is a variable so
 * bundlers do not fail on an optional peer that is not installed; Node resolves it from the app's
 * node_modules.
 *
 * @internal
 */
export function loadOptional<T = Record<string, unknown>>(specifier: string): Promise<T> {
  // A browser cannot resolve a bare package name: bundled apps import their backends themselves.
  if (!isNode()) return Promise.reject(new Error(`${specifier} cannot be imported by name outside Node`));
  // A failed import is remembered: re-running a half-loaded module (tfjs-node without its native
  // addon registers kernels before it throws) would only repeat its side effects and warnings.
  let p = attempts.get(specifier);
  if (p === undefined) {
    p = import(/* webpackIgnore: true */ /* @vite-ignore */ specifier);
    attempts.set(specifier, p);
  }
  return p as Promise<T>;
}

const attempts = new Map<string, Promise<unknown>>();

/** The first line of an error's message, for one-line skip reasons. @internal */
export function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const line = msg.split('\n').find((l) => l.trim() !== '') ?? msg;
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

/** True when running in Node.js. @internal */
export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return p?.versions?.node != null;
}
