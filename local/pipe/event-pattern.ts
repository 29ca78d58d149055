/**
 * EventBridge event-pattern matching, as EventBridge Pipes applies it to a source's FilterCriteria, so the
 * local pipe drops and keeps exactly the stream records the deployed pipe would. The semantics follow the
 * EventBridge user guide and aws/event-ruler (the engine behind it); docs/pipes-semantics.md lists the sources.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** Thrown for a pattern that EventBridge would refuse (PutRule, CreatePipe or UpdatePipe fail on it). */
export class InvalidEventPatternError extends Error {
  /** Dotted path inside the pattern where the problem is; empty for the pattern as a whole. */
  readonly path: string;

  constructor(message: string, path = '') {
    super(path ? `Invalid event pattern at "${path}": ${message}` : `Invalid event pattern: ${message}`);
    this.name = 'InvalidEventPatternError';
    this.path = path;
  }
}

/**
 * `event-bus` accepts every operator EventBridge rules accept. `pipe` also refuses what the operator table
 * marks unsupported for Pipes (wildcard and the anything-but prefix/suffix/equals-ignore-case/wildcard forms)
 * and the Pipes API limits (pattern length, number of filters).
 */
export type EventPatternDialect = 'event-bus' | 'pipe';

export interface EventPatternOptions {
  dialect?: EventPatternDialect;
}

/** A validated pattern: the parsed JSON object, unchanged. */
export type EventPattern = Readonly<Record<string, unknown>>;

/** Pipes API limits: `EventPattern` is at most 4096 characters and `FilterList` holds at most 5 filters. */
export const PIPE_PATTERN_MAX_LENGTH = 4096;
export const PIPE_MAX_FILTERS = 5;

/** PutRule/TestEventPattern refuse patterns whose `$or` arrays multiply out to more rule combinations. */
const MAX_OR_COMBINATIONS = 1000;

const OR_KEY = '$or';

/** Operator names event-ruler refuses as field names inside `$or` branches, so a typo cannot silently become a field. */
const RESERVED_IN_OR = new Set([
  'exact', 'equals-ignore-case', 'prefix', 'suffix', 'anything-but', 'exists', 'wildcard', 'numeric', 'cidr',
  '=', '<', '<=', '>', '>=',
]);

type Leaf = string | number | boolean | null;

/** The alternatives a pattern lists for one field: it matches if any test passes or, with `absent`, if the field is missing. */
interface FieldCondition {
  absent: boolean;
  tests: Array<(value: Leaf) => boolean>;
}

/** One conjunction of field conditions; `$or` expands a pattern into several. Keys are dotted leaf paths. */
type SubRule = Map<string, FieldCondition>;

interface CompiledPattern {
  rules: SubRule[];
  /** Paths that use an operator the Pipes operator table marks unsupported. */
  pipeUnsupported: Array<{ path: string; operator: string }>;
}

const compiledCache = new WeakMap<object, CompiledPattern>();

/**
 * Parses and validates a pattern given as JSON text — the form a template's `FilterCriteria.Filters[].Pattern`
 * holds. Duplicate keys keep their last value, as EventBridge documents.
 */
