/**
 * Counts what ffprobe received over the network from an strace log, at ffprobe's side of the
 * socket: the sum of successful reads on its TCP sockets, its connect calls, and the HTTP
 * requests it wrote. Reads on any other descriptor (shared libraries, stdin) are not counted.
 */

/** The syscalls the log must contain for the count to be complete. */
export const TRACED_SYSCALLS = [
  'socket',
  'connect',
  'close',
  'read',
  'readv',
  'recvfrom',
  'recvmsg',
  'write',
  'writev',
  'sendto',
  'sendmsg',
];

export interface SocketTraffic {
  /** Bytes ffprobe read from its TCP sockets: response headers and body, as the socket delivered them. */
  bytesReceived: number;
  /** connect() calls on TCP sockets (successful or in progress). */
  connects: number;
  /** Writes on TCP sockets that start an HTTP request line. */
  requests: number;
}

const READS = new Set(['read', 'readv', 'recvfrom', 'recvmsg']);
const WRITES = new Set(['write', 'writev', 'sendto', 'sendmsg']);
/** `name(args) = ret [ERRNO (text)]`, anchored at the end: the printed data may itself contain `) = `. */
const CALL = /^(\w+)\((.*)\)\s+=\s+(-?\d+|\?)(?:<.*>)?(?:\s+[A-Z][A-Z0-9_]*(?:\s+\(.*\))?)?$/;
const UNFINISHED = ' <unfinished ...>';
const RESUMED = /^<\.\.\. (\w+) resumed>\s?(.*)$/;

/** The descriptor a call's first argument names (strace -y may append `<…>` to it). */
function firstFd(args: string): number | undefined {
  const match = /^(\d+)/.exec(args);
  return match ? Number(match[1]) : undefined;
}

/** Parses `strace -f -o FILE` output (one line per call, prefixed with the thread id). */
export function countSocketTraffic(log: string): SocketTraffic {
  const tcp = new Set<number>();
  const pending = new Map<string, string>();
  const traffic: SocketTraffic = { bytesReceived: 0, connects: 0, requests: 0 };

  for (const raw of log.split('\n')) {
    const pidMatch = /^(?:\[pid\s+)?(\d+)\]?\s+(.*)$/.exec(raw);
    const pid = pidMatch ? pidMatch[1] : '';
    let line = (pidMatch ? pidMatch[2] : raw).trim();
    if (!line || line.startsWith('---') || line.startsWith('+++')) continue;
    if (line.endsWith(UNFINISHED)) {
      pending.set(pid, line.slice(0, -UNFINISHED.length));
      continue;
    }
    const resumed = RESUMED.exec(line);
    if (resumed) {
      const start = pending.get(pid);
      pending.delete(pid);
      if (!start) continue;
      line = `${start}${resumed[2]}`;
    }
    const call = CALL.exec(line);
    if (!call) continue;
    const [, name, args, retText] = call;
    const ret = retText === '?' ? -1 : Number(retText);
    if (name === 'socket') {
      if (ret >= 0 && /\bAF_INET6?\b/.test(args) && /\bSOCK_STREAM\b/.test(args)) tcp.add(ret);
      continue;
    }
    const fd = firstFd(args);
    if (fd === undefined) continue;
    if (name === 'close') {
      tcp.delete(fd);
    } else if (name === 'connect') {
      if (/sa_family=AF_INET6?\b/.test(args)) {
        tcp.add(fd);
        traffic.connects += 1;
      }
    } else if (READS.has(name)) {
      if (tcp.has(fd) && ret > 0) traffic.bytesReceived += ret;
    } else if (WRITES.has(name)) {
      if (tcp.has(fd) && ret > 0 && /^\d+(?:<.*?>)?,\s*(?:\[\{iov_base=|\{msg_name=.*?iov_base=)?"(?:GET|HEAD) /.test(args))
        traffic.requests += 1;
    }
  }
  return traffic;
}
