import { readLocalAdmin } from '../auth/local-admin.js';

/** The running embedded service, reached as its local admin (src/auth/local-admin.ts). */
export interface RunningService {
  pid: number;
  url: string;
  /** Calls its `/api/v1<path>`; a problem answer throws its `detail`. */
  call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T>;
}

/** The service that holds the embedded database in `dataDir` (pid `holder`), if it is listening. */
export function runningService(
  dataDir: string,
  holder: number | undefined,
): RunningService | undefined {
  const access = readLocalAdmin(dataDir);
  if (!access || access.pid !== holder) return undefined;
  const { url, token, pid } = access;
  return {
    pid,
    url,
    call: async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${url}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      }).catch((err: unknown) => {
        throw new Error(`the running service (pid ${pid}) at ${url} did not answer`, {
          cause: err,
        });
      });
      if (res.status === 204) return undefined as T;
      const answer = (await res.json()) as T & { detail?: string };
      if (!res.ok) throw new Error(answer.detail ?? `the service answered ${res.status}`);
      return answer;
    },
  };
}
