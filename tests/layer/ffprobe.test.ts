/**
 * The ffprobe layer binaries, per architecture, run alone in an empty root filesystem (arm64 through
 * qemu-user on an x86_64 host): probes the media matrix over HTTP with Range, bare and through
 * confine as the function runs it, refuses inputs that reference other resources and local files,
 * refuses redirects, verifies TLS peers when asked to, keeps a file from forging log lines, and
 * ends a memory bomb within the budget.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { FRAME_PROBE_CODECS } from '../../functions/lib/bitstream-hdr';
import { buildConfineArgs } from '../../functions/lib/ffprobe-command';
import { ffmetadataForgingLines, matroskaInflateBomb } from '../support/hostile-media';
import { FIXTURES, generateFixtures, VIDEO_SIZE } from './support/fixtures';
import { type MediaServer, serveDirectory } from './support/http';
import {
  ARCHES,
  type Arch,
  BUILD_TIMEOUT_MS,
  buildLayer,
  EmptyRoot,
  ensureDebPackages,
  HOST_ARCH,
  parseProbe,
  probeArgs,
  requireRoot,
} from './support/layer';

const PROBE_TIMEOUT_MS = 120_000;
/** The probe function's budget at its 1024 MB (functions/lib/ffprobe-command.ts, ffprobeMemoryBudgetMiB). */
const MEMORY_BUDGET_MIB = 768;
/** Lines a crafted file tries to print as if another component, or ffprobe, had. */
const FORGED_LINES = [
  '[tls @ 0x1] error:0A000086:SSL routines::certificate verify failed',
  'http://127.0.0.1/x: Server returned 404 Not Found',
];

/** confine's arguments for probing `url`, exactly as the function builds them, with the root's /ffprobe. */
const confined = (url: string, caFile?: string): string[] =>
  buildConfineArgs('/ffprobe', url, { caFile, memoryBudgetMiB: MEMORY_BUDGET_MIB });

let work: string;
let media: MediaServer;
/** Holds what the refused inputs point at; it must never see a request. */
let referenced: MediaServer;
let tls: { dir: string; good: MediaServer; wrongName: MediaServer };

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed:\n${r.stderr}`);
}

/** A throwaway CA, a server certificate for media.test/127.0.0.1, one for another name, and an unrelated CA. */
function makeCertificates(dir: string): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca']) {
    openssl(
      [
        'req',
        '-x509',
        ...ec,
        '-keyout',
        `${ca}.key`,
        '-out',
        `${ca}.pem`,
        '-days',
        '2',
        '-subj',
        `/CN=${ca}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign',
      ],
      dir,
    );
  }
  for (const [name, san] of [
    ['good', 'DNS:media.test,IP:127.0.0.1'],
    ['wrong-name', 'DNS:other.test'],
  ]) {
    writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
    openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
    // biome-ignore format: openssl's options stay on one line with their values
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-days', '2', '-out', `${name}.pem`, '-extfile', `${name}.ext`], dir);
  }
}

