/** Annex B byte streams (raw H.264 and HEVC), as the test tools that add SEI messages to them read and write them. */

/** The four-byte start code every NAL unit written here gets. */
export const START_CODE = Buffer.from([0, 0, 0, 1]);

/** Splits an Annex B stream into NAL units (without their start codes). */
export function nalUnits(stream: Buffer): Buffer[] {
  const starts: Array<{ at: number; length: number }> = [];
  for (let i = 0; i + 3 <= stream.length; i++) {
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) {
      const four = i > 0 && stream[i - 1] === 0;
      starts.push({ at: four ? i - 1 : i, length: four ? 4 : 3 });
      i += 2;
    }
  }
  return starts.map((start, n) => stream.subarray(start.at + start.length, n + 1 < starts.length ? starts[n + 1].at : stream.length));
}

/** A NAL unit's payload as it travels: a 0x03 after every two zero bytes that precede a byte ≤ 3, so no start code appears inside. */
export function withEmulationPrevention(rbsp: Buffer): Buffer {
  const out: number[] = [];
  let zeros = 0;
  for (const byte of rbsp) {
    if (zeros >= 2 && byte <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(byte);
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return Buffer.from(out);
}
