import { Counter, type Registry } from 'prom-client';
import { HubError } from '../hub/client.js';
import type { DirectoryEntry } from '../hub/directory.js';
import type { HubGateway } from '../hub/gateway.js';

export interface DirectoryView {
  operators: DirectoryEntry[];
  /** True when the hub could not answer and this is the last copy it gave. */
  stale: boolean;
  fetchedAt: Date;
}

/** operator_directory_skipped_entries_total and operator_directory_stale_total. */
export function directoryMetrics(registry: Registry) {
  return {
    skipped: new Counter({
      name: 'operator_directory_skipped_entries_total',
      help: 'Entries of the hub directory left out because they could not be read (no id or name, a repeated id).',
      registers: [registry],
    }),
    stale: new Counter({
      name: 'operator_directory_stale_total',
      help: 'Directory answers served from an older copy because the hub could not answer.',
      registers: [registry],
    }),
  };
}

/**
 * The hub's operator directory, kept `ttlMs` in this process (one fetch for concurrent askers).
 * When the hub fails, the last copy is served, marked stale; with no copy, the HubError goes on.
 */
export class OperatorDirectory {
  private copy: { operators: DirectoryEntry[]; fetchedAt: Date } | undefined;
  private fetching: Promise<DirectoryView> | undefined;
  private readonly hostsOf = new WeakMap<DirectoryEntry[], Map<string, DirectoryEntry>>();

  constructor(
    private readonly hub: HubGateway,
    private readonly ttlMs: number,
    private readonly metrics: ReturnType<typeof directoryMetrics>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The directory, from the copy while it is fresh (`fresh`: ask the hub now). */
  async list(options: { fresh?: boolean } = {}): Promise<DirectoryView> {
    const copy = this.copy;
    if (!options.fresh && copy && this.now() - copy.fetchedAt.getTime() < this.ttlMs) {
      return { ...copy, stale: false };
    }
    this.fetching ??= this.fetch().finally(() => {
      this.fetching = undefined;
    });
    return this.fetching;
  }

  /** One operator by its id (names repeat), or undefined when the directory lists none. */
  async find(operatorId: string, options: { fresh?: boolean } = {}) {
    const view = await this.list(options);
    return { entry: view.operators.find((o) => o.operatorId === operatorId), view };
  }

  /**
   * The operators by the host of their transfer URL (lowercase): the hosts this service may call
   * as peers, and who a callback's host belongs to. Worked out once per copy of the directory.
   */
  async transferHosts(): Promise<ReadonlyMap<string, DirectoryEntry>> {
    const { operators } = await this.list();
    let hosts = this.hostsOf.get(operators);
    if (!hosts) {
      hosts = new Map();
      for (const o of operators) {
        const host = o.transferUrl && new URL(o.transferUrl).hostname.toLowerCase();
        if (host && !hosts.has(host)) hosts.set(host, o); // the first, as the directory lists them
      }
      this.hostsOf.set(operators, hosts);
    }
    return hosts;
  }

  private async fetch(): Promise<DirectoryView> {
    try {
      const { operators, skipped } = await this.hub.directory();
      this.metrics.skipped.inc(skipped);
      this.copy = { operators, fetchedAt: new Date(this.now()) };
      return { ...this.copy, stale: false };
    } catch (err) {
      if (!(err instanceof HubError) || !this.copy) throw err;
      this.metrics.stale.inc();
      return { ...this.copy, stale: true };
    }
  }
}