export function parseEventPattern(json: string, options: EventPatternOptions = {}): EventPattern {
  if (options.dialect === 'pipe' && json.length > PIPE_PATTERN_MAX_LENGTH) {
    throw new InvalidEventPatternError(`a Pipes filter pattern is at most ${PIPE_PATTERN_MAX_LENGTH} characters (got ${json.length})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new InvalidEventPatternError(`not valid JSON (${(error as Error).message})`);
  }
  compileChecked(parsed, options);
  return parsed as EventPattern;
}

/**
 * Parses the filter patterns of a pipe (the strings under `FilterCriteria.Filters[].Pattern`) with the Pipes
 * restrictions, including the limit of five filters.
 */
export function parsePipeFilters(patterns: readonly string[]): EventPattern[] {
  if (patterns.length > PIPE_MAX_FILTERS) {
    throw new InvalidEventPatternError(`a pipe has at most ${PIPE_MAX_FILTERS} filters (got ${patterns.length})`);
  }
  return patterns.map((pattern) => parseEventPattern(pattern, { dialect: 'pipe' }));
}

/** Whether `event` matches `pattern` (a parsed pattern object); throws InvalidEventPatternError for a malformed pattern. */
export function matchesEventPattern(pattern: unknown, event: unknown, options: EventPatternOptions = {}): boolean {
  const { rules } = compileChecked(pattern, options);
  const fields = flattenEvent(event);
  return rules.some((rule) => matchesSubRule(rule, fields));
}

/**
 * Pipes keep a record when any of the pipe's filters matches it (filters are ORed), and keep every record when
 * the filter list is empty, which is how the Pipes API says to remove filtering.
 */
export function matchesAnyFilter(patterns: readonly unknown[], event: unknown, options: EventPatternOptions = {}): boolean {
  return patterns.length === 0 || patterns.some((pattern) => matchesEventPattern(pattern, event, options));
}

function compileChecked(pattern: unknown, options: EventPatternOptions): CompiledPattern {
  if (!isPlainObject(pattern)) throw new InvalidEventPatternError('the pattern must be a JSON object');
  let compiled = compiledCache.get(pattern);
  if (!compiled) {
    const pipeUnsupported: CompiledPattern['pipeUnsupported'] = [];
    const rules = compileObject(pattern, [], [new Map()], false, pipeUnsupported);
    compiled = { rules, pipeUnsupported };
    compiledCache.set(pattern, compiled);
  }
  if (options.dialect === 'pipe' && compiled.pipeUnsupported.length > 0) {
    const { path, operator } = compiled.pipeUnsupported[0];
    throw new InvalidEventPatternError(`EventBridge Pipes do not support ${operator}`, path);
  }
  return compiled;
}

// ---------------------------------------------------------------------------------------------------------------
// Compilation: pattern JSON -> sub-rules of per-path conditions.

function compileObject(
  node: Record<string, unknown>,
  path: string[],
  rules: SubRule[],
  insideOr: boolean,
  pipeUnsupported: CompiledPattern['pipeUnsupported'],
): SubRule[] {
  const keys = Object.keys(node);
  if (keys.length === 0) throw new InvalidEventPatternError('empty objects are not allowed', dotted(path));
  let current = rules;
  for (const key of keys) {
    const value = node[key];
    const here = [...path, key];
    if (key === OR_KEY) {
      current = compileOr(value, path, current, pipeUnsupported);
      continue;
    }
    if (insideOr && RESERVED_IN_OR.has(key)) {
      throw new InvalidEventPatternError(`"${key}" is an operator name and cannot be a field inside "$or"`, dotted(here));
    }
    if (Array.isArray(value)) {
      const condition = compileConditions(value, dotted(here), pipeUnsupported);
      // Event-ruler joins nested keys with "." and lets a later key overwrite an earlier one on the same path.
      for (const rule of current) rule.set(dotted(here), condition);
    } else if (isPlainObject(value)) {
      current = compileObject(value, here, current, insideOr, pipeUnsupported);
    } else {
      throw new InvalidEventPatternError('a field must map to an object or to an array of values', dotted(here));
    }
  }
  return current;
}

function compileOr(
  value: unknown,
  path: string[],
  rules: SubRule[],
  pipeUnsupported: CompiledPattern['pipeUnsupported'],
): SubRule[] {
  const where = dotted([...path, OR_KEY]);
  if (!Array.isArray(value)) throw new InvalidEventPatternError('"$or" must be an array of objects', where);
  if (value.length < 2) throw new InvalidEventPatternError('"$or" needs at least two objects', where);
  const expanded: SubRule[] = [];
  for (const branch of value) {
    if (!isPlainObject(branch)) throw new InvalidEventPatternError('every "$or" element must be an object', where);
    expanded.push(...compileObject(branch, path, rules.map((rule) => new Map(rule)), true, pipeUnsupported));
    if (expanded.length > MAX_OR_COMBINATIONS) {
      throw new InvalidEventPatternError(`"$or" expands to more than ${MAX_OR_COMBINATIONS} rule combinations`, where);
    }
  }
  return expanded;
}

function compileConditions(values: unknown[], path: string, pipeUnsupported: CompiledPattern['pipeUnsupported']): FieldCondition {
  if (values.length === 0) throw new InvalidEventPatternError('empty arrays are not allowed', path);
  const condition: FieldCondition = { absent: false, tests: [] };
  for (const value of values) {
    if (isPlainObject(value)) {
      const compiled = compileOperator(value, path, pipeUnsupported);
      if (compiled === 'absent') condition.absent = true;
      else condition.tests.push(compiled);
    } else if (isLeaf(value)) {
      condition.tests.push(exactTest(value));
    } else {
      throw new InvalidEventPatternError('match values must be strings, numbers, true, false, null or operator objects', path);
    }
  }
  return condition;
}

function compileOperator(
  expression: Record<string, unknown>,
  path: string,
  pipeUnsupported: CompiledPattern['pipeUnsupported'],
): ((value: Leaf) => boolean) | 'absent' {
  const [operator, ...extra] = Object.keys(expression);
  if (operator === undefined) throw new InvalidEventPatternError('empty objects are not allowed', path);
  if (extra.length > 0) throw new InvalidEventPatternError('only one key is allowed in a match expression', path);
  const argument = expression[operator];
  switch (operator) {
    case 'prefix':
      return affixTest(argument, 'prefix', path);
    case 'suffix':
      return affixTest(argument, 'suffix', path);
    case 'equals-ignore-case': {
      const expected = requireString(argument, operator, path);
      return (value) => typeof value === 'string' && equalsIgnoreCase(value, expected);
    }
    case 'wildcard': {
      pipeUnsupported.push({ path, operator: 'wildcard matching' });
      const regex = wildcardRegex(requireString(argument, operator, path), path);
      return (value) => typeof value === 'string' && regex.test(value);
    }
    case 'anything-but':
      return anythingButTest(argument, path, pipeUnsupported);
    case 'numeric':
      return numericTest(argument, path);
    case 'exists':
      if (argument === true) return () => true;
      if (argument === false) return 'absent';
      throw new InvalidEventPatternError('"exists" must be true or false', path);
    case 'cidr':
      return cidrTest(argument, path);
    default:
      throw new InvalidEventPatternError(`unrecognized match type "${operator}"`, path);
  }
}

function exactTest(expected: Leaf): (value: Leaf) => boolean {
  // A quoted value never equals an unquoted one, so "300" and 300 differ, as do "" and null.
  return (value) => value === expected;
}

function affixTest(argument: unknown, kind: 'prefix' | 'suffix', path: string): (value: Leaf) => boolean {
  if (isPlainObject(argument)) {
    const keys = Object.keys(argument);
    if (keys.length !== 1 || keys[0] !== 'equals-ignore-case') {
      throw new InvalidEventPatternError(`"${kind}" takes a string or { "equals-ignore-case": string }`, path);
    }
    const expected = foldCase(requireString(argument['equals-ignore-case'], `${kind} equals-ignore-case`, path));
    return (value) => typeof value === 'string' && affixMatches(foldCase(value), expected, kind);
  }
  const expected = requireString(argument, kind, path);
  return (value) => typeof value === 'string' && affixMatches(value, expected, kind);
}

function affixMatches(value: string, affix: string, kind: 'prefix' | 'suffix'): boolean {
  return kind === 'prefix' ? value.startsWith(affix) : value.endsWith(affix);
}

function anythingButTest(
  argument: unknown,
  path: string,
  pipeUnsupported: CompiledPattern['pipeUnsupported'],
): (value: Leaf) => boolean {
  if (isPlainObject(argument)) {
    const keys = Object.keys(argument);
    if (keys.length !== 1) throw new InvalidEventPatternError('"anything-but" takes one nested operator', path);
    const nested = keys[0];
    if (!['prefix', 'suffix', 'equals-ignore-case', 'wildcard'].includes(nested)) {
      throw new InvalidEventPatternError(`unsupported anything-but pattern "${nested}"`, path);
    }
    pipeUnsupported.push({ path, operator: `anything-but with ${nested}` });
    const raw = argument[nested];
    const list = Array.isArray(raw) ? raw : [raw];
    if (list.length === 0) throw new InvalidEventPatternError('empty arrays are not allowed', path);
    const strings = list.map((item) => requireString(item, `anything-but ${nested}`, path));
    if ((nested === 'prefix' || nested === 'suffix') && strings.some((s) => s === '')) {
      throw new InvalidEventPatternError(`an empty anything-but ${nested} is not allowed`, path);
    }
    let excluded: (value: string) => boolean;
    if (nested === 'prefix') excluded = (value) => strings.some((s) => value.startsWith(s));
    else if (nested === 'suffix') excluded = (value) => strings.some((s) => value.endsWith(s));
    else if (nested === 'equals-ignore-case') excluded = (value) => strings.some((s) => equalsIgnoreCase(value, s));
    else {
      const regexes = strings.map((s) => wildcardRegex(s, path));
      excluded = (value) => regexes.some((regex) => regex.test(value));
    }
    // Only strings can be excluded: any other present value is "anything but" the listed strings.
    return (value) => typeof value !== 'string' || !excluded(value);
  }

  const list = Array.isArray(argument) ? argument : [argument];
  if (list.length === 0) throw new InvalidEventPatternError('empty arrays are not allowed', path);
  const allStrings = list.every((item) => typeof item === 'string');
  const allNumbers = list.every((item) => typeof item === 'number' && Number.isFinite(item));
  if (!allStrings && !allNumbers) {
    throw new InvalidEventPatternError('"anything-but" takes a string, a number, or a list of only strings or only numbers', path);
  }
  const excluded = new Set<Leaf>(list as Leaf[]);
  return (value) => !excluded.has(value);
}

type Bound = { value: number; inclusive: boolean };

function numericTest(argument: unknown, path: string): (value: Leaf) => boolean {
  if (!Array.isArray(argument)) throw new InvalidEventPatternError('"numeric" must be an array', path);
  const operand = (index: number, operator: string): number => {
    const value = argument[index];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new InvalidEventPatternError(`the value after "${operator}" must be a number`, path);
    }
    return value;
  };
  const [first, , second] = argument;
  if (typeof first !== 'string') throw new InvalidEventPatternError('"numeric" must start with an operator', path);

  if (first === '=') {
    if (argument.length !== 2) throw new InvalidEventPatternError('"numeric" with "=" takes exactly one number', path);
    const expected = operand(1, '=');
    return (value) => typeof value === 'number' && value === expected;
  }
  let lower: Bound | undefined;
  let upper: Bound | undefined;
  if (first === '>' || first === '>=') {
    lower = { value: operand(1, first), inclusive: first === '>=' };
    if (argument.length === 4) {
      if (second !== '<' && second !== '<=') {
        throw new InvalidEventPatternError('a numeric range must close with "<" or "<="', path);
      }
      upper = { value: operand(3, second), inclusive: second === '<=' };
      if (!(lower.value < upper.value)) {
        throw new InvalidEventPatternError('the lower bound of a numeric range must be below its upper bound', path);
      }
    } else if (argument.length !== 2) {
      throw new InvalidEventPatternError('too many terms in numeric expression', path);
    }
  } else if (first === '<' || first === '<=') {
    if (argument.length !== 2) throw new InvalidEventPatternError('too many terms in numeric expression', path);
    upper = { value: operand(1, first), inclusive: first === '<=' };
  } else {
    throw new InvalidEventPatternError(`unrecognized numeric operator "${first}"`, path);
  }
  return (value) =>
    typeof value === 'number' &&
    (!lower || (lower.inclusive ? value >= lower.value : value > lower.value)) &&
    (!upper || (upper.inclusive ? value <= upper.value : value < upper.value));
}

function cidrTest(argument: unknown, path: string): (value: Leaf) => boolean {
  const cidr = requireString(argument, 'cidr', path);
  const parts = cidr.split('/');
  if (parts.length !== 2) throw new InvalidEventPatternError(`malformed CIDR "${cidr}": one "/" required`, path);
  const [address, bitsText] = parts;
  if (!/^\d+$/.test(bitsText)) throw new InvalidEventPatternError(`malformed CIDR "${cidr}": mask bits must be an integer`, path);
  const bits = Number(bitsText);
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (!family) throw new InvalidEventPatternError(`malformed CIDR "${cidr}": not an IP address`, path);
  // Event-ruler refuses full-length masks (/32, /128); a single address is written as a plain string value instead.
  const maxBits = family === 'ipv4' ? 31 : 127;
  if (bits > maxBits) throw new InvalidEventPatternError(`${family === 'ipv4' ? 'IPv4' : 'IPv6'} mask bits must be at most ${maxBits}`, path);
  const subnet = new BlockList();
  subnet.addSubnet(address, bits, family);
  return (value) => {
    if (typeof value !== 'string') return false;
    if (family === 'ipv4') return isIPv4(value) && subnet.check(value, 'ipv4');
    return isIPv6(value) && subnet.check(value, 'ipv6');
  };
}

/** `*` matches any run of characters; `\*` and `\\` are a literal asterisk and backslash; `**` and other escapes are refused. */
function wildcardRegex(wildcard: string, path: string): RegExp {
  let source = '';
  for (let i = 0; i < wildcard.length; i++) {
    const char = wildcard[i];
    if (char === '*') {
      if (wildcard[i + 1] === '*') throw new InvalidEventPatternError(`consecutive wildcard characters at position ${i}`, path);
      source += '.*';
    } else if (char === '\\') {
      const next = wildcard[i + 1];
      if (next !== '*' && next !== '\\') throw new InvalidEventPatternError(`invalid escape character at position ${i}`, path);
      source += escapeRegex(next);
      i++;
    } else {
      source += escapeRegex(char);
    }
  }
  return new RegExp(`^${source}$`, 'su');
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function requireString(value: unknown, operator: string, path: string): string {
  if (typeof value !== 'string') throw new InvalidEventPatternError(`"${operator}" takes a string`, path);
  return value;
}

function foldCase(text: string): string {
  return text.toLowerCase();
}

function equalsIgnoreCase(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase() || a.toUpperCase() === b.toUpperCase();
}

// ---------------------------------------------------------------------------------------------------------------
// Matching: the event is flattened into leaf fields; array elements carry their position so one sub-rule can only
// combine fields from the same element of any array (event-ruler's "array-consistent" matching).

interface EventField {
  value: Leaf;
  /** Array identity -> element index, for every array the field sits in. */
  membership: Map<number, number>;
}

function flattenEvent(event: unknown): Map<string, EventField[]> {
  const fields = new Map<string, EventField[]>();
  let nextArrayId = 0;
  const visit = (node: unknown, path: string[], membership: Map<number, number>): void => {
    if (Array.isArray(node)) {
      const arrayId = nextArrayId++;
      node.forEach((element, index) => visit(element, path, new Map(membership).set(arrayId, index)));
    } else if (isPlainObject(node)) {
      for (const [key, child] of Object.entries(node)) visit(child, [...path, key], membership);
    } else if (isLeaf(node) && path.length > 0) {
      const key = dotted(path);
      const list = fields.get(key) ?? [];
      list.push({ value: node, membership });
      fields.set(key, list);
    }
  };
  visit(event, [], new Map());
  return fields;
}

function consistent(a: Map<number, number>, b: Map<number, number>): boolean {
  for (const [arrayId, index] of b) {
    const other = a.get(arrayId);
    if (other !== undefined && other !== index) return false;
  }
  return true;
}

function merge(a: Map<number, number>, b: Map<number, number>): Map<number, number> {
  const merged = new Map(a);
  for (const [arrayId, index] of b) merged.set(arrayId, index);
  return merged;
}

function matchesSubRule(rule: SubRule, fields: Map<string, EventField[]>): boolean {
  // Event-ruler walks a rule's fields in sorted key order; absence is judged against the array elements the
  // fields matched so far, so the order is part of the semantics.
  const keys = [...rule.keys()].sort();
  const step = (index: number, membership: Map<number, number>): boolean => {
    if (index === keys.length) return true;
    const condition = rule.get(keys[index]) as FieldCondition;
    const candidates = (fields.get(keys[index]) ?? []).filter((field) => consistent(membership, field.membership));
    if (condition.absent && candidates.length === 0 && step(index + 1, membership)) return true;
    return candidates.some(
      (field) => condition.tests.some((test) => test(field.value)) && step(index + 1, merge(membership, field.membership)),
    );
  };
  return step(0, new Map());
}

// ---------------------------------------------------------------------------------------------------------------

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isLeaf(value: unknown): value is Leaf {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

function dotted(path: string[]): string {
  return path.join('.');
}
