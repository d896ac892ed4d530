import { readFileSync } from 'node:fs';
import { compileConfig, ConfigFileSchema, type SlotshiftConfig, type ValueSource } from './config-schema.js';
import { ConfigReadError, SecretUnavailableError } from './errors.js';
import { parseYamlSource, validateSource } from './yaml-source.js';

/** Validates config text; `file` names it in errors and anchors its relative paths. */
export function parseConfigText(text: string, file: string): SlotshiftConfig {
  const source = parseYamlSource(text, file);
  return compileConfig(validateSource(source, ConfigFileSchema), file);
}

/** Reads and validates the daemon's config file; throws ConfigFileError naming file, line, column and field. */
export function loadConfig(path: string): SlotshiftConfig {
  return parseConfigText(readText(path), path);
}

export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigReadError(path, (e as Error).message);
  }
}

/**
 * The value a ValueSource points at, read when the daemon starts (and never logged). A file's
 * trailing newline is dropped because editors add one.
 */
export function resolveValue(
  source: ValueSource,
  field: string,
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): string {
  switch (source.from) {
    case 'inline':
      return source.value;
    case 'env': {
      const value = env[source.name];
      if (value === undefined || value === '') {
        throw new SecretUnavailableError(
          field,
          `environment variable ${source.name} is not set; export it before starting slotshift`,
        );
      }
      return value;
    }
    case 'file':
      try {
        return readFile(source.path).replace(/\r?\n$/, '');
      } catch (e) {
        throw new SecretUnavailableError(
          field,
          `cannot read ${source.path}: ${(e as Error).message}; check the path and that slotshift's user may read it`,
        );
      }
  }
}
