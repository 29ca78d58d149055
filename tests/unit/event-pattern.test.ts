/**
 * The local pipe's EventBridge pattern matcher, checked against the examples in the EventBridge and Lambda
 * event-filtering documentation (each operator: what matches and what must not) and against the sample
 * DynamoDB stream records the pipe filters.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  InvalidEventPatternError,
  matchesAnyFilter,
  matchesEventPattern,
  parseEventPattern,
  parsePipeFilters,
} from '../../local/pipe/event-pattern';

const readEvent = (name: string): any => JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'events', name), 'utf8'));
const match = (pattern: unknown, event: unknown) => matchesEventPattern(pattern, event);

/** The EC2 state-change event used throughout the EventBridge "event patterns" page. */
const ec2Event = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};

describe('exact matching', () => {
  const pattern = { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['terminated'] } };

  it('matches when every listed field has one of the listed values', () => {
    expect(match(pattern, ec2Event)).toBe(true);
  });

  it('does not match when one field differs', () => {
    expect(match(pattern, { ...ec2Event, detail: { ...ec2Event.detail, state: 'running' } })).toBe(false);
  });

  it('does not match when a listed field is missing', () => {
    expect(match(pattern, { ...ec2Event, detail: { 'instance-id': 'i-1' } })).toBe(false);
  });

  it('treats the values of one field as alternatives', () => {
    expect(match({ source: ['aws.ec2', 'aws.fargate'] }, { source: 'aws.fargate' })).toBe(true);
    expect(match({ source: ['aws.ec2', 'aws.fargate'] }, { source: 'aws.s3' })).toBe(false);
  });

  it('is case-sensitive and does not normalise strings', () => {
    expect(match({ source: ['aws.ec2'] }, { source: 'AWS.EC2' })).toBe(false);
    expect(match({ source: ['aws.ec2'] }, { source: 'aws.ec2 ' })).toBe(false);
  });

  it('matches numbers as numbers and never as their string form (the Macie example)', () => {
    const macie = { source: 'aws.macie', detail: { severity: { score: 1, description: 'Low' }, count: 2 } };
    expect(match({ source: ['aws.macie'], detail: { severity: { score: [1] }, count: [2] } }, macie)).toBe(true);
    expect(match({ detail: { count: [3] } }, macie)).toBe(false);
    expect(match({ detail: { count: ['2'] } }, macie)).toBe(false);
    expect(match({ n: [300] }, { n: '300' })).toBe(false);
  });

  it('matches booleans only against the same JSON literal', () => {
    expect(match({ flag: [true] }, { flag: true })).toBe(true);
    expect(match({ flag: [true] }, { flag: 'true' })).toBe(false);
    expect(match({ flag: [false] }, { flag: true })).toBe(false);
  });

  it('does not match a value pattern against an object', () => {
    expect(match({ detail: ['terminated'] }, ec2Event)).toBe(false);
  });
});

describe('null values and empty strings', () => {
  const event = { source: 'aws.autoscaling', detail: { eventVersion: '', responseElements: null } };

  it('matches an empty string with [""]', () => {
    expect(match({ detail: { eventVersion: [''] } }, event)).toBe(true);
  });

  it('matches null with [null]', () => {
    expect(match({ detail: { responseElements: [null] } }, event)).toBe(true);
  });

  it('keeps null and the empty string apart', () => {
    expect(match({ detail: { eventVersion: [null] } }, event)).toBe(false);
    expect(match({ detail: { responseElements: [''] } }, event)).toBe(false);
  });

  it('does not treat a missing field as null', () => {
    expect(match({ detail: { other: [null] } }, event)).toBe(false);
  });
});

