import { loadOptional } from './load';
import type { VulkanFacts } from './adapter';

/**
 * Where the `webgpu` package resolves from (this package, else the app's folder); undefined when absent.
 *
 * @internal
 */
export async function resolveDawn(): Promise<string | undefined> {
  const { createRequire } = await loadOptional<typeof import('node:module')>('node:module');
  const { join } = await loadOptional<typeof import('node:path')>('node:path');
  for (const from of [import.meta.url, join(process.cwd(), 'index.js')]) {
    try {
      return createRequire(from).resolve('webgpu');
    } catch {
      // try the next base
    }
  }
  return undefined;
}

/**
 * Facts for {@link explainNoDawnAdapter}: Dawn prints why it rejects an adapter to stderr only, so a
 * short child process repeats `requestAdapter()` and its stderr is kept.
 *
 * @internal
 */
export async function vulkanFacts(dawnPath: string): Promise<VulkanFacts> {
  const { spawnSync } = await loadOptional<typeof import('node:child_process')>('node:child_process');
  const { existsSync, readdirSync } = await loadOptional<typeof import('node:fs')>('node:fs');
  const { join, delimiter } = await loadOptional<typeof import('node:path')>('node:path');
  const { pathToFileURL } = await loadOptional<typeof import('node:url')>('node:url');
  const script =
    `const d = await import(${JSON.stringify(pathToFileURL(dawnPath).href)});` +
    `Object.assign(globalThis, d.globals ?? {}); const a = await d.create([]).requestAdapter().catch(() => null);` +
    `process.stdout.write(a ? 'adapter' : 'none'); process.exit(0);`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  const dawnLines = `${child.stderr ?? ''}`.split('\n').filter((l) => l.trim() !== '');
  const icdVariable = ['VK_DRIVER_FILES', 'VK_ICD_FILENAMES'].find((v) => (process.env[v] ?? '') !== '');
  let icds: string[];
  if (icdVariable != null) {
    icds = (process.env[icdVariable] ?? '').split(delimiter).filter((f) => f !== '' && existsSync(f));
  } else {
    const dirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
    const xdg = process.env['XDG_DATA_DIRS'];
    if (xdg) dirs.push(...xdg.split(':').map((d) => join(d, 'vulkan', 'icd.d')));
    icds = dirs.flatMap((d) => (existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.json')).map((f) => join(d, f)) : []));
  }
  const facts: VulkanFacts = { platform: process.platform, dawnLines, icds };
  if (icdVariable != null) facts.icdVariable = icdVariable;
  return facts;
}
