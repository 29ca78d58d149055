/**
 * The local pipe's filter on the real event-ruler helper (a JVM): the template's own filter on the
 * events/ samples, operators that only the real engine gets right on the stream's wire format,
 * an invalid pattern, batches answered in order, and that no helper outlives its owner.
 */

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventFilter, InvalidFilterPatternError } from '../../local/pipe/event-filter';
import { localTemplate } from '../../local/template';

// The first run on a machine also downloads event-ruler from Maven Central and compiles the helper.
jest.setTimeout(300_000);

const ROOT = path.resolve(__dirname, '../..');

type Json = Record<string, any>;
const readEvent = (name: string): Json => JSON.parse(readFileSync(path.join(ROOT, 'events', name), 'utf8'));

const insert = readEvent('stream-insert.json');
const modify = readEvent('stream-modify.json');
/** What a delete of the same row looks like: OldImage only. */
const remove: Json = (() => {
  const { NewImage: _newImage, ...dynamodb } = modify.dynamodb;
  return {
    ...modify,
    eventID: '0f1e2d3c4b5a49687766554433221100',
    eventName: 'REMOVE',
    dynamodb: { ...dynamodb, SequenceNumber: '1201800000000012345680123' },
  };
})();
const samples = [insert, modify, remove];

/** Which of the records pass these filters, asked of a helper started for them. */
async function passing(patterns: Array<object | string>, records: Json[] = samples): Promise<boolean[]> {
  const filter = await EventFilter.start({ patterns: patterns.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))) });
  try {
    return await filter.matches(records);
  } finally {
    await filter.stop();
  }
}

/** events/stream-modify.json without its analysis: a row replaced with PutItem, or whose analysis was removed. */
const replaced: Json = (() => {
  const { analysis: _analysis, media: _media, ffprobe_output: _output, ...image } = modify.dynamodb.NewImage;
  return { ...modify, eventID: '1f1e2d3c4b5a49687766554433221100', dynamodb: { ...modify.dynamodb, NewImage: image } };
})();
/** The same replacement without S3_object: nothing to analyse, and no analysis to loop on. */
const replacedWithoutObject: Json = (() => {
  const { S3_object: _object, ...image } = replaced.dynamodb.NewImage;
  return { ...replaced, dynamodb: { ...replaced.dynamodb, NewImage: image } };
})();

describe("the template's filter", () => {
  const { filterPatterns } = localTemplate(path.join(ROOT, 'template.yaml')).pipe;

  it('keeps events/stream-insert.json and drops events/stream-modify.json (the pipeline’s own write, carrying the analysis) and a REMOVE', async () => {
    expect(modify.dynamodb.NewImage.analysis.M.status.S).toBeDefined();
    expect(await passing(filterPatterns)).toEqual([true, false, false]);
  });

  it('keeps a MODIFY whose new image has S3 attributes and no analysis, and drops one without S3_object', async () => {
    expect(await passing(filterPatterns, [replaced, replacedWithoutObject])).toEqual([true, false]);
  });
});

describe('event-ruler on the stream wire format', () => {
  it('exists: false tests a DynamoDB type leaf; an attribute itself is no leaf, so exists: false matches it anyway', async () => {
    // The pipeline's own MODIFY carries the analysis; an INSERT does not, and a REMOVE has no NewImage at all.
    expect(await passing([{ dynamodb: { NewImage: { analysis: { M: { status: { S: [{ exists: false }] } } } } } }])).toEqual([
      true,
      false,
      true,
    ]);
    expect(await passing([{ dynamodb: { NewImage: { analysis: [{ exists: false }] } } }])).toEqual([true, true, true]);
    expect(await passing([{ dynamodb: { NewImage: { S3_object: [{ exists: true }] } } }])).toEqual([false, false, false]);
  });

  it('prefix matches a string leaf', async () => {
    expect(await passing([{ dynamodb: { NewImage: { S3_object: { S: [{ prefix: 'trailers/' }] } } } }])).toEqual([true, true, false]);
  });

  it('numeric matches JSON numbers, never the strings DynamoDB numbers travel as', async () => {
    expect(await passing([{ dynamodb: { ApproximateCreationDateTime: [{ numeric: ['<', 1735732805] }] } }])).toEqual([true, false, false]);
    expect(await passing([{ dynamodb: { Keys: { movie_id: { N: [{ numeric: ['=', 1337] }] } } } }])).toEqual([false, false, false]);
    expect(await passing([{ dynamodb: { Keys: { movie_id: { N: ['1337'] } } } }])).toEqual([true, true, true]);
  });

  it('anything-but', async () => {
    expect(await passing([{ eventName: [{ 'anything-but': ['INSERT'] }] }])).toEqual([false, true, true]);
  });

  it('a record passes when any filter matches it, and every record passes when there are none', async () => {
    expect(await passing([{ eventName: ['REMOVE'] }, { dynamodb: { SizeBytes: [{ numeric: ['>', 600] }] } }])).toEqual([false, true, true]);
    expect(await passing([])).toEqual([true, true, true]);
  });
});

