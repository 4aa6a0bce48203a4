/**
 * One unref'd timer for work due every so many hours (session renewal, a CRL refresh): `schedule()` replaces what
 * was scheduled, `undefined` hours schedules nothing, `cancel()` clears it. It never keeps the process alive.
 *
 * @example
 * ```ts
 * const renewal = new RenewalTimer();
 * renewal.schedule(24, () => renewSession());
 * // on end
 * renewal.cancel();
 * ```
 */
export class RenewalTimer {
  #timer: NodeJS.Timeout | undefined;

  schedule(hours: number | undefined, run: () => void): void {
    this.cancel();
    if (hours === undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      run();
    }, hours * 3_600_000);
    this.#timer.unref();
  }

  /** Whether something is scheduled. */
  get pending(): boolean {
    return this.#timer !== undefined;
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
