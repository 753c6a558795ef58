import { describe, expect, it } from 'vitest';
import { tf } from '@trainkit/test-utils';
import { TrainkitError } from '@trainkit/core';
import { useBackend } from './use-backend';

// Its own file: wasm must not be initialised yet (a test file runs in a fresh process).
describe('useBackend wasmPaths', () => {
  it('missing .wasm files → BACKEND_UNAVAILABLE naming the file and wasmPaths; nothing changes; the default path works after', async () => {
    const before = tf.getBackend();
    const err = await useBackend('wasm', { wasmPaths: '/nonexistent/wasm/' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TrainkitError);
    const e = err as TrainkitError;
    expect([e.code, e.argument]).toEqual(['BACKEND_UNAVAILABLE', 'wasmPaths']);
    expect(e.message).toContain('the wasm binary /nonexistent/wasm/tfjs-backend-wasm-simd.wasm does not exist');
    expect(tf.getBackend()).toBe(before);
    expect(tf.engine().registry['wasm']).toBeUndefined();
    expect(await useBackend('wasm')).toMatchObject({ name: 'wasm', threads: 1 });
    await tf.setBackend('cpu');
  });
});
