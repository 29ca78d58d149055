/**
 * The real ffprobe documents in tests/unit/fixtures/ffprobe-<version>/ (see the README there): every
 * version folder present, each document named by the file ffprobe read ("hdr10-hevc.mp4"). Tables
 * of expectations name files, not versions, so a folder added for another ffprobe version is checked
 * by the same tables for every file it shares with the others.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { FfprobeOutput } from '../../../functions/lib/ffprobe-command';

const FIXTURES = path.join(__dirname, '../fixtures');

export interface FfprobeFixture {
  /** ffprobe's version, from the folder name: "5.1". */
  version: string;
  /** The media file's name: "hdr10-hevc.mp4". */
  file: string;
  output: FfprobeOutput;
}

/** The ffprobe versions with a fixture folder. */
export const FIXTURE_VERSIONS: string[] = readdirSync(FIXTURES)
  .filter((entry) => /^ffprobe-\d+\.\d+$/.test(entry))
  .map((entry) => entry.slice('ffprobe-'.length))
  .sort();

/** Every document of every version. */
export function allFixtures(): FfprobeFixture[] {
  return FIXTURE_VERSIONS.flatMap((version) =>
    readdirSync(path.join(FIXTURES, `ffprobe-${version}`))
      .filter((name) => name.endsWith('.json'))
      .sort()
      .map((name) => ({
        version,
        file: name.slice(0, -'.json'.length),
        output: JSON.parse(readFileSync(path.join(FIXTURES, `ffprobe-${version}`, name), 'utf8')) as FfprobeOutput,
      })),
  );
}

/** The document of `file` as each version's ffprobe printed it, for the versions that have it. */
export function fixturesOf(file: string): FfprobeFixture[] {
  return FIXTURE_VERSIONS.flatMap((version) => {
    const at = path.join(FIXTURES, `ffprobe-${version}`, `${file}.json`);
    return existsSync(at) ? [{ version, file, output: JSON.parse(readFileSync(at, 'utf8')) as FfprobeOutput }] : [];
  });
}
