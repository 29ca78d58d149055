/** Locates (building when needed) the host-architecture ffprobe that the layer ships, so the local run probes with the same binary. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ARCHITECTURES: Record<string, string> = { x64: 'x86_64', arm64: 'arm64' };

/** The layer build's output for this machine's architecture, built by `make -C layers/ffprobe host` if missing. */
export function hostFfprobe(repositoryRoot: string, log: (line: string) => void = () => undefined): string {
  const override = process.env.MEDIA_PROBE_FFPROBE;
  if (override) return override;
  const arch = ARCHITECTURES[os.arch()];
  if (!arch) throw new Error(`the ffprobe layer is built for x86_64 and arm64, not ${os.arch()}`);
  const binary = path.join(repositoryRoot, 'layers', 'ffprobe', 'build', arch, 'bin', 'ffprobe');
  if (!existsSync(binary)) {
    log('building the ffprobe layer for this machine (first run only; a few minutes)…');
    execFileSync('make', ['-C', path.join(repositoryRoot, 'layers', 'ffprobe'), 'host'], { stdio: ['ignore', 'inherit', 'inherit'] });
  }
  return binary;
}
