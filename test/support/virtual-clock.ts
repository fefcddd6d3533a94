import type { Integrations } from "../../packages/core/src/index";

/**
 * Time that advances instead of passing: a sleep moves the clock to its end at once (before it
 * yields, so a concurrent caller computes its own wait from the moved clock: waits overlap as real
 * ones would). Shared by a fake server and the client paced against it, so a day of rate limits runs
 * in seconds. Only waits advance it: the work between requests takes no virtual time.
 */
export class VirtualClock implements Integrations.Clock {
  constructor(private t = Date.UTC(2026, 11, 7, 8, 0, 0)) {}

  now = (): number => this.t;

  sleep = async (ms: number): Promise<void> => {
    this.t += Math.max(0, ms);
    await Promise.resolve();
  };

  /** Moves the clock to a time (never backwards). */
  set(at: number): void {
    this.t = Math.max(this.t, at);
  }
}
