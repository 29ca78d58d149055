/** Lambda: the ffprobe step, which runs the layer's ffprobe on the presigned URL and returns the summary and where the JSON is kept. */
import { existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type StepReport, succeeded, tagAttempt } from '../lib/analysis';
import { logger, tracer } from '../lib/commons';
import { ConfigurationError, getIntegerFromEnv, getStringFromEnv } from '../lib/config';
import { type FfprobeResult, type FfprobeSettings, probeAsset } from '../lib/ffprobe';
import { assertRunnableHere, CA_BUNDLE_CANDIDATES, confinePathFor, confineStatus, ffprobeMemoryBudgetMiB } from '../lib/ffprobe-command';
import type { OutputUpload } from '../lib/presign';
import type { Asset } from '../lib/row';

/** The CA bundle S3's certificate is verified with (by the object relay, which reads for ffprobe): FFPROBE_CA_FILE, or the system's. */
function caBundle(): string {
  const file = process.env.FFPROBE_CA_FILE || CA_BUNDLE_CANDIDATES.find((candidate) => existsSync(candidate));
  if (!file) throw new ConfigurationError(`no CA bundle found (looked for ${CA_BUNDLE_CANDIDATES.join(', ')}): set FFPROBE_CA_FILE`);
  return file;
}

const caFile = caBundle();
const settings: FfprobeSettings = {
  ffprobePath: getStringFromEnv('FFPROBE_PATH', '/opt/bin/ffprobe'),
  timeoutMs: getIntegerFromEnv('FFPROBE_TIMEOUT_SECONDS', { default: 60, min: 1, max: 840 }) * 1000,
  maxOutputBytes: getIntegerFromEnv('FFPROBE_MAX_OUTPUT_BYTES', { default: 16 * 1024 * 1024, min: 65536, max: 256 * 1024 * 1024 }),
  inlineLimitBytes: getIntegerFromEnv('INLINE_OUTPUT_LIMIT_BYTES', { default: 100 * 1024, min: 0, max: 200 * 1024 }),
  // A 16 MiB output at S3's pace takes well under a second; the budget covers a slow start.
  uploadTimeoutMs: 10_000,
  // One to four reads of at most 4 KiB through the relay, usually of what ffprobe read already.
  faststartTimeoutMs: 5_000,
  caFile,
  // Kept alive across invocations: a warm function reads the next object over the connections to S3 it has.
  agent: new https.Agent({ keepAlive: true, maxSockets: 2, ca: readFileSync(caFile) }),
  // Lambda sets the function's memory here, and so does the local run (the template's FfprobeMemorySize); unit tests run without it.
  memoryBudgetMiB: ffprobeMemoryBudgetMiB(getIntegerFromEnv('AWS_LAMBDA_FUNCTION_MEMORY_SIZE', { default: 1024, min: 128, max: 10_240 })),
};
assertRunnableHere(settings.ffprobePath);
assertRunnableHere(confinePathFor(settings.ffprobePath), process.arch, 'confine');
/** What confine enforces here (whether Lambda's kernel has Landlock is not documented): every probe's log line says it. */
const confinement = { memory_budget_mib: settings.memoryBudgetMiB, ...confineStatus(confinePathFor(settings.ffprobePath)) };

/** The URLs are credentials: this event is never logged. */
export interface FfprobeEvent extends OutputUpload {
  asset: Asset;
  url: string;
  size_bytes?: number | null;
  /** The ETag each read must still match (the presign step's; null when the URL names a version). */
  if_match?: string | null;
  attempt?: number;
  entered_at?: string;
}

export interface FfprobeStepResult {
  result: FfprobeResult;
  step: StepReport;
}

const ffprobe = async (event: FfprobeEvent, context: Context): Promise<FfprobeStepResult> => {
  logger.appendKeys({ movie_id: event.asset.movieId });
  const started = Date.now();
  const deadline = started + context.getRemainingTimeInMillis();
  const { result, faststartCheck, framesCheck, reads } = await probeAsset(
    event.url,
    event,
    settings,
    event.size_bytes,
    deadline,
    event.if_match,
  );
  // The frames themselves are in the stored JSON; the log says what they showed, or why there are none.
  const framesLog = framesCheck && {
    stream_index: framesCheck.stream_index,
    ms: framesCheck.ms,
    ...framesCheck.verdict,
    error: framesCheck.error,
  };
  if (framesCheck && (framesCheck.error || framesCheck.verdict?.frames_read === 0)) {
    logger.warn('the first frames told nothing of HDR10+ or Dolby Vision; the summary keeps what the container says', {
      frames_check: framesLog,
    });
  }
  logger.info('probed media', {
    ffprobe_ms: Date.now() - started,
    stored: 'ffprobe_output' in result.stored ? 'inline' : result.stored.ffprobe_output_location,
    format: result.media.format_name,
    ...(faststartCheck ? { faststart_check: faststartCheck } : {}),
    ...(framesLog && !framesCheck?.error ? { frames_check: framesLog } : {}),
    // What reading the object cost: GETs, new connections to S3, bytes from S3, bytes served to ffprobe and the checks.
    reads,
    confinement,
  });
  return { result, step: succeeded(event.attempt, event.entered_at) };
};

export const handler = middy(ffprobe)
  .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(tagAttempt());
