/**
 * The layout both trainkit binary formats share: 4 magic bytes, a version byte, 3 reserved bytes, the JSON header's
 * byte length (uint32 LE) at offset 8, the header from offset 12, then the chunks back to back.
 *
 * @internal
 */
export function writeFrame(magic: readonly number[], version: number, header: unknown, chunks: readonly Uint8Array[]): Uint8Array {
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(12 + headerBytes.length + chunks.reduce((s, c) => s + c.length, 0));
  out.set(magic, 0);
  out[4] = version;
  new DataView(out.buffer).setUint32(8, headerBytes.length, true);
  out.set(headerBytes, 12);
  let off = 12 + headerBytes.length;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
