/**
 * Reads what the local run needs from template.yaml — the pipe's filters, batching and input
 * template, the table's key schema, the state machine's definition and which function fills each placeholder — so the
 * template stays the one source of truth.
 */
import path from 'node:path';
import type { AttributeDefinition, GlobalSecondaryIndex, KeySchemaElement, StreamViewType } from '@aws-sdk/client-dynamodb';
import { Evaluator, readTemplate, type Template, type TemplateResource } from './cfn';

/** The evaluated properties this module reads, as far as it reads them. */
interface FunctionProperties {
  Handler?: string;
  CodeUri?: string;
  Timeout?: number | string;
  MemorySize?: number | string;
}

interface PipeProperties {
  SourceParameters?: {
    DynamoDBStreamParameters?: {
      BatchSize?: number | string;
      MaximumBatchingWindowInSeconds?: number | string;
      ParallelizationFactor?: number | string;
      MaximumRetryAttempts?: number | string;
      OnPartialBatchItemFailure?: string;
    };
    FilterCriteria?: { Filters?: Array<{ Pattern?: unknown }> };
  };
  TargetParameters?: { InputTemplate?: string; StepFunctionStateMachineParameters?: { InvocationType?: string } };
}

interface TableProperties {
  KeySchema: TableSettings['keySchema'];
  AttributeDefinitions: TableSettings['attributeDefinitions'];
  GlobalSecondaryIndexes?: TableSettings['globalSecondaryIndexes'];
  StreamSpecification?: { StreamViewType?: StreamViewType };
}

interface StateMachineProperties {
  Type?: string;
  DefinitionUri?: string;
  DefinitionSubstitutions?: Record<string, unknown>;
}

/** A property of the template as data: a record of anything, or nothing. */
function recordOf(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}

export interface TemplateFunction {
  logicalId: string;
  /** Repository-relative path of the TypeScript entry point. */
  entryPoint: string;
  /** Exported name of the handler in the entry point. */
  exportName: string;
  timeoutSeconds: number;
  /** MemorySize as deployed with the Defaults (Lambda's 128 MB when unset). */
  memoryMb: number;
  /** Environment variables as deployed with the Defaults (Globals merged, as SAM merges them); resource references stay as markers. */
  environment: Record<string, string>;
}

export interface PipeSettings {
  filterPatterns: string[];
  batchSize: number;
  batchingWindowSeconds: number;
  /** Batches of one shard in flight at once; a row's records always share one. */
  parallelizationFactor: number;
  maximumRetryAttempts: number;
  bisectOnFailure: boolean;
  invocationType: string;
  /** What the pipe hands the target for each record, when not the record itself. */
  inputTemplate?: string;
}

export interface TableSettings {
  logicalId: string;
  keySchema: KeySchemaElement[];
  attributeDefinitions: AttributeDefinition[];
  globalSecondaryIndexes: GlobalSecondaryIndex[];
  streamViewType: StreamViewType;
}

/** A state machine of the template: its definition and what fills each of its placeholders. */
export interface MachineSettings {
  logicalId: string;
  type: 'EXPRESS' | 'STANDARD';
  /** Repository-relative path of the ASL file. */
  definitionPath: string;
  /** Placeholder name (e.g. PresignFunctionArn) → the function it stands for. */
  substitutions: Record<string, TemplateFunction>;
  /** Placeholder name → the logical id of the other state machine it stands for. */
  machineSubstitutions: Record<string, string>;
  /** Placeholder name → its value, for the placeholders that stand for no resource (e.g. Partition). */
  values: Record<string, string>;
}

export interface LocalTemplate {
  pipe: PipeSettings;
  table: TableSettings;
  /** The Express state machine the pipe starts: the analysis of a batch of rows. */
  analysis: MachineSettings;
  /** The Standard state machine that runs analyses across the whole table. */
  backfill: MachineSettings;
  /** The function S3's object events go to (its EventBridge rule's pattern has source aws.s3). */
  objectEvent: TemplateFunction;
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}

function resourcesOfType(template: Template, type: string): Array<[string, TemplateResource]> {
  return Object.entries(template.Resources ?? {}).filter(([, r]) => r.Type === type);
}

function single(template: Template, type: string): [string, TemplateResource] {
  const found = resourcesOfType(template, type);
  if (found.length !== 1) throw new TemplateError(`template.yaml must have exactly one ${type}, found ${found.length}`);
  return found[0];
}

function numberSetting(value: unknown, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new TemplateError(`${what} is not a number`);
  return n;
}

/** The logical id behind an evaluated `!GetAtt Fn.Arn` or `!Ref Fn`. */
function referencedResource(value: unknown): string | undefined {
  return /^<(?:GetAtt|Ref) ([A-Za-z0-9]+)/.exec(String(value))?.[1];
}

function functionSettings(template: Template, evaluator: Evaluator, logicalId: string): TemplateFunction {
  const resource = template.Resources?.[logicalId];
  if (resource?.Type !== 'AWS::Serverless::Function') throw new TemplateError(`${logicalId} is not an AWS::Serverless::Function`);
  const globals = template.Globals?.Function ?? {};
  const own = resource.Properties ?? {};
  const props = evaluator.evaluate({ ...globals, ...own }) as FunctionProperties;
  const variablesOf = (properties: Record<string, unknown>) => recordOf(recordOf(properties.Environment).Variables);
  const variables = recordOf(evaluator.evaluate({ ...variablesOf(globals), ...variablesOf(own) }));
  const entryPoints = recordOf(resource.Metadata?.BuildProperties).EntryPoints;
  const entry = Array.isArray(entryPoints) && typeof entryPoints[0] === 'string' ? entryPoints[0] : undefined;
  if (!entry) throw new TemplateError(`${logicalId} has no Metadata.BuildProperties.EntryPoints`);
  const handler = String(props.Handler ?? '');
  const exportName = handler.slice(handler.lastIndexOf('.') + 1);
  if (!exportName) throw new TemplateError(`${logicalId} has no Handler`);
  return {
    logicalId,
    entryPoint: path.posix.join(String(props.CodeUri ?? '.'), entry),
    exportName,
    timeoutSeconds: numberSetting(props.Timeout, 3, `${logicalId}.Timeout`),
    memoryMb: numberSetting(props.MemorySize, 128, `${logicalId}.MemorySize`),
    environment: Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, String(value)])),
  };
}

