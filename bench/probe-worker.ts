/**
 * The ffprobe step's probe in a process of its own, as in Lambda: the benchmark's link, TLS and S3
 * endpoint run in the parent, so they don't share an event loop with the relay being measured.
 * Takes `{ url, settings }` messages; answers with the wall time, the stored JSON and the relay's figures.
 */
import https from 'node:https';
import { type FfprobeSettings, probeAsset } from '../functions/lib/ffprobe';

export interface ProbeRequest {
  url: string;
  ca: string;
  settings: Omit<FfprobeSettings, 'agent'>;
  /**
   * Set: reuse the connections the previous warm probe under the same key left, as a warm Lambda
   * does with the object after; unset: a fresh agent, the cold case. The key changes with the
   * link's shape, which applies to the connections opened under it.
   */
  warmKey?: string;
}

export interface ProbeReply {
  wallMs: number;
  json?: string;
  error?: string;
}

let warm: { key: string; agent: https.Agent } | undefined;

process.on('message', async ({ url, ca, settings, warmKey }: ProbeRequest) => {
  if (warm && warmKey && warm.key !== warmKey) {
    warm.agent.destroy();
    warm = undefined;
  }
  if (warmKey) warm ??= { key: warmKey, agent: new https.Agent({ keepAlive: true, maxSockets: 2, ca }) };
  const agent = warmKey && warm ? warm.agent : new https.Agent({ keepAlive: true, maxSockets: 2, ca });
  const started = performance.now();
  let reply: ProbeReply;
  try {
    const { result } = await probeAsset(
      url,
      { output_location: 'unused', output_upload_url: 'http://127.0.0.1:9/unused' },
      { ...settings, agent },
    );
    reply = { wallMs: performance.now() - started, json: 'ffprobe_output' in result.stored ? result.stored.ffprobe_output : undefined };
  } catch (error) {
    reply = { wallMs: performance.now() - started, error: `${(error as Error).name}: ${(error as Error).message}` };
  }
  if (!warmKey) agent.destroy();
  process.send?.(reply);
});
