/**
 * Device log collection and the newest-archive cache (`<dataDir>/log-cache/<serial>.{bin,json}`).
 *
 * - Fresh: REST `GET /rest/system/logs` (a tar, maybe gzipped). When REST fails and SSH is configured,
 *   the SSH fallback runs the CLI commands `whoami`, `status`, `callinfo all` and bundles their text:
 *   Video OS has no CLI command that dumps logs (poly-devices.md §3), so this is a status bundle, not logs.
 * - Everything is redacted before it is written to the cache.
 * - The cache is refreshed every `logCache.refreshMs` and whenever a device turns degraded, so a device
 *   that then dies still has a recent archive to send (with its `capturedAt`).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Logger } from 'pino';
import { DeviceError, toDeviceError } from '../protocols/clients/device-error.ts';
import { runSshCommands, type SshSessionResult } from '../protocols/clients/ssh.ts';
import type { Clock } from '../protocols/clock.ts';
import { gunzipBounded, isGzipped } from '../protocols/gunzip-bounded.ts';
import { redactArchive, redactText } from '../protocols/redact.ts';
import type { DevicePoller } from './device-poller.ts';

export const SSH_BUNDLE_COMMANDS = ['whoami', 'status', 'callinfo all'] as const;

export interface LogArchive {
  name: string;
  data: Buffer;
  capturedAt: string;
  source: 'rest' | 'ssh';
  sha256: string;
}

interface CacheMeta {
  name: string;
  capturedAt: string;
  source: 'rest' | 'ssh';
  sha256: string;
  size: number;
}

export interface LogCacheDeps {
  dataDir: string;
  secrets: readonly string[];
  clock: Clock;
  logger: Logger;
  requestTimeoutMs: number;
  /** Largest size a device's log archive may unpack to (`logCache.maxUnpackedBytes`). */
  maxUnpackedBytes?: number;
  /**
   * Devices without any cached archive get their first one spread over this window after start-up
   * (device k of n at k/n of it), not all at once: a log archive is heavy for the device and the agent.
   * 0 (default) = as soon as possible.
   */
  firstFillWindowMs?: number;
  /** How many devices share the first fill window. */
  deviceCount?: number;
}

const MAX_PARALLEL_REFRESH = 2;

/** The SSH fallback's text: the CLI outputs of one session, one section per command, redacted. */
export function formatCliBundle(
  serial: string,
  restError: Error | undefined,
  session: SshSessionResult,
  capturedAt: string,
  secrets: readonly string[],
): string {
  const lines = [
    `# ${serial} CLI bundle over SSH (Video OS has no log CLI; REST logs failed: ${restError?.message ?? 'REST not configured'})`,
    `# host key sha256: ${session.hostKeySha256 ?? 'unknown'}; captured ${capturedAt}`,
  ];
  for (const r of session.results) {
    lines.push('', `### ${r.command} (exit ${r.exitCode ?? 'n/a'}, ${Math.round(r.latencyMs)} ms)`, r.output.trimEnd());
  }
  return redactText(`${lines.join('\n')}\n`, secrets);
}
const DEFAULT_MAX_UNPACKED_BYTES = 256 * 1024 * 1024;
const gzipAsync = promisify(gzip);

export class LogCache {
  private readonly deps: LogCacheDeps;
  private readonly dir: string;
  private readonly inFlight = new Map<string, Promise<LogArchive>>();
  private readonly capturedAtMs = new Map<string, number>();
  /** When each device's next refresh is due (from its cached archive, or its slot in the first fill). */
  private readonly dueAtMs = new Map<string, number>();
  private readonly degraded = new Set<string>();
  private refreshing = 0;
  private firstFillStartMs: number | undefined;
  private firstFillSlots = 0;

  constructor(deps: LogCacheDeps) {
    this.deps = deps;
    this.dir = join(deps.dataDir, 'log-cache');
  }

  private async fetchFresh(poller: DevicePoller): Promise<LogArchive> {
    const device = poller.device;
    const capturedAt = new Date(this.deps.clock.now()).toISOString();
    let restError: DeviceError | undefined;
    const rest = poller.restClient();
    if (rest) {
      try {
        const raw = await rest.getLogs();
        // unpacked here with a limit (a gzip bomb is refused), redacted, then packed again for the transfer
        const gz = isGzipped(raw);
        const plain = await gunzipBounded(
          raw,
          this.deps.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES,
          'GET /rest/system/logs',
          'logCache.maxUnpackedBytes',
        ).catch((err: unknown) => {
          throw new DeviceError('parse', (err as Error).message, { cause: err });
        });
        const redacted = await redactArchive(plain, this.deps.secrets);
        const data = gz ? await gzipAsync(redacted) : redacted;
        return this.archive(`device-logs${gz ? '.tar.gz' : '.tar'}`, data, capturedAt, 'rest');
      } catch (err) {
        restError = toDeviceError(err, 'rest logs');
      }
    }
    // the host key is checked (trust on first use, pinned) before the password is sent
    const ssh = poller.sshTarget(this.deps.requestTimeoutMs * 2);
    if (ssh) {
      const session = await runSshCommands(ssh, SSH_BUNDLE_COMMANDS);
      const text = formatCliBundle(device.serial, restError, session, capturedAt, this.deps.secrets);
      return this.archive('device-cli-bundle.txt', Buffer.from(text), capturedAt, 'ssh');
    }
    throw restError ?? new DeviceError('other', 'logs: neither REST nor SSH is configured for this device');
  }

