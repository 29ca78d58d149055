/** The benchmark counts ffprobe's network reads from strace output; the parser must count only its TCP sockets. */
import { countSocketTraffic } from '../../bench/strace';

const trace = [
  '4242  openat(AT_FDCWD, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3',
  '4242  read(3, "127.0.0.1 localhost\\n", 4096) = 20',
  '4242  close(3)                          = 0',
  '4242  socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP) = 3',
  '4242  connect(3, {sa_family=AF_INET, sin_port=htons(9000), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS (Operation now in progress)',
  '4242  write(3, "GET /bucket/a.mp4?X-Amz-Signature=1 HTTP/1.1\\r\\nRange: bytes=0-\\r\\n\\r\\n", 64) = 64',
  '4243  recvfrom(3,  <unfinished ...>',
  '4242  read(0, "", 10) = 0',
  '4243  <... recvfrom resumed> "HTTP/1.1 206 Partial Content\\r\\n", 32768, 0, NULL, NULL) = 32768',
  '4242  read(3, "more", 32768) = 1000',
  '4242  read(3, 0x7ffd, 32768) = -1 EAGAIN (Resource temporarily unavailable)',
  '4242  close(3) = 0',
  '4242  read(3, "not a socket any more", 100) = 100',
  '4242  socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP) = 5',
  '4242  connect(5, {sa_family=AF_INET, sin_port=htons(9000), sin_addr=inet_addr("127.0.0.1")}, 16) = 0',
  '4242  write(5, "GET /bucket/a.mp4 HTTP/1.1\\r\\n", 28) = 28',
  '4242  read(5, "x", 5000) = 500',
].join('\n');

it('sums successful reads on TCP sockets only, counting connects and request lines', () => {
  expect(countSocketTraffic(trace)).toEqual({ bytesReceived: 32768 + 1000 + 500, connects: 2, requests: 2 });
});

it('counts nothing in a trace without sockets', () => {
  expect(countSocketTraffic('4242  read(3, "x", 10) = 10\n4242  close(3) = 0')).toEqual({ bytesReceived: 0, connects: 0, requests: 0 });
});
