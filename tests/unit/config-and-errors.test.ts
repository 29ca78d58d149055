/** Fail-fast configuration and the retryable/permanent split of SDK errors that every step relies on. */
import { ConfigurationError, getIntegerFromEnv, getStringFromEnv } from '../../functions/lib/config';
import { asTransientIfRetryable, isTransientAwsError, TransientError } from '../../functions/lib/errors';

describe('configuration from the environment', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('reads a string, falls back to its default, and refuses a missing required one', () => {
    process.env.UNIT_SETTING = 'value';
    expect(getStringFromEnv('UNIT_SETTING')).toBe('value');
    process.env.UNIT_SETTING = '';
    expect(getStringFromEnv('UNIT_SETTING', 'fallback')).toBe('fallback');
    delete process.env.UNIT_SETTING;
    expect(() => getStringFromEnv('UNIT_SETTING')).toThrow(new ConfigurationError('environment variable UNIT_SETTING is required'));
  });

  it('reads an integer within its bounds and names the variable when it is not', () => {
    const bounds = { default: 300, min: 30, max: 3600 };
    delete process.env.UNIT_SECONDS;
    expect(getIntegerFromEnv('UNIT_SECONDS', bounds)).toBe(300);
    process.env.UNIT_SECONDS = '3600';
    expect(getIntegerFromEnv('UNIT_SECONDS', bounds)).toBe(3600);
    for (const raw of ['29', '3601', '12.5', 'five', '1e9']) {
      process.env.UNIT_SECONDS = raw;
      expect(() => getIntegerFromEnv('UNIT_SECONDS', bounds)).toThrow(
        `environment variable UNIT_SECONDS must be an integer from 30 to 3600, got "${raw}"`,
      );
    }
  });

  it('stops a cold start on a bad setting rather than at the first request', () => {
    process.env.PRESIGN_EXPIRY_SECONDS = '5';
    let failure: unknown;
    jest.isolateModules(() => {
      try {
        require('../../functions/presign/index');
      } catch (error) {
        failure = error;
      }
    });
    expect(failure).toMatchObject({
      name: 'ConfigurationError',
      message: 'environment variable PRESIGN_EXPIRY_SECONDS must be an integer from 30 to 3600, got "5"',
    });
  });
});

describe('isTransientAwsError', () => {
  const sdkError = (name: string, httpStatusCode?: number, extra: object = {}) =>
    Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode }, ...extra });

  it.each([
    sdkError('ThrottlingException', 400),
    sdkError('ProvisionedThroughputExceededException', 400),
    sdkError('SlowDown', 503),
    sdkError('RequestLimitExceeded', 400),
    sdkError('InternalServerError', 500),
    sdkError('ServiceUnavailable', 503),
    sdkError('TooManyRequests', 429),
    sdkError('TimeoutError'),
    sdkError('Error', undefined, { code: 'ECONNRESET' }),
    sdkError('Error', undefined, { code: 'EAI_AGAIN' }),
    sdkError('SomethingNew', 400, { $retryable: { throttling: false } }),
  ])('%s is transient', (error) => {
    expect(isTransientAwsError(error)).toBe(true);
  });

  it.each([
    sdkError('ValidationException', 400),
    sdkError('AccessDeniedException', 403),
    sdkError('ResourceNotFoundException', 400),
    sdkError('ConditionalCheckFailedException', 400),
    new Error('plain'),
    null,
    'a string',
  ])('%s is permanent', (error) => {
    expect(isTransientAwsError(error)).toBe(false);
  });

  it('asTransientIfRetryable wraps a transient error with what was being done, and returns others as they are', () => {
    const wrapped = asTransientIfRetryable(sdkError('SlowDown', 503), 'writing x');
    expect(wrapped).toBeInstanceOf(TransientError);
    expect((wrapped as Error).message).toBe('writing x: SlowDown (SlowDown happened)');
    const permanent = sdkError('ValidationException', 400);
    expect(asTransientIfRetryable(permanent, 'writing x')).toBe(permanent);
  });
});
