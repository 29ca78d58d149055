/**
 * Runs a function's real handler in-process the way Lambda would: a JSON-serialised event, a
 * Lambda context, the function's timeout, and failures surfaced with Lambda's error name and
 * JSON cause, so the state machine's Retry and Catch match exactly as in AWS.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { TemplateFunction } from './template';

type Handler = (event: unknown, context: Record<string, unknown>) => Promise<unknown>;

/** An error as the Step Functions Lambda integration reports it: name = errorType, message = the JSON Cause. */
export class LambdaInvocationError extends Error {
  constructor(errorType: string, errorMessage: string) {
    super(JSON.stringify({ errorType, errorMessage, trace: [] }));
    this.name = errorType;
  }
}

/** Faults a test or the operator can inject in front of a function: the next N invocations fail with a given error. */
export interface InvocationFault {
  errorType: string;
  message: string;
  remaining: number;
}

export class LocalFunction {
  readonly name: string;
  readonly arn: string;
  private handler?: Handler;
  private readonly faults: InvocationFault[] = [];
  private readonly interceptors: Array<(event: unknown) => Promise<void>> = [];
  private readonly conditionalFaults: Array<{ matches: (event: unknown) => boolean; errorType: string; message: string }> = [];
  invocations = 0;

  constructor(
    readonly settings: TemplateFunction,
    private readonly repositoryRoot: string,
    region: string,
    account: string,
    /** The function's own variables, set while its module loads (where the handlers read their configuration). */
    private readonly environment: Record<string, string> = {},
  ) {
    this.name = `media-probe-local-${settings.logicalId}`;
    this.arn = `arn:aws:lambda:${region}:${account}:function:${this.name}`;
  }

  /** Makes every invocation whose event `matches` fail with `errorType` until the returned function is called. */
  failWhen(matches: (event: unknown) => boolean, errorType: string, message = `injected ${errorType}`): () => void {
    const rule = { matches, errorType, message };
    this.conditionalFaults.push(rule);
    return () => this.conditionalFaults.splice(this.conditionalFaults.indexOf(rule), 1);
  }

  /** Makes the next `times` invocations fail with `errorType` before the handler runs. */
  failNext(times: number, errorType: string, message = `injected ${errorType}`): void {
    this.faults.push({ errorType, message, remaining: times });
  }

  /** Runs `action` with the event just before the next invocation: a test's way to change the world mid-execution. */
  beforeNext(action: (event: unknown) => Promise<void>): void {
    this.interceptors.push(action);
  }

  /** Requires the handler's module with the function's environment in place, then puts the process's back. */
  private requireWithEnvironment(): Record<string, unknown> {
    const saved = Object.fromEntries(Object.keys(this.environment).map((name) => [name, process.env[name]]));
    Object.assign(process.env, this.environment);
    try {
      // A synchronous require: the module reads its environment while it loads, and only then may the process get its own back.
      return require(path.join(this.repositoryRoot, this.settings.entryPoint)) as Record<string, unknown>;
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  }

  private load(): Handler {
    if (!this.handler) {
      const module = this.requireWithEnvironment();
      const handler = module[this.settings.exportName];
      if (typeof handler !== 'function') throw new Error(`${this.settings.entryPoint} exports no ${this.settings.exportName}`);
      this.handler = handler as Handler;
    }
    return this.handler;
  }

  /** Invokes the handler with a copy of the event, as Lambda's JSON round trip would. */
  async invoke(event: unknown): Promise<unknown> {
    this.invocations += 1;
    const fault = this.faults.find((f) => f.remaining > 0);
    if (fault) {
      fault.remaining -= 1;
      throw new LambdaInvocationError(fault.errorType, fault.message);
    }
    const conditional = this.conditionalFaults.find((f) => f.matches(event));
    if (conditional) throw new LambdaInvocationError(conditional.errorType, conditional.message);
    await this.interceptors.shift()?.(event);
    const handler = this.load();
    const timeoutMs = this.settings.timeoutSeconds * 1000;
    const deadline = Date.now() + timeoutMs;
    const requestId = randomUUID();
    const context = {
      functionName: this.name,
      functionVersion: '$LATEST',
      invokedFunctionArn: this.arn,
      memoryLimitInMB: '1024',
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${this.name}`,
      logStreamName: `local/${requestId}`,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new LambdaInvocationError('Sandbox.Timedout', `Task timed out after ${this.settings.timeoutSeconds.toFixed(2)} seconds`)),
        timeoutMs,
      );
    });
    try {
      const result = await Promise.race([handler(JSON.parse(JSON.stringify(event ?? null)), context), timeout]);
      return result === undefined ? null : JSON.parse(JSON.stringify(result));
    } catch (error) {
      if (error instanceof LambdaInvocationError) throw error;
      const e = error as Error;
      throw new LambdaInvocationError(e?.name || 'Error', e?.message ?? String(error));
    } finally {
      clearTimeout(timer);
    }
  }
}
