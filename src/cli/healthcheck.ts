import { DEFAULT_PORT } from '../config/env.js';

/**
 * The container image's HEALTHCHECK: exits 0 when /health/live answers 200 on PORT or, when it
 * is unset, on either role's default (the API's 8000, the worker's 8001). No shell or curl
 * needed in the image.
 */
const ports = process.env.PORT
  ? [process.env.PORT]
  : [String(DEFAULT_PORT.api), String(DEFAULT_PORT.worker)];

async function live(port: string): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health/live`, {
      signal: AbortSignal.timeout(3000),
    });
    return res.status === 200;
  } catch {
    return false;
  }
}

for (const port of ports) {
  if (await live(port)) process.exit(0);
}
process.exit(1);
