/** The hardened ffprobe invocation and how its failures are named; the process handling is in ffprobe-command-process.test.ts. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  assertRunnableHere,
  buildFfprobeArgs,
  checkProbeOutput,
  classifyProbeFailure,
  ffprobeEnvironment,
  protocolWhitelist,
  redactUrls,
} from '../../functions/lib/ffprobe-command';

const SIGNATURE = 'a3f1c0de5b8e9f0123456789abcdef0123456789abcdef0123456789abcdef01';
const PRESIGNED = `https://example-media-bucket.s3.us-east-1.amazonaws.com/movies/42/feature.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLE%2F20250115%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20250115T100000Z&X-Amz-Expires=300&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE&X-Amz-Signature=${SIGNATURE}&X-Amz-SignedHeaders=host&x-id=GetObject`;

/** ffprobe's stderr at `-loglevel error`: component lines, then `<url>: <reason>` (format as printed by FFmpeg 5.1 and 7.1 alike). */
const stderrOf = (...lines: string[]) => `${lines.join('\n')}\n`;

const CA = '/etc/pki/tls/certs/ca-bundle.crt';

describe('buildFfprobeArgs', () => {
  it('sends If-Match with the ETag on every request when one is given, and refuses anything that is not an entity tag', () => {
    const args = buildFfprobeArgs(PRESIGNED, { caFile: CA, ifMatch: '"5d41402abc4b2a76b9719d911017c592-3"' });
    expect(args.slice(args.indexOf('-i') - 2, args.indexOf('-i'))).toEqual([
      '-headers',
      'If-Match: "5d41402abc4b2a76b9719d911017c592-3"\r\n',
    ]);
    expect(buildFfprobeArgs(PRESIGNED, { caFile: CA })).not.toContain('-headers');
    for (const hostile of ['"abc"\r\nHost: elsewhere', 'abc', '"a"b"', '""'])
      expect(() => buildFfprobeArgs(PRESIGNED, { caFile: CA, ifMatch: hostile })).toThrow(/not an entity tag/);
  });

  it('builds the whole argument array for an https URL, verifying the server against the CA bundle', () => {
    expect(buildFfprobeArgs(PRESIGNED, { caFile: CA })).toEqual([
      '-hide_banner',
      '-loglevel',
      'error',
      '-protocol_whitelist',
      'https,tls,tcp',
      '-tls_verify',
      '1',
      '-ca_file',
      CA,
      '-rw_timeout',
      '15000000',
      '-max_alloc',
      String(256 * 1024 * 1024),
      '-max_ts_probe',
      '12',
      '-show_streams',
      '-show_format',
      '-show_chapters',
      '-show_programs',
      '-print_format',
      'json=compact=1',
      '-i',
      PRESIGNED,
    ]);
  });

  it('allows only http and tcp for an http URL (the local S3 stand-in), with no TLS options', () => {
    const args = buildFfprobeArgs('http://127.0.0.1:4569/media/a.mp4');
    expect(args[args.indexOf('-protocol_whitelist') + 1]).toBe('http,tcp');
    expect(args).not.toContain('-tls_verify');
  });

  it('refuses an https URL when there is no CA bundle to verify the server with', () => {
    expect(() => buildFfprobeArgs(PRESIGNED)).toThrow(/without a CA bundle/);
  });

  it('passes a URL full of shell metacharacters as one untouched element', () => {
    const url = 'https://example-media-bucket.s3.amazonaws.com/a;b$(touch%20x)`id`|c&d>e<f\'g"h*?X-Amz-Signature=1 2';
    const args = buildFfprobeArgs(url, { caFile: CA });
    expect(args.at(-1)).toBe(url);
    expect(args.at(-2)).toBe('-i');
    expect(args.filter((arg) => arg.includes('touch'))).toEqual([url]);
  });

  it.each([
    'file:///etc/passwd',
    'data:text/plain;base64,SGVsbG8=',
    'concat:https://a.example/x.mp4|file:///etc/passwd',
    'ftp://example.com/a.mp4',
    'rtmp://example.com/live',
    'subfile,,start,0,end,0,,:https://a.example/x',
  ])('refuses %s', (url) => {
    expect(() => buildFfprobeArgs(url)).toThrow();
  });

  it('says why a non-http(s) URL is refused', () => {
    expect(() => protocolWhitelist('file:///etc/passwd')).toThrow('refusing to probe a file: URL: only http(s) presigned URLs are probed');
    expect(() => protocolWhitelist('concat:a|b')).toThrow(/refusing to probe a concat: URL/);
  });
});

