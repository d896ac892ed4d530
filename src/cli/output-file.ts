import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { InvalidOptionError } from '../errors/index.js';

/**
 * Fails with the option's name when `path` cannot be written, so a command that works for minutes
 * before it writes (verify --save) says so before it starts, not after.
 */
export function assertWritable(flag: string, path: string): void {
  try {
    const existing = statSync(path, { throwIfNoEntry: false });
    if (existing?.isDirectory()) throw new Error('it is a directory');
    accessSync(existing ? path : dirname(path), constants.W_OK);
  } catch (e) {
    throw new InvalidOptionError(flag, `cannot write ${path}: ${(e as Error).message}`);
  }
}

export function writeOutputFile(flag: string, path: string, content: string): void {
  try {
    writeFileSync(path, content);
  } catch (e) {
    throw new InvalidOptionError(flag, `cannot write ${path}: ${(e as Error).message}`);
  }
}