it('an invalid pattern fails the start with the pattern and event-ruler’s message', async () => {
  const invalid = '{"eventName":"INSERT"}';
  const started = EventFilter.start({ patterns: ['{"eventName":["INSERT"]}', invalid] });
  await expect(started).rejects.toBeInstanceOf(InvalidFilterPatternError);
  await expect(started).rejects.toMatchObject({
    filterIndex: 1,
    pattern: invalid,
    reason: expect.stringContaining('"eventName" must be an object or an array'),
    message: expect.stringContaining(`FilterCriteria.Filters[1].Pattern is not a valid event pattern: ${invalid}`),
  });
});

it('answers a batch in one line, in order, and concurrent batches each with their own answer', async () => {
  const filter = await EventFilter.start({
    patterns: [JSON.stringify({ dynamodb: { Keys: { movie_id: { N: ['3', '14', '15', '92', '653'] } } } })],
  });
  try {
    const page = Array.from({ length: 1000 }, (_, id) => ({
      ...insert,
      dynamodb: { ...insert.dynamodb, Keys: { movie_id: { N: String(id) } } },
    }));
    const answer = await filter.matches(page);
    expect(answer).toHaveLength(1000);
    expect(answer.flatMap((kept, id) => (kept ? [id] : []))).toEqual([3, 14, 15, 92, 653]);

    const [first, second] = await Promise.all([filter.matches(page.slice(0, 20)), filter.matches(page.slice(90, 95))]);
    expect(first.flatMap((kept, id) => (kept ? [id] : []))).toEqual([3, 14, 15]);
    expect(second).toEqual([false, false, true, false, false]);
    expect(await filter.matches([])).toEqual([]);
  } finally {
    await filter.stop();
  }
  await expect(filter.matches([insert])).rejects.toThrow(/stopped/);
});

it('SIGKILL of its owner leaves no helper behind', async () => {
  const script = `
    require('tsx/cjs/api').register();
    const { EventFilter } = require(${JSON.stringify(path.join(ROOT, 'local/pipe/event-filter'))});
    EventFilter.start({ patterns: [] }).then(() => {
      process.stdout.write('started\\n');
      setInterval(() => undefined, 1000);
    }, (e) => { console.error(e); process.exit(1); });`;
  const owner = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => owner.on('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    owner.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('started') && resolve());
    void exited.then(() => reject(new Error('the owner exited before the helper started')));
  });
  // The supervisor leads its own process group, which holds the JVM too.
  const supervisor = spawnSync('pgrep', ['-P', String(owner.pid), '-f', 'EventFilter-supervisor'], { encoding: 'utf8' }).stdout.trim();
  expect(supervisor).toMatch(/^\d+$/);
  const groupAlive = () => spawnSync('pgrep', ['-g', supervisor]).status === 0;
  expect(groupAlive()).toBe(true);

  owner.kill('SIGKILL');
  await exited;
  const deadline = Date.now() + 15_000;
  while (groupAlive() && Date.now() < deadline) await sleep(100);
  expect(groupAlive()).toBe(false);
});
