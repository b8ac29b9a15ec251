/**
 * Async jobs one after another, in the order they were pushed. A bus listener whose store became async (issue 16)
 * pushes its work here so that two events read-then-write the store in order, as when the store was synchronous
 * (e.g. two site alerts of one site must not both open an incident). A failed job is reported and the next runs.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private readonly onError: (err: unknown) => void;

  constructor(onError: (err: unknown) => void) {
    this.onError = onError;
  }

  push(job: () => Promise<void>): Promise<void> {
    const run = this.tail.then(job).catch(this.onError);
    this.tail = run;
    return run;
  }

  /** Like `push`, but the caller gets the job's result or its rejection (the queue goes on either way). */
  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Settles when every job pushed so far has run (stop: nothing writes after the store closes). */
  idle(): Promise<void> {
    return this.tail;
  }
}
