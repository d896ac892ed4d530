/**
 * How many keys the next MIGRATE of a source carries. MIGRATE blocks both source and target for
 * its whole duration, so the size follows measured time, not a fixed count: it grows while calls
 * finish well inside the budget and shrinks when they do not (an EWMA of the time per key smooths
 * out single slow calls).
 */
export interface BatchSizerOptions {
  /** Aim for each MIGRATE to block the servers about this long. @defaultValue 5 */
  targetMs: number;
  /** @defaultValue 10 */
  minKeys: number;
  /** @defaultValue 1000 */
  maxKeys: number;
  /** @defaultValue 100 */
  initialKeys: number;
}

export const DEFAULT_BATCH_SIZER_OPTIONS: BatchSizerOptions = {
  targetMs: 5,
  minKeys: 10,
  maxKeys: 1000,
  initialKeys: 100,
};

export class BatchSizer {
  private msPerKey: number | null = null;
  private current: number;

  constructor(private readonly options: BatchSizerOptions = DEFAULT_BATCH_SIZER_OPTIONS) {
    this.current = options.initialKeys;
  }

  get size(): number {
    return this.current;
  }

  record(keys: number, durationMs: number): void {
    if (keys <= 0) return;
    const sample = durationMs / keys;
    this.msPerKey = this.msPerKey === null ? sample : this.msPerKey * 0.7 + sample * 0.3;
    const ideal = this.options.targetMs / Math.max(this.msPerKey, 1e-6);
    // Grow at most 2x per call so one fast sample of tiny values does not jump to the maximum.
    this.current = clamp(
      Math.round(Math.min(ideal, this.current * 2)),
      this.options.minKeys,
      this.options.maxKeys,
    );
  }

  shrink(): void {
    this.current = Math.max(this.options.minKeys, Math.floor(this.current / 4));
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
