/**
 * Reads what the local run needs from template.yaml — the pipe's filters and batching, the table's
 * key schema, the state machine's definition and which function fills each placeholder — so the
 * template stays the one source of truth.
 */
import path from 'node:path';
import { Evaluator, readTemplate } from './cfn';

type Json = Record<string, any>;

export interface TemplateFunction {
  logicalId: string;
  /** Repository-relative path of the TypeScript entry point. */
  entryPoint: string;
  /** Exported name of the handler in the entry point. */
  exportName: string;
  timeoutSeconds: number;
  /** Environment variables as deployed with the Defaults (Globals merged, as SAM merges them); resource references stay as markers. */
  environment: Record<string, string>;
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


function resourcesOfType(template: Json, type: string): Array<[string, Json]> {
  return Object.entries((template.Resources ?? {}) as Record<string, Json>).filter(([, r]) => r.Type === type);
}

function single(template: Json, type: string): [string, Json] {
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

function functionSettings(template: Json, evaluator: Evaluator, logicalId: string): TemplateFunction {
  const resource = template.Resources?.[logicalId] as Json | undefined;
  if (resource?.Type !== 'AWS::Serverless::Function') throw new TemplateError(`${logicalId} is not an AWS::Serverless::Function`);
  const globals = (template.Globals?.Function ?? {}) as Json;
  const own = (resource.Properties ?? {}) as Json;
  const props = evaluator.evaluate({ ...globals, ...own }) as Json;
  const variables = evaluator.evaluate({ ...(globals.Environment?.Variables ?? {}), ...(own.Environment?.Variables ?? {}) }) as Json;
  const entry = (resource.Metadata?.BuildProperties?.EntryPoints ?? [])[0] as string | undefined;
  if (!entry) throw new TemplateError(`${logicalId} has no Metadata.BuildProperties.EntryPoints`);
  const handler = String(props.Handler ?? '');
  const exportName = handler.slice(handler.lastIndexOf('.') + 1);
  if (!exportName) throw new TemplateError(`${logicalId} has no Handler`);
  return {
    logicalId,
    entryPoint: path.posix.join(String(props.CodeUri ?? '.'), entry),
    exportName,
    timeoutSeconds: numberSetting(props.Timeout, 3, `${logicalId}.Timeout`),
    environment: Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, String(value)])),
  };
}

/** Everything the local run takes from the template, as a deployment with the parameters' Defaults gets it. */
export function localTemplate(templatePath: string): LocalTemplate {
  const template = readTemplate(templatePath);
  const evaluator = new Evaluator(template);
  const [pipeId, pipe] = single(template, 'AWS::Pipes::Pipe');
  const pipeProps = evaluator.evaluate(pipe.Properties ?? {}) as Json;
  const source = pipeProps.SourceParameters ?? {};
  const stream = source.DynamoDBStreamParameters ?? {};
  const filters = (source.FilterCriteria?.Filters ?? []) as Json[];
  const [, table] = single(template, 'AWS::DynamoDB::Table');
  const tableProps = evaluator.evaluate(table.Properties ?? {}) as Json;
  const [machineId, machine] = single(template, 'AWS::Serverless::StateMachine');
  const machineProps = evaluator.evaluate(machine.Properties ?? {}) as Json;
  const substitutions: Record<string, TemplateFunction> = {};
  for (const [name, value] of Object.entries((machineProps.DefinitionSubstitutions ?? {}) as Json)) {
    const target = referencedResource(value);
    if (target && template.Resources?.[target]?.Type === 'AWS::Serverless::Function') substitutions[name] = functionSettings(template, evaluator, target);
  }
  if (!Object.keys(substitutions).length) throw new TemplateError(`${machineId} has no DefinitionSubstitutions naming functions`);
  return {
    pipe: {
      filterPatterns: filters.map((f, i) => {
        if (typeof f.Pattern !== 'string') throw new TemplateError(`${pipeId} filter ${i} is not a JSON string`);
        return f.Pattern;
      }),
      batchSize: numberSetting(stream.BatchSize, 1, `${pipeId}.BatchSize`),
      batchingWindowSeconds: numberSetting(stream.MaximumBatchingWindowInSeconds, 0, `${pipeId}.MaximumBatchingWindowInSeconds`),
      maximumRetryAttempts: numberSetting(stream.MaximumRetryAttempts, -1, `${pipeId}.MaximumRetryAttempts`),
      bisectOnFailure: stream.OnPartialBatchItemFailure === 'AUTOMATIC_BISECT',
      invocationType: String(pipeProps.TargetParameters?.StepFunctionStateMachineParameters?.InvocationType ?? 'REQUEST_RESPONSE'),
    },
    table: {
      keySchema: tableProps.KeySchema,
      attributeDefinitions: tableProps.AttributeDefinitions,
      streamViewType: tableProps.StreamSpecification?.StreamViewType,
    },
    definitionPath: String(machineProps.DefinitionUri ?? ''),
    substitutions,
  };
}
