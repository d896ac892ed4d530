import { describe, expect, it } from 'vitest';
import {
  cronProblem,
  currentWindow,
  isOpen,
  nextChange,
  nextOpen,
  timeZoneProblem,
  windowEnd,
  windowProblem,
  type ScheduleWindow,
} from '../../../src/schedule/index.js';

const HOUR = 3_600_000;
const at = (iso: string): Date => new Date(iso);
const iso = (d: Date | null | undefined): string | null => d?.toISOString() ?? null;
const win = (cron: string, durationMs: number, timezone: string): ScheduleWindow => ({
  cron,
  durationMs,
  timezone,
});

describe('windows on ordinary days', () => {
  const nightly = win('0 1 * * *', 4 * HOUR, 'Europe/Berlin');

  it('is open from the start (inclusive) to the end (exclusive)', () => {
    // 01:00 CET is 00:00Z in January.
    expect(isOpen(at('2026-01-14T23:59:59.999Z'), nightly)).toBe(false);
    expect(isOpen(at('2026-01-15T00:00:00.000Z'), nightly)).toBe(true);
    expect(isOpen(at('2026-01-15T03:59:59.999Z'), nightly)).toBe(true);
    expect(isOpen(at('2026-01-15T04:00:00.000Z'), nightly)).toBe(false);
    expect(currentWindow(at('2026-01-15T02:00:00Z'), nightly)).toEqual({
      start: at('2026-01-15T00:00:00Z'),
      end: at('2026-01-15T04:00:00Z'),
    });
  });

  it('finds the next opening and the end of the open occurrence', () => {
    expect(iso(nextOpen(at('2026-01-15T05:00:00Z'), nightly))).toBe('2026-01-16T00:00:00.000Z');
    // While open: the next opening is tomorrow's (not now), and windowEnd says when this one closes.
    expect(iso(nextOpen(at('2026-01-15T01:00:00Z'), nightly))).toBe('2026-01-16T00:00:00.000Z');
    expect(iso(nextOpen(at('2026-01-15T00:00:00Z'), nightly))).toBe('2026-01-16T00:00:00.000Z');
    expect(iso(nextOpen(at('2026-01-14T23:59:59.999Z'), nightly))).toBe('2026-01-15T00:00:00.000Z');
    expect(iso(windowEnd(at('2026-01-15T01:00:00Z'), nightly))).toBe('2026-01-15T04:00:00.000Z');
    expect(windowEnd(at('2026-01-15T05:00:00Z'), nightly)).toBeNull();
    expect(iso(nextChange(at('2026-01-15T05:00:00Z'), nightly))).toBe('2026-01-16T00:00:00.000Z');
    expect(iso(nextChange(at('2026-01-15T01:00:00Z'), nightly))).toBe('2026-01-15T04:00:00.000Z');
  });

  it('keeps a window that crosses midnight open into the next day', () => {
    const late = win('0 23 * * *', 4 * HOUR, 'Europe/Berlin');
    // 23:00 CET on the 15th is 22:00Z; four hours later is 02:00Z on the 16th (03:00 local).
    expect(currentWindow(at('2026-01-16T01:30:00Z'), late)).toEqual({
      start: at('2026-01-15T22:00:00Z'),
      end: at('2026-01-16T02:00:00Z'),
    });
    expect(isOpen(at('2026-01-16T02:00:00Z'), late)).toBe(false);
    expect(iso(nextOpen(at('2026-01-16T02:00:00Z'), late))).toBe('2026-01-16T22:00:00.000Z');
  });

  it('skips days the cron does not name (weekdays only)', () => {
    const weekdays = win('0 22 * * 1-5', 2 * HOUR, 'Europe/Berlin');
    // Friday 2026-01-16 22:00 CET = 21:00Z; the next one is Monday the 19th.
    expect(isOpen(at('2026-01-16T22:00:00Z'), weekdays)).toBe(true);
    expect(iso(nextOpen(at('2026-01-16T23:30:00Z'), weekdays))).toBe('2026-01-19T21:00:00.000Z');
  });

  it('supports second-level windows for tests', () => {
    const short = win('*/10 * * * * *', 5_000, 'UTC');
    expect(isOpen(at('2026-01-15T12:00:00Z'), short)).toBe(true);
    expect(isOpen(at('2026-01-15T12:00:04.999Z'), short)).toBe(true);
    expect(isOpen(at('2026-01-15T12:00:05Z'), short)).toBe(false);
    expect(iso(nextOpen(at('2026-01-15T12:00:07Z'), short))).toBe('2026-01-15T12:00:10.000Z');
    expect(iso(windowEnd(at('2026-01-15T12:00:12Z'), short))).toBe('2026-01-15T12:00:15.000Z');
  });

  it('treats overlapping occurrences as one open stretch, reporting the latest', () => {
    const overlapping = win('*/10 * * * * *', 15_000, 'UTC');
    expect(currentWindow(at('2026-01-15T12:00:12Z'), overlapping)).toEqual({
      start: at('2026-01-15T12:00:10Z'),
      end: at('2026-01-15T12:00:25Z'),
    });
  });
});

