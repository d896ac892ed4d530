import { describe, expect, it } from 'vitest';
import { bearerMatches } from '../../../src/http/index.js';

describe('bearerMatches', () => {
  it('accepts exactly `Bearer <token>`', () => {
    expect(bearerMatches('Bearer s3cret', 's3cret')).toBe(true);
    expect(bearerMatches('bearer s3cret', 's3cret')).toBe(true);
  });
  it('refuses a missing, empty, wrong, prefixed or longer token', () => {
    expect(bearerMatches(undefined, 's3cret')).toBe(false);
    expect(bearerMatches('', 's3cret')).toBe(false);
    expect(bearerMatches('Bearer ', 's3cret')).toBe(false);
    expect(bearerMatches('Bearer s3cre', 's3cret')).toBe(false);
    expect(bearerMatches('Bearer s3cret2', 's3cret')).toBe(false);
    expect(bearerMatches('Basic s3cret', 's3cret')).toBe(false);
    expect(bearerMatches('s3cret', 's3cret')).toBe(false);
  });
  it('never matches an empty expected token', () => {
    expect(bearerMatches('Bearer ', '')).toBe(false);
  });
});
