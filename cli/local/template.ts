/**
 * Reads what the local run needs from template.yaml — the pipe's filters and batching, the table's
 * key schema, the state machine's definition and which function fills each placeholder — so the
 * template stays the one source of truth.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, type CollectionTag, type ScalarTag } from 'yaml';

const INTRINSICS = ['Ref', 'Condition', 'Base64', 'Cidr', 'FindInMap', 'GetAtt', 'GetAZs', 'ImportValue', 'Join', 'Select', 'Split', 'Sub', 'Transform', 'And', 'Equals', 'If', 'Not', 'Or', 'ToJsonString', 'Length'];

/** CloudFormation's short-form tags (`!Ref`, `!GetAtt`, …) in their long form, so the YAML parses as plain data. */
const CFN_TAGS: Array<ScalarTag | CollectionTag> = INTRINSICS.flatMap((name) => {
  const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
  const toValue = (value: unknown) => ({ [key]: name === 'GetAtt' && typeof value === 'string' ? value.split('.') : value });
  return [
    { tag: `!${name}`, resolve: (value: string) => toValue(value) } as ScalarTag,
    { tag: `!${name}`, collection: 'seq', resolve: (value: { toJSON(): unknown }) => toValue(value.toJSON()) } as unknown as CollectionTag,
    { tag: `!${name}`, collection: 'map', resolve: (value: { toJSON(): unknown }) => toValue(value.toJSON()) } as unknown as CollectionTag,
  ];
});

type Json = Record<string, any>;

export interface TemplateFunction {
  logicalId: string;
  /** Repository-relative path of the TypeScript entry point. */
  entryPoint: string;
  /** Exported name of the handler in the entry point. */
  exportName: string;
  timeoutSeconds: number;
}

export interface PipeSettings {
  filterPatterns: string[];
  batchSize: number;
  batchingWindowSeconds: number;
  maximumRetryAttempts: number;
  bisectOnFailure: boolean;
  invocationType: string;
}

export interface TableSettings {
  keySchema: Array<{ AttributeName: string; KeyType: string }>;
  attributeDefinitions: Array<{ AttributeName: string; AttributeType: string }>;
  streamViewType: string;
}

export interface LocalTemplate {
  pipe: PipeSettings;
  table: TableSettings;
  /** Repository-relative path of the ASL file. */
  definitionPath: string;
  /** Placeholder name (e.g. PresignFunctionArn) → the function it stands for. */
  substitutions: Record<string, TemplateFunction>;
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}

export function readTemplate(templatePath: string): Json {
  return parse(readFileSync(templatePath, 'utf8'), { customTags: CFN_TAGS }) as Json;
}

function resourcesOfType(template: Json, type: string): Array<[string, Json]> {
  return Object.entries((template.Resources ?? {}) as Record<string, Json>).filter(([, r]) => r.Type === type);
}

function single(template: Json, type: string): [string, Json] {
  const found = resourcesOfType(template, type);
  if (found.length !== 1) throw new TemplateError(`template.yaml must have exactly one ${type}, found ${found.length}`);
  return found[0];
}

/** A literal, a `!Ref` to a parameter (its Default), or a `!FindInMap` over those: what a default deployment gets. */
function resolveScalar(template: Json, value: unknown, what: string): unknown {
  const v = value as Json;
  if (v && typeof v === 'object' && 'Ref' in v) {
    const parameter = template.Parameters?.[v.Ref as string];
    if (!parameter || parameter.Default === undefined) throw new TemplateError(`${what} refers to ${v.Ref}, which is no parameter with a Default`);
    return parameter.Default;
  }
  if (v && typeof v === 'object' && 'Fn::FindInMap' in v) {
    const [map, key, attribute] = (v['Fn::FindInMap'] as unknown[]).map((part) => String(resolveScalar(template, part, what)));
    const found = template.Mappings?.[map]?.[key]?.[attribute];
    if (found === undefined) throw new TemplateError(`${what}: mapping ${map}.${key}.${attribute} does not exist`);
    return found;
  }
  return value;
}

function numberSetting(template: Json, value: unknown, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  const n = Number(resolveScalar(template, value, what));
  if (!Number.isFinite(n)) throw new TemplateError(`${what} is not a number`);
  return n;
}

