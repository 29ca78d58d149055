/**
 * The local pipe's input transformation: how it fills a JSON template from one record, what it
 * refuses to render, and that the template's own InputTemplate, read back by the steps, gives what
 * projectStreamRecord gives (reanalyze and backfill build their records with it).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type PipeRecord, projectStreamRecord, readStreamRecord } from '../../functions/lib/stream-record';
import { InputTemplate, InputTemplateError } from '../../local/pipe/input-template';
import { localTemplate } from '../../local/template';
import { insertRecord, rowImage } from './helpers/records';

const ROOT = path.resolve(__dirname, '../..');
const streamInsert = JSON.parse(readFileSync(path.join(ROOT, 'events/stream-insert.json'), 'utf8')) as PipeRecord;

describe('InputTemplate', () => {
  const record = { id: 'e1', n: 7, ok: true, nothing: null, list: [1, 'a'], body: { key: 'v "quoted"', 'dash-ed': { x: 1 } } };

  it('quotes strings, inserts objects, arrays, numbers and booleans as JSON, and follows dots, dashes and indices', () => {
    const template = InputTemplate.parse(
      '{"id": <$.id>, "n": <$.n>, "ok": <$.ok>, "nothing": <$.nothing>, "list": <$.list>, "second": <$.list[1]>, "body": <$.body>, "deep": <$.body.dash-ed.x>, "fixed": "text"}',
    );
    expect(template.render(record)).toEqual({
      id: 'e1',
      n: 7,
      ok: true,
      nothing: null,
      list: [1, 'a'],
      second: 'a',
      body: record.body,
      deep: 1,
      fixed: 'text',
    });
  });

  it('fills a path the record does not have with an empty string, as EventBridge does', () => {
    expect(InputTemplate.parse('{"a": <$.missing>, "b": <$.body.missing.deeper>, "c": <$.id.length>}').render(record)).toEqual({
      a: '',
      b: '',
      c: '',
    });
  });

  it.each([
    ['a placeholder inside a string', '{"path": "users/<$.id>"}'],
    ['a wildcard path', '{"all": <$.list[*]>}'],
    ['a reserved variable', '{"pipe": <aws.pipes.pipe-arn>}'],
    ['a template that is no JSON object', '<$.body>'],
    ['a template that is not JSON', '{"a": <$.id>,}'],
  ])('refuses %s rather than render it differently from Pipes', (_name, text) => {
    expect(() => InputTemplate.parse(text)).toThrow(InputTemplateError);
  });
});

describe("the pipe's InputTemplate in template.yaml", () => {
  const template = InputTemplate.parse(localTemplate(path.join(ROOT, 'template.yaml')).pipe.inputTemplate as string);
  const withImage = (newImage: PipeRecord['dynamodb'] extends infer D ? (D extends { NewImage?: infer I } ? I : never) : never) => ({
    ...streamInsert,
    dynamodb: { ...streamInsert.dynamodb, NewImage: newImage },
  });
  const records: Array<[string, PipeRecord]> = [
    ['events/stream-insert.json', streamInsert],
    ['a row with a 300 KB attribute', withImage({ ...streamInsert.dynamodb?.NewImage, notes: { S: 'x'.repeat(300 * 1024) } })],
    ['a row without S3_object', withImage(rowImage({}, ['S3_object']))],
    ['a row without either S3 attribute', withImage(rowImage({}, ['S3_bucket', 'S3_object']))],
    ['a row whose S3_object is a number', withImage(rowImage({ S3_object: { N: '42' } }))],
    ['a record built by the test helpers', insertRecord()],
  ];

  it.each(records)('hands the steps what projectStreamRecord makes of %s', (_name, record) => {
    const delivered = template.render(record);
    expect(readStreamRecord(delivered)).toEqual(projectStreamRecord(record));
    expect(Buffer.byteLength(JSON.stringify(delivered))).toBeLessThan(1024);
  });
});
