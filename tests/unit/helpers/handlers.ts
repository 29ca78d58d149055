/**
 * Loads the three Lambda handlers the way the runtime does: configuration in the environment
 * first, then the module. Each Jest test file has its own module registry, so the SDK client
 * classes a test mocks are the ones the handlers use.
 */

import type { handler as ProbeHandler } from '../../../functions/ffprobe/index';
import type { handler as PresignHandler } from '../../../functions/presign/index';
import type { handler as UpdateHandler } from '../../../functions/update/index';

export const PRESIGN_EXPIRY_SECONDS = 120;
export const RESULTS_BUCKET = 'media-probe-results';
export const TABLE_NAME = 'media-probe-movies';
export const METRICS_NAMESPACE = 'media-probe/unit-tests';

export interface Handlers {
  presign: typeof PresignHandler;
  probe: typeof ProbeHandler;
  update: typeof UpdateHandler;
}

/** Sets the environment template.yaml gives the functions (plus fake credentials) and requires the handlers. */
export function loadHandlers(ffprobePath: string, extraEnv: Record<string, string> = {}): Handlers {
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'UNITTESTKEYID',
    AWS_SECRET_ACCESS_KEY: 'unit-test-secret',
    POWERTOOLS_SERVICE_NAME: 'media-probe',
    POWERTOOLS_TRACE_ENABLED: 'false',
    LOG_LEVEL: 'DEBUG',
    PRESIGN_EXPIRY_SECONDS: String(PRESIGN_EXPIRY_SECONDS),
    FFPROBE_PATH: ffprobePath,
    FFPROBE_TIMEOUT_SECONDS: '10',
    RESULTS_BUCKET,
    TABLE_NAME,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    ...extraEnv,
  });
  // require, not import: the environment must be set before the modules load.
  return {
    presign: require('../../../functions/presign/index').handler,
    probe: require('../../../functions/ffprobe/index').handler,
    update: require('../../../functions/update/index').handler,
  };
}
