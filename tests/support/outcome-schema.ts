/** The outcome event's JSON Schema (events/outcome-event.schema.json), compiled once with Ajv for the tests that check events against it. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';

const schema = JSON.parse(readFileSync(path.resolve(__dirname, '../../events/outcome-event.schema.json'), 'utf8'));
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);

/** What is wrong with the event by the schema, as readable lines; empty when it is valid. */
export function outcomeEventErrors(event: unknown): string[] {
  if (validate(event)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
}