describe('ffprobeEnvironment', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('hands ffprobe no AWS variable even when the function has credentials', () => {
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'ASIAEXAMPLEKEY',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      AWS_SESSION_TOKEN: 'IQoJb3JpZ2luX2VjEXAMPLE',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.2/creds',
      AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9001',
    });
    const env = ffprobeEnvironment();
    expect(Object.keys(env).filter((name) => name.startsWith('AWS_'))).toEqual([]);
    expect(Object.values(env).join('\n')).not.toMatch(/EXAMPLE|169\.254/);
    expect(env).toEqual({ LC_ALL: 'C' });
  });
});

describe('redactUrls', () => {
  it('replaces a presigned URL, query and signature included', () => {
    const text = redactUrls(`${PRESIGNED}: Server returned 404 Not Found`);
    expect(text).not.toContain('X-Amz');
    expect(text).not.toContain(SIGNATURE);
    expect(text).not.toContain('amazonaws');
    expect(text).toContain('<url>');
    expect(text).toContain('Server returned 404 Not Found');
  });

  it('replaces every network URL ffprobe may print, and stops at quotes and whitespace', () => {
    expect(redactUrls(`open 'https://a.example/x?X-Amz-Signature=1' then 'http://b/y' and tcp://127.0.0.1:9 failed`)).toBe(
      `open '<url>' then '<url>' and <url> failed`,
    );
  });

  it('keeps s3:// URIs, which name an object but grant nothing, so errors say which object failed', () => {
    expect(redactUrls('s3://bucket/key does not exist')).toBe('s3://bucket/key does not exist');
  });

  it('leaves text without URLs alone', () => {
    expect(redactUrls('moov atom not found: Invalid data found when processing input')).toBe(
      'moov atom not found: Invalid data found when processing input',
    );
  });
});

describe('classifyProbeFailure', () => {
  it('404 → ObjectNotFoundError', () => {
    const error = classifyProbeFailure(1, stderrOf(`${PRESIGNED}: Server returned 404 Not Found`));
    expect(error.name).toBe('ObjectNotFoundError');
    expect(error.message).toMatch(/HTTP 404/);
  });

  it('403 → AccessDeniedError', () => {
    const error = classifyProbeFailure(1, stderrOf(`${PRESIGNED}: Server returned 403 Forbidden (access denied)`));
    expect(error.name).toBe('AccessDeniedError');
    expect(error.message).toMatch(/HTTP 403/);
  });

  // FFmpeg maps every 5xx status to AVERROR_HTTP_SERVER_ERROR, whose text is literally "5XX"
  // (libavutil/error.c); the status-specific "HTTP error 503" line is logged at warning level,
  // which `-loglevel error` suppresses. S3's 503 Slow Down is the textbook transient error.
  it.each([
    ['5xx (as FFmpeg prints it)', `${PRESIGNED}: Server returned 5XX Server Error reply`],
    ['connection reset', `[tls @ 0x55d0c0a1b2c0] Error in the pull function.\n${PRESIGNED}: Connection reset by peer`],
    [
      'connection refused',
      `[tcp @ 0x5612dda3e900] Connection to tcp://127.0.0.1:8799 failed: Connection refused\n${PRESIGNED}: Connection refused`,
    ],
    ['connection timed out', `${PRESIGNED}: Connection timed out`],
    ['429', `${PRESIGNED}: Server returned 429 Too Many Requests`],
  ])('%s → TransientError', (_label, stderr) => {
    const error = classifyProbeFailure(1, stderrOf(stderr));
    expect(error.name).toBe('TransientError');
    expect(error.message).not.toContain('X-Amz');
  });

  it('"Invalid data found when processing input" → NotMediaError with the reason and exit code, no URL', () => {
    const error = classifyProbeFailure(1, stderrOf(`${PRESIGNED}: Invalid data found when processing input`));
    expect(error.name).toBe('NotMediaError');
    expect(error.message).toBe('ffprobe could not read the object as media: Invalid data found when processing input (exit code 1)');
  });

  it('"moov atom not found" → NotMediaError, reporting the last line', () => {
    const error = classifyProbeFailure(
      1,
      stderrOf('[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55e8b1797380] moov atom not found', `${PRESIGNED}: Invalid data found when processing input`),
    );
    expect(error.name).toBe('NotMediaError');
    expect(error.message).toBe('ffprobe could not read the object as media: Invalid data found when processing input (exit code 1)');
    expect(error.message).not.toContain(SIGNATURE);
  });

  it('says so when ffprobe printed nothing, and leaves out a missing exit code', () => {
    expect(classifyProbeFailure(null, '').message).toBe('ffprobe could not read the object as media: no diagnostic output');
  });
});

