import { defineConfig, type Options } from 'tsup';

/**
 * The build every trainkit package shares (STYLE.md §2): ESM + CJS + d.ts, sourcemaps, no minify, and tfjs kept
 * external even where it is only a devDependency (tsup would bundle it otherwise).
 */
export function libraryConfig(entry: Record<string, string>, extra: Options = {}) {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    treeshake: true,
    target: 'es2020',
    external: [/^@tensorflow\//],
    ...extra,
  });
}
