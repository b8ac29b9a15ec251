/**
 * Jobs one after another per key, in the order they were asked (issue 16: the ticket store became async). A caller
 * that fires without awaiting (a note from the evidence or reboot module) still gets its changes stored and
 * announced in the order it asked for them, per ticket: store first, then the bus. Different keys run side by side.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Run `job` after the jobs already asked for `key`; resolves or rejects with its result (the queue goes on). */
  run<T>(key: string, job: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const result = before.then(job, job);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Settles when every job asked so far has run. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}
