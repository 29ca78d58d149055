/**
 * template.yaml as data: CloudFormation's short-form tags read into their long form, and an
 * evaluator of the intrinsic functions for a given deployment (the parameters' Defaults unless
 * overridden). The local run and the template tests read the template through this one module.
 */
import { readFileSync } from 'node:fs';
import { type CollectionTag, parse, type ScalarTag } from 'yaml';

/** A template section or property as read from YAML: what the evaluator takes and gives. */
export type TemplateValue = unknown;

export interface TemplateParameter {
  Type: string;
  Default?: string | number;
}

export interface TemplateResource {
  Type: string;
  Condition?: string;
  Properties?: Record<string, TemplateValue>;
  Metadata?: Record<string, TemplateValue>;
}

/** The parts of a SAM template the local run and the template tests read. */
export interface Template {
  Parameters?: Record<string, TemplateParameter>;
  Mappings?: Record<string, Record<string, Record<string, TemplateValue>>>;
  Conditions?: Record<string, TemplateValue>;
  Globals?: { Function?: Record<string, TemplateValue> };
  Resources?: Record<string, TemplateResource>;
  Outputs?: Record<string, TemplateValue>;
}

const INTRINSICS = [
  'Ref',
  'Condition',
  'Base64',
  'Cidr',
  'FindInMap',
  'GetAtt',
  'GetAZs',
  'ImportValue',
  'Join',
  'Select',
  'Split',
  'Sub',
  'Transform',
  'And',
  'Equals',
  'If',
  'Not',
  'Or',
  'ToJsonString',
  'Length',
  // Rule functions, only valid in the Rules section.
  'Contains',
  'EachMemberEquals',
  'EachMemberIn',
];

const CFN_TAGS: Array<ScalarTag | CollectionTag> = INTRINSICS.flatMap((name) => {
  const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
  const wrap = (value: unknown) => ({ [key]: name === 'GetAtt' && typeof value === 'string' ? value.split('.') : value });
  return [
    { tag: `!${name}`, resolve: (value: string) => wrap(value) } as ScalarTag,
    { tag: `!${name}`, collection: 'seq', resolve: (value: { toJSON(): unknown }) => wrap(value.toJSON()) } as unknown as CollectionTag,
    { tag: `!${name}`, collection: 'map', resolve: (value: { toJSON(): unknown }) => wrap(value.toJSON()) } as unknown as CollectionTag,
  ];
});

