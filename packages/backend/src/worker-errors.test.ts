import { afterEach, describe, expect, it } from 'vitest';
import { failOnWorkerError } from './internal/wasm-setup';

// failOnWorkerError listens on the page (globalThis as an EventTarget); Node's globalThis is none, so give it one.
const g = globalThis as unknown as { addEventListener?: unknown; removeEventListener?: unknown; dispatchEvent?: unknown };
const target = new EventTarget();
function asPage(): void {
  g.addEventListener = target.addEventListener.bind(target);
  g.removeEventListener = target.removeEventListener.bind(target);
}
afterEach(() => {
  delete g.addEventListener;
  delete g.removeEventListener;
});
/** An 'error' event as a page sees one: `filename` and `message` like an ErrorEvent's. */
function pageError(filename: string, message: string): Event {
  return Object.assign(new Event('error', { cancelable: true }), { filename, message });
}
const never = (): Promise<never> => new Promise<never>(() => {});

describe('failOnWorkerError', () => {
  it('rejects on the first error thrown by a blob: worker script, claims it, and stops listening', async () => {
    asPage();
    const p = failOnWorkerError(never, 60_000);
    const ev = pageError('blob:http://127.0.0.1/abc', 'Uncaught ReferenceError: e is not defined');
    target.dispatchEvent(ev);
    await expect(p).rejects.toThrow('a wasm worker thread threw at start-up: ReferenceError: e is not defined');
    expect(ev.defaultPrevented).toBe(true);
    const later = pageError('blob:http://127.0.0.1/def', 'again');
    target.dispatchEvent(later);
    expect(later.defaultPrevented).toBe(false);
  });

  it("ignores the page's own errors and resolves with the initialisation's value", async () => {
    asPage();
    let finish!: (v: string) => void;
    const p = failOnWorkerError(() => new Promise<string>((r) => (finish = r)), 60_000);
    const own = pageError('http://127.0.0.1/app.js', 'Uncaught TypeError: app bug');
    target.dispatchEvent(own);
    expect(own.defaultPrevented).toBe(false);
    finish('ready');
    await expect(p).resolves.toBe('ready');
  });

  it('passes the initialisation error through, and times out when nothing settles', async () => {
    asPage();
    await expect(failOnWorkerError(() => Promise.reject(new Error('boom')), 60_000)).rejects.toThrow('boom');
    await expect(failOnWorkerError(never, 20)).rejects.toThrow('the wasm worker threads did not start within 0 s');
  });

  it('outside a page it only runs the initialisation', async () => {
    await expect(failOnWorkerError(() => Promise.resolve(7), 1)).resolves.toBe(7);
  });
});