describe('arrays in events', () => {
  const pattern = {
    resources: [
      'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
      'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
    ],
  };

  it('matches when the pattern values and the event array intersect', () => {
    const event = {
      resources: [
        'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b:autoScalingGroupName/ASGTerminate',
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      ],
    };
    expect(match(pattern, event)).toBe(true);
  });

  it('does not match when they do not intersect', () => {
    expect(match(pattern, { resources: ['arn:aws:ec2:us-east-1:999999999999:instance/i-0'] })).toBe(false);
    expect(match(pattern, { resources: [] })).toBe(false);
  });

  it('looks through arrays of objects, but takes all fields of one rule from the same element', () => {
    const event = {
      employees: [
        { firstName: 'John', lastName: 'Doe' },
        { firstName: 'Anna', lastName: 'Smith' },
        { firstName: 'Peter', lastName: 'Jones' },
      ],
    };
    expect(match({ employees: { firstName: ['Anna'] } }, event)).toBe(true);
    expect(match({ employees: { firstName: ['Anna'], lastName: ['Smith'] } }, event)).toBe(true);
    expect(match({ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, event)).toBe(false);
  });

  it('crushes nested arrays', () => {
    const event = { employees: [[{ firstName: 'John' }, { firstName: 'Anna' }], [{ firstName: 'Peter' }]] };
    expect(match({ employees: { firstName: ['Peter'] } }, event)).toBe(true);
    expect(match({ employees: { firstName: ['Paul'] } }, event)).toBe(false);
  });
});

describe('prefix', () => {
  it('matches strings that start with the prefix', () => {
    expect(match({ time: [{ prefix: '2017-10-02' }] }, { time: '2017-10-02T18:43:48Z' })).toBe(true);
    expect(match({ time: [{ prefix: '2017-10-02' }] }, { time: '2017-10-03T18:43:48Z' })).toBe(false);
  });

  it('only applies to strings', () => {
    expect(match({ n: [{ prefix: '12' }] }, { n: 123 })).toBe(false);
  });

  it('ignores case with equals-ignore-case', () => {
    const pattern = { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } };
    expect(match(pattern, { detail: { service: 'eventbridge' } })).toBe(true);
    expect(match(pattern, { detail: { service: 'EVENTBRIDGE' } })).toBe(true);
    expect(match(pattern, { detail: { service: 'sns' } })).toBe(false);
  });
});

describe('suffix', () => {
  it('matches strings that end with the suffix, case-sensitively', () => {
    expect(match({ FileName: [{ suffix: '.png' }] }, { FileName: 'image.png' })).toBe(true);
    expect(match({ FileName: [{ suffix: '.png' }] }, { FileName: 'image.jpg' })).toBe(false);
    expect(match({ FileName: [{ suffix: '.png' }] }, { FileName: 'image.PNG' })).toBe(false);
  });

  it('ignores case with equals-ignore-case', () => {
    const pattern = { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } };
    expect(match(pattern, { detail: { FileName: 'image.PNG' } })).toBe(true);
    expect(match(pattern, { detail: { FileName: 'image.gif' } })).toBe(false);
  });
});

describe('equals-ignore-case', () => {
  const pattern = { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] };

  it('matches a string regardless of case', () => {
    expect(match(pattern, ec2Event)).toBe(true);
  });

  it('still requires the same characters', () => {
    expect(match(pattern, { 'detail-type': 'EC2 Instance State Change Notification' })).toBe(false);
  });
});

