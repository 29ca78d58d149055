/**
 * The pipe filter client's error branches, against a stand-in helper: a helper that dies with a
 * request pending, and answers outside the protocol. The real helper is in tests/integration/event-filter.test.ts.
 */
import { PassThrough } from 'node:stream';
import { EventFilter, type EventFilterHelper } from '../../local/pipe/event-filter';

/** A helper whose answers and exit the test scripts; it records the requests it is sent. */
function fakeHelper() {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const requests: unknown[] = [];
  stdin.on('data', (chunk: Buffer) =>
    requests.push(
      ...chunk
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line)),
    ),
  );
  let exit!: (code: number | null) => void;
  const exited = new Promise<number | null>((resolve) => (exit = resolve));
  let stderr = '';
  const helper: EventFilterHelper = { stdin, stdout, exited, output: () => stderr, stop: jest.fn(async () => exit(143)) };
  return {
    helper,
    requests,
    answer: (line: string) => stdout.write(`${line}\n`),
    die: (code: number, message: string) => {
      stderr = message;
      exit(code);
    },
  };
}

const record = { eventName: 'INSERT' };
/** Lets the client write its request before the test answers it. */
const written = () => new Promise((resolve) => setImmediate(resolve));

it('asks about a whole page in one request and returns the answer in order', async () => {
  const fake = fakeHelper();
  const filter = new EventFilter(fake.helper);
  const answer = filter.matches([record, { eventName: 'MODIFY' }]);
  await written();
  expect(fake.requests).toEqual([{ match: [JSON.stringify(record), JSON.stringify({ eventName: 'MODIFY' })] }]);
  fake.answer('{"matches":[true,false]}');
  await expect(answer).resolves.toEqual([true, false]);
});

it('a helper that dies fails the pending request and every later one with its exit code and stderr', async () => {
  const fake = fakeHelper();
  const filter = new EventFilter(fake.helper);
  const pending = filter.matches([record]);
  await written();
  fake.die(1, 'java.lang.OutOfMemoryError: Java heap space\n');
  await expect(pending).rejects.toThrow(/exited with code 1:\njava\.lang\.OutOfMemoryError: Java heap space$/);
  await expect(filter.matches([record])).rejects.toThrow(/exited with code 1/);
  expect(fake.requests).toHaveLength(1);
});

it('an answer line that is not JSON fails the request, stops the helper and every later request', async () => {
  const fake = fakeHelper();
  const filter = new EventFilter(fake.helper);
  const pending = filter.matches([record]);
  const queued = filter.matches([record]);
  await written();
  fake.answer('Picked up JAVA_TOOL_OPTIONS: -Xmx1g');
  await expect(pending).rejects.toThrow('the pipe filter said "Picked up JAVA_TOOL_OPTIONS: -Xmx1g"');
  // The second answer could no longer be told apart from the first, so the queued request fails too.
  await expect(queued).rejects.toThrow('Picked up JAVA_TOOL_OPTIONS');
  expect(fake.helper.stop).toHaveBeenCalled();
  await expect(filter.matches([record])).rejects.toThrow('Picked up JAVA_TOOL_OPTIONS');
});

it('an answer with the wrong number of booleans fails like a line outside the protocol', async () => {
  const fake = fakeHelper();
  const filter = new EventFilter(fake.helper);
  const pending = filter.matches([record, record]);
  await written();
  fake.answer('{"matches":[true]}');
  await expect(pending).rejects.toThrow('the pipe filter answered 2 records with {"matches":[true]}');
  expect(fake.helper.stop).toHaveBeenCalled();
});

it("the helper's own error for a page fails that request only", async () => {
  const fake = fakeHelper();
  const filter = new EventFilter(fake.helper);
  const refused = filter.matches([record]);
  await written();
  fake.answer('{"error":"Unexpected end-of-input"}');
  await expect(refused).rejects.toThrow('could not match the records: Unexpected end-of-input');
  const next = filter.matches([record]);
  await written();
  fake.answer('{"matches":[true]}');
  await expect(next).resolves.toEqual([true]);
  expect(fake.helper.stop).not.toHaveBeenCalled();
});
