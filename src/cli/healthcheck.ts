/**
 * The container image's HEALTHCHECK: exits 0 when /health/live answers 200 on the API port
 * (PORT, 8000) or, for the worker, on WORKER_PORT (8001). No shell or curl needed in the image.
 */
const ports = [process.env.PORT || '8000', process.env.WORKER_PORT || '8001'];

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