/** Everything the local run takes from the template, as a deployment with the parameters' Defaults gets it. */
export function localTemplate(templatePath: string): LocalTemplate {
  const template = readTemplate(templatePath);
  const evaluator = new Evaluator(template);
  const [pipeId, pipe] = single(template, 'AWS::Pipes::Pipe');
  const pipeProps = evaluator.evaluate(pipe.Properties ?? {}) as PipeProperties;
  const source = pipeProps.SourceParameters ?? {};
  const stream = source.DynamoDBStreamParameters ?? {};
  const filters = source.FilterCriteria?.Filters ?? [];
  const [tableId, table] = single(template, 'AWS::DynamoDB::Table');
  const tableProps = evaluator.evaluate(table.Properties ?? {}) as TableProperties;
  const streamViewType = tableProps.StreamSpecification?.StreamViewType;
  if (!streamViewType) throw new TemplateError(`${tableId} has no StreamSpecification.StreamViewType: the pipe reads the table's stream`);
  const machines = resourcesOfType(template, 'AWS::Serverless::StateMachine');
  const analysisId = referencedResource((pipeProps as { Target?: unknown }).Target);
  const analysis = machines.find(([id]) => id === analysisId);
  if (!analysis) throw new TemplateError(`${pipeId}'s Target is not a state machine of the template`);
  const others = machines.filter(([id]) => id !== analysisId);
  if (others.length !== 1)
    throw new TemplateError(`template.yaml must have one state machine besides the pipe's target, found ${others.length}`);
  const [backfillId, backfill] = others[0];
  return {
    pipe: {
      filterPatterns: filters.map((f, i) => {
        if (typeof f.Pattern !== 'string') throw new TemplateError(`${pipeId} filter ${i} is not a JSON string`);
        return f.Pattern;
      }),
      batchSize: numberSetting(stream.BatchSize, 1, `${pipeId}.BatchSize`),
      batchingWindowSeconds: numberSetting(stream.MaximumBatchingWindowInSeconds, 0, `${pipeId}.MaximumBatchingWindowInSeconds`),
      parallelizationFactor: numberSetting(stream.ParallelizationFactor, 1, `${pipeId}.ParallelizationFactor`),
      maximumRetryAttempts: numberSetting(stream.MaximumRetryAttempts, -1, `${pipeId}.MaximumRetryAttempts`),
      bisectOnFailure: stream.OnPartialBatchItemFailure === 'AUTOMATIC_BISECT',
      invocationType: String(pipeProps.TargetParameters?.StepFunctionStateMachineParameters?.InvocationType ?? 'REQUEST_RESPONSE'),
      inputTemplate: pipeProps.TargetParameters?.InputTemplate,
    },
    table: {
      logicalId: tableId,
      keySchema: tableProps.KeySchema,
      attributeDefinitions: tableProps.AttributeDefinitions,
      globalSecondaryIndexes: tableProps.GlobalSecondaryIndexes ?? [],
      streamViewType,
    },
    objectEvent: functionSettings(template, evaluator, objectEventFunction(template)),
    analysis: machineSettings(template, evaluator, analysisId as string, analysis[1]),
    backfill: machineSettings(template, evaluator, backfillId, backfill),
  };
}

/** The function whose EventBridgeRule event listens to S3 (source aws.s3). */
function objectEventFunction(template: Template): string {
  const found = resourcesOfType(template, 'AWS::Serverless::Function').filter(([, fn]) =>
    Object.values(recordOf(fn.Properties?.Events)).some((event) => {
      const pattern = recordOf(recordOf(recordOf(event).Properties).Pattern);
      return recordOf(event).Type === 'EventBridgeRule' && JSON.stringify(pattern.source) === JSON.stringify(['aws.s3']);
    }),
  );
  if (found.length !== 1) throw new TemplateError(`template.yaml must have one function listening to S3's events, found ${found.length}`);
  return found[0][0];
}

function machineSettings(template: Template, evaluator: Evaluator, logicalId: string, machine: TemplateResource): MachineSettings {
  const props = evaluator.evaluate(machine.Properties ?? {}) as StateMachineProperties;
  const settings: MachineSettings = {
    logicalId,
    type: props.Type === 'STANDARD' ? 'STANDARD' : 'EXPRESS',
    definitionPath: String(props.DefinitionUri ?? ''),
    substitutions: {},
    machineSubstitutions: {},
    values: {},
  };
  for (const [name, value] of Object.entries(props.DefinitionSubstitutions ?? {})) {
    const target = referencedResource(value);
    const type = target && template.Resources?.[target]?.Type;
    if (type === 'AWS::Serverless::Function') settings.substitutions[name] = functionSettings(template, evaluator, target as string);
    else if (type === 'AWS::Serverless::StateMachine') settings.machineSubstitutions[name] = target as string;
    else if (target) throw new TemplateError(`${logicalId} substitutes ${name} with ${target}, which the local run has no stand-in for`);
    else settings.values[name] = String(value);
  }
  if (!Object.keys(settings.substitutions).length) throw new TemplateError(`${logicalId} has no DefinitionSubstitutions naming functions`);
  return settings;
}
