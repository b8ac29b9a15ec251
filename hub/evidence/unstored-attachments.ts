/**
 * Attachments that arrived whole but could not be stored (issue 19 with issue 16's content in the database: disk
 * full, database away). Their transfer stays `receiving` with every chunk in its temp file and is NOT acknowledged
 * to the agent; the stuck-transfer watcher and the agent's return retry the store from the temp file. While any
 * waits, the hub is degraded (`/healthz` 503, `hezo_store_write_failures_total{store="evidence"}`).
 */
import type { StorageHealth } from '../storage/storage-health.ts';
import { nextMissingSeq } from './chunk-map.ts';
import type { TransferRow } from './store.ts';

export const EVIDENCE_STORE_NAME = 'evidence';

/** Every chunk is in, yet the transfer is still receiving: its store failed (or is under way). */
export function isWhollyReceived(row: Pick<TransferRow, 'state' | 'received' | 'total'>): boolean {
  return row.state === 'receiving' && nextMissingSeq(row) >= row.total;
}

export class UnstoredAttachments {
  private readonly health: StorageHealth | undefined;
  private readonly waiting = new Set<string>();

  constructor(health: StorageHealth | undefined) {
    this.health = health;
  }

  failed(transferId: string, err: unknown): void {
    this.waiting.add(transferId);
    this.health?.noteFailure(
      EVIDENCE_STORE_NAME,
      err,
      `${this.waiting.size} attachment(s) received but not stored yet (kept, retried)`,
    );
  }

  /** Stored, rejected or given up: it waits no more. */
  settled(transferId: string): void {
    if (!this.waiting.delete(transferId)) return;
    if (this.waiting.size === 0) this.health?.noteRecovered(EVIDENCE_STORE_NAME);
  }

  get size(): number {
    return this.waiting.size;
  }
}
