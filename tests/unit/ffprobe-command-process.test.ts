/** runFfprobe's process handling, against `#!/bin/sh` stand-ins for ffprobe: arguments, environment, timeout, cap, signals. */
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { setTimeout } from 'node:timers/promises';
import { runFfprobe } from '../../functions/lib/ffprobe-command';
import { FakeFfprobeDir, URL_ARGUMENT } from './helpers/fake-ffprobe';

const URL_WITH_METACHARACTERS = 'https://example-media-bucket.s3.amazonaws.com/a;b$(touch%20pwned)`id`|c&d\'e"f.mp4?X-Amz-Signature=abc';
const MEDIA_JSON = JSON.stringify({
  streams: [{ index: 0, codec_type: 'audio', codec_name: 'mp3', sample_rate: '44100', channels: 1 }],
  format: { filename: 'x', format_name: 'mp3', duration: '2.037551', size: '17317' },
});
const limits = { timeoutMs: 10_000, maxOutputBytes: 1024 * 1024, caFile: '/etc/ssl/certs/ca-certificates.crt', memoryBudgetMiB: 768 };

/**
 * True while a process with this id exists and is not a zombie: one killed with its process group
 * after its parent died waits for an init that may never reap it (a container's often doesn't).
 */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const state = /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  return state !== 'Z';
}

/** What `look` returns once it reports nothing running any more, or after a second: a killed process takes a moment to go. */
async function whenSettled<T>(look: () => T): Promise<T> {
  const settled = (value: T) => (Array.isArray(value) ? value.length === 0 : value === false);
  for (let waited = 0; waited < 1000 && !settled(look()); waited += 20) await setTimeout(20);
  return look();
}

