/**
 * The change feed (issue 16): how one hub node's in-memory views follow what OTHER nodes write to the shared store.
 * A store writes, then calls `notify(store, key)` (inside its transaction when it has one, so the news is delivered
 * only on commit); every other node's subscribers of that store get `onChange(key)` and reload that key from the
 * database, or everything (`key` undefined) e.g. after the feed's connection came back (news sent meanwhile is lost).
 * PostgreSQL: LISTEN/NOTIFY (hub/store/change-feed-pg.ts). SQLite: one node, nothing to follow (NO_CHANGE_FEED).
 */
import type { SqlStore } from './sql-store.ts';

/** `key`: the row that changed; undefined: reload the whole view. A promise: settles when the view is reloaded. */
export type ChangeHandler = (key: string | undefined) => void | Promise<void>;

export interface ChangeFeed {
  /**
   * Tell the other nodes that `store` changed (`key`: which row; none: all of it). With `tx` the notification is
   * part of that transaction (sent on commit, and a failure rolls it back); without, it is sent at once and a
   * failure is only logged (the write itself happened).
   */
  notify(store: string, key?: string, tx?: SqlStore): Promise<void>;
  /** `onChange` runs for the other nodes' changes of `store`; returns a function that unsubscribes. */
  subscribe(store: string, onChange: ChangeHandler): () => void;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** One node (SQLite): nobody else writes, nothing to follow. */
export const NO_CHANGE_FEED: ChangeFeed = {
  notify: () => Promise.resolve(),
  subscribe: () => () => {},
  start: () => Promise.resolve(),
  close: () => Promise.resolve(),
};

/** The one LISTEN/NOTIFY channel of every store. */
export const CHANGE_CHANNEL = 'hezo_changes';
/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more: a longer key becomes "reload everything". */
export const MAX_PAYLOAD_BYTES = 7900;

export interface ChangeMessage {
  store: string;
  key?: string;
  node: string;
}

/** The NOTIFY payload for a change (without its key when the key would make it too long). */
export function encodeChange(change: ChangeMessage): string {
  const payload = JSON.stringify(change);
  if (Buffer.byteLength(payload) <= MAX_PAYLOAD_BYTES) return payload;
  return JSON.stringify({ store: change.store, node: change.node });
}

/** A payload read from the channel, or undefined when it is not one of ours. */
export function decodeChange(payload: string | undefined): ChangeMessage | undefined {
  if (payload === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { store, key, node } = value as Record<string, unknown>;
  if (typeof store !== 'string' || typeof node !== 'string') return undefined;
  if (key !== undefined && typeof key !== 'string') return undefined;
  return key === undefined ? { store, node } : { store, key, node };
}

/** Subscribers by store (shared by the feeds). */
export class ChangeSubscribers {
  private readonly byStore = new Map<string, Set<ChangeHandler>>();
  private readonly onError: (err: unknown, store: string) => void;
  private readonly onReloaded: (store: string) => void;

  /** `onReloaded`: a subscriber's view of `store` took a change in (its promise settled). */
  constructor(onError: (err: unknown, store: string) => void, onReloaded: (store: string) => void = () => {}) {
    this.onError = onError;
    this.onReloaded = onReloaded;
  }

  add(store: string, handler: ChangeHandler): () => void {
    const set = this.byStore.get(store) ?? new Set<ChangeHandler>();
    this.byStore.set(store, set);
    set.add(handler);
    return () => set.delete(handler);
  }

  has(store: string): boolean {
    return (this.byStore.get(store)?.size ?? 0) > 0;
  }

  emit(store: string, key: string | undefined): void {
    for (const handler of this.byStore.get(store) ?? []) {
      try {
        const result = handler(key);
        if (result instanceof Promise) {
          result.then(
            () => this.onReloaded(store),
            (err: unknown) => this.onError(err, store),
          );
        } else this.onReloaded(store);
      } catch (err) {
        this.onError(err, store);
      }
    }
  }

  /** Every subscriber reloads everything. */
  emitAll(): void {
    for (const store of this.byStore.keys()) this.emit(store, undefined);
  }
}

/**
 * Follow `store` on `feed`: another node's change of a key runs `one(key)`, a full reload `all()`, both pushed onto
 * `queue` (the view's write queue: a reload runs after this node's own writes asked before it, never beside them).
 */
export function followChanges(
  feed: ChangeFeed,
  store: string,
  queue: { push(job: () => Promise<void>): Promise<void> },
  reload: { one(key: string): Promise<void>; all(): Promise<void> },
): () => void {
  return feed.subscribe(store, (key) => queue.push(() => (key === undefined ? reload.all() : reload.one(key))));
}
