/** Environment configuration that fails fast: a missing or malformed variable stops the cold start, not the tenth request. */

export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}

/** The variable's value; throws when it is unset or empty and no default is given. */
export function getStringFromEnv(name: string, defaultValue?: string): string {
  const value = process.env[name];
  if (value !== undefined && value !== '') return value;
  if (defaultValue !== undefined) return defaultValue;
  throw new ConfigurationError(`environment variable ${name} is required`);
}

/** The variable as an integer within [min, max]; throws on anything else. */
export function getIntegerFromEnv(name: string, options: { default?: number; min: number; max: number }): number {
  const raw = getStringFromEnv(name, options.default === undefined ? undefined : String(options.default));
  const value = Number(raw);
  if (!Number.isInteger(value) || value < options.min || value > options.max) {
    throw new ConfigurationError(`environment variable ${name} must be an integer from ${options.min} to ${options.max}, got "${raw}"`);
  }
  return value;
}
