/**
 * The faststart check: which of moov and mdat comes first among an MP4's top-level boxes, what it
 * costs in GETs and bytes, and where it gives up. Box layouts are built here; the ffprobe step's
 * test (ffprobe.test.ts) runs it over HTTP on the sample MP4.
 */
import { FIRST_READ_BYTES, MAX_REQUESTS, type ReadRange, walkTopLevelBoxes } from '../../functions/lib/faststart';

/** A top-level box of `size` bytes in all (header included), its payload zeros. */
function box(type: string, size: number): Buffer {
  const bytes = Buffer.alloc(size);
  bytes.writeUInt32BE(size);
  bytes.write(type, 4, 'latin1');
  return bytes;
}

/** A box with a 64-bit size (its 32-bit size is 1), as writers use for an mdat over 4 GiB. */
function largeBox(type: string, size: bigint): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(1);
  header.write(type, 4, 'latin1');
  header.writeBigUInt64BE(size, 8);
  return header;
}

/** Reads from an in-memory object, recording each read; a box claiming more than is here just ends the object early. */
function reader(object: Buffer): { read: ReadRange; reads: Array<[number, number]> } {
  const reads: Array<[number, number]> = [];
  return {
    reads,
    read: async (offset, length) => {
      reads.push([offset, length]);
      return object.subarray(offset, offset + length);
    },
  };
}

const FTYP = box('ftyp', 32);

describe('walkTopLevelBoxes', () => {
  it.each([
    ['ffmpeg with +faststart: ftyp, moov, free, mdat', [FTYP, box('moov', 3000), box('free', 8), box('mdat', 40_000)], true],
    ['ffmpeg without it: ftyp, free, mdat, moov', [FTYP, box('free', 8), box('mdat', 40_000), box('moov', 3000)], false],
    ['a QuickTime camera file: ftyp, wide, mdat, moov', [box('ftyp', 20), box('wide', 8), box('mdat', 40_000), box('moov', 3000)], false],
    ['an old QuickTime file without ftyp, moov first', [box('moov', 3000), box('mdat', 40_000)], true],
    ['fragmented MP4: ftyp, moov, then moof and mdat pairs', [FTYP, box('moov', 900), box('moof', 200), box('mdat', 9000)], true],
  ])('%s: decided by one GET of the first 4 KiB', async (_, boxes, faststart) => {
    const object = Buffer.concat(boxes);
    const { read, reads } = reader(object);
    expect(await walkTopLevelBoxes(read, object.length)).toEqual({
      faststart,
      requests: 1,
      bytes: Math.min(object.length, FIRST_READ_BYTES),
    });
    expect(reads).toEqual([[0, FIRST_READ_BYTES]]);
  });

  it('reads the next box header with a GET of 16 bytes when a large box comes first', async () => {
    const object = Buffer.concat([FTYP, box('free', 100_000), box('uuid', 50_000), box('moov', 3000), box('mdat', 1000)]);
    const { read, reads } = reader(object);
    expect(await walkTopLevelBoxes(read, object.length)).toEqual({ faststart: true, requests: 3, bytes: FIRST_READ_BYTES + 16 + 16 });
    expect(reads).toEqual([
      [0, FIRST_READ_BYTES],
      [100_032, 16],
      [150_032, 16],
    ]);
  });

  it('follows a 64-bit box size', async () => {
    const object = Buffer.concat([FTYP, largeBox('free', 5_000_000_000n)]);
    const reads: Array<[number, number]> = [];
    const read: ReadRange = async (offset, length) => {
      reads.push([offset, length]);
      return offset === 0 ? object : box('moov', 16);
    };
    expect(await walkTopLevelBoxes(read)).toEqual({ faststart: true, requests: 2, bytes: object.length + 16 });
    expect(reads[1]).toEqual([5_000_000_032, 16]);
  });

  it(`gives up after ${MAX_REQUESTS} GETs, however many boxes come first`, async () => {
    const object = Buffer.concat([FTYP, ...Array.from({ length: 10 }, () => box('free', 10_000)), box('moov', 100)]);
    const { read, reads } = reader(object);
    expect(await walkTopLevelBoxes(read, object.length)).toEqual({
      requests: MAX_REQUESTS,
      bytes: FIRST_READ_BYTES + 16 * (MAX_REQUESTS - 1),
      failure: `no moov or mdat within ${MAX_REQUESTS} reads`,
    });
    expect(reads).toHaveLength(MAX_REQUESTS);
  });

  it('never reads past the end of the object', async () => {
    const object = Buffer.concat([FTYP, box('free', 8000)]);
    const { read, reads } = reader(object);
    expect(await walkTopLevelBoxes(read, object.length)).toEqual({
      requests: 1,
      bytes: FIRST_READ_BYTES,
      failure: 'no moov or mdat before the end of the object',
    });
    expect(reads).toHaveLength(1);
  });

  it.each([
    [
      'a box of size 0 (it runs to the end of the file)',
      Buffer.concat([FTYP, box('free', 8)]).fill(0, 32, 36),
      "top-level box 'free' has size 0",
    ],
    ['a box too small to be one', Buffer.concat([FTYP, box('free', 8)]).fill(3, 35, 36), "top-level box 'free' has size 3"],
    [
      'bytes that are no box at all',
      Buffer.from('\u0000\u0000\u0000\u0004\u0001\u0002\u0003\u0004', 'latin1'),
      "top-level box '????' has size 4",
    ],
    ['an object shorter than a box header', Buffer.from('tiny'), 'no moov or mdat before the end of the object'],
  ])('decides nothing for %s, and says why', async (_, object, failure) => {
    const { read } = reader(object);
    expect(await walkTopLevelBoxes(read, object.length)).toMatchObject({ failure });
  });

  it('passes on why a read failed, and an error only by its name and code', async () => {
    expect(await walkTopLevelBoxes(async () => 'HTTP 403 to a ranged GET')).toEqual({
      requests: 1,
      bytes: 0,
      failure: 'HTTP 403 to a ranged GET',
    });
    const refused = Object.assign(new TypeError('fetch failed: https://bucket/key?X-Amz-Signature=secret'), {
      cause: { code: 'ECONNRESET' },
    });
    const check = await walkTopLevelBoxes(async () => {
      throw refused;
    });
    expect(check).toEqual({ requests: 1, bytes: 0, failure: 'TypeError (ECONNRESET)' });
  });
});