describe('Europe/Berlin, 2026 spring forward (29 March, 02:00 CET -> 03:00 CEST at 01:00Z)', () => {
  it('opens a window whose local start time does not exist one gap-length later (02:30 -> 03:30 CEST)', () => {
    const w = win('30 2 * * *', HOUR, 'Europe/Berlin');
    expect(iso(nextOpen(at('2026-03-28T12:00:00Z'), w))).toBe('2026-03-29T01:30:00.000Z');
    expect(isOpen(at('2026-03-29T01:29:59Z'), w)).toBe(false);
    expect(currentWindow(at('2026-03-29T02:00:00Z'), w)).toEqual({
      start: at('2026-03-29T01:30:00Z'),
      end: at('2026-03-29T02:30:00Z'),
    });
    // The day before it was 02:30 CET = 01:30Z, the day after 02:30 CEST = 00:30Z.
    expect(iso(currentWindow(at('2026-03-28T01:45:00Z'), w)?.start)).toBe('2026-03-28T01:30:00.000Z');
    expect(iso(nextOpen(at('2026-03-29T03:00:00Z'), w))).toBe('2026-03-30T00:30:00.000Z');
  });

  it('measures the duration in elapsed time across the gap', () => {
    const w = win('0 1 * * *', 4 * HOUR, 'Europe/Berlin');
    // 01:00 CET = 00:00Z; four real hours later is 04:00Z = 06:00 CEST.
    expect(currentWindow(at('2026-03-29T03:59:00Z'), w)).toEqual({
      start: at('2026-03-29T00:00:00Z'),
      end: at('2026-03-29T04:00:00Z'),
    });
  });

  it('opens a window at 03:00 local once, at the moment the clocks jump', () => {
    const w = win('0 3 * * *', HOUR, 'Europe/Berlin');
    expect(iso(nextOpen(at('2026-03-28T12:00:00Z'), w))).toBe('2026-03-29T01:00:00.000Z');
    expect(iso(nextOpen(at('2026-03-29T02:00:00Z'), w))).toBe('2026-03-30T01:00:00.000Z');
  });
});

describe('Europe/Berlin, 2026 fall back (25 October, 03:00 CEST -> 02:00 CET at 01:00Z)', () => {
  it('opens a window in the repeated hour once, on its first pass', () => {
    const w = win('30 2 * * *', HOUR, 'Europe/Berlin');
    // 02:30 CEST = 00:30Z; the second 02:30 (CET, 01:30Z) does not open it again.
    expect(currentWindow(at('2026-10-25T01:00:00Z'), w)).toEqual({
      start: at('2026-10-25T00:30:00Z'),
      end: at('2026-10-25T01:30:00Z'),
    });
    expect(isOpen(at('2026-10-25T01:45:00Z'), w)).toBe(false);
    expect(iso(nextOpen(at('2026-10-25T01:45:00Z'), w))).toBe('2026-10-26T01:30:00.000Z');
  });

  it('ends a window that spans the change four real hours after it opened', () => {
    const w = win('0 1 * * *', 4 * HOUR, 'Europe/Berlin');
    // 01:00 CEST = 23:00Z on the 24th; 03:00Z is 04:00 CET.
    expect(currentWindow(at('2026-10-25T02:59:00Z'), w)).toEqual({
      start: at('2026-10-24T23:00:00Z'),
      end: at('2026-10-25T03:00:00Z'),
    });
    expect(isOpen(at('2026-10-25T03:00:00Z'), w)).toBe(false);
  });

  it('gives sub-hourly starts in the repeated hour only on its first pass', () => {
    const w = win('*/30 * * * *', 30 * 60_000, 'Europe/Berlin');
    expect(isOpen(at('2026-10-25T00:45:00Z'), w)).toBe(true);
    expect(isOpen(at('2026-10-25T01:15:00Z'), w)).toBe(false);
    expect(iso(nextOpen(at('2026-10-25T01:15:00Z'), w))).toBe('2026-10-25T02:00:00.000Z');
  });
});

