/**
 * Edits the video track of an MP4/MOV the way other encoders write it and Debian's ffmpeg 5.1
 * cannot: how the unit-test fixtures (tests/unit/fixtures/README.md) get a `dvcC`/`dvvC` (Dolby
 * Vision configuration), `mdcv` (mastering display) and `clli` (content light level) box in the
 * sample entry, a `dvh1` sample entry, and a rotation in the track header's matrix (ffmpeg 5.1
 * ignores the old `rotate` tag and has no `-display_rotation` yet).
 *
 *   npx tsx tests/support/mp4-edit.ts IN OUT [--sample-entry TYPE] [--rotate 90|180|270] [TYPE=HEX…]
 *
 * Boxes are added only to files whose moov follows the mdat: growing a moov in front of the media
 * data would move every sample, and the chunk offsets would then have to be rewritten too.
 */
import { readFileSync, writeFileSync } from 'node:fs';

interface Box {
  type: string;
  start: number;
  size: number;
  /** Where the box's children start: after the header, and after the fields of a full box or sample entry. */
  childrenAt: number;
}

/** Bytes between a container's header and its first child (stsd is a full box with an entry count). */
const CHILDREN_OFFSET: Record<string, number> = { moov: 8, trak: 8, mdia: 8, minf: 8, stbl: 8, stsd: 16 };
const childrenOffset = (type: string): number => CHILDREN_OFFSET[type] ?? 8;
/** A VisualSampleEntry's fixed fields (ISO/IEC 14496-12 §12.1.3) come before its child boxes. */
const VISUAL_SAMPLE_ENTRY_FIELDS = 8 + 78;

function boxesIn(file: Buffer, from: number, to: number, offsetOf: (type: string) => number = childrenOffset): Box[] {
  const boxes: Box[] = [];
  for (let at = from; at + 8 <= to; ) {
    const size = file.readUInt32BE(at);
    const type = file.toString('latin1', at + 4, at + 8);
    if (size < 8 || at + size > to) throw new Error(`box ${type} at ${at} has size ${size}: 64-bit and open-ended boxes are not handled`);
    boxes.push({ type, start: at, size, childrenAt: at + offsetOf(type) });
    at += size;
  }
  return boxes;
}

function child(file: Buffer, parent: Box, type: string): Box {
  const found = boxesIn(file, parent.childrenAt, parent.start + parent.size).find((box) => box.type === type);
  if (!found) throw new Error(`no ${type} in ${parent.type}`);
  return found;
}

interface VideoTrack {
  /** moov → trak → mdia → minf → stbl → stsd → the sample entry, outermost first. */
  sampleEntryPath: Box[];
  tkhd: Box;
  moovFirst: boolean;
}

function videoTrack(file: Buffer): VideoTrack {
  const top = boxesIn(file, 0, file.length);
  const moov = top.find((box) => box.type === 'moov');
  const mdat = top.find((box) => box.type === 'mdat');
  if (!moov || !mdat) throw new Error('not an MP4/MOV with moov and mdat');
  for (const trak of boxesIn(file, moov.childrenAt, moov.start + moov.size).filter((box) => box.type === 'trak')) {
    const mdia = child(file, trak, 'mdia');
    const hdlr = child(file, mdia, 'hdlr');
    if (file.toString('latin1', hdlr.start + 16, hdlr.start + 20) !== 'vide') continue;
    const minf = child(file, mdia, 'minf');
    const stbl = child(file, minf, 'stbl');
    const stsd = child(file, stbl, 'stsd');
    const [entry] = boxesIn(file, stsd.childrenAt, stsd.start + stsd.size, () => VISUAL_SAMPLE_ENTRY_FIELDS);
    return {
      sampleEntryPath: [moov, trak, mdia, minf, stbl, stsd, entry],
      tkhd: child(file, trak, 'tkhd'),
      moovFirst: moov.start < mdat.start,
    };
  }
  throw new Error('no video track');
}

/** The file with `boxes` appended to its video sample entry (renamed to `entryType` if given), and every enclosing box grown by as much. */
export function addToVideoSampleEntry(file: Buffer, boxes: Buffer[], entryType?: string): Buffer {
  const track = videoTrack(file);
  if (boxes.length > 0 && track.moovFirst) throw new Error('the moov precedes the mdat: make the file without +faststart');
  const path = track.sampleEntryPath;
  const entry = path[path.length - 1];
  const added = Buffer.concat(boxes);
  const out = Buffer.concat([file.subarray(0, entry.start + entry.size), added, file.subarray(entry.start + entry.size)]);
  for (const box of path) out.writeUInt32BE(box.size + added.length, box.start);
  if (entryType) out.write(entryType, entry.start + 4, 'latin1');
  return out;
}

/** 16.16 fixed-point matrices (a, b, u, c, d, v, x, y, w) turning the picture clockwise, as cameras and ffmpeg's own muxer write them. */
const ROTATIONS: Record<string, number[]> = {
  '90': [0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000],
  '180': [-0x10000, 0, 0, 0, -0x10000, 0, 0, 0, 0x40000000],
  '270': [0, -0x10000, 0, 0x10000, 0, 0, 0, 0, 0x40000000],
};

/** The file with the video track header's matrix set to turn the picture `degrees` clockwise on display. */
export function rotateVideoTrack(file: Buffer, degrees: string): Buffer {
  const matrix = ROTATIONS[degrees];
  if (!matrix) throw new Error(`rotation ${degrees}: only 90, 180 or 270`);
  const { tkhd } = videoTrack(file);
  const version = file.readUInt8(tkhd.start + 8);
  // After the header and version/flags: times, track id, reserved, duration (wider in version 1), reserved, layer, group, volume, reserved.
  const matrixAt = tkhd.start + 12 + (version === 1 ? 32 : 20) + 16;
  const out = Buffer.from(file);
  matrix.forEach((value, i) => {
    out.writeInt32BE(value, matrixAt + 4 * i);
  });
  return out;
}

/** A box of `type` around `payload`. */
export function box(type: string, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + payload.length);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, payload]);
}

if (require.main === module) {
  const [input, output, ...rest] = process.argv.slice(2);
  const options: Record<string, string> = {};
  const specs: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i].startsWith('--')) options[rest[i].slice(2)] = rest[++i];
    else specs.push(rest[i]);
  }
  const entryType = options['sample-entry'];
  if (!input || !output || (entryType !== undefined && entryType.length !== 4)) {
    console.error('usage: mp4-edit.ts IN OUT [--sample-entry TYPE] [--rotate 90|180|270] [TYPE=HEX…]');
    process.exit(2);
  }
  const boxes = specs.map((spec) => {
    const [type, hex] = spec.split('=');
    if (type.length !== 4 || !/^(?:[0-9a-f]{2})+$/i.test(hex ?? '')) throw new Error(`not TYPE=HEX: ${spec}`);
    return box(type, Buffer.from(hex, 'hex'));
  });
  let file = addToVideoSampleEntry(readFileSync(input), boxes, entryType);
  if (options.rotate) file = rotateVideoTrack(file, options.rotate);
  writeFileSync(output, file);
}
