/**
 * Puts ATSC A/53 closed captions (CEA-608 in CEA-708's cc_data, in an SEI registered by ITU-T T.35)
 * in front of every picture of a raw H.264 (Annex B) stream, the way broadcast encoders carry
 * captions: how the unit-test fixtures (tests/unit/fixtures/README.md) get a video stream ffprobe
 * says carries closed captions, which no encoder of Debian's ffmpeg 5.1 writes from a synthetic source.
 *
 *   npx tsx tests/support/h264-add-captions.ts IN.h264 OUT.h264
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { nalUnits, START_CODE } from './annexb';

/** Odd parity in bit 7, as CEA-608 sends each byte. */
function cea608(char: string): number {
  const code = char.charCodeAt(0) & 0x7f;
  let ones = 0;
  for (let bits = code; bits; bits >>= 1) ones += bits & 1;
  return ones % 2 === 0 ? code | 0x80 : code;
}

/** The SEI NAL unit: user_data_registered_itu_t_t35 (payload type 4) holding "GA94" cc_data with one 608 pair and one padding pair. */
export function captionSei(text = 'HI'): Buffer {
  const ccData = [
    0xfc, // marker bits, cc_valid, cc_type 0: CEA-608 field 1
    cea608(text[0]),
    cea608(text[1]),
    0xfc,
    0x80, // 608 padding
    0x80,
  ];
  const payload = Buffer.from([
    0xb5, // itu_t_t35_country_code: United States
    0x00,
    0x31, // itu_t_t35_provider_code: ATSC
    ...Buffer.from('GA94', 'latin1'),
    0x03, // user_data_type_code: cc_data
    0x40 | (ccData.length / 3), // process_cc_data_flag, cc_count
    0xff, // em_data
    ...ccData,
    0xff, // marker bits
  ]);
  // NAL header (SEI), payload type, payload size, payload, rbsp trailing bits: no 00 00 0x sequence, so no emulation prevention.
  return Buffer.concat([Buffer.from([0x06, 0x04, payload.length]), payload, Buffer.from([0x80])]);
}

/** The stream with a caption SEI before the first slice (NAL types 1 and 5) of every picture. */
export function addCaptions(stream: Buffer): Buffer {
  const out: Buffer[] = [];
  for (const nal of nalUnits(stream)) {
    const type = nal[0] & 0x1f;
    // first_mb_in_slice is 0 (the first bit of the slice header's ue(v) is 1) only in a picture's first slice.
    if ((type === 1 || type === 5) && (nal[1] & 0x80) !== 0) out.push(START_CODE, captionSei());
    out.push(START_CODE, nal);
  }
  return Buffer.concat(out);
}

if (require.main === module) {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) {
    console.error('usage: h264-add-captions.ts IN.h264 OUT.h264');
    process.exit(2);
  }
  writeFileSync(output, addCaptions(readFileSync(input)));
}