describe('anything-but', () => {
  it('matches any value except the single string or number given', () => {
    expect(match({ detail: { state: [{ 'anything-but': 'initializing' }] } }, { detail: { state: 'running' } })).toBe(true);
    expect(match({ detail: { state: [{ 'anything-but': 'initializing' }] } }, { detail: { state: 'initializing' } })).toBe(false);
    expect(match({ detail: { 'x-limit': [{ 'anything-but': 123 }] } }, { detail: { 'x-limit': 124 } })).toBe(true);
    expect(match({ detail: { 'x-limit': [{ 'anything-but': 123 }] } }, { detail: { 'x-limit': 123 } })).toBe(false);
  });

  it('excludes every value of a list of strings or of numbers', () => {
    const strings = { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } };
    expect(match(strings, { detail: { state: 'running' } })).toBe(true);
    expect(match(strings, { detail: { state: 'overloaded' } })).toBe(false);
    const numbers = { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } };
    expect(match(numbers, { detail: { 'x-limit': 301.8 } })).toBe(true);
    expect(match(numbers, { detail: { 'x-limit': 200 } })).toBe(false);
  });

  it('needs the field to be present', () => {
    expect(match({ detail: { state: [{ 'anything-but': 'initializing' }] } }, { detail: {} })).toBe(false);
  });

  it('excludes by prefix and suffix', () => {
    const prefix = { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } };
    expect(match(prefix, { detail: { state: 'running' } })).toBe(true);
    expect(match(prefix, { detail: { state: 'initializing' } })).toBe(false);
    const suffix = { FileName: [{ 'anything-but': { suffix: '.png' } }] };
    expect(match(suffix, { FileName: 'image.jpg' })).toBe(true);
    expect(match(suffix, { FileName: 'image.png' })).toBe(false);
  });

  it('excludes only strings with its nested operators, so other present values pass', () => {
    expect(match({ state: [{ 'anything-but': { prefix: 'init' } }] }, { state: 42 })).toBe(true);
    expect(match({ state: [{ 'anything-but': { suffix: 'ing' } }] }, { state: null })).toBe(true);
  });

  it('excludes ignoring case, and by wildcard', () => {
    const ignoreCase = { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] };
    expect(match(ignoreCase, { state: 'running' })).toBe(true);
    expect(match(ignoreCase, { state: 'INITIALIZING' })).toBe(false);
    const wildcard = { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] };
    expect(match(wildcard, { FilePath: '/usr/bin/node' })).toBe(true);
    expect(match(wildcard, { FilePath: '/usr/lib/node' })).toBe(false);
  });
});

describe('numeric', () => {
  const pattern = {
    detail: {
      'c-count': [{ numeric: ['>', 0, '<=', 5] }],
      'd-count': [{ numeric: ['<', 10] }],
      'x-limit': [{ numeric: ['=', 3.018e2] }],
    },
  };

  it('matches when every range holds', () => {
    expect(match(pattern, { detail: { 'c-count': 5, 'd-count': 3, 'x-limit': 301.8 } })).toBe(true);
  });

  it('respects open and closed bounds', () => {
    expect(match(pattern, { detail: { 'c-count': 0, 'd-count': 3, 'x-limit': 301.8 } })).toBe(false);
    expect(match(pattern, { detail: { 'c-count': 6, 'd-count': 3, 'x-limit': 301.8 } })).toBe(false);
    expect(match(pattern, { detail: { 'c-count': 1, 'd-count': 10, 'x-limit': 301.8 } })).toBe(false);
    expect(match({ n: [{ numeric: ['>=', 10] }] }, { n: 10 })).toBe(true);
    expect(match({ n: [{ numeric: ['>=', 10] }] }, { n: 9.5 })).toBe(false);
  });

  it('only applies to JSON numbers', () => {
    expect(match({ n: [{ numeric: ['>', 0] }] }, { n: '5' })).toBe(false);
  });
});

describe('cidr', () => {
  it('matches IPv4 addresses inside the block', () => {
    const pattern = { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } };
    expect(match(pattern, { detail: { sourceIPAddress: '10.0.0.255' } })).toBe(true);
    expect(match(pattern, { detail: { sourceIPAddress: '10.0.1.0' } })).toBe(false);
    expect(match(pattern, { detail: { sourceIPAddress: 'not-an-ip' } })).toBe(false);
  });

  it('matches IPv6 addresses inside the block', () => {
    const pattern = { ip: [{ cidr: '2001:db8::/32' }] };
    expect(match(pattern, { ip: '2001:db8::1' })).toBe(true);
    expect(match(pattern, { ip: '2001:db9::1' })).toBe(false);
  });
});

