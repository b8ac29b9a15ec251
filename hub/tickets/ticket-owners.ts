/**
 * Which customer owns which ticket, answered synchronously (the access layer's scope checks and the websocket's
 * scoped SLA frames cannot wait for a database). A ticket's customer never changes, so the index only grows: one
 * number per ticket (its customer's code) in a typed array by seq, about 4 bytes per ticket. Filled at start, by this
 * node's inserts and by other hub nodes' changes (change feed).
 */
import { seqOfTicketId } from './store-types.ts';

/** code 0: no such ticket (yet); 1: a ticket without a customer; 2..: `customers[code - 2]`. */
export class TicketOwners {
  private bySeq = new Uint32Array(1024);
  private readonly customers: string[] = [];
  private readonly codes = new Map<string, number>();

  set(seq: number, customer: string | null): void {
    if (seq >= this.bySeq.length) {
      const grown = new Uint32Array(Math.max(seq + 1, this.bySeq.length * 2));
      grown.set(this.bySeq);
      this.bySeq = grown;
    }
    this.bySeq[seq] = customer === null ? 1 : this.codeOf(customer);
  }

  /** The ticket's customer; null: it has none; undefined: no such ticket known to this node. */
  ownerOf(id: string): string | null | undefined {
    const seq = seqOfTicketId(id);
    if (seq === undefined || seq >= this.bySeq.length) return undefined;
    const code = this.bySeq[seq] ?? 0;
    if (code === 0) return undefined;
    return code === 1 ? null : this.customers[code - 2];
  }

  /** The highest seq known (to load only newer ones). */
  get lastSeq(): number {
    for (let seq = this.bySeq.length - 1; seq > 0; seq--) if (this.bySeq[seq] !== 0) return seq;
    return 0;
  }

  private codeOf(customer: string): number {
    let code = this.codes.get(customer);
    if (code === undefined) {
      this.customers.push(customer);
      code = this.customers.length + 1;
      this.codes.set(customer, code);
    }
    return code;
  }
}
