import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CronExpressionParser } from 'cron-parser';
import {
  currentWindow,
  isOpen,
  nextOpen,
  wallClockMs,
  windowEnd,
  type ScheduleWindow,
} from '../../../src/schedule/index.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

// Zones with a one-hour DST shift on either hemisphere, a 30-minute shift, a 45-minute offset and none.
const TIME_ZONES = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'Australia/Sydney',
  'Australia/Lord_Howe',
  'Pacific/Chatham',
  'Asia/Kolkata',
];

const cronArb = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 23 }))
    .map(([m, h]) => `${m} ${h} * * *`),
  fc.integer({ min: 0, max: 23 }).map((h) => `0 ${h} * * 1-5`),
  fc.constantFrom(2, 5, 15, 20, 30).map((k) => `*/${k} * * * *`),
  fc.integer({ min: 0, max: 59 }).map((m) => `${m} * * * *`),
  fc.constantFrom(5, 10, 30).map((k) => `*/${k} * * * * *`),
  fc
    .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 1, max: 28 }))
    .map(([h, d]) => `0 ${h} ${d} * *`),
);

const windowArb: fc.Arbitrary<ScheduleWindow> = fc.record({
  cron: cronArb,
  durationMs: fc.oneof(
    fc.integer({ min: 1, max: 120 }).map((s) => s * 1000),
    fc.integer({ min: 1, max: 30 * 60 }).map((m) => m * MINUTE),
  ),
  timezone: fc.constantFrom(...TIME_ZONES),
});

// Around the 2026 transitions of the zones above, plus anywhere in 2025-2027.
const TRANSITIONS = [
  '2026-03-29T01:00:00Z',
  '2026-10-25T01:00:00Z',
  '2026-03-08T07:00:00Z',
  '2026-11-01T06:00:00Z',
  '2026-04-04T16:00:00Z',
  '2026-10-03T16:00:00Z',
  '2026-04-04T15:00:00Z',
  '2026-09-26T14:00:00Z',
].map((s) => Date.parse(s));
const instantArb = fc.oneof(
  fc.integer({ min: Date.parse('2025-01-01T00:00:00Z'), max: Date.parse('2028-01-01T00:00:00Z') }),
  fc
    .tuple(fc.constantFrom(...TRANSITIONS), fc.integer({ min: -30 * HOUR, max: 30 * HOUR }))
    .map(([t, d]) => t + d),
);

const RUNS = { numRuns: 300 };

describe('window arithmetic invariants', () => {
  it('isOpen(now) iff currentWindow(now) is an occurrence of the right length containing now', () => {
    fc.assert(
      fc.property(instantArb, windowArb, (t, w) => {
        const now = new Date(t);
        const occurrence = currentWindow(now, w);
        expect(isOpen(now, w)).toBe(occurrence !== null);
        if (occurrence) {
          expect(occurrence.start.getTime()).toBeLessThanOrEqual(t);
          expect(t).toBeLessThan(occurrence.end.getTime());
          expect(occurrence.end.getTime() - occurrence.start.getTime()).toBe(w.durationMs);
          expect(windowEnd(now, w)).toEqual(occurrence.end);
          // The occurrence's start is itself the latest start at that instant.
          expect(currentWindow(occurrence.start, w)?.start).toEqual(occurrence.start);
        } else {
          expect(windowEnd(now, w)).toBeNull();
        }
      }),
      RUNS,
    );
  });

  it('nextOpen(now) is after now, an occurrence start, and no occurrence starts between now and it', () => {
    fc.assert(
      fc.property(
        instantArb,
        windowArb,
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }),
        (t, w, fractions) => {
          const now = new Date(t);
          const next = nextOpen(now, w);
          // Also while the window is open: /status showed the current instant, already past when read.
          expect(next.getTime()).toBeGreaterThan(t);
          // It opens at an occurrence's start, not partway through one.
          expect(currentWindow(next, w)?.start).toEqual(next);
          const wasOpen = isOpen(now, w);
          for (const f of fractions) {
            const between = t + Math.floor(f * (next.getTime() - t));
            if (between >= next.getTime()) continue;
            const occurrence = currentWindow(new Date(between), w);
            // A closed window stays closed until then; an open one sees no new occurrence start.
            if (wasOpen) expect(occurrence?.start.getTime() ?? -Infinity).toBeLessThanOrEqual(t);
            else expect(occurrence).toBeNull();
          }
          if (!wasOpen) expect(isOpen(new Date(next.getTime() - 1), w)).toBe(false);
        },
      ),
      RUNS,
    );
  });

  it('while open, the status pair (windowEnd, nextOpen) is the close of this occurrence and a later start', () => {
    fc.assert(
      fc.property(instantArb, windowArb, (t, w) => {
        const now = new Date(t);
        const open = currentWindow(now, w);
        if (!open) return;
        const closes = windowEnd(now, w)!;
        expect(closes.getTime()).toBeGreaterThan(t);
        // The next start is after this occurrence's start; when occurrences do not overlap, after its end.
        const next = nextOpen(now, w).getTime();
        expect(next).toBeGreaterThan(open.start.getTime());
        if (!isOpen(closes, w)) expect(next).toBeGreaterThanOrEqual(closes.getTime());
      }),
      RUNS,
    );
  });

  it('every start falls on a wall-clock time the cron names, unless it was moved out of a DST gap', () => {
    fc.assert(
      fc.property(instantArb, windowArb, (t, w) => {
        const start = nextOpen(new Date(t), w);
        const opened = currentWindow(start, w)!.start;
        const wall = new Date(wallClockMs(w.timezone, opened.getTime()));
        const named = CronExpressionParser.parse(w.cron, { tz: 'UTC' }).includesDate(wall);
        const movedOutOfGap = wallClockMs(w.timezone, opened.getTime() - HOUR) !== wall.getTime() - HOUR;
        expect(named || movedOutOfGap).toBe(true);
      }),
      RUNS,
    );
  });

  it('is a pure function of its inputs', () => {
    fc.assert(
      fc.property(instantArb, windowArb, (t, w) => {
        expect(currentWindow(new Date(t), w)).toEqual(currentWindow(new Date(t), w));
        expect(nextOpen(new Date(t), w)).toEqual(nextOpen(new Date(t), w));
      }),
      { numRuns: 50 },
    );
  });
});