describe('exists', () => {
  const pending = { detail: { 'instance-id': 'i-abcd1111', state: 'pending' } };
  const noState = { detail: { 'c-count': { c1: 100 } } };

  it('exists: true needs the leaf field', () => {
    expect(match({ detail: { state: [{ exists: true }] } }, pending)).toBe(true);
    expect(match({ detail: { state: [{ exists: true }] } }, noState)).toBe(false);
  });

  it('exists: false needs the leaf field to be missing', () => {
    expect(match({ detail: { state: [{ exists: false }] } }, noState)).toBe(true);
    expect(match({ detail: { state: [{ exists: false }] } }, pending)).toBe(false);
  });

  it('counts a null value as present', () => {
    expect(match({ a: [{ exists: true }] }, { a: null })).toBe(true);
    expect(match({ a: [{ exists: false }] }, { a: null })).toBe(false);
  });

  it('only sees leaf nodes, so an object-valued field does not "exist"', () => {
    const person = { person: { name: 'John Doe', age: 30, address: { street: '123 Main St', city: 'Anytown' } } };
    expect(match({ person: { address: [{ exists: true }] } }, person)).toBe(false);
    expect(match({ person: { address: [{ exists: false }] } }, person)).toBe(true);
    expect(match({ person: { address: { city: [{ exists: true }] } } }, person)).toBe(true);
  });

  it('treats an empty array as missing and a non-empty one as present', () => {
    expect(match({ tags: [{ exists: false }] }, { tags: [] })).toBe(true);
    expect(match({ tags: [{ exists: true }] }, { tags: [] })).toBe(false);
    expect(match({ tags: [{ exists: true }] }, { tags: ['a'] })).toBe(true);
    expect(match({ tags: [{ exists: false }] }, { tags: ['a'] })).toBe(false);
  });

  it('judges absence across every array element unless other fields pin one element', () => {
    expect(match({ d: { a: [{ exists: false }] } }, { d: [{ a: 1 }, { b: 2 }] })).toBe(false);
    expect(match({ d: { b: [2], c: [{ exists: false }] } }, { d: [{ b: 2, c: 3 }, { b: 2 }] })).toBe(true);
    expect(match({ d: { b: [2], c: [{ exists: false }] } }, { d: [{ b: 2, c: 3 }] })).toBe(false);
  });

  it('walks fields in sorted key order, as event-ruler does, so an earlier absence is judged before any element is pinned', () => {
    const event = { d: [{ a: 1 }, { b: 2 }] };
    expect(match({ d: { b: [2], c: [{ exists: false }] } }, event)).toBe(true);
    expect(match({ d: { b: [2], a: [{ exists: false }] } }, event)).toBe(false);
  });

  it('combines with values as alternatives ("null or missing")', () => {
    const pattern = { a: [null, { exists: false }] };
    expect(match(pattern, {})).toBe(true);
    expect(match(pattern, { a: null })).toBe(true);
    expect(match(pattern, { a: 'x' })).toBe(false);
  });
});

describe('wildcard', () => {
  it('matches any run of characters at each *', () => {
    const pattern = { FilePath: [{ wildcard: 'dir/*.png' }] };
    expect(match(pattern, { FilePath: 'dir/image.png' })).toBe(true);
    expect(match(pattern, { FilePath: 'dir/sub/image.png' })).toBe(true);
    expect(match(pattern, { FilePath: 'dir/image.jpg' })).toBe(false);
    expect(match(pattern, { FilePath: 'other/image.png' })).toBe(false);
  });

  it('takes \\* as a literal asterisk and regex characters literally', () => {
    const pattern = { name: [{ wildcard: 'a\\*b.c' }] };
    expect(match(pattern, { name: 'a*b.c' })).toBe(true);
    expect(match(pattern, { name: 'axb.c' })).toBe(false);
    expect(match(pattern, { name: 'a*bxc' })).toBe(false);
  });
});

describe('$or', () => {
  const pattern = {
    detail: {
      $or: [
        { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
        { 'd-count': [{ numeric: ['<', 10] }] },
        { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
      ],
    },
  };

  it('matches when any branch matches', () => {
    expect(match(pattern, { detail: { 'c-count': 50, 'd-count': 3 } })).toBe(true);
    expect(match(pattern, { detail: { 'x-limit': 301.8 } })).toBe(true);
  });

  it('does not match when no branch matches', () => {
    expect(match(pattern, { detail: { 'c-count': 50, 'd-count': 30, 'x-limit': 1 } })).toBe(false);
  });

  it('is ANDed with the fields beside it', () => {
    const combined = { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }] };
    expect(match(combined, { source: 'aws.cloudwatch', namespace: 'AWS/EC2' })).toBe(true);
    expect(match(combined, { source: 'aws.ec2', namespace: 'AWS/EC2' })).toBe(false);
  });
});

