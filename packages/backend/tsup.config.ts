import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  treeshake: true,
  target: 'es2020',
  // import.meta.url in the CJS build (used only in Node, to find the wasm files).
  shims: true,
  external: [/^@tensorflow\//, /^node:/],
});
