import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate } from 'node:zlib';
import { MeshlogError } from '../../../errors.js';

const decompressors = {
  gzip: promisify(gunzip),
  'x-gzip': promisify(gunzip),
  deflate: promisify(inflate),
  br: promisify(brotliDecompress),
} as const;

/** The request body after Content-Encoding, refusing output past `maxBytes`. */
export async function decodeContentEncoding(body: Buffer, encoding: string | undefined, maxBytes: number): Promise<Buffer> {
  const name = (encoding ?? 'identity').trim().toLowerCase();
  if (name === 'identity' || name === '') return body;
  const decompress = decompressors[name as keyof typeof decompressors];
  if (!decompress) throw new MeshlogError('ML_ENCODING', `"${name}" (gzip, deflate, br and identity are accepted)`);
  try {
    return await decompress(body, { maxOutputLength: maxBytes });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new MeshlogError('ML_BODY_TOO_LARGE', `more than ${maxBytes} bytes after ${name} decompression`);
    }
    throw new MeshlogError('ML_DECODE', `${name} body could not be decompressed: ${(error as Error).message}`);
  }
}

/** The media type of a Content-Type header, lowercased, without parameters. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}
