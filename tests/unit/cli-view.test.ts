/** What the CLI prints of a row cannot drive the terminal: escape sequences and other control characters in titles, keys and media tags are shown escaped. */
import { marshall } from '@aws-sdk/util-dynamodb';
import { resultsTable } from '../../cli/local-run';
import { formatTable, printable } from '../../cli/table-format';
import { failedRowOf, failedTable, rowReport, statusOf } from '../../cli/view';
import { summariseMedia } from '../../functions/lib/media-summary';
import { fixturesOf } from './helpers/ffprobe-fixtures';

const HOSTILE = 'Agent \u001b]0;owned\u0007\u001b[2J327\r\u202eevil\u0085';
const ESCAPED = 'Agent \\x1b]0;owned\\x07\\x1b[2J327\\x0d\\u202eevil\\x85';
/** Any C0/C1 control or direction override left raw in printed text. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this expression's purpose
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('printable', () => {
  it('writes every control character and direction override as its escape, leaving other text alone', () => {
    expect(printable(HOSTILE)).toBe(ESCAPED);
    expect(printable('line\nbreak\ttab')).toBe('line\\x0abreak\\x09tab');
    expect(printable('Amélie · 東京 🎬')).toBe('Amélie · 東京 🎬');
  });
});

describe('tables and reports', () => {
  const row = {
    movie_id: 7,
    movie_title: HOSTILE,
    S3_bucket: 'b',
    S3_object: `clips/${HOSTILE}.mp4`,
    analysis: { status: 'FAILED', started_at: '2025-01-01T00:00:00Z', error: { step: 'ffprobe', type: 'NotMediaError', message: HOSTILE } },
  };

  it('formatTable escapes every cell and keeps the columns aligned', () => {
    const table = formatTable(
      ['ID', 'TITLE', 'NOTE'],
      [
        ['7', HOSTILE, 'x'],
        ['8', 'plain', 'y'],
      ],
    );
    expect(table).not.toMatch(RAW_CONTROL);
    const [, , first, second] = table.split('\n');
    expect(first.lastIndexOf('x')).toBe(second.lastIndexOf('y'));
  });

  it('the status report of one row escapes its title, object and error', () => {
    const report = rowReport(row, undefined);
    expect(report).not.toMatch(RAW_CONTROL);
    expect(report).toContain(ESCAPED);
  });

  it('the failed-rows listing escapes what it lists', () => {
    expect(failedTable([failedRowOf(marshall(row))])).not.toMatch(RAW_CONTROL);
  });

  it("the local run's results table escapes titles and media tags", () => {
    const media = { format_name: HOSTILE, video: [], audio: [{ codec: 'aac', language: HOSTILE }], subtitles: [] };
    const table = resultsTable([{ movie_id: 7, movie_title: HOSTILE }], {
      items: [{ movie_id: 7, movie_title: HOSTILE, media }],
      outcomes: new Map([['7', 'SUCCEEDED']]),
      complete: true,
    });
    expect(table).not.toMatch(RAW_CONTROL);
    expect(table).toContain(ESCAPED);
  });
});

describe('the status report of a row’s media', () => {
  const succeeded = (media: unknown) => ({
    movie_id: 8,
    movie_title: 'Agent 327',
    S3_bucket: 'b',
    S3_object: 'agent327.mp4',
    analysis: { status: 'SUCCEEDED', started_at: '2025-01-01T00:00:00Z', finished_at: '2025-01-01T00:00:02Z' },
    media,
  });
  const lines = (media: unknown) => rowReport(succeeded(media), 1234).split('\n');

  it('a version 2 summary: one media line with its HDR and warnings, then each finding with its severity and rule', () => {
    const media = summariseMedia(fixturesOf('dolby-vision-p5.mp4')[0].output, { faststart: false });
    expect(lines(media)).toEqual(
      expect.arrayContaining([
        'media         mov,mp4,m4a,3gp,3g2,mj2 · 0.3 s · hevc 128x72 24 fps Dolby Vision · 3 warnings',
        'finding       warning  not_faststart: faststart false: the index (moov) follows the media data (mdat), so playback waits for the end of the file',
        'finding       warning  dolby_vision_profile_5: video stream 0 is Dolby Vision profile 5 (bl_compatibility_id 0): no SDR or HDR10 fallback',
        'finding       warning  no_audio: no audio stream beside 1 video stream',
      ]),
    );
  });

  it('says how many findings the row left out', () => {
    const media = {
      ...summariseMedia({}),
      findings: [{ rule: 'no_audio', severity: 'warning', message: 'no audio' }],
      findings_omitted: 12,
    };
    expect(lines(media).filter((line) => line.startsWith('finding'))).toEqual([
      'finding       warning  no_audio: no audio',
      'finding       … and 12 more',
    ]);
  });

  it('a version 1 summary reads as before, with no findings', () => {
    const media = {
      format_name: 'mp3',
      duration_s: 2,
      video: [],
      audio: [{ codec: 'mp3', channels: 2, sample_rate: 44100 }],
      subtitles: [],
    };
    expect(lines(media)).toContain('media         mp3 · 2.0 s · mp3 2 ch 44100 Hz');
    expect(lines(media).some((line) => line.startsWith('finding'))).toBe(false);
  });
});

describe('a row’s status', () => {
  const analysed = (status: string, object?: { bucket: string; key: string }) => ({
    movie_id: 1,
    S3_bucket: 'media',
    S3_object: 'a.mp4',
    analysis: { status, ...(object ? { object } : {}) },
  });

  it('is its analysis’ outcome while the row points at the object analysed', () => {
    expect(statusOf(analysed('SUCCEEDED', { bucket: 'media', key: 'a.mp4' }))).toBe('SUCCEEDED');
    expect(statusOf(analysed('FAILED', { bucket: 'media', key: 'a.mp4' }))).toBe('FAILED');
    expect(statusOf({ movie_id: 1, S3_bucket: 'media', S3_object: 'a.mp4' })).toBe('NOT_ANALYSED');
  });

  it('is STALE once the row points at another key or bucket than its analysis', () => {
    expect(statusOf(analysed('SUCCEEDED', { bucket: 'media', key: 'b.mp4' }))).toBe('STALE');
    expect(statusOf(analysed('FAILED', { bucket: 'other', key: 'a.mp4' }))).toBe('STALE');
  });

  it('cannot tell for an analysis recorded before analysis.object existed, or one whose presign failed', () => {
    expect(statusOf(analysed('SUCCEEDED'))).toBe('SUCCEEDED');
  });
});