  private archive(name: string, data: Buffer, capturedAt: string, source: 'rest' | 'ssh'): LogArchive {
    return { name, data, capturedAt, source, sha256: createHash('sha256').update(data).digest('hex') };
  }

  private async store(serial: string, archive: LogArchive): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const meta: CacheMeta = {
      name: archive.name,
      capturedAt: archive.capturedAt,
      source: archive.source,
      sha256: archive.sha256,
      size: archive.data.length,
    };
    await writeFile(join(this.dir, `${serial}.bin.tmp`), archive.data);
    await rename(join(this.dir, `${serial}.bin.tmp`), join(this.dir, `${serial}.bin`));
    await writeFile(join(this.dir, `${serial}.json`), JSON.stringify(meta));
    this.capturedAtMs.set(serial, Date.parse(archive.capturedAt));
    this.dueAtMs.delete(serial);
  }

  /** Collect now (REST, else SSH), cache it, return it. Concurrent calls for one device share the work. */
  collect(poller: DevicePoller): Promise<LogArchive> {
    const serial = poller.device.serial;
    const running = this.inFlight.get(serial);
    if (running) return running;
    const job = (async () => {
      const archive = await this.fetchFresh(poller);
      await this.store(serial, archive);
      return archive;
    })().finally(() => this.inFlight.delete(serial));
    this.inFlight.set(serial, job);
    return job;
  }

  /** The newest cached archive, if any. */
  async cached(serial: string): Promise<LogArchive | undefined> {
    try {
      const meta = JSON.parse(await readFile(join(this.dir, `${serial}.json`), 'utf8')) as CacheMeta;
      const data = await readFile(join(this.dir, `${serial}.bin`));
      return { name: meta.name, data, capturedAt: meta.capturedAt, source: meta.source, sha256: meta.sha256 };
    } catch {
      return undefined;
    }
  }

  private async capturedAt(serial: string): Promise<number | undefined> {
    if (!this.capturedAtMs.has(serial)) {
      try {
        const meta = JSON.parse(await readFile(join(this.dir, `${serial}.json`), 'utf8')) as CacheMeta;
        this.capturedAtMs.set(serial, Date.parse(meta.capturedAt));
      } catch {
        return undefined;
      }
    }
    return this.capturedAtMs.get(serial);
  }

  /** When the refresh of a device is due: capture + refreshMs, or its slot in the first fill (read once). */
  private async dueAt(serial: string, refreshMs: number): Promise<number> {
    const known = this.dueAtMs.get(serial);
    if (known !== undefined) return known;
    const last = await this.capturedAt(serial);
    let due: number;
    if (last !== undefined) due = last + refreshMs;
    else {
      const now = this.deps.clock.now();
      this.firstFillStartMs ??= now;
      const window = Math.min(refreshMs, this.deps.firstFillWindowMs ?? 0);
      const slot = this.firstFillSlots++;
      due = this.firstFillStartMs + (window * slot) / Math.max(1, this.deps.deviceCount ?? 1);
    }
    this.dueAtMs.set(serial, due);
    return due;
  }

  /**
   * After each poll: refresh the cache when it is older than `refreshMs` (a device without one: at its
   * slot of the first fill), or when the device has just turned degraded (a component failed).
   * Runs in the background, at most two devices at a time.
   */
  async maybeRefresh(poller: DevicePoller, isDegraded: boolean, refreshMs: number): Promise<void> {
    const serial = poller.device.serial;
    const turnedDegraded = isDegraded && !this.degraded.has(serial);
    if (isDegraded) this.degraded.add(serial);
    else this.degraded.delete(serial);
    if (poller.isDown || this.inFlight.has(serial) || this.refreshing >= MAX_PARALLEL_REFRESH) return;
    const now = this.deps.clock.now();
    const capturedAt = this.capturedAtMs.get(serial);
    const stale =
      capturedAt !== undefined ? now - capturedAt >= refreshMs : now >= (await this.dueAt(serial, refreshMs));
    if (!stale && !turnedDegraded) return;
    this.refreshing++;
    try {
      const archive = await this.collect(poller);
      this.deps.logger.debug({ serial, size: archive.data.length, source: archive.source }, 'log cache refreshed');
    } catch (err) {
      this.deps.logger.debug({ serial, err: { message: (err as Error).message } }, 'log cache refresh failed');
      // remember the attempt so a device without logs is not hammered every poll
      this.capturedAtMs.set(serial, this.deps.clock.now() - refreshMs / 2);
    } finally {
      this.refreshing--;
    }
  }
}
