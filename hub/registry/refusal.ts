/**
 * A registry write refused by its own check (DUPLICATE_KEY, NOT_FOUND, IN_USE, ...) changed nothing: its transaction
 * commits and the refusal is thrown after. Rolling it back instead would, on the embedded SQLite file, also roll back
 * a synchronous write another module made on the shared connection meanwhile (hub/store/sqlite-store.ts).
 * Only the store's own AppErrors count as refusals; a database error still rolls back.
 */
import { AppError } from '../../protocols/errors.ts';

export class Refused {
  readonly error: AppError;
  constructor(error: AppError) {
    this.error = error;
  }
}

export async function catchRefusal<T>(fn: () => Promise<T>): Promise<T | Refused> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError) return new Refused(err);
    throw err;
  }
}

export function refusedAfterCommit<T>(result: T | Refused): T {
  if (result instanceof Refused) throw result.error;
  return result;
}
