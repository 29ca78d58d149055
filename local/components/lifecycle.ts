/**
 * One registry for everything the local components start (servers, the DynamoDB Local JVM), so
 * each is stopped by its own stop(), on SIGINT/SIGTERM and, as far as synchronous code allows,
 * on process exit.
 */
import net from 'node:net';

export interface Resource {
  /** Graceful asynchronous stop; must be idempotent. */
  stop(): Promise<void>;
  /** Best effort synchronous stop for the 'exit' event, where nothing asynchronous runs any more. */
  stopSync?(): void;
}

const resources = new Set<Resource>();
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
let handlersInstalled = false;

/** Track a started resource; the returned function forgets it (call it from the resource's own stop). */
export function track(resource: Resource): () => void {
  resources.add(resource);
  installHandlers();
  return () => {
    resources.delete(resource);
    if (resources.size === 0) uninstallHandlers();
  };
}

/** Stop every tracked resource; used by the signal handlers and available to callers that own the process. */
export async function stopAll(): Promise<void> {
  const pending = [...resources];
  resources.clear();
  await Promise.allSettled(pending.map((r) => r.stop()));
  uninstallHandlers();
}

function onExit(): void {
  for (const r of resources) {
    try {
      r.stopSync?.();
    } catch {
      // The process is exiting; one failed kill must not stop the others.
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  void stopAll().finally(() => {
    // Our listener suppressed the default action; if nobody else handles the signal, restore it so
    // the process still ends with the conventional status (130/143).
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', onExit);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstallHandlers(): void {
  if (!handlersInstalled) return;
  handlersInstalled = false;
  process.off('exit', onExit);
  for (const s of SIGNALS) process.off(s, onSignal);
}

/** A TCP port that was free a moment ago on the loopback interface (for processes that need a number up front). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
