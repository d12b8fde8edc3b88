/**
 * Group commit: items added while a write is in flight leave together in the next one.
 *
 * An item is queued, and a write leaves at the end of the event-loop turn, or when the write in
 * flight returns: a lone item waits for no one, and under load each write carries what arrived
 * meanwhile (up to `maxItems`). When a write of several items fails because of what one of them
 * holds (`isolate(err)`: a constraint, a value), which one is unknown: each is written again
 * alone, so only that one fails. Any other failure (the database is away) fails them all at once,
 * without a write per item to a database that is already struggling.
 *
 * One write in flight at a time: the items arriving meanwhile make the next batch larger, and a
 * statement of many rows costs Postgres little more than one of a single row (measured against
 * two and four in flight: docs/performance.md, "Latest full runs: the group commit").
 */
export class GroupCommit<T> {
  private queue: { item: T; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private writing = false;
  private scheduled = false;

  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly maxItems: number,
    private readonly isolate: (err: unknown) => boolean = () => true,
  ) {}

  /** Resolves once `item` is written (committed), rejects when it cannot be. */
  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.writing || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.writing) void this.flush(this.queue.splice(0, this.maxItems));
    });
  }

  private async flush(batch: GroupCommit<T>['queue']): Promise<void> {
    this.writing = true;
    try {
      await this.write(batch.map((b) => b.item));
      for (const b of batch) b.resolve();
    } catch (err) {
      if (batch.length > 1 && this.isolate(err)) {
        for (const b of batch) this.write([b.item]).then(b.resolve, b.reject);
      } else {
        for (const b of batch) b.reject(err);
      }
    } finally {
      this.writing = false;
      this.schedule();
    }
  }
}
