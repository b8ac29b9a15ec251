/**
 * Which sites this hub node acts for (issue 16). The automatic duties (SLA monitor, auto tickets, notifications,
 * evidence requests, reboot decisions, site incidents, site alerts) ask `holds(site)` where each one starts; a write
 * they make can be fenced with `epochFor(site)` (fencing.ts). A single node (no cluster) holds every site.
 *
 * Given to modules as `ctx.duties` (a named dependency set by createHub before any module is created).
 */
import type { LeaseManager } from './lease-manager.ts';
import { partitionOf } from './partitions.ts';

export interface PartitionDuties {
  /** False for a single node: it holds everything and writes unfenced. */
  readonly isClustered: boolean;
  /** This node runs the automatic duties of `site` now. */
  holds(site: string): boolean;
  /** The fencing epoch under which this node acts for `site`'s partition now, or undefined (not held, or no cluster). */
  epochFor(site: string): number | undefined;
  /** The partition `site` belongs to (0 for a single node): a fenced write names it (fencing.ts). */
  partitionOf(site: string): number;
  /**
   * Called after this node gained (`isHeld`) or lost a partition: duties armed on timers (SLA monitor) re-arm what
   * they did not act on while another node held it. Returns the unsubscribe function.
   */
  onChange(listener: (change: { partition: number; isHeld: boolean }) => void): () => void;
}

/** One hub alone: every site is its own. */
export const SINGLE_NODE_DUTIES: PartitionDuties = {
  isClustered: false,
  holds: () => true,
  epochFor: () => undefined,
  partitionOf: () => 0,
  onChange: () => () => {},
};

/** The duties of a hub context: its own, or (a context without them) a single node's. */
export function dutiesOf(ctx: { duties?: PartitionDuties | undefined }): PartitionDuties {
  return ctx.duties ?? SINGLE_NODE_DUTIES;
}

/** Duties by the partitions `manager` holds (hash of the site, partitions.ts). */
export function leaseDuties(
  manager: Pick<LeaseManager, 'epochOf' | 'on' | 'off'>,
  partitions: number,
): PartitionDuties {
  // partitionOf hashes the site: remember it (a node serves a bounded set of sites)
  const partitionBySite = new Map<string, number>();
  const partitionFor = (site: string): number => {
    let p = partitionBySite.get(site);
    if (p === undefined) {
      p = partitionOf(site, partitions);
      partitionBySite.set(site, p);
    }
    return p;
  };
  return {
    isClustered: true,
    holds: (site) => manager.epochOf(partitionFor(site)) !== undefined,
    epochFor: (site) => manager.epochOf(partitionFor(site)),
    partitionOf: partitionFor,
    onChange(listener) {
      const onAcquired = (partition: number) => listener({ partition, isHeld: true });
      const onLost = (partition: number) => listener({ partition, isHeld: false });
      manager.on('acquired', onAcquired);
      manager.on('lost', onLost);
      return () => {
        manager.off('acquired', onAcquired);
        manager.off('lost', onLost);
      };
    },
  };
}