function deflatedSize(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .reduce((sum, e) => sum + deflateRawSync(readFileSync(path.join(e.parentPath, e.name))).length, 0);
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

beforeAll(async () => {
  requireRoot();
  ensureDebPackages(['ffmpeg', 'qemu-user-static', 'openssl', 'time']);
  work = mkdtempSync(path.join(os.tmpdir(), 'ffprobe-layer-test-'));

  const refDir = path.join(work, 'referenced');
  mkdirSync(refDir);
  const mediaDir = path.join(work, 'media');
  mkdirSync(mediaDir);
  generateFixtures(mediaDir);
  copyFileSync(path.join(mediaDir, 'mpeg2.ts'), path.join(refDir, 'segment.ts'));
  referenced = await serveDirectory(refDir);
  media = await serveDirectory(mediaDir);

  writeFileSync(
    path.join(mediaDir, 'playlist.m3u8'),
    [
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      '#EXT-X-TARGETDURATION:1',
      '#EXT-X-MEDIA-SEQUENCE:0',
      '#EXTINF:1.0,',
      referenced.url('segment.ts'),
      '#EXT-X-ENDLIST',
      '',
    ].join('\n'),
  );
  writeFileSync(path.join(mediaDir, 'list.ffconcat'), `ffconcat version 1.0\nfile ${referenced.url('segment.ts')}\n`);
  writeFileSync(path.join(mediaDir, 'forged-lines.txt'), ffmetadataForgingLines(FORGED_LINES));
  writeFileSync(path.join(mediaDir, 'inflate-bomb.mkv'), matroskaInflateBomb());
  for (const status of [301, 302, 307]) media.redirect(`moved-${status}.ts`, status, referenced.url('segment.ts'));

  const tlsDir = path.join(work, 'tls');
  mkdirSync(tlsDir);
  makeCertificates(tlsDir);
  writeFileSync(path.join(tlsDir, 'hosts'), '127.0.0.1 media.test\n');
  const pem = (name: string) => readFileSync(path.join(tlsDir, name), 'utf8');
  tls = {
    dir: tlsDir,
    good: await serveDirectory(mediaDir, { key: pem('good.key'), cert: pem('good.pem'), host: 'media.test' }),
    wrongName: await serveDirectory(mediaDir, { key: pem('wrong-name.key'), cert: pem('wrong-name.pem'), host: 'media.test' }),
  };
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all([media, referenced, tls?.good, tls?.wrongName].filter(Boolean).map((s) => s.close()));
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.each(ARCHES)('ffprobe layer (%s)', (arch: Arch) => {
  let layerRoot: string;
  let root: EmptyRoot;

  beforeAll(() => {
    requireRoot();
    ({ layerRoot } = buildLayer(arch));
    root = new EmptyRoot(arch, layerRoot);
  }, BUILD_TIMEOUT_MS);

  afterAll(() => root?.remove());

  test(
    'runs from an empty root; reports layer size and a cold-start proxy',
    async () => {
      const runs = [];
      for (let i = 0; i < 5; i++) runs.push(await root.run(['-hide_banner', '-version']));
      for (const r of runs) {
        expect(r).toMatchObject({ code: 0, signal: null });
        expect(r.stdout).toMatch(/^ffprobe version 7\.1\.\d+/);
      }
      const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
      const binary = statSync(path.join(layerRoot, 'bin', 'ffprobe')).size;
      console.log(
        `[ffprobe layer ${arch}] bin/ffprobe ${mib(binary)}, layer deflated ≈ ${mib(deflatedSize(layerRoot))}; ` +
          `'ffprobe -version' first ${runs[0].ms.toFixed(0)} ms, median ${ms[2].toFixed(0)} ms` +
          (root.arch === (os.arch() === 'arm64' ? 'arm64' : 'x86_64') ? '' : ' (under qemu-user)'),
      );
    },
    PROBE_TIMEOUT_MS,
  );

  test(
    'offers only http/https/tcp/tls and no demuxer that follows references',
    async () => {
      const protocols = await root.run(['-hide_banner', '-protocols']);
      expect(protocols.code).toBe(0);
      const input = protocols.stdout
        .split(/Input:|Output:/)[1]
        .trim()
        .split(/\s+/)
        .sort();
      expect(input).toEqual(['http', 'https', 'tcp', 'tls']);

      const demuxers = await root.run(['-hide_banner', '-demuxers']);
      expect(demuxers.code).toBe(0);
      const names = new Set(demuxers.stdout.split('\n').flatMap((l) => /^ D.\s+(\S+)/.exec(l)?.[1].split(',') ?? []));
      for (const needed of [
        'mov',
        'mp4',
        'matroska',
        'webm',
        'mpegts',
        'mpeg',
        'avi',
        'mxf',
        'mp3',
        'aac',
        'flac',
        'wav',
        'ogg',
        'png_pipe',
        // New in FFmpeg 6 and 7: VVC, IAMF and AC-4 elementary streams (in MP4 and MPEG-TS too).
        'vvc',
        'iamf',
        'ac4',
      ]) {
        expect(names).toContain(needed);
      }
      for (const refused of ['hls', 'dash', 'concat', 'imf', 'image2', 'mlv', 'vobsub', 'sdp', 'rtsp', 'rtp', 'sap', 'dvdvideo']) {
        expect(names).not.toContain(refused);
      }
    },
    PROBE_TIMEOUT_MS,
  );

  test(
    'has a decoder for every codec whose first frames the ffprobe step reads for HDR10+ and Dolby Vision',
    async () => {
      const decoders = await root.run(['-hide_banner', '-decoders']);
      expect(decoders.code).toBe(0);
      const names = new Set(decoders.stdout.split('\n').flatMap((l) => /^ V\S{5} (\S+)/.exec(l)?.[1] ?? []));
      for (const codec of FRAME_PROBE_CODECS) expect(names).toContain(codec);
      // The reason AV1 is not in the list: no software decoder (docs/ffprobe-layer.md, "AV1 and libdav1d").
      expect(names).not.toContain('libdav1d');
    },
    PROBE_TIMEOUT_MS,
  );

  test.each(FIXTURES)(
    'probes $file over HTTP',
    async (fixture) => {
      const r = await root.run(probeArgs(media.url(fixture.file)), PROBE_TIMEOUT_MS);
      expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
      const probe = parseProbe(r.stdout);
      expect(probe.format?.format_name?.split(',')).toContain(fixture.format);
      const streams = probe.streams ?? [];
      if (fixture.video) {
        expect(streams).toContainEqual(expect.objectContaining({ codec_type: 'video', codec_name: fixture.video, ...VIDEO_SIZE }));
      }
      if (fixture.audio) {
        expect(streams).toContainEqual(expect.objectContaining({ codec_type: 'audio', codec_name: fixture.audio, sample_rate: '48000' }));
      }
    },
    PROBE_TIMEOUT_MS,
  );

  test(
    'reads an MP4 with the moov at the end through ranged requests',
    async () => {
      const before = media.requests.length;
      const r = await root.run(probeArgs(media.url('moov-last.mp4')), PROBE_TIMEOUT_MS);
      expect(r.code).toBe(0);
      const ranges = media.requests.slice(before).map((q) => q.range);
      expect(ranges.some((range) => range !== undefined && !/^bytes=0-/.test(range))).toBe(true);
    },
    PROBE_TIMEOUT_MS,
  );

  test.each([
    ['an HLS playlist', 'playlist.m3u8', 'hls'],
    ['an ffconcat script', 'list.ffconcat', 'concat'],
  ])(
    'does not follow %s',
    async (_what, file, demuxer) => {
      const before = media.requests.length;
      const probed = await root.run(probeArgs(media.url(file)), PROBE_TIMEOUT_MS);
      expect(probed.signal).toBeNull();
      expect(media.requests.slice(before).map((q) => q.path)).toContain(`/${file}`);
      expect(probed.code).not.toBe(0);
      expect(parseProbe(probed.stdout).streams ?? []).toEqual([]);

      const forced = await root.run(probeArgs(media.url(file), ['-f', demuxer]), PROBE_TIMEOUT_MS);
      expect(forced.code).not.toBe(0);
      expect(forced.stderr).toContain(`Unknown input format: ${demuxer}`);
      expect(referenced.requests).toEqual([]);
    },
    PROBE_TIMEOUT_MS,
  );

  test(
    'refuses local files and URL-wrapping protocols',
    async () => {
      const wav = path.join(work, 'media', 'tone.wav');
      const withFile = new EmptyRoot(arch, layerRoot, { '/untrusted/tone.wav': wav });
      try {
        for (const url of [
          'file:/untrusted/tone.wav',
          '/untrusted/tone.wav',
          `concat:${referenced.url('segment.ts')}`,
          `subfile:,,start,0,end,0,,:${referenced.url('segment.ts')}`,
        ]) {
          const r = await withFile.run(probeArgs(url), PROBE_TIMEOUT_MS);
          expect({ url, code: r.code, signal: r.signal }).toEqual({ url, code: 1, signal: null });
          expect(r.stderr).toContain('Protocol not found');
          expect(parseProbe(r.stdout).streams).toBeUndefined();
        }
        expect(referenced.requests).toEqual([]);
      } finally {
        withFile.remove();
      }
    },
    PROBE_TIMEOUT_MS,
  );

  test(
    'probes the media matrix through confine, with the arguments the function gives it',
    async () => {
      for (const fixture of FIXTURES) {
        const r = await root.runConfined(confined(media.url(fixture.file)), PROBE_TIMEOUT_MS);
        expect({ file: fixture.file, code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({
          file: fixture.file,
          code: 0,
          signal: null,
          stderr: '',
        });
        expect(parseProbe(r.stdout).format?.format_name?.split(',')).toContain(fixture.format);
      }
    },
    FIXTURES.length * PROBE_TIMEOUT_MS,
  );

  test.each([301, 302, 307])(
    'refuses an HTTP %i redirect to another port, and says so',
    async (status) => {
      const url = media.url(`moved-${status}.ts`);
      const r = await root.run(probeArgs(url), PROBE_TIMEOUT_MS);
      expect({ code: r.code, signal: r.signal }).toEqual({ code: 1, signal: null });
      expect(r.stderr).toMatch(new RegExp(`^\\[http @ 0x[0-9a-f]+\\] Redirect refused \\(HTTP ${status}\\)`, 'm'));
      expect(r.stderr.trim().split('\n').at(-1)).toBe(`${url}: Operation not permitted`);
      expect(referenced.requests).toEqual([]);
    },
    PROBE_TIMEOUT_MS,
  );

  test(
    'keeps each log message on one line, so text a file echoes cannot start a line of its own',
    async () => {
      const url = media.url('forged-lines.txt');
      const r = await root.run(probeArgs(url), PROBE_TIMEOUT_MS);
      expect({ code: r.code, signal: r.signal }).toEqual({ code: 1, signal: null });
      const lines = r.stderr.trim().split('\n');
      // The forged text is still printed, inside the demuxer's own line, which says who logged it.
      expect(lines.filter((line) => FORGED_LINES.some((forged) => line.includes(forged)))).toHaveLength(2);
      expect(lines.filter((line) => !/^\[ffmetadata @ 0x[0-9a-f]+\] /.test(line))).toEqual([`${url}: Cannot allocate memory`]);
    },
    PROBE_TIMEOUT_MS,
  );

  // qemu-user accepts RLIMIT_AS but does not apply it (it would starve qemu itself), so the
  // emulated architecture cannot show the limit; on its own hardware it is the same confine.
  (arch === HOST_ARCH ? test : test.skip)(
    'ends a Matroska inflate bomb within the memory budget, saying the allocator ran out',
    async () => {
      const url = media.url('inflate-bomb.mkv');
      const r = await root.runConfined(confined(url), PROBE_TIMEOUT_MS);
      expect({ code: r.code, signal: r.signal }).toEqual({ code: 1, signal: null });
      expect(r.stderr).toMatch(/^Out of memory: the system refused an allocation of \d+ bytes$/m);
      expect(r.stderr.trim().split('\n').at(-1)).toBe(`${url}: Cannot allocate memory`);
      expect(r.peakRssKiB).toBeLessThanOrEqual(MEMORY_BUDGET_MIB * 1024);
      console.log(
        `[ffprobe layer ${arch}] inflate bomb (${mib(matroskaInflateBomb().length)}) under confine --memory-mib ${MEMORY_BUDGET_MIB}: ` +
          `exit ${r.code} after ${(r.ms / 1000).toFixed(1)} s, peak RSS ${mib((r.peakRssKiB ?? 0) * 1024)}`,
      );
    },
    PROBE_TIMEOUT_MS,
  );

  describe('https', () => {
    let tlsRoot: EmptyRoot;
    const verify = (ca: string) => ['-tls_verify', '1', '-ca_file', ca];

    beforeAll(() => {
      // /etc/hosts stands in for DNS so the certificate's host name can be checked.
      tlsRoot = new EmptyRoot(arch, layerRoot, {
        '/etc/hosts': path.join(tls.dir, 'hosts'),
        '/ca.pem': path.join(tls.dir, 'ca.pem'),
        '/other-ca.pem': path.join(tls.dir, 'other-ca.pem'),
      });
    });

    afterAll(() => tlsRoot?.remove());

    test.each([
      ['a host name', () => tls.good.url('tone.wav')],
      ['an IP address', () => `https://127.0.0.1:${tls.good.port}/tone.wav`],
    ])(
      'probes over verified TLS by %s',
      async (_what, url) => {
        const r = await tlsRoot.run(probeArgs(url(), verify('/ca.pem')), PROBE_TIMEOUT_MS);
        expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
        expect(parseProbe(r.stdout).streams).toContainEqual(expect.objectContaining({ codec_name: 'pcm_s16le' }));
      },
      PROBE_TIMEOUT_MS,
    );

    test(
      'probes over verified TLS through confine, which lets ffprobe read the CA bundle and /etc/hosts',
      async () => {
        const r = await tlsRoot.runConfined(confined(tls.good.url('tone.wav'), '/ca.pem'), PROBE_TIMEOUT_MS);
        expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
        expect(parseProbe(r.stdout).streams).toContainEqual(expect.objectContaining({ codec_name: 'pcm_s16le' }));
      },
      PROBE_TIMEOUT_MS,
    );

    test(
      'refuses an https answer that redirects to plain http',
      async () => {
        tls.good.redirect('downgrade.ts', 302, referenced.url('segment.ts'));
        const r = await tlsRoot.run(probeArgs(tls.good.url('downgrade.ts'), verify('/ca.pem')), PROBE_TIMEOUT_MS);
        expect({ code: r.code, signal: r.signal }).toEqual({ code: 1, signal: null });
        expect(r.stderr).toMatch(/^\[https @ 0x[0-9a-f]+\] Redirect refused \(HTTP 302\)/m);
        expect(referenced.requests).toEqual([]);
      },
      PROBE_TIMEOUT_MS,
    );

    test.each([
      ['a certificate for another host name', () => tls.wrongName.url('tone.wav'), '/ca.pem'],
      ['a certificate from an untrusted CA', () => tls.good.url('tone.wav'), '/other-ca.pem'],
    ])(
      'rejects %s',
      async (_what, url, ca) => {
        const r = await tlsRoot.run(probeArgs(url(), verify(ca)), PROBE_TIMEOUT_MS);
        expect(r.signal).toBeNull();
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/certificate verify failed/);
        expect(parseProbe(r.stdout).streams).toBeUndefined();
      },
      PROBE_TIMEOUT_MS,
    );
  });
});