describe('parseEventPattern', () => {
  it('returns the parsed pattern', () => {
    expect(parseEventPattern('{"eventName":["INSERT"]}')).toEqual({ eventName: ['INSERT'] });
  });

  it('keeps the last of duplicate keys, as EventBridge does', () => {
    const pattern = parseEventPattern('{"detail":{"location":[{"prefix":"us-"}],"location":[{"anything-but":"us-east"}]}}');
    expect(match(pattern, { detail: { location: 'eu-west' } })).toBe(true);
    expect(match(pattern, { detail: { location: 'us-east' } })).toBe(false);
  });

  it.each([
    ['not JSON', '{"eventName": ["INSERT"'],
    ['not an object', '["INSERT"]'],
    ['an empty pattern', '{}'],
    ['an empty value list', '{"eventName": []}'],
    ['a bare value instead of a list', '{"eventName": "INSERT"}'],
    ['a nested list', '{"eventName": [["INSERT"]]}'],
    ['an unknown operator', '{"a": [{"contains": "x"}]}'],
    ['two operators in one object', '{"a": [{"prefix": "x", "suffix": "y"}]}'],
    ['a non-string prefix', '{"a": [{"prefix": 1}]}'],
    ['exists with a non-boolean', '{"a": [{"exists": "yes"}]}'],
    ['an unknown numeric operator', '{"a": [{"numeric": ["!=", 1]}]}'],
    ['a numeric range whose bounds are reversed', '{"a": [{"numeric": [">", 5, "<", 1]}]}'],
    ['a numeric operand that is not a number', '{"a": [{"numeric": [">", "1"]}]}'],
    ['an anything-but list mixing strings and numbers', '{"a": [{"anything-but": ["x", 1]}]}'],
    ['an anything-but of null', '{"a": [{"anything-but": null}]}'],
    ['an empty anything-but prefix', '{"a": [{"anything-but": {"prefix": ""}}]}'],
    ['consecutive wildcards', '{"a": [{"wildcard": "a**b"}]}'],
    ['an invalid wildcard escape', '{"a": [{"wildcard": "a\\\\xb"}]}'],
    ['a malformed CIDR', '{"a": [{"cidr": "10.0.0.0"}]}'],
    ['a full-length IPv4 mask', '{"a": [{"cidr": "10.0.0.1/32"}]}'],
    ['an $or that is not a list', '{"$or": {"a": ["x"]}}'],
    ['an $or with one branch', '{"$or": [{"a": ["x"]}]}'],
    ['an operator name used as a field inside $or', '{"$or": [{"prefix": ["x"]}, {"a": ["y"]}]}'],
  ])('refuses %s', (_label, json) => {
    expect(() => parseEventPattern(json)).toThrow(InvalidEventPatternError);
  });

  it('names where the problem is', () => {
    expect(() => parseEventPattern('{"dynamodb": {"NewImage": {"S3_bucket": {"S": "bucket"}}}}')).toThrow(
      expect.objectContaining({ name: 'InvalidEventPatternError', path: 'dynamodb.NewImage.S3_bucket.S' }),
    );
  });

  it('refuses $or combinations beyond 1000', () => {
    const branches = (prefix: string) => Array.from({ length: 11 }, (_, i) => ({ [`${prefix}${i}`]: ['x'] }));
    const pattern = { a: { $or: branches('p') }, b: { $or: branches('q') }, c: { $or: branches('r') } };
    expect(() => match(pattern, {})).toThrow(/1000 rule combinations/);
  });
});

