// Entry of the device bundle: the bench CLI with the webgpu backend bundled in. tfjs-backend-webgpu registers its
// backend only if navigator.gpu exists when it is first evaluated, so Dawn (the `webgpu` package, found by name
// next to the bundle) is started first and the backend evaluated after; @trainkit/backend then finds both in place.
import { main } from '../../packages/bench/src/cli/main';

async function startWebgpu(): Promise<void> {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu == null) {
    try {
      const specifier = 'webgpu';
      const dawn = (await import(/* @vite-ignore */ specifier)) as { create(flags: string[]): unknown; globals: Record<string, unknown> };
      Object.assign(globalThis, dawn.globals);
      const gpu = dawn.create([]);
      if (g.navigator == null) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
      else Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    } catch {
      return; // useBackend('webgpu') tries again and prints the reason
    }
  }
  await import('@tensorflow/tfjs-backend-webgpu');
}

const argv = process.argv.slice(2);
if (argv.some((a) => a.includes('webgpu'))) await startWebgpu();
main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);