describe('runFfprobe', () => {
  let fake: FakeFfprobeDir;
  beforeEach(() => {
    fake = new FakeFfprobeDir();
  });
  afterEach(() => fake.remove());

  it('returns the parsed output and the compact JSON of streams, format, chapters and programs', async () => {
    const chapters = [{ id: 1, start_time: '0.000000', end_time: '1.000000', tags: { title: 'Opening' } }];
    const programs = [{ program_id: 1, program_num: 1, nb_streams: 1, tags: { service_name: 'Channel One' }, streams: [] }];
    // In ffprobe's own order: programs, streams, chapters, format.
    const printed = { programs, ...JSON.parse(MEDIA_JSON), chapters };
    const script = fake.printing('ffprobe', `${JSON.stringify(printed, null, 2)}\n`);
    const result = await runFfprobe(script, 'https://b.example/x.mp3', limits);
    const { filename: _inputUrl, ...formatWithoutUrl } = JSON.parse(MEDIA_JSON).format;
    expect(result.output.format).toEqual(formatWithoutUrl);
    expect(result.json).toBe(JSON.stringify({ streams: JSON.parse(MEDIA_JSON).streams, format: formatWithoutUrl, chapters, programs }));
  });

  it('stores empty chapter and program lists when ffprobe printed none', async () => {
    const script = fake.printing('ffprobe', MEDIA_JSON);
    const result = await runFfprobe(script, 'https://b.example/x.mp3', limits);
    expect(JSON.parse(result.json)).toMatchObject({ chapters: [], programs: [] });
  });

  it('keeps the URL ffprobe reports as format.filename out of the JSON it returns for storage', async () => {
    const url = 'https://b.example/x.mp3?X-Amz-Security-Token=unit-test-token&X-Amz-Signature=0123abcd';
    const script = fake.reportingUrl('ffprobe', JSON.parse(MEDIA_JSON));
    const result = await runFfprobe(script, url, limits);
    expect(result.json).not.toContain('X-Amz-Signature');
    expect(result.json).not.toContain('unit-test-token');
  });

  it('passes the argument array verbatim, the URL as one argument, without a shell', async () => {
    const args = fake.path('args');
    const marker = fake.path('pwned');
    const script = fake.script('ffprobe', `for a in "$@"; do printf '%s\\n' "$a"; done > '${args}'\nprintf '%s' '${MEDIA_JSON}'`);
    await runFfprobe(script, URL_WITH_METACHARACTERS, limits);
    const received = readFileSync(args, 'utf8').split('\n').slice(0, -1);
    expect(received.at(-1)).toBe(URL_WITH_METACHARACTERS);
    expect(received.at(-2)).toBe('-i');
    expect(received).toContain('https,tls,tcp');
    expect(existsSync(marker)).toBe(false);
  });

  it('runs ffprobe without the AWS credentials of the function', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'ASIAUNITTESTKEY',
      AWS_SECRET_ACCESS_KEY: 'unit-test-secret-key',
      AWS_SESSION_TOKEN: 'unit-test-session-token',
      AWS_REGION: 'us-east-1',
    });
    try {
      const envFile = fake.path('env');
      const script = fake.script('ffprobe', `/usr/bin/env > '${envFile}'\nprintf '%s' '${MEDIA_JSON}'`);
      await runFfprobe(script, 'https://b.example/x.mp3', limits);
      const env = readFileSync(envFile, 'utf8');
      expect(env).toContain('LC_ALL=C');
      expect(env).not.toMatch(/^AWS_/m);
      expect(env).not.toMatch(/unit-test|ASIAUNITTESTKEY/);
    } finally {
      process.env = saved;
    }
  });

  it('kills ffprobe when it runs past the timeout and reports ProbeTimeoutError', async () => {
    const pidFile = fake.path('pid');
    const script = fake.script('ffprobe', `echo $$ > '${pidFile}'\nexec /bin/sleep 30`);
    const started = Date.now();
    await expect(runFfprobe(script, 'https://b.example/x.mp4', { ...limits, timeoutMs: 300 })).rejects.toMatchObject({
      name: 'ProbeTimeoutError',
      message: expect.stringMatching(/^ffprobe did not finish within /),
    });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(isRunning(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
  });

  it('kills ffprobe when its output passes the cap and reports ProbeOutputTooLargeError', async () => {
    const pidFile = fake.path('pid');
    const script = fake.script('ffprobe', `echo $$ > '${pidFile}'\nexec /usr/bin/yes '{"streams":[{"codec_type":"video"}]}'`);
    await expect(runFfprobe(script, 'https://b.example/x.mp4', { ...limits, maxOutputBytes: 65_536 })).rejects.toMatchObject({
      name: 'ProbeOutputTooLargeError',
      message: "ffprobe's output exceeded 65536 bytes",
    });
    expect(isRunning(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
  });

  it('reports ProbeCrashedError with the signal when ffprobe dies on one, without the URL', async () => {
    const script = fake.script('ffprobe', `echo "${13}: decoding went wrong" >&2\nkill -SEGV $$`);
    const run = runFfprobe(script, 'https://b.example/x.mp4?X-Amz-Signature=secret', limits);
    await expect(run).rejects.toMatchObject({ name: 'ProbeCrashedError' });
    const error = (await run.catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/^ffprobe crashed with SIGSEGV: /);
    expect(error.message).not.toContain('X-Amz-Signature');
  });

  it('classifies a non-zero exit by what ffprobe printed', async () => {
    const script = fake.script('ffprobe', `printf '{\\n\\n}\\n'\n${URL_ARGUMENT}\necho "$url: Server returned 404 Not Found" >&2\nexit 1`);
    await expect(runFfprobe(script, 'https://b.example/gone.mp4', limits)).rejects.toMatchObject({ name: 'ObjectNotFoundError' });
  });

  it('rejects a successful run whose output is not media', async () => {
    const script = fake.printing(
      'ffprobe',
      JSON.stringify({ streams: [{ codec_type: 'data' }], format: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2' } }),
    );
    await expect(runFfprobe(script, 'https://b.example/x.mp4', limits)).rejects.toMatchObject({ name: 'NotMediaError' });
  });

  it('says clearly when the binary is missing', async () => {
    await expect(runFfprobe(fake.path('no-such-ffprobe'), 'https://b.example/x.mp4', limits)).rejects.toThrow(
      'ffprobe could not be started (ENOENT)',
    );
  });

  it('says clearly when the binary is not executable', async () => {
    const script = fake.script('ffprobe', 'exit 0');
    chmodSync(script, 0o644);
    await expect(runFfprobe(script, 'https://b.example/x.mp4', limits)).rejects.toThrow('ffprobe could not be started (EACCES)');
  });

  it('refuses a file: URL before starting anything', async () => {
    const ran = fake.path('ran');
    const script = fake.script('ffprobe', `: > '${ran}'`);
    await expect(Promise.resolve().then(() => runFfprobe(script, 'file:///etc/passwd', limits))).rejects.toThrow(
      /refusing to probe a file: URL/,
    );
    expect(existsSync(ran)).toBe(false);
  });
});

describe('runFfprobe through confine', () => {
  let fake: FakeFfprobeDir;
  beforeEach(() => {
    fake = new FakeFfprobeDir();
  });
  afterEach(() => fake.remove());

  it('runs ffprobe through the layer confine beside it, with the memory budget, the files it reads and the ports it may connect to', async () => {
    const script = fake.printing('ffprobe', MEDIA_JSON);
    await runFfprobe(script, 'https://b.example:8443/x.mp3', limits);
    expect(fake.confineOptions()).toEqual([
      '--memory-mib',
      '768',
      '--read',
      '/etc/hosts',
      '--read',
      '/etc/resolv.conf',
      '--read',
      '/etc/nsswitch.conf',
      '--read',
      '/etc/host.conf',
      '--read',
      '/etc/gai.conf',
      '--read',
      limits.caFile,
      '--connect-port',
      '8443',
      '--connect-port',
      '53',
    ]);
  });

  it('connects to the default port of the scheme, and reads no CA bundle for http', async () => {
    const script = fake.printing('ffprobe', MEDIA_JSON);
    await runFfprobe(script, 'http://127.0.0.1/x.mp3', limits);
    const options = fake.confineOptions();
    expect(options).not.toContain(limits.caFile);
    expect(options.slice(-4)).toEqual(['--connect-port', '80', '--connect-port', '53']);
  });

  it.each([
    ['the timeout', { timeoutMs: 300 }, 'ProbeTimeoutError', 'exec /bin/sleep 30'],
    ['the output cap', { maxOutputBytes: 65_536 }, 'ProbeOutputTooLargeError', `exec /usr/bin/yes '{"streams":[]}'`],
  ])('kills ffprobe and everything it started (its process group) at %s', async (_what, overrides, name, last) => {
    const pids = fake.path('pids');
    const script = fake.script('ffprobe', `/bin/sleep 30 > /dev/null 2>&1 &\necho $! >> '${pids}'\necho $$ >> '${pids}'\n${last}`);
    await expect(runFfprobe(script, 'https://b.example/x.mp4', { ...limits, ...overrides })).rejects.toMatchObject({ name });
    const started = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    expect(started).toHaveLength(2);
    expect(await whenSettled(() => started.filter(isRunning))).toEqual([]);
  });

  it('kills what ffprobe left behind in its process group when it exits', async () => {
    const pids = fake.path('pids');
    const script = fake.script('ffprobe', `/bin/sleep 30 > /dev/null 2>&1 &\necho $! > '${pids}'\nprintf '%s' '${MEDIA_JSON}'`);
    await runFfprobe(script, 'https://b.example/x.mp3', limits);
    const leftover = Number(readFileSync(pids, 'utf8'));
    expect(await whenSettled(() => isRunning(leftover))).toBe(false);
  });

  it('classifies by the end of stderr, however much ffprobe printed before it', async () => {
    const url = 'https://b.example/gone.mp4';
    const noise = '[matroska,webm @ 0x555586ff13c0] Unknown entry 0x1234 at pos. 4096'.padEnd(99, '.');
    const script = fake.script(
      'ffprobe',
      `i=0\nwhile [ $i -lt 2000 ]; do echo '${noise}' >&2; i=$((i+1)); done\necho "${url}: Server returned 404 Not Found" >&2\nexit 1`,
    );
    await expect(runFfprobe(script, url, limits)).rejects.toMatchObject({ name: 'ObjectNotFoundError' });
  });

  it('reports a signal after a spent memory budget as NotMediaError, not as a crash', async () => {
    const script = fake.script('ffprobe', `echo 'Out of memory: the system refused an allocation of 81788928 bytes' >&2\nkill -SEGV $$`);
    await expect(runFfprobe(script, 'https://b.example/x.mkv', limits)).rejects.toMatchObject({
      name: 'NotMediaError',
      message: 'ffprobe could not read the object as media: it ran out of its memory budget (768 MiB)',
    });
  });

  it('says clearly when confine itself refuses to start ffprobe', async () => {
    fake.script('confine', `echo 'confine: landlock: cannot restrict itself: Invalid argument' >&2\nexit 125`);
    const script = fake.printing('ffprobe', MEDIA_JSON);
    await expect(runFfprobe(script, 'https://b.example/x.mp3', limits)).rejects.toThrow(
      'ffprobe could not be started: confine: landlock: cannot restrict itself: Invalid argument',
    );
  });
});
