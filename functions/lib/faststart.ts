/**
 * Whether an MP4/MOV is "faststart": its index (the moov box) comes before its media data (mdat),
 * so a player can start before it has the whole file. ffprobe's JSON cannot say: it prints no box
 * offsets, and its trace log, which does, is text the object controls. So the ffprobe step walks
 * the top-level box headers itself, reading through the probe's object relay, until it meets the
 * first moov or mdat.
 *
 * Cost: one read of the first 4 KiB decides every file whose boxes before the moov or mdat fit in
 * it (ftyp, wide, free, a small uuid: what encoders write), moov first or last alike; each larger
 * box before them costs one more read of 16 bytes, and the walk gives up after four reads in all.
 * The relay serves reads of what ffprobe already read from its cache: usually no request at all.
 */

/** What the check learnt and what it cost. */
export interface FaststartCheck {
  /** True: moov before mdat; false: mdat first; undefined: not decided (see `failure`). */
  faststart?: boolean;
  /** Ranged GETs sent, and the body bytes they returned (HTTP headers not counted). */
  requests: number;
  bytes: number;
  /** Why it could not decide, without the URL: an error name, an HTTP status, or what the boxes were. */
  failure?: string;
}

/**
 * The first read: enough for the ftyp, wide, free and small uuid boxes writers put first. A GET
 * costs the same whether it returns 64 bytes or 4 KiB, and takes no longer.
 */
export const FIRST_READ_BYTES = 4096;
/** A box header: 32-bit size and type, then a 64-bit size when the 32-bit one is 1. */
const BOX_HEADER_BYTES = 16;
/** The walk gives up after this many GETs: a file can put any number of boxes before its moov. */
export const MAX_REQUESTS = 4;

/** Reads `length` bytes at `offset` of the object (fewer at its end), or says why it could not; may throw. */
export type ReadRange = (offset: number, length: number) => Promise<Buffer | string>;

/** An error's name and, for a failed fetch, its cause's code (ECONNREFUSED): never its message, which may hold the URL. */
function describeError(error: unknown): string {
  const { name, cause } = error as { name?: string; cause?: { code?: unknown } };
  const code = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
  return `${name ?? 'Error'}${code}`;
}

/** Walks the top-level boxes until the first moov or mdat, reading through `read`. */
export async function walkTopLevelBoxes(read: ReadRange, sizeBytes?: number): Promise<FaststartCheck> {
  const check: FaststartCheck = { requests: 0, bytes: 0 };
  let buffer: Buffer = Buffer.alloc(0);
  let bufferStart = 0;
  const ensure = async (offset: number, length: number): Promise<string | undefined> => {
    if (offset >= bufferStart && offset + length <= bufferStart + buffer.length) return undefined;
    if (check.requests >= MAX_REQUESTS) return `no moov or mdat within ${MAX_REQUESTS} reads`;
    if (sizeBytes !== undefined && offset + 8 > sizeBytes) return 'no moov or mdat before the end of the object';
    check.requests += 1;
    let got: Buffer | string;
    try {
      got = await read(offset, check.requests === 1 ? FIRST_READ_BYTES : BOX_HEADER_BYTES);
    } catch (error) {
      return describeError(error);
    }
    if (typeof got === 'string') return got;
    check.bytes += got.length;
    buffer = got;
    bufferStart = offset;
    return offset + length <= bufferStart + buffer.length ? undefined : 'no moov or mdat before the end of the object';
  };
  for (let offset = 0; ; ) {
    const failure = await ensure(offset, 8);
    if (failure) return { ...check, failure };
    const at = offset - bufferStart;
    const type = buffer.toString('latin1', at + 4, at + 8);
    if (type === 'moov') return { ...check, faststart: true };
    if (type === 'mdat') return { ...check, faststart: false };
    let size = buffer.readUInt32BE(at);
    if (size === 1) {
      const large = await ensure(offset, 16);
      if (large) return { ...check, failure: large };
      size = Number(buffer.readBigUInt64BE(offset - bufferStart + 8));
    }
    // Size 0 runs to the end of the file: nothing comes after it.
    if (size < 8) return { ...check, failure: `top-level box '${printable(type)}' has size ${size}` };
    offset += size;
  }
}

const printable = (type: string): string => type.replace(/[^\x20-\x7e]/g, '?');