/** The logical id a DefinitionSubstitution points at: `!GetAtt Fn.Arn`, `!Ref Fn`, or `!Sub ${Fn.Arn}`. */
function referencedResource(value: unknown): string | undefined {
  const v = value as Json;
  if (v?.['Fn::GetAtt']) return (v['Fn::GetAtt'] as string[])[0];
  if (typeof v?.Ref === 'string') return v.Ref;
  if (typeof v?.['Fn::Sub'] === 'string') return /\$\{([A-Za-z0-9]+)(\.Arn)?\}/.exec(v['Fn::Sub'])?.[1];
  return undefined;
}

function functionSettings(template: Json, logicalId: string): TemplateFunction {
  const resource = template.Resources?.[logicalId] as Json | undefined;
  if (resource?.Type !== 'AWS::Serverless::Function') throw new TemplateError(`${logicalId} is not an AWS::Serverless::Function`);
  const props = { ...(template.Globals?.Function ?? {}), ...(resource.Properties ?? {}) } as Json;
  const entry = (resource.Metadata?.BuildProperties?.EntryPoints ?? [])[0] as string | undefined;
  if (!entry) throw new TemplateError(`${logicalId} has no Metadata.BuildProperties.EntryPoints`);
  const handler = String(props.Handler ?? '');
  const exportName = handler.slice(handler.lastIndexOf('.') + 1);
  if (!exportName) throw new TemplateError(`${logicalId} has no Handler`);
  return {
    logicalId,
    entryPoint: path.posix.join(String(props.CodeUri ?? '.'), entry),
    exportName,
    timeoutSeconds: numberSetting(template, props.Timeout, 3, `${logicalId}.Timeout`),
  };
}

/** Everything the local run takes from the template. */
export function localTemplate(templatePath: string): LocalTemplate {
  const template = readTemplate(templatePath);
  const [pipeId, pipe] = single(template, 'AWS::Pipes::Pipe');
  const source = pipe.Properties?.SourceParameters ?? {};
  const stream = source.DynamoDBStreamParameters ?? {};
  const filters = (source.FilterCriteria?.Filters ?? []) as Json[];
  const [, table] = single(template, 'AWS::DynamoDB::Table');
  const [machineId, machine] = single(template, 'AWS::Serverless::StateMachine');
  const substitutions: Record<string, TemplateFunction> = {};
  for (const [name, value] of Object.entries((machine.Properties?.DefinitionSubstitutions ?? {}) as Json)) {
    const target = referencedResource(value);
    if (target && template.Resources?.[target]?.Type === 'AWS::Serverless::Function') substitutions[name] = functionSettings(template, target);
  }
  if (!Object.keys(substitutions).length) throw new TemplateError(`${machineId} has no DefinitionSubstitutions naming functions`);
  return {
    pipe: {
      filterPatterns: filters.map((f, i) => {
        const pattern = resolveScalar(template, f.Pattern, `${pipeId} filter ${i}`);
        if (typeof pattern !== 'string') throw new TemplateError(`${pipeId} filter ${i} must be a literal JSON string`);
        return pattern;
      }),
      batchSize: numberSetting(template, stream.BatchSize, 1, `${pipeId}.BatchSize`),
      batchingWindowSeconds: numberSetting(template, stream.MaximumBatchingWindowInSeconds, 0, `${pipeId}.MaximumBatchingWindowInSeconds`),
      maximumRetryAttempts: numberSetting(template, stream.MaximumRetryAttempts, -1, `${pipeId}.MaximumRetryAttempts`),
      bisectOnFailure: resolveScalar(template, stream.OnPartialBatchItemFailure, pipeId) === 'AUTOMATIC_BISECT',
      invocationType: String(resolveScalar(template, pipe.Properties?.TargetParameters?.StepFunctionStateMachineParameters?.InvocationType, pipeId) ?? 'FIRE_AND_FORGET'),
    },
    table: {
      keySchema: table.Properties?.KeySchema,
      attributeDefinitions: table.Properties?.AttributeDefinitions,
      streamViewType: table.Properties?.StreamSpecification?.StreamViewType,
    },
    definitionPath: String(machine.Properties?.DefinitionUri ?? ''),
    substitutions,
  };
}