describe('checkProbeOutput', () => {
  const format = { format_name: 'mp3', duration: '2.037551' };

  it('returns the parsed document when it has a media stream', () => {
    const doc = { streams: [{ index: 0, codec_type: 'audio', codec_name: 'mp3' }], format };
    expect(checkProbeOutput(JSON.stringify(doc))).toEqual(doc);
  });

  it.each([
    ['not JSON', '{\n\n', 'ffprobe printed output that is not JSON'],
    ['empty', '', 'ffprobe printed output that is not JSON'],
    ['no streams', JSON.stringify({ format }), 'ffprobe found no audio, video or subtitle streams in the object'],
    ['an empty stream list', JSON.stringify({ streams: [], format }), 'ffprobe found no audio, video or subtitle streams in the object'],
    [
      'only data streams',
      JSON.stringify({ streams: [{ codec_type: 'data', codec_tag_string: 'tmcd' }, { codec_type: 'attachment' }], format }),
      'ffprobe found no audio, video or subtitle streams in the object',
    ],
    [
      'no format',
      JSON.stringify({ streams: [{ codec_type: 'video' }] }),
      'ffprobe found no audio, video or subtitle streams in the object',
    ],
  ])('%s → NotMediaError', (_label, stdout, message) => {
    expect(() => checkProbeOutput(stdout)).toThrow(expect.objectContaining({ name: 'NotMediaError', message }));
  });
});

describe('classifyProbeFailure for TLS and refused requests', () => {
  it('a certificate that fails verification is permanent, although ffprobe also prints an I/O error', () => {
    const error = classifyProbeFailure(
      1,
      stderrOf('[tls @ 0x55d0c0a1b2c0] error:0A000086:SSL routines::certificate verify failed', `${PRESIGNED}: Input/output error`),
    );
    expect(error.name).toBe('TlsVerificationError');
    expect(error.message).not.toContain('X-Amz');
  });

  it('HTTP 400 (an expired or malformed presigned URL) is permanent', () => {
    expect(classifyProbeFailure(1, stderrOf(`${PRESIGNED}: Server returned 400 Bad Request`)).name).toBe('AccessDeniedError');
  });

  it('a plain I/O error is still transient', () => {
    expect(classifyProbeFailure(1, stderrOf(`${PRESIGNED}: Input/output error`)).name).toBe('TransientError');
  });
});

describe('assertRunnableHere', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'media-probe-elf-'));
  const elf = (machine: number) => {
    const header = Buffer.alloc(64);
    header.write('\x7fELF', 0, 'latin1');
    header.writeUInt16LE(machine, 18);
    const file = path.join(dir, `elf-${machine}`);
    writeFileSync(file, header);
    return file;
  };

  it('accepts a binary built for the running CPU', () => {
    expect(() => assertRunnableHere(elf(0xb7), 'arm64')).not.toThrow();
    expect(() => assertRunnableHere(elf(0x3e), 'x64')).not.toThrow();
  });

  it('refuses a binary built for another CPU at cold start, naming both', () => {
    expect(() => assertRunnableHere(elf(0xb7), 'x64')).toThrow(/built for arm64, but the function runs on x64/);
  });

  it('refuses a missing binary with a hint about the layer', () => {
    expect(() => assertRunnableHere(path.join(dir, 'absent'))).toThrow(/ffprobe not found at .*layer attached/);
  });

  it('leaves scripts alone (they are not ELF files)', () => {
    const script = path.join(dir, 'script');
    writeFileSync(script, '#!/bin/sh\n');
    expect(() => assertRunnableHere(script, 'x64')).not.toThrow();
  });
});

