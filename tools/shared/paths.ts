import { fileURLToPath } from 'node:url';

/** The repository's root, for tests and tools (which run from source, never from dist/). */
export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
