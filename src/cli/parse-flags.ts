import { InvalidOptionError } from '../errors/index.js';

export function parseThreshold(text: string): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v < 0 || v > 100) {
    throw new InvalidOptionError('--threshold', `"${text}" is not a percentage between 0 and 100`);
  }
  return v;
}

export function parsePositiveInt(option: string, text: string): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v <= 0)
    throw new InvalidOptionError(option, `"${text}" is not a positive whole number`);
  return v;
}