describe('classifyProbeFailure reads only what ffprobe itself says about the URL', () => {
  // Verbatim shapes of FFmpeg's stderr (5.1 and 7.1 alike) for files crafted by tests/support/hostile-media.ts; the
  // heap addresses in the prefixes differ on every run.
  const echoing = (text: string, address: string) =>
    stderrOf(
      `[ffmetadata @ ${address}] Expected chapter start timestamp, found ${text}.`,
      `[ffmetadata @ ${address}] Expected chapter end timestamp, found ${text}.`,
      `[ffmetadata @ ${address}] Chapter end time 1 before start 5`,
      `${PRESIGNED}: Cannot allocate memory`,
    );

  it.each([
    ['"Server returned 404 Not Found"', 'ObjectNotFoundError'],
    ['"Connection reset by peer"', 'TransientError'],
    ['"Server returned 403 Forbidden"', 'AccessDeniedError'],
    ['"error:0A000086:SSL routines::certificate verify failed"', 'TlsVerificationError'],
  ])('a file that echoes %s is not media, not a %s', (text, _wrongly) => {
    const error = classifyProbeFailure(1, echoing(text.slice(1, -1), '0x5555608e53c0'), { url: PRESIGNED, memoryBudgetMiB: 768 });
    expect(error.name).toBe('NotMediaError');
    expect(error.message).toBe('ffprobe could not read the object as media: Cannot allocate memory (exit code 1)');
  });

  it('ignores lines the file forges for another URL, even ffprobe-shaped ones', () => {
    const stderr = stderrOf(
      '[ffmetadata @ 0x5555608e53c0] Expected chapter start timestamp, found x\\',
      'http://127.0.0.1/x: Server returned 404 Not Found\\',
      `${PRESIGNED}: Invalid data found when processing input`,
    );
    expect(classifyProbeFailure(1, stderr, { url: PRESIGNED, memoryBudgetMiB: 768 }).name).toBe('NotMediaError');
  });

  it('a Matroska parse error followed by an I/O error is NotMediaError, naming both, without heap addresses', () => {
    const stderr = (address: string) =>
      stderrOf(
        `[matroska,webm @ ${address}] Element at 0x8b ending at 0x10400000095 exceeds containing master element ending at 0x9b`,
        'Truncating packet of size 9069 to 94',
        `${PRESIGNED}: Input/output error`,
      );
    const error = classifyProbeFailure(1, stderr('0x555577b1f3c0'), { url: PRESIGNED, memoryBudgetMiB: 768 });
    expect(error.name).toBe('NotMediaError');
    expect(error.message).toBe(
      'ffprobe could not read the object as media: [matroska,webm] Element at 0x8b ending at 0x10400000095 exceeds containing master element ending at 0x9b, then Input/output error (exit code 1)',
    );
    expect(classifyProbeFailure(1, stderr('0x55556e0a13c0'), { url: PRESIGNED, memoryBudgetMiB: 768 }).message).toBe(error.message);
  });

  it('an I/O error after the network layer complained is still transient', () => {
    const stderr = stderrOf(
      '[http @ 0x5555a1b2c3d0] Stream ends prematurely at 97, should be 640778',
      '[matroska,webm @ 0x555577b1f3c0] Read error at pos. 97 (0x61)',
      `${PRESIGNED}: Input/output error`,
    );
    expect(classifyProbeFailure(1, stderr, { url: PRESIGNED, memoryBudgetMiB: 768 }).name).toBe('TransientError');
  });

  it('without a final line about the URL, reports the last line with its context but not its address', () => {
    const error = classifyProbeFailure(1, stderrOf('[vorbis @ 0x55557c4c44c0] Extradata missing.'), { url: PRESIGNED });
    expect(error.name).toBe('NotMediaError');
    expect(error.message).toBe('ffprobe could not read the object as media: [vorbis] Extradata missing. (exit code 1)');
  });

  it('a spent memory budget is NotMediaError saying so, not "Cannot allocate memory" alone', () => {
    const stderr = stderrOf(
      'Out of memory: the system refused an allocation of 81788928 bytes',
      '[matroska,webm @ 0x555586ff13c0] Failed to decode codec private data',
      '    Last message repeated 9 times',
      `${PRESIGNED}: Cannot allocate memory`,
    );
    const error = classifyProbeFailure(1, stderr, { url: PRESIGNED, memoryBudgetMiB: 768 });
    expect(error).toMatchObject({
      name: 'NotMediaError',
      message: 'ffprobe could not read the object as media: it ran out of its memory budget (768 MiB) (exit code 1)',
    });
  });

  it('a single allocation over -max_alloc is NotMediaError saying so', () => {
    const stderr = stderrOf(
      'Allocation refused: 4294967296 bytes is over the -max_alloc limit of 268435456 bytes',
      `${PRESIGNED}: Cannot allocate memory`,
    );
    expect(classifyProbeFailure(1, stderr, { url: PRESIGNED, memoryBudgetMiB: 768 })).toMatchObject({
      name: 'NotMediaError',
      message:
        'ffprobe could not read the object as media: it asked for 4294967296 bytes at once, over its limit of 268435456 (exit code 1)',
    });
  });

  it.each([301, 302, 307])('a refused redirect (HTTP %i) is RedirectRefusedError, not transient', (status) => {
    const stderr = stderrOf(
      `[https @ 0x5555c0ffee00] Redirect refused (HTTP ${status}): this build never follows redirects`,
      `${PRESIGNED}: Operation not permitted`,
    );
    const error = classifyProbeFailure(1, stderr, { url: PRESIGNED, memoryBudgetMiB: 768 });
    expect(error.name).toBe('RedirectRefusedError');
    expect(error.message).toBe(
      `the storage endpoint answered the presigned GET with a redirect (HTTP ${status}), which the probe never follows: S3 does not redirect presigned GETs, so the URL names the wrong endpoint (for example another region) or something on the way rewrote the answer`,
    );
  });
});
