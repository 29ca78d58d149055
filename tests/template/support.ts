/**
 * Shared helpers for the template tests: reading template.yaml with CloudFormation's short-form
 * tags, evaluating the intrinsic functions the template uses for a given set of parameters, and
 * running the Python tools from the project's .venv (created by tools/venv.sh).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, type CollectionTag, type ScalarTag } from 'yaml';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const templatePath = path.join(repoRoot, 'template.yaml');

export type Json = any;

const INTRINSICS = ['Ref', 'Condition', 'Base64', 'Cidr', 'FindInMap', 'GetAtt', 'GetAZs', 'ImportValue', 'Join', 'Select', 'Split', 'Sub', 'Transform', 'And', 'Equals', 'If', 'Not', 'Or'];

const CFN_TAGS: Array<ScalarTag | CollectionTag> = INTRINSICS.flatMap((name) => {
  const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
  const wrap = (value: unknown) => ({ [key]: name === 'GetAtt' && typeof value === 'string' ? value.split('.') : value });
  return [
    { tag: `!${name}`, resolve: (value: string) => wrap(value) } as ScalarTag,
    { tag: `!${name}`, collection: 'seq', resolve: (value: { toJSON(): unknown }) => wrap(value.toJSON()) } as unknown as CollectionTag,
    { tag: `!${name}`, collection: 'map', resolve: (value: { toJSON(): unknown }) => wrap(value.toJSON()) } as unknown as CollectionTag,
  ];
});

/** template.yaml as plain data, short-form tags turned into their long form (`!Ref X` → `{Ref: X}`). */
export function loadTemplate(): Json {
  return parse(readFileSync(templatePath, 'utf8'), { customTags: CFN_TAGS });
}

/** Marker that stands for a `Ref` to a resource, whose value only exists once deployed. */
export const refOf = (logicalId: string): string => `<Ref ${logicalId}>`;
/** Marker that stands for a `Fn::GetAtt` of a resource. */
export const attOf = (logicalId: string, attribute: string): string => `<GetAtt ${logicalId}.${attribute}>`;

/** The sentinel Fn::If yields for `AWS::NoValue`; `evaluate` drops it from lists and maps. */
const NO_VALUE = Symbol('AWS::NoValue');

export interface Deployment {
  /** Parameter values overriding the template's Defaults (lists for CommaDelimitedList). */
  parameters?: Record<string, string | number | string[]>;
  partition?: string;
  region?: string;
  accountId?: string;
}

/**
 * Evaluates CloudFormation intrinsic functions the way a deployment with the given parameters
 * would, leaving resource attributes as readable markers. Covers what template.yaml uses.
 */
export class Evaluator {
  private readonly parameters: Record<string, unknown>;
  private readonly pseudo: Record<string, string>;

  constructor(private readonly template: Json, deployment: Deployment = {}) {
    this.parameters = {};
    for (const [name, definition] of Object.entries<Json>(template.Parameters ?? {})) {
      const raw = deployment.parameters?.[name] ?? definition.Default;
      this.parameters[name] = definition.Type === 'CommaDelimitedList' && typeof raw === 'string' ? raw.split(',') : raw;
    }
    const partition = deployment.partition ?? 'aws';
    this.pseudo = {
      'AWS::Partition': partition,
      'AWS::Region': deployment.region ?? 'eu-west-1',
      'AWS::AccountId': deployment.accountId ?? '123456789012',
      'AWS::StackName': 'media-probe',
      'AWS::URLSuffix': partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com',
    };
  }

  condition(name: string): boolean {
    const definition = this.template.Conditions?.[name];
    if (definition === undefined) throw new Error(`unknown condition ${name}`);
    return Boolean(this.evaluate(definition));
  }

  /** Whether a resource would be created (its Condition, if any, holds). */
  exists(logicalId: string): boolean {
    const resource = this.template.Resources?.[logicalId];
    if (!resource) throw new Error(`unknown resource ${logicalId}`);
    return resource.Condition === undefined || this.condition(resource.Condition);
  }

  evaluate(value: Json): Json {
    const result = this.eval(value);
    return result === NO_VALUE ? undefined : result;
  }

