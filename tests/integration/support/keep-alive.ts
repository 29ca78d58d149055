/** Whether a local endpoint closes idle keep-alive connections: one that does races the SDK's agent, which may reuse the connection just then. */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Sends one keep-alive request on a raw connection, reads the answer, then idles past Node's default
 * keep-alive timeout (5 s, and a second of grace): resolves to whether the server closed the
 * connection meanwhile.
 */
export async function serverClosesIdleConnection(endpoint: string, request: string): Promise<boolean> {
  const { hostname, port } = new URL(endpoint);
  const socket = net.connect(Number(port), hostname);
  let closed = false;
  socket.on('end', () => (closed = true));
  socket.on('close', () => (closed = true));
  const answered = new Promise<void>((resolve) => socket.once('data', () => resolve()));
  socket.write(request);
  await answered;
  await sleep(7_500);
  socket.destroy();
  return closed;
}