describe('the Pipes dialect', () => {
  it('accepts the operators Pipes support', () => {
    for (const json of [
      '{"eventName": ["INSERT"]}',
      '{"a": [{"suffix": ".webm"}], "b": [{"equals-ignore-case": "x"}], "c": [{"anything-but": ["y"]}]}',
      '{"$or": [{"a": ["x"]}, {"b": [{"exists": false}]}]}',
    ]) {
      expect(() => parseEventPattern(json, { dialect: 'pipe' })).not.toThrow();
    }
  });

  it.each([
    ['wildcard', '{"a": [{"wildcard": "*.webm"}]}'],
    ['anything-but prefix', '{"a": [{"anything-but": {"prefix": "x"}}]}'],
    ['anything-but suffix', '{"a": [{"anything-but": {"suffix": "x"}}]}'],
    ['anything-but equals-ignore-case', '{"a": [{"anything-but": {"equals-ignore-case": "x"}}]}'],
    ['anything-but wildcard', '{"a": [{"anything-but": {"wildcard": "x*"}}]}'],
  ])('refuses %s, which EventBridge rules accept', (_label, json) => {
    expect(() => parseEventPattern(json)).not.toThrow();
    expect(() => parseEventPattern(json, { dialect: 'pipe' })).toThrow(InvalidEventPatternError);
  });

  it('refuses a pattern longer than 4096 characters', () => {
    const long = JSON.stringify({ a: ['x'.repeat(4100)] });
    expect(() => parseEventPattern(long)).not.toThrow();
    expect(() => parseEventPattern(long, { dialect: 'pipe' })).toThrow(/4096/);
  });

  it('refuses more than five filters', () => {
    const six = Array.from({ length: 6 }, (_, i) => `{"a": ["${i}"]}`);
    expect(parsePipeFilters(six.slice(0, 5))).toHaveLength(5);
    expect(() => parsePipeFilters(six)).toThrow(/at most 5 filters/);
  });

  it('applies the Pipes restrictions to each filter', () => {
    expect(() => parsePipeFilters(['{"a": [{"wildcard": "*"}]}'])).toThrow(InvalidEventPatternError);
  });
});

describe('matchesAnyFilter', () => {
  const insert = { eventName: 'INSERT' };

  it('passes a record that any one filter matches', () => {
    expect(matchesAnyFilter([{ eventName: ['REMOVE'] }, { eventName: ['INSERT'] }], insert)).toBe(true);
  });

  it('drops a record that no filter matches', () => {
    expect(matchesAnyFilter([{ eventName: ['REMOVE'] }, { eventName: ['MODIFY'] }], insert)).toBe(false);
  });

  it('passes every record when there are no filters', () => {
    expect(matchesAnyFilter([], insert)).toBe(true);
  });

  it('refuses a malformed filter even when another one matches', () => {
    expect(() => matchesAnyFilter([{ eventName: 'INSERT' }, { eventName: ['INSERT'] }], insert)).toThrow(InvalidEventPatternError);
  });
});

describe('DynamoDB stream records', () => {
  const insert = readEvent('stream-insert.json');
  const modify = readEvent('stream-modify.json');
  const batch = readEvent('pipe-batch.json');
  const remove = {
    ...modify,
    eventName: 'REMOVE',
    dynamodb: { ...modify.dynamodb, NewImage: undefined, OldImage: modify.dynamodb.NewImage },
  };
  const insertOnly = parsePipeFilters(['{"eventName": ["INSERT"]}']);

  it('keeps INSERT records and drops MODIFY and REMOVE with {"eventName":["INSERT"]}', () => {
    expect(matchesAnyFilter(insertOnly, insert)).toBe(true);
    expect(matchesAnyFilter(insertOnly, modify)).toBe(false);
    expect(matchesAnyFilter(insertOnly, remove)).toBe(false);
  });

  it('keeps both records of the sample batch', () => {
    expect(batch).toHaveLength(2);
    expect(batch.every((record: unknown) => matchesAnyFilter(insertOnly, record))).toBe(true);
  });

  it('matches a NewImage attribute through its type descriptor', () => {
    const bucket = parseEventPattern('{"dynamodb": {"NewImage": {"S3_bucket": {"S": ["my-movies-bucket"]}}}}', { dialect: 'pipe' });
    expect(match(bucket, insert)).toBe(true);
    expect(match(bucket, { ...insert, dynamodb: { ...insert.dynamodb, NewImage: { ...insert.dynamodb.NewImage, S3_bucket: { S: 'other' } } } })).toBe(false);
    expect(match({ dynamodb: { NewImage: { S3_bucket: ['my-movies-bucket'] } } }, insert)).toBe(false);
  });

  it('matches DynamoDB numbers only as the strings they are in the record', () => {
    expect(match({ dynamodb: { Keys: { movie_id: { N: ['1337'] } } } }, insert)).toBe(true);
    expect(match({ dynamodb: { Keys: { movie_id: { N: [1337] } } } }, insert)).toBe(false);
    expect(match({ dynamodb: { Keys: { movie_id: { N: [{ numeric: ['>', 0] }] } } } }, insert)).toBe(false);
  });

  it('needs the type descriptor for exists, because the attribute itself is not a leaf', () => {
    expect(match({ dynamodb: { NewImage: { S3_object: { S: [{ exists: true }] } } } }, insert)).toBe(true);
    expect(match({ dynamodb: { NewImage: { S3_object: [{ exists: true }] } } }, insert)).toBe(false);
  });

  it('tells an analysed item from a new one', () => {
    const notAnalysed = { dynamodb: { NewImage: { analysis: { M: { status: { S: [{ exists: false }] } } } } } };
    expect(match(notAnalysed, insert)).toBe(true);
    expect(match(notAnalysed, modify)).toBe(false);
  });

  it('combines eventName with a suffix on the object key', () => {
    const webmInserts = parseEventPattern('{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"S3_object": {"S": [{"suffix": ".webm"}]}}}}', { dialect: 'pipe' });
    expect(match(webmInserts, insert)).toBe(true);
    expect(match(webmInserts, modify)).toBe(false);
  });
});