  private eval(value: Json): Json {
    if (Array.isArray(value)) return value.map((v) => this.eval(v)).filter((v) => v !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0] === 'Condition' || keys[0].startsWith('Fn::'))) {
      return this.intrinsic(keys[0], value[keys[0]]);
    }
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value)) {
      const evaluated = this.eval(v);
      if (evaluated !== NO_VALUE) out[k] = evaluated;
    }
    return out;
  }

  private ref(name: string): Json {
    if (name === 'AWS::NoValue') return NO_VALUE;
    if (name in this.pseudo) return this.pseudo[name];
    if (name in this.parameters) return this.parameters[name];
    if (name in (this.template.Resources ?? {})) return refOf(name);
    throw new Error(`Ref to unknown name ${name}`);
  }

  private sub(text: string, variables: Record<string, Json>): string {
    return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
      if (name in variables) return String(variables[name]);
      const dot = name.indexOf('.');
      if (dot > 0 && !name.startsWith('AWS::')) return attOf(name.slice(0, dot), name.slice(dot + 1));
      return String(this.ref(name));
    });
  }

  private intrinsic(fn: string, arg: Json): Json {
    switch (fn) {
      case 'Ref':
        return this.ref(arg);
      case 'Condition':
        return this.condition(arg);
      case 'Fn::GetAtt':
        return attOf(arg[0], arg[1]);
      case 'Fn::If':
        return this.condition(arg[0]) ? this.eval(arg[1]) : this.eval(arg[2]);
      case 'Fn::Equals':
        return JSON.stringify(this.eval(arg[0])) === JSON.stringify(this.eval(arg[1]));
      case 'Fn::Not':
        return !this.eval(arg[0]);
      case 'Fn::And':
        return arg.every((c: Json) => this.eval(c));
      case 'Fn::Or':
        return arg.some((c: Json) => this.eval(c));
      case 'Fn::Join':
        return (this.eval(arg[1]) as Json[]).map(String).join(arg[0]);
      case 'Fn::Split':
        return String(this.eval(arg[1])).split(arg[0]);
      case 'Fn::Select':
        return (this.eval(arg[1]) as Json[])[Number(this.eval(arg[0]))];
      case 'Fn::FindInMap': {
        const [map, top, second] = (arg as Json[]).map((a) => this.eval(a));
        const found = this.template.Mappings?.[map]?.[String(top)]?.[String(second)];
        if (found === undefined) throw new Error(`FindInMap ${map}/${top}/${second} has no value`);
        return found;
      }
      case 'Fn::Sub':
        if (typeof arg === 'string') return this.sub(arg, {});
        return this.sub(arg[0], this.eval(arg[1]));
      default:
        throw new Error(`intrinsic ${fn} is not supported by the test evaluator`);
    }
  }
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command from the repository root, never through a shell. */
export function run(command: string, args: string[], options: { timeoutMs: number; env?: NodeJS.ProcessEnv; cwd?: string }): RunResult {
  const result: SpawnSyncReturns<string> = spawnSync(command, args, {
    cwd: options.cwd ?? repoRoot,
    encoding: 'utf8',
    timeout: options.timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
    // SAM CLI would otherwise try to send telemetry, which only slows runs without network.
    env: { ...process.env, SAM_CLI_TELEMETRY: '0', ...options.env },
  });
  if (result.error) throw new Error(`${command} ${args.join(' ')} could not run: ${result.error.message}`);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Path of a tool installed by tools/venv.sh. */
export const venvTool = (name: 'sam' | 'cfn-lint' | 'checkov'): string => path.join(repoRoot, '.venv', 'bin', name);

/** Creates or refreshes .venv (fast when it is up to date); fails with the installer's output. */
export function ensureVenv(): void {
  const result = run('bash', [path.join(repoRoot, 'tools', 'venv.sh')], { timeoutMs: 15 * 60_000 });
  if (result.status !== 0) {
    throw new Error(`tools/venv.sh failed (exit ${result.status}); the template checks need its tools.\n${result.stderr}${result.stdout}`);
  }
}

/** Time the slow suites may take: venv creation on a cold pip cache, and the layer build. */
export const VENV_TIMEOUT_MS = 16 * 60_000;
