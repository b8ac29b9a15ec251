/**
 * Outage start is kept (issue 19): the time of the FIRST failed poll of a device's current run of failed polls,
 * from every record the agent sent - replayed ones included (they are history: they never move the device, but
 * they say when it really died while the hub was away). A poll with any channel answering ends the run.
 * Times are the records' own (corrected by the agent's clock offset); the detector puts the result on the
 * `down` transition as `faultAt` next to the detection time `at`.
 */
export class FaultStartTracker {
  private readonly runs = new Map<string, { lastOkMs: number; firstFailMs: number | undefined }>();

  /** One record of `serial`, observed at `observedMs`, with every channel failed or not. */
  note(serial: string, observedMs: number, isAllFailed: boolean): void {
    if (!Number.isFinite(observedMs)) return;
    let run = this.runs.get(serial);
    if (run === undefined) {
      run = { lastOkMs: Number.NEGATIVE_INFINITY, firstFailMs: undefined };
      this.runs.set(serial, run);
    }
    if (!isAllFailed) {
      if (observedMs > run.lastOkMs) run.lastOkMs = observedMs;
      if (run.firstFailMs !== undefined && run.firstFailMs <= run.lastOkMs) run.firstFailMs = undefined;
      return;
    }
    if (observedMs <= run.lastOkMs) return;
    if (run.firstFailMs === undefined || observedMs < run.firstFailMs) run.firstFailMs = observedMs;
  }

  /** The first failed poll of the current run, or undefined when the last poll answered. */
  firstFailedMs(serial: string): number | undefined {
    return this.runs.get(serial)?.firstFailMs;
  }

  forget(serial: string): void {
    this.runs.delete(serial);
  }
}
