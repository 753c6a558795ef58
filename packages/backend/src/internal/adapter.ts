/** What the platform says about the GPU behind a webgpu or webgl backend. Plain data. */
export interface AdapterInfo {
  /** Which API reported it. */
  api: 'webgpu' | 'webgl';
  /** WebGPU `GPUAdapterInfo.vendor` (e.g. `nvidia`, `google`). */
  vendor?: string;
  /** WebGPU `GPUAdapterInfo.architecture` (e.g. `swiftshader`). */
  architecture?: string;
  /** WebGPU `GPUAdapterInfo.description` (driver text, often empty in browsers). */
  description?: string;
  /** WebGPU `GPUAdapterInfo.device`. */
  device?: string;
  /** WebGPU: the adapter is a fallback (software) adapter. */
  isFallbackAdapter?: boolean;
  /** WebGL: the unmasked renderer string (`WEBGL_debug_renderer_info`), else `RENDERER`. */
  renderer?: string;
  /** Why trainkit takes it for a software renderer (SwiftShader, llvmpipe, …); absent on hardware. */
  software?: string;
}

/** Renderer names that run on the CPU. */
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|software rasterizer|microsoft basic render|\bwarp\b/i;

/**
 * Why an adapter is a software renderer, or undefined when it looks like real hardware.
 *
 * @internal
 */
export function softwareReason(info: Omit<AdapterInfo, 'software'>): string | undefined {
  if (info.isFallbackAdapter === true) return 'isFallbackAdapter';
  for (const text of [info.architecture, info.device, info.description, info.renderer, info.vendor]) {
    const m = text == null ? null : SOFTWARE.exec(text);
    if (m) return m[0].toLowerCase() === 'warp' ? 'WARP' : m[0];
  }
  return undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

interface AdapterLike {
  info?: Record<string, unknown>;
  isFallbackAdapter?: boolean;
  requestAdapterInfo?: () => Promise<Record<string, unknown>>;
}

/**
 * Reads a WebGPU adapter's info (`adapter.info`, or the older `requestAdapterInfo()`).
 *
 * @internal
 */
export async function webgpuAdapterInfo(adapter: unknown): Promise<AdapterInfo> {
  const a = adapter as AdapterLike;
  let raw = a.info;
  if (raw == null && typeof a.requestAdapterInfo === 'function') raw = await a.requestAdapterInfo().catch(() => undefined);
  const r = raw ?? {};
  const fallback = typeof r['isFallbackAdapter'] === 'boolean' ? (r['isFallbackAdapter'] as boolean) : a.isFallbackAdapter;
  const info: AdapterInfo = { api: 'webgpu' };
  const fields = { vendor: str(r['vendor']), architecture: str(r['architecture']), description: str(r['description']), device: str(r['device']) };
  for (const [k, v] of Object.entries(fields)) if (v != null) (info as unknown as Record<string, unknown>)[k] = v;
  if (typeof fallback === 'boolean') info.isFallbackAdapter = fallback;
  const why = softwareReason(info);
  if (why != null) info.software = why;
  return info;
}

interface GlLike {
  RENDERER: number;
  getExtension(name: string): unknown;
  getParameter(p: number): unknown;
}

/**
 * Reads a WebGL context's renderer: the unmasked one where the browser reveals it.
 *
 * @internal
 */
export function webglAdapterInfo(gl: GlLike): AdapterInfo {
  const ext = gl.getExtension('WEBGL_debug_renderer_info') as { UNMASKED_RENDERER_WEBGL: number } | null;
  const renderer = str(ext != null ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : undefined) ?? str(gl.getParameter(gl.RENDERER));
  const info: AdapterInfo = { api: 'webgl' };
  if (renderer != null) info.renderer = renderer;
  const why = softwareReason(info);
  if (why != null) info.software = why;
  return info;
}

/**
 * Opens a throw-away WebGL2 context and reads its renderer; undefined when there is no WebGL2.
 *
 * @internal
 */
export function probeWebgl(): AdapterInfo | undefined {
  const g = globalThis as {
    OffscreenCanvas?: new (w: number, h: number) => { getContext(t: string): unknown };
    document?: { createElement(t: string): { getContext(t: string): unknown } };
  };
  const canvas = g.OffscreenCanvas != null ? new g.OffscreenCanvas(1, 1) : g.document?.createElement('canvas');
  const gl = canvas?.getContext('webgl2') as (GlLike & { getExtension(n: string): unknown }) | null | undefined;
  if (gl == null) return undefined;
  const info = webglAdapterInfo(gl);
  (gl.getExtension('WEBGL_lose_context') as { loseContext(): void } | null)?.loseContext();
  return info;
}

/** What Node's Dawn (`webgpu` package) needs on Linux, as found on this machine. */
export interface VulkanFacts {
  platform: string;
  /** Dawn's own stderr lines from a probe (warnings/errors only). */
  dawnLines: string[];
  /** ICD manifest files found (VK_ICD_FILENAMES/VK_DRIVER_FILES, else the standard folders). */
  icds: string[];
  /** The ICD variable that was set, if any. */
  icdVariable?: string;
}

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * The skip reason when Node's Dawn found no adapter: no Vulkan loader, no ICD, or Dawn's own message.
 *
 * @internal
 */
export function explainNoDawnAdapter(f: VulkanFacts): string {
  const loader = f.dawnLines.find((l) => /couldn't load vulkan|libvulkan/i.test(l));
  if (loader != null) return `no Vulkan loader (Dawn: ${loader.trim()}); on Debian/Ubuntu: apt-get install libvulkan1`;
  if (f.platform === 'linux' && f.icds.length === 0) {
    const where = f.icdVariable != null ? `${f.icdVariable} names no existing file` : 'none in /usr/share/vulkan/icd.d, /etc/vulkan/icd.d';
    return `no Vulkan ICD (driver): ${where}; install the GPU's Vulkan driver, or for SwiftShader set VK_ICD_FILENAMES=${SWIFTSHADER_ICD} (from the chromium package)`;
  }
  const dawn = f.dawnLines.filter((l) => !/XDG_RUNTIME_DIR/.test(l) && !/^\s*(at |- While)/.test(l));
  if (dawn.length > 0) return `Dawn rejected the adapter: ${dawn.map((l) => l.trim()).join(' ')}`;
  return 'Dawn found no WebGPU adapter';
}
