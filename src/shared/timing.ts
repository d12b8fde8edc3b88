/**
 * Waits for `pending` at most `ms`: its value, or undefined when the time ran out first (the
 * promise is left to settle on its own). A rejection is passed on.
 */
export async function within<T>(ms: number, pending: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
  });
  try {
    return await Promise.race([pending, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A gate that opens at most once per `ms`: for log lines a failing dependency would otherwise
 * repeat on every reconnect attempt or every request.
 */
export function oncePer(ms: number, now: () => number = Date.now): () => boolean {
  let last = Number.NEGATIVE_INFINITY;
  return () => {
    const t = now();
    if (t - last < ms) return false;
    last = t;
    return true;
  };
}

/**
 * One call of `read` shared by every caller until the current turn of the event loop ends: the
 * gauges collected in one metrics scrape run one query between them. When `read` fails, the last
 * value it gave is returned (`initial` before any): a database blip keeps the gauges as they were.
 */
export function sharedRead<T>(read: () => Promise<T>, initial: T): () => Promise<T> {
  let last = initial;
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= read()
      .then(
        (value) => {
          last = value;
          return value;
        },
        () => last,
      )
      .finally(() =>
        setImmediate(() => {
          pending = undefined;
        }),
      );
    return pending;
  };
}