describe('America/New_York, 2026 (8 March spring forward at 07:00Z, 1 November fall back at 06:00Z)', () => {
  it('moves a start inside the spring gap forward by an hour', () => {
    const w = win('30 2 * * *', HOUR, 'America/New_York');
    expect(iso(nextOpen(at('2026-03-08T00:00:00Z'), w))).toBe('2026-03-08T07:30:00.000Z');
    expect(iso(nextOpen(at('2026-03-08T09:00:00Z'), w))).toBe('2026-03-09T06:30:00.000Z');
  });

  it('opens 01:30 once on the night 01:00-02:00 repeats', () => {
    const w = win('30 1 * * *', HOUR, 'America/New_York');
    // 01:30 EDT = 05:30Z; 01:30 EST (06:30Z) is skipped.
    expect(currentWindow(at('2026-11-01T06:00:00Z'), w)).toEqual({
      start: at('2026-11-01T05:30:00Z'),
      end: at('2026-11-01T06:30:00Z'),
    });
    expect(isOpen(at('2026-11-01T06:45:00Z'), w)).toBe(false);
    expect(iso(nextOpen(at('2026-11-01T06:45:00Z'), w))).toBe('2026-11-02T06:30:00.000Z');
  });

  it('keeps a late-evening window open across the fall-back midnight', () => {
    const w = win('0 23 * * *', 4 * HOUR, 'America/New_York');
    // 23:00 EDT on 31 October = 03:00Z; four real hours later = 07:00Z = 02:00 EST.
    expect(currentWindow(at('2026-11-01T06:30:00Z'), w)).toEqual({
      start: at('2026-11-01T03:00:00Z'),
      end: at('2026-11-01T07:00:00Z'),
    });
  });
});

describe('validation', () => {
  it('names what is wrong with a cron expression or zone', () => {
    expect(cronProblem('0 1 * * *')).toBeNull();
    expect(cronProblem('*/10 * * * * *')).toBeNull();
    expect(cronProblem('* * * *')).toMatch(/has 4 fields; use 5/);
    expect(cronProblem('61 * * * *')).toMatch(/invalid cron "61 \* \* \* \*": .*61/);
    expect(cronProblem('0 0 30 2 *')).toMatch(/invalid cron/);
    expect(timeZoneProblem('Europe/Berlin')).toBeNull();
    expect(timeZoneProblem('Mars/Olympus_Mons')).toMatch(
      /unknown time zone "Mars\/Olympus_Mons"; use an IANA name/,
    );
    expect(windowProblem(win('0 1 * * *', 0, 'UTC'))).toMatch(/positive/);
  });
});

describe('a start moved out of a DST gap past later starts of the same night', () => {
  // Australia/Lord_Howe springs forward by 30 minutes: on 2026-10-04, 02:00–02:30 does not exist.
  // Every 20 minutes, 02:20 moves to 02:30 + 20 min = 15:50Z, after 02:40 (15:40Z): the starts in
  // wall-clock order are not in time order. Found by window.property.test.ts (seed 1438089067).
  const every20 = win('*/20 * * * *', 1000, 'Australia/Lord_Howe');

  it('an occurrence that starts at the moved time is open at its start', () => {
    expect(currentWindow(at('2026-10-03T15:50:00.000Z'), every20)).toEqual({
      start: at('2026-10-03T15:50:00.000Z'),
      end: at('2026-10-03T15:50:01.000Z'),
    });
  });

  it('the next opening is the earliest start, not the first in wall-clock order', () => {
    // 02:20 (moved to 15:50Z) comes before 02:40 (15:40Z) in wall-clock order.
    expect(iso(nextOpen(at('2026-10-03T15:35:00.000Z'), every20))).toBe('2026-10-03T15:40:00.000Z');
    expect(iso(nextOpen(at('2026-10-03T15:45:00.000Z'), every20))).toBe('2026-10-03T15:50:00.000Z');
  });
});
