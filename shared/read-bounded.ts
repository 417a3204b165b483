import { open } from 'node:fs/promises';

export type BoundedRead = { readonly text: string } | { readonly tooLarge: true; readonly size: number | undefined };

/**
 * A file's UTF-8 text, read no further than `limit` bytes: a larger file, or an endless one such as
 * a device, is reported as too large (`size` when the file system knows it) without being read.
 */
export async function readBounded(path: string, limit: number): Promise<BoundedRead> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length <= limit) return { text: buffer.toString('utf8', 0, length) };
    const { size } = await handle.stat();
    return { tooLarge: true, size: size > limit ? size : undefined };
  } finally {
    await handle.close();
  }
}
