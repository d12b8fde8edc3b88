import { createHmac } from 'node:crypto';
import { desc, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { chainHash, GENESIS } from './chain.js';
import { securityEvents } from './security-events.table.js';

/** What the security log records (docs/security.md#the-security-log). */
export const SECURITY_EVENT_KINDS = [
  'login_succeeded',
  'login_failed',
  'login_locked',
  'refresh_rotated',
  'refresh_reused',
  'logout',
  'access_denied',
  'user_created',
  'user_disabled',
  'user_enabled',
  'user_deleted',
  'operator_registered',
  'peer_callback_refused',
] as const;
export type SecurityEventKind = (typeof SECURITY_EVENT_KINDS)[number];

export interface SecurityEvent {
  kind: SecurityEventKind;
  subject?: string | null;
  source?: string | null;
  requestId?: string | null;
  /** What happened, never a secret: route, reason, roles… */
  detail?: Record<string, string | number | boolean>;
}

export interface SecurityLogOptions {
  db: Db;
  key: string;
  /** Events kept in memory before a write; beyond, new ones are dropped (and counted). */
  maxPending: number;
  flushIntervalMs: number;
  onRecorded?: (kind: SecurityEventKind) => void;
  onDropped?: () => void;
  onWriteFailed?: (err: unknown) => void;
  now?: () => Date;
}

/** Any constant: the lock every replica takes to append, so the chain has one order. */
const CHAIN_LOCK = 0x5ec_106;

/**
 * Records security events, in batches: `record` never waits on the database (a flood of denied
 * requests costs one transaction per batch, not one each), and a batch is appended under a lock,
 * each row chained to the one before (src/security/chain.ts). A batch that cannot be written
 * stays for the next attempt; past `maxPending` events, new ones are dropped and counted.
 */
export class SecurityLog {
  private pending: (SecurityEvent & { at: Date })[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private readonly now: () => Date;

  constructor(private readonly o: SecurityLogOptions) {
    this.now = o.now ?? (() => new Date());
  }

  /** A username that may be no user's, as a subject: keyed, so the log holds no guessed names. */
  usernameSubject(username: string): string {
    const hash = createHmac('sha256', this.o.key)
      .update(username.trim().toLowerCase())
      .digest('hex');
    return `username:${hash.slice(0, 32)}`;
  }

  record(event: SecurityEvent): void {
    if (this.pending.length >= this.o.maxPending) {
      this.o.onDropped?.();
      return;
    }
    this.pending.push({ ...event, at: this.now() });
    this.o.onRecorded?.(event.kind);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.o.flushIntervalMs);
  }

  /** Writes what is pending (tests, and the process's shutdown, wait for it). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.writing = this.append(batch).then(
      () => {},
      (err: unknown) => {
        this.pending = [...batch, ...this.pending].slice(0, this.o.maxPending);
        this.o.onWriteFailed?.(err);
      },
    );
    try {
      await this.writing;
    } finally {
      this.writing = undefined;
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async append(batch: (SecurityEvent & { at: Date })[]): Promise<void> {
    await this.o.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${CHAIN_LOCK})`);
      const [last] = await tx
        .select({ seq: securityEvents.seq, hash: securityEvents.hash })
        .from(securityEvents)
        .orderBy(desc(securityEvents.seq))
        .limit(1);
      let seq = last?.seq ?? 0;
      let prevHash = last?.hash ?? GENESIS;
      const rows = batch.map((e) => {
        const fields = {
          seq: ++seq,
          at: e.at,
          kind: e.kind,
          subject: e.subject ?? null,
          source: e.source ?? null,
          requestId: e.requestId ?? null,
          detail: e.detail ?? {},
        };
        const hash = chainHash(this.o.key, prevHash, fields);
        const row = { ...fields, prevHash, hash };
        prevHash = hash;
        return row;
      });
      await tx.insert(securityEvents).values(rows);
    });
  }
}
