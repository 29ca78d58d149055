/** What a handler test needs around a Lambda invocation: a context object and everything the invocation printed. */
import type { Context } from 'aws-lambda';

/** A Lambda context as the runtime passes it; the values only have to look plausible to Powertools. */
export function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: '6f1c1a7e-1d2b-4c3d-9e8f-0a1b2c3d4e5f',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2025/01/15/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * Runs `fn` and returns its result with everything written meanwhile to stdout, stderr or the
 * console (Powertools writes to process.stdout directly; Jest replaces the global console).
 */
export async function captureOutput<T>(fn: () => Promise<T>): Promise<{ result?: T; error?: unknown; output: string }> {
  const chunks: string[] = [];
  const record = (...args: unknown[]) => {
    chunks.push(args.map((a) => (typeof a === 'string' ? a : Buffer.isBuffer(a) ? a.toString('utf8') : JSON.stringify(a))).join(' '));
  };
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
      record(chunk);
      return true;
    }),
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
      record(chunk);
      return true;
    }),
    ...(['log', 'info', 'warn', 'error', 'debug', 'trace'] as const).map((method) =>
      jest.spyOn(console, method).mockImplementation(record),
    ),
  ];
  try {
    return { result: await fn(), output: chunks.join('\n') };
  } catch (error) {
    return { error, output: chunks.join('\n') };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}
