/**
 * Puts dynamic HDR metadata into every picture of a raw HEVC (Annex B) stream, the way HDR10+ and
 * Dolby Vision encoders carry it: an ITU-T T.35 SEI with SMPTE ST 2094-40 (HDR10+) in front of the
 * picture, and a Dolby Vision RPU (NAL type 62) after it. How the tests get files whose HDR10+ or
 * Dolby Vision only the bitstream tells: Debian's x265 is built without HDR10+, and no Debian tool
 * writes an RPU.
 *
 *   npx tsx tests/support/hevc-add-dynamic-hdr.ts [--hdr10plus] [--dolby-vision-rpu] IN.hevc OUT.hevc
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { nalUnits, START_CODE, withEmulationPrevention } from './annexb';

/** Writes fields most significant bit first, as ST 2094-40's syntax lists them. */
class BitWriter {
  private readonly bits: number[] = [];

  write(value: number, width: number): this {
    for (let bit = width - 1; bit >= 0; bit--) this.bits.push(Math.floor(value / 2 ** bit) % 2);
    return this;
  }

  bytes(): Buffer {
    const out = Buffer.alloc(Math.ceil(this.bits.length / 8));
    this.bits.forEach((bit, at) => {
      out[at >> 3] |= bit << (7 - (at % 8));
    });
    return out;
  }
}

/** One window's ST 2094-40 parameters: a 1000-nit target, the scene's brightest components and average, no tone-mapping curve. */
function st2094Payload(): Buffer {
  return new BitWriter()
    .write(1, 8) // application_version
    .write(1, 2) // num_windows
    .write(1000, 27) // targeted_system_display_maximum_luminance (cd/m²)
    .write(0, 1) // targeted_system_display_actual_peak_luminance_flag
    .write(90_000, 17) // maxscl[0..2], in 0.00001 units
    .write(80_000, 17)
    .write(70_000, 17)
    .write(30_000, 17) // average_maxrgb
    .write(0, 4) // num_distribution_maxrgb_percentiles
    .write(0, 10) // fraction_bright_pixels
    .write(0, 1) // mastering_display_actual_peak_luminance_flag
    .write(0, 1) // tone_mapping_flag
    .write(0, 1) // color_saturation_mapping_flag
    .bytes();
}

/** The prefix SEI NAL unit: user_data_registered_itu_t_t35 (payload type 4) for SMPTE (0x003C), ST 2094-40 (oriented code 1, application 4). */
export function hdr10PlusSei(): Buffer {
  const payload = Buffer.concat([
    Buffer.from([
      0xb5, // itu_t_t35_country_code: United States
      0x00, // itu_t_t35_terminal_provider_code: 0x003C
      0x3c,
      0x00, // itu_t_t35_terminal_provider_oriented_code: 0x0001
      0x01,
      0x04, // application_identifier
    ]),
    st2094Payload(),
  ]);
  const rbsp = Buffer.concat([Buffer.from([0x04, payload.length]), payload, Buffer.from([0x80])]);
  // NAL header: type 39 (prefix SEI), layer 0, temporal id 0 (+1).
  return Buffer.concat([Buffer.from([39 << 1, 0x01]), withEmulationPrevention(rbsp)]);
}

/**
 * One Dolby Vision RPU of profile 8.1 (HDR10-compatible base layer; 1000 cd/m² mastering display),
 * as a whole NAL unit (header 0x7C01, type 62), made with the `dolby_vision` crate 3.4.0
 * (`GenerateConfig { profile: Profile81, length: 1, one shot of one frame }`, then
 * `write_hevc_unspec62_nalu`). FFmpeg checks its CRC, so it can't be made up byte by byte here.
 */
const DOLBY_VISION_RPU_P81 = Buffer.from(
  '7c0119080908406136506f003ff801ffc00fffd0000008000006800000400000340000030200000301a2566000035ea2566f9fceb1c256644ca000001000000' +
    '30080000003008000000301c36224301860a5e308e0514000001a63e5affff000000300000300000300060200f80e1530100a0000030000030000030024180' +
    'fa000040000030000a0301c004004000209007fc000450b01000003000f9a1fa980',
  'hex',
);

const nalType = (nal: Buffer): number => (nal[0] >> 1) & 0x3f;
/** HEVC's coded slice segments: NAL types 0–9 and 16–21. */
const isSlice = (nal: Buffer): boolean => nalType(nal) <= 9 || (nalType(nal) >= 16 && nalType(nal) <= 21);
/** first_slice_segment_in_pic_flag, the slice header's first bit: the picture's first slice. */
const isFirstSlice = (nal: Buffer): boolean => isSlice(nal) && (nal[2] & 0x80) !== 0;
/** NAL units that open an access unit when they follow a picture's slices: parameter sets, delimiters, prefix SEI, reserved 41–44, 48–55. */
function opensAccessUnit(nal: Buffer): boolean {
  const type = nalType(nal);
  return isFirstSlice(nal) || (type >= 32 && type <= 35) || type === 39 || (type >= 41 && type <= 44) || (type >= 48 && type <= 55);
}

export interface DynamicHdr {
  hdr10Plus?: boolean;
  dolbyVisionRpu?: boolean;
}

/**
 * The stream with an HDR10+ SEI before each picture's first slice, and a Dolby Vision RPU after each
 * picture's last slice (FFmpeg reads an RPU only as an access unit's last NAL unit).
 */
export function addDynamicHdr(stream: Buffer, add: DynamicHdr): Buffer {
  const out: Buffer[] = [];
  let pictureOpen = false;
  const closePicture = () => {
    if (pictureOpen && add.dolbyVisionRpu) out.push(START_CODE, DOLBY_VISION_RPU_P81);
    pictureOpen = false;
  };
  for (const nal of nalUnits(stream)) {
    if (opensAccessUnit(nal)) closePicture();
    if (isFirstSlice(nal) && add.hdr10Plus) out.push(START_CODE, hdr10PlusSei());
    out.push(START_CODE, nal);
    if (isSlice(nal)) pictureOpen = true;
  }
  closePicture();
  return Buffer.concat(out);
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const files = args.filter((arg) => !arg.startsWith('--'));
  const add = { hdr10Plus: args.includes('--hdr10plus'), dolbyVisionRpu: args.includes('--dolby-vision-rpu') };
  if (files.length !== 2 || (!add.hdr10Plus && !add.dolbyVisionRpu)) {
    console.error('usage: hevc-add-dynamic-hdr.ts [--hdr10plus] [--dolby-vision-rpu] IN.hevc OUT.hevc');
    process.exit(2);
  }
  writeFileSync(files[1], addDynamicHdr(readFileSync(files[0]), add));
}