/** A template as plain data, short-form tags turned into their long form (`!Ref X` → `{Ref: X}`). */
export function readTemplate(templatePath: string): Template {
  return parse(readFileSync(templatePath, 'utf8'), { customTags: CFN_TAGS }) as Template;
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
 * would, leaving resource attributes as readable markers. Covers what template.yaml uses, the
 * rule functions of its Rules section included.
 */
export class Evaluator {
  private readonly parameters: Record<string, unknown>;
  private readonly pseudo: Record<string, string>;

  constructor(
    private readonly template: Template,
    deployment: Deployment = {},
  ) {
    this.parameters = {};
    for (const [name, definition] of Object.entries(template.Parameters ?? {})) {
      const raw = deployment.parameters?.[name] ?? definition.Default;
      this.parameters[name] = definition.Type === 'CommaDelimitedList' && typeof raw === 'string' ? raw.split(',') : raw;
    }
    const partition = deployment.partition ?? 'aws';
    const region = deployment.region ?? 'eu-west-1';
    const account = deployment.accountId ?? '123456789012';
    this.pseudo = {
      'AWS::Partition': partition,
      'AWS::Region': region,
      'AWS::AccountId': account,
      'AWS::StackName': 'media-probe',
      'AWS::StackId': `arn:${partition}:cloudformation:${region}:${account}:stack/media-probe/0a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d`,
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

  /** The stack's outputs as CloudFormation would create them: those whose Condition, if any, holds, evaluated. */
  outputs(): Record<string, TemplateValue> {
    const created = Object.entries(this.template.Outputs ?? {}).filter(([, output]) => {
      const condition = (output as { Condition?: string } | null)?.Condition;
      return condition === undefined || this.condition(condition);
    });
    return Object.fromEntries(created.map(([name, output]) => [name, this.evaluate(output)]));
  }

  evaluate(value: TemplateValue): TemplateValue {
    const result = this.eval(value);
    return result === NO_VALUE ? undefined : result;
  }

  private eval(value: TemplateValue): TemplateValue {
    if (Array.isArray(value)) return value.map((v) => this.eval(v)).filter((v) => v !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value);
    const [first] = entries;
    if (entries.length === 1 && (first[0] === 'Ref' || first[0] === 'Condition' || first[0].startsWith('Fn::'))) {
      return this.intrinsic(first[0], first[1]);
    }
    const out: Record<string, TemplateValue> = {};
    for (const [k, v] of entries) {
      const evaluated = this.eval(v);
      if (evaluated !== NO_VALUE) out[k] = evaluated;
    }
    return out;
  }

  private ref(name: string): TemplateValue {
    if (name === 'AWS::NoValue') return NO_VALUE;
    if (name in this.pseudo) return this.pseudo[name];
    if (name in this.parameters) return this.parameters[name];
    if (name in (this.template.Resources ?? {})) return refOf(name);
    throw new Error(`Ref to unknown name ${name}`);
  }

  private sub(text: string, variables: Record<string, TemplateValue>): string {
    return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
      if (name in variables) return String(variables[name]);
      const dot = name.indexOf('.');
      if (dot > 0 && !name.startsWith('AWS::')) return attOf(name.slice(0, dot), name.slice(dot + 1));
      return String(this.ref(name));
    });
  }

  private intrinsic(fn: string, arg: TemplateValue): TemplateValue {
    // Every intrinsic but Ref, Condition and the one-string Fn::Sub takes a list of arguments.
    const args = (Array.isArray(arg) ? arg : [arg]) as TemplateValue[];
    switch (fn) {
      case 'Ref':
        return this.ref(String(arg));
      case 'Condition':
        return this.condition(String(arg));
      case 'Fn::GetAtt':
        return attOf(String(args[0]), String(args[1]));
      case 'Fn::If':
        return this.condition(String(args[0])) ? this.eval(args[1]) : this.eval(args[2]);
      case 'Fn::Equals':
        return JSON.stringify(this.eval(args[0])) === JSON.stringify(this.eval(args[1]));
      case 'Fn::Not':
        return !this.eval(args[0]);
      case 'Fn::And':
        return args.every((c) => this.eval(c));
      case 'Fn::Or':
        return args.some((c) => this.eval(c));
      case 'Fn::Join':
        return (this.eval(args[1]) as TemplateValue[]).map(String).join(String(args[0]));
      case 'Fn::Split':
        return String(this.eval(args[1])).split(String(args[0]));
      case 'Fn::Select':
        return (this.eval(args[1]) as TemplateValue[])[Number(this.eval(args[0]))];
      case 'Fn::FindInMap': {
        const [map, top, second] = args.map((a) => String(this.eval(a)));
        const found = this.template.Mappings?.[map]?.[top]?.[second];
        if (found === undefined) throw new Error(`FindInMap ${map}/${top}/${second} has no value`);
        return found;
      }
      case 'Fn::Contains':
        return (this.eval(args[0]) as TemplateValue[]).map(String).includes(String(this.eval(args[1])));
      case 'Fn::EachMemberEquals':
        return (this.eval(args[0]) as TemplateValue[]).every((member) => String(member) === String(this.eval(args[1])));
      case 'Fn::EachMemberIn': {
        const allowed = (this.eval(args[1]) as TemplateValue[]).map(String);
        return (this.eval(args[0]) as TemplateValue[]).every((member) => allowed.includes(String(member)));
      }
      case 'Fn::Sub':
        if (typeof arg === 'string') return this.sub(arg, {});
        return this.sub(String(args[0]), (this.eval(args[1]) ?? {}) as Record<string, TemplateValue>);
      default:
        throw new Error(`intrinsic ${fn} is not supported by the template evaluator`);
    }
  }
}
