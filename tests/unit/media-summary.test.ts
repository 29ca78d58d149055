/** The typed `media` summary of realistic ffprobe documents, and its one-line description. */
import type { FfprobeOutput } from '../../functions/lib/ffprobe-command';
import { describeMedia, type MediaSummary, parseFrameRate, summariseMedia } from '../../functions/lib/media-summary';
import mkv from './fixtures/mkv-subtitles.json';
import mp3 from './fixtures/mp3-cover-art.json';
import mp4 from './fixtures/mp4-h264-aac.json';
import unknown from './fixtures/unknown-values.json';

const summary = (doc: unknown) => summariseMedia(doc as FfprobeOutput);

describe('summariseMedia', () => {
  it('summarises an MP4 with H.264 video and AAC audio', () => {
    expect(summary(mp4)).toStrictEqual({
      format_name: 'mov,mp4,m4a,3gp,3g2,mj2',
      duration_s: 12.5125,
      size_bytes: 7996651,
      bit_rate: 5112805,
      video: [{ codec: 'h264', width: 1920, height: 1080, frame_rate: 29.97, pix_fmt: 'yuv420p', profile: 'High' }],
      audio: [{ codec: 'aac', channels: 2, sample_rate: 48000, language: 'eng' }],
      subtitles: [],
    });
  });

  it('summarises an MKV: languages kept, "und" left out, attachments ignored', () => {
    const media = summary(mkv);
    expect(media).toStrictEqual({
      format_name: 'matroska,webm',
      duration_s: 5832.077,
      size_bytes: 15032385536,
      bit_rate: 20620436,
      video: [{ codec: 'hevc', width: 3840, height: 1608, frame_rate: 23.976, pix_fmt: 'yuv420p10le', profile: 'Main 10' }],
      audio: [
        { codec: 'eac3', channels: 6, sample_rate: 48000, language: 'fre' },
        { codec: 'opus', channels: 2, sample_rate: 48000 },
      ],
      subtitles: [{ codec: 'subrip', language: 'fre' }, { codec: 'hdmv_pgs_subtitle' }],
    });
    expect(media.audio[1]).not.toHaveProperty('language');
    expect(media.subtitles[1]).not.toHaveProperty('language');
  });

  it('does not count MP3 cover art (attached_pic) as video', () => {
    expect(summary(mp3)).toStrictEqual({
      format_name: 'mp3',
      duration_s: 214.569796,
      size_bytes: 8634514,
      bit_rate: 321925,
      video: [],
      audio: [{ codec: 'mp3', channels: 2, sample_rate: 44100 }],
      subtitles: [],
    });
  });

  it('leaves out every value ffprobe did not know ("N/A", "0/0", 0, "unknown", empty), rather than storing undefined', () => {
    const media = summary(unknown);
    expect(media).toStrictEqual({ format_name: 'mpegts', video: [{ codec: 'mpeg2video' }], audio: [{}], subtitles: [] });
    for (const key of ['duration_s', 'size_bytes', 'bit_rate']) expect(media).not.toHaveProperty(key);
    for (const key of ['width', 'height', 'frame_rate', 'pix_fmt', 'profile']) expect(media.video[0]).not.toHaveProperty(key);
    for (const key of ['codec', 'channels', 'sample_rate', 'language']) expect(media.audio[0]).not.toHaveProperty(key);
    expect(Object.values(media).some((v) => v === undefined)).toBe(false);
  });

  it('falls back to r_frame_rate when avg_frame_rate is unknown', () => {
    const media = summary({
      streams: [{ codec_type: 'video', codec_name: 'vp9', avg_frame_rate: '0/0', r_frame_rate: '25/1' }],
      format: {},
    });
    expect(media.video).toStrictEqual([{ codec: 'vp9', frame_rate: 25 }]);
  });

  it('accepts numbers as numbers as well as strings, and an empty document', () => {
    const media = summary({
      streams: [{ codec_type: 'audio', sample_rate: 22050, channels: '1' }],
      format: { duration: 3.5, size: 'garbage' },
    });
    expect(media).toStrictEqual({ duration_s: 3.5, video: [], audio: [{ channels: 1, sample_rate: 22050 }], subtitles: [] });
    expect(summariseMedia({})).toStrictEqual({ video: [], audio: [], subtitles: [] });
  });
});

describe('summariseMedia on hostile files', () => {
  it('cuts every string it copies to 256 characters, marking the cut, so a tag cannot fill a row or a state', () => {
    const hostile = {
      ...mp4,
      streams: mp4.streams.map((s) => ({ ...s, profile: 'p'.repeat(300_000), tags: { language: 'l'.repeat(300_000) } })),
    };
    const summary = summariseMedia(hostile as FfprobeOutput);
    expect(summary.video[0].profile).toBe(`${'p'.repeat(255)}…`);
    expect(summary.audio[0].language).toBe(`${'l'.repeat(255)}…`);
    expect(JSON.stringify(summary).length).toBeLessThan(2_000);
  });

  it('keeps a string of exactly 256 characters whole', () => {
    const exact = { ...mp4, format: { ...mp4.format, format_name: 'f'.repeat(256) } };
    expect(summariseMedia(exact as FfprobeOutput).format_name).toBe('f'.repeat(256));
  });
});

describe('parseFrameRate', () => {
  it.each([
    ['30000/1001', 29.97],
    ['24000/1001', 23.976],
    ['25/1', 25],
    ['60000/1001', 59.94],
    ['0/0', undefined],
    ['25/0', undefined],
    ['N/A', undefined],
    ['', undefined],
    [25, undefined],
    [undefined, undefined],
  ])('%j → %j', (value, expected) => {
    expect(parseFrameRate(value)).toBe(expected);
  });
});

describe('describeMedia', () => {
  it('describes a film in one line', () => {
    expect(describeMedia(summary(mp4))).toBe('mov,mp4,m4a,3gp,3g2,mj2 · 12.5 s · h264 1920x1080 29.97 fps · aac 2 ch 48000 Hz eng');
  });

  it('counts subtitle streams and lists every audio stream', () => {
    expect(describeMedia(summary(mkv))).toBe(
      'matroska,webm · 5832.1 s · hevc 3840x1608 23.976 fps · eac3 6 ch 48000 Hz fre · opus 2 ch 48000 Hz · 2 subtitle streams',
    );
    const oneSubtitle: MediaSummary = { video: [], audio: [], subtitles: [{ codec: 'webvtt' }] };
    expect(describeMedia(oneSubtitle)).toBe('1 subtitle stream');
  });

  it('says nothing it does not know', () => {
    expect(describeMedia(summary(mp3))).toBe('mp3 · 214.6 s · mp3 2 ch 44100 Hz');
  });

  it('leaves no empty part for a stream it knows nothing about', () => {
    const parts = describeMedia(summary(unknown)).split(' · ');
    expect(parts.slice(0, 2)).toEqual(['mpegts', 'mpeg2video']);
    expect(parts.filter((part) => part.trim() === '')).toEqual([]);
  });
});
