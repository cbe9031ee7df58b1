/**
 * The page's Origin Private File System store: one file per key, written with a `.size` sibling last,
 * so a write cut short (tab closed, quota) is never taken for a complete file.
 */
async function dir(): Promise<FileSystemDirectoryHandle | null> {
  try {
    return await (await navigator.storage.getDirectory()).getDirectoryHandle('minivl-weights', { create: true });
  } catch {
    return null;
  }
}

/** The stored bytes of `key`, or null when absent or incomplete. */
export async function opfsGet(key: string): Promise<Uint8Array | null> {
  const d = await dir();
  if (!d) return null;
  try {
    const f = await (await d.getFileHandle(key)).getFile();
    const want = Number(await (await (await d.getFileHandle(`${key}.size`)).getFile()).text());
    return f.size === want ? new Uint8Array(await f.arrayBuffer()) : null;
  } catch {
    return null; // not stored yet
  }
}

/** Stores `bytes` under `key`; without OPFS or quota the page still runs (the next visit converts again). */
export async function opfsPut(key: string, bytes: Uint8Array): Promise<void> {
  const d = await dir();
  if (!d) return;
  try {
    const w = await (await d.getFileHandle(key, { create: true })).createWritable();
    await w.write(bytes as Uint8Array<ArrayBuffer>);
    await w.close();
    const s = await (await d.getFileHandle(`${key}.size`, { create: true })).createWritable();
    await s.write(String(bytes.length));
    await s.close();
  } catch {
    // no quota or no OPFS writes here
  }
}
