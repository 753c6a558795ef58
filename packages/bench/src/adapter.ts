/** Names the WebGPU adapter a run used, for result files and the report. */
interface AdapterFields {
  vendor?: string;
  architecture?: string;
  description?: string;
  device?: string;
  isFallbackAdapter?: boolean;
}

/** `vendor architecture (description)[, fallback]` from adapter info fields; undefined when they are all empty. */
export function formatAdapter(a: AdapterFields, fallback = a.isFallbackAdapter === true): string | undefined {
  const head = [a.vendor, a.architecture].filter((s) => s != null && s !== '').join(' ');
  const desc = a.description != null && a.description !== '' ? a.description : a.device;
  const text = [head, desc != null && desc !== '' ? `(${desc})` : ''].filter(Boolean).join(' ');
  return text === '' ? undefined : `${text}${fallback ? ', fallback adapter' : ''}`;
}

/**
 * The adapter behind the webgpu backend: `info.adapter` from `useBackend` when it reports one (a string or adapter
 * info fields), else what `navigator.gpu.requestAdapter()` reports now. Undefined off webgpu or when unknown.
 */
export async function webgpuAdapter(backendName: string, info?: unknown): Promise<string | undefined> {
  if (backendName !== 'webgpu') return undefined;
  const reported = (info as { adapter?: unknown } | undefined)?.adapter;
  if (typeof reported === 'string' && reported !== '') return reported;
  if (reported != null && typeof reported === 'object') {
    const text = formatAdapter(reported as AdapterFields);
    if (text) return text;
  }
  try {
    const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
    const adapter = (await gpu?.requestAdapter()) as { info?: AdapterFields; isFallbackAdapter?: boolean } | null | undefined;
    if (!adapter?.info) return undefined;
    return formatAdapter(adapter.info, adapter.info.isFallbackAdapter === true || adapter.isFallbackAdapter === true);
  } catch {
    return undefined;
  }
}
