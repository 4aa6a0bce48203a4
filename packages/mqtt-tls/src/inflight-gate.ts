/**
 * The bound on QoS 1/2 messages outstanding at once (in flight plus queued while offline): `acquire()` resolves
 * when a slot is free, `release()` frees one and lets the longest waiter in. It holds no timer.
 *
 * @example
 * ```ts
 * const gate = new InflightGate(1000);
 * await gate.acquire();
 * try { await send(); } finally { gate.release(); }
 * ```
 */
export class InflightGate {
  readonly #limit: number;
  #outstanding = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Messages holding a slot now. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** Takes a slot at once when one is free (true), else false: the caller waits with {@link acquire}. */
  tryAcquire(): boolean {
    if (this.#outstanding >= this.#limit) return false;
    this.#outstanding++;
    return true;
  }

  /** Resolves holding a slot, in the order callers asked. */
  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise<void>((resolve) => this.#waiting.push(resolve)).then(() => this.acquire());
  }

  release(): void {
    this.#outstanding--;
    this.#waiting.shift()?.();
  }
}