describe('the sample events', () => {
  const insert = readEvent('stream-insert.json');
  const modify = readEvent('stream-modify.json');
  const batch = readEvent('pipe-batch.json');

  it('carry the fields a pipe delivers, in the record shape DynamoDB Streams uses', () => {
    for (const record of [insert, modify, ...batch]) {
      expect(Object.keys(record)).toEqual(['eventID', 'eventName', 'eventVersion', 'eventSource', 'awsRegion', 'dynamodb', 'eventSourceARN']);
      expect(record.eventSource).toBe('aws:dynamodb');
      expect(record.eventSourceARN).toMatch(/^arn:aws:dynamodb:[a-z0-9-]+:\d{12}:table\/[^/]+\/stream\/.+$/);
      expect(typeof record.dynamodb.ApproximateCreationDateTime).toBe('number');
      expect(record.dynamodb.StreamViewType).toBe('NEW_AND_OLD_IMAGES');
      expect(record.dynamodb.SequenceNumber).toMatch(/^\d+$/);
    }
  });

  it('describe the movie row of the brief', () => {
    expect(insert.dynamodb.NewImage).toEqual({
      movie_id: { N: '1337' },
      movie_title: { S: 'Agent 327: Operation Barbershop (trailer)' },
      S3_bucket: { S: 'my-movies-bucket' },
      S3_object: { S: 'trailers/Agent_327-Operation_Barbershop-Trailer.webm' },
    });
  });

  it('show the MODIFY as the same item after the analysis was written', () => {
    expect(modify.dynamodb.OldImage).toEqual(insert.dynamodb.NewImage);
    expect(modify.dynamodb.NewImage.analysis.M.status).toEqual({ S: 'SUCCEEDED' });
    expect(JSON.parse(modify.dynamodb.NewImage.analysis.M.ffprobe_output.S)).toHaveProperty('format.format_name');
    expect(BigInt(modify.dynamodb.SequenceNumber)).toBeGreaterThan(BigInt(insert.dynamodb.SequenceNumber));
  });

  it('batch two INSERTs of different movies in stream order, the first being the single-record sample', () => {
    expect(batch[0]).toEqual(insert);
    expect(batch.map((r: any) => r.eventName)).toEqual(['INSERT', 'INSERT']);
    expect(new Set(batch.map((r: any) => r.dynamodb.Keys.movie_id.N)).size).toBe(2);
    expect(new Set(batch.map((r: any) => r.eventID)).size).toBe(2);
    expect(BigInt(batch[1].dynamodb.SequenceNumber)).toBeGreaterThan(BigInt(batch[0].dynamodb.SequenceNumber));
  });
});
