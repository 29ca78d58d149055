/** Typed option values: the parsers commander applies to option arguments; a value they refuse is a usage error naming the option. */
import { Command, InvalidArgumentError, Option } from '@commander-js/extra-typings';

/** DynamoDB numbers hold at most 38 significant digits. */
const MAX_DIGITS = 38;

/** An integer from `min` to `max`. */
export function integerFrom(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^-?\d+$/.test(text.trim()) || value < min || value > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER ? `it must be an integer of at least ${min}` : `it must be an integer from ${min} to ${max}`,
      );
    }
    return value;
  };
}

/** A positive number, fractions allowed: a rate, a number of seconds. */
export function positiveNumber(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) throw new InvalidArgumentError('it must be a positive number');
  return value;
}

/** "0042" → "42": a movie_id in the canonical form DynamoDB returns numbers in, so ids compare as strings. */
export function movieId(text: string): string {
  const trimmed = text.trim();
  if (!/^-?\d+$/.test(trimmed)) throw new InvalidArgumentError('it must be an integer movie_id');
  const canonical = BigInt(trimmed).toString();
  if (canonical.replace('-', '').length > MAX_DIGITS) throw new InvalidArgumentError('it has more digits than a DynamoDB number holds');
  return canonical;
}

/** An operator command: it acts on a deployed stack or on the local stack, as its target options say (see target.ts). */
export function operatorCommand(name: string) {
  return new Command(name)
    .addOption(new Option('--stack <name>', 'a deployed media-probe stack (its outputs name the table and the state machine)'))
    .addOption(new Option('--local', 'the local stack `media-probe up` runs'))
    .addOption(new Option('--data <dir>', 'with --local: the data directory `media-probe up` was given (default .media-probe)'));
}
