/**
 * Small crafted files that reproduce what an attacker (or a broken encoder) can put in front of
 * ffprobe: a Matroska memory bomb, ffmetadata that echoes or forges ffprobe's messages, and a
 * Matroska element running past the end of the file. Generated here, byte by byte, so the tests
 * need no files from other projects.
 */
import { deflateSync } from 'node:zlib';

/** An EBML element: its ID as written, then its size as an 8-byte VINT (valid for any element), then the payload. */
function element(id: number, payload: Buffer, claimedSize = payload.length): Buffer {
  const idBytes = Buffer.from(id.toString(16).padStart(id > 0xffffff ? 8 : id > 0xffff ? 6 : id > 0xff ? 4 : 2, '0'), 'hex');
  const size = Buffer.alloc(8);
  size.writeBigUInt64BE(BigInt(claimedSize) | (1n << 56n));
  return Buffer.concat([idBytes, size, payload]);
}

function unsigned(id: number, value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return element(id, bytes);
}

const text = (id: number, value: string): Buffer => element(id, Buffer.from(value, 'latin1'));

const EBML_HEADER = (docType: string): Buffer =>
  element(
    0x1a45dfa3,
    Buffer.concat([
      unsigned(0x4286, 1), // EBMLVersion
      unsigned(0x42f7, 1), // EBMLReadVersion
      unsigned(0x42f2, 4), // EBMLMaxIDLength
      unsigned(0x42f3, 8), // EBMLMaxSizeLength
      text(0x4282, docType),
      unsigned(0x4287, 4), // DocTypeVersion
      unsigned(0x4285, 2), // DocTypeReadVersion
    ]),
  );

const INFO = element(0x1549a966, unsigned(0x2ad7b1, 1_000_000)); // TimestampScale: 1 ms

/** A Segment of unknown size (0x01FFFFFFFFFFFFFF), as live writers produce: it runs to the end of the file. */
const segment = (children: Buffer[]): Buffer =>
  Buffer.concat([Buffer.from([0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), ...children]);

/**
 * Matroska's zlib-compressed CodecPrivate inflates into a buffer that grows 3× at a time up to
 * about 10 MB, starting from the compressed size: padding the compressed data after its end (zlib
 * stops at the stream's end) sizes the first buffer so the growth reaches the inflated size.
 */
function compressedPrivate(inflatedBytes: number): Buffer {
  const compressed = deflateSync(Buffer.alloc(inflatedBytes), { level: 9 });
  const startingSize = Math.ceil(inflatedBytes / 3 ** 5) + 8;
  return Buffer.concat([compressed, Buffer.alloc(Math.max(0, startingSize - compressed.length))]);
}

/**
 * A memory bomb for ffprobe: `tracks` audio tracks whose zlib-compressed CodecPrivate inflates to
 * `inflatedMiB` each. -max_alloc caps one allocation, not their sum: 24 × 26 MiB (a 2.7 MB file)
 * takes an unconfined ffprobe to about 2 GB of RSS.
 */
export function matroskaInflateBomb(tracks = 24, inflatedMiB = 26): Buffer {
  const codecPrivate = compressedPrivate(inflatedMiB * 1024 * 1024);
  const zlibEncoding = element(
    0x6d80, // ContentEncodings
    element(
      0x6240, // ContentEncoding
      Buffer.concat([
        unsigned(0x5031, 0), // ContentEncodingOrder
        unsigned(0x5032, 3), // ContentEncodingScope: frames and codec private data
        unsigned(0x5033, 0), // ContentEncodingType: compression
        element(0x5034, unsigned(0x4254, 0)), // ContentCompression, ContentCompAlgo: zlib
      ]),
    ),
  );
  const entries = Array.from({ length: tracks }, (_, i) =>
    element(
      0xae, // TrackEntry
      Buffer.concat([
        unsigned(0xd7, i + 1), // TrackNumber
        unsigned(0x73c5, i + 1), // TrackUID
        unsigned(0x83, 2), // TrackType: audio
        text(0x86, 'A_OPUS'),
        element(0xe1, Buffer.concat([unsigned(0x9f, 2)])), // Audio: 2 channels
        zlibEncoding,
        element(0x63a2, codecPrivate),
      ]),
    ),
  );
  const blocks = Array.from({ length: tracks }, (_, i) => element(0xa3, Buffer.from([0x81 + i, 0, 0, 0x80, 0]))); // SimpleBlock per track
  const cluster = element(0x1f43b675, Buffer.concat([unsigned(0xe7, 0), ...blocks]));
  return Buffer.concat([EBML_HEADER('matroska'), segment([INFO, element(0x1654ae6b, Buffer.concat(entries)), cluster])]);
}

/**
 * ffmetadata whose first chapter echoes `echoed` in FFmpeg's own error messages ("Expected chapter
 * start timestamp, found …"), and whose second chapter ends before it starts, which the demuxer
 * reports as ENOMEM: ffprobe exits 1 after printing the file's text. Under 80 bytes.
 */
export function ffmetadataEchoing(echoed: string): Buffer {
  return Buffer.from(`;FFMETADATA1\n[CHAPTER]\n${echoed}\n[CHAPTER]\nSTART=5\nEND=1\n`, 'latin1');
}

/**
 * The same, but the echoed text holds escaped line breaks, so that without the layer's log patch
 * each of `lines` is printed as a line of its own, looking like another component's or ffprobe's.
 */
export function ffmetadataForgingLines(lines: string[]): Buffer {
  return ffmetadataEchoing(['x', ...lines].join('\\\n'));
}

/**
 * A WebM with the two faults of libwebm's invalid/projection_float_overflow.webm: a TrackEntry that
 * claims more bytes than its parent holds (a parse error), then, after Matroska resyncs, an element
 * longer than the rest of the file, which it reports as an I/O error. 253 bytes.
 */
export function matroskaElementPastEnd(): Buffer {
  const entry = Buffer.concat([unsigned(0xd7, 1), unsigned(0x73c5, 1), unsigned(0x83, 1), text(0x86, 'V_VP9')]);
  const tracks = element(0x1654ae6b, element(0xae, entry, entry.length + 4));
  const voidBytes = Buffer.alloc(8);
  const tags = element(0x1254c367, element(0xec, voidBytes, 9069), 9069 + 20);
  return Buffer.concat([EBML_HEADER('webm'), segment([INFO, tracks, tags])]);
}
