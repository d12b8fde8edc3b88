import { describe, expect, it } from 'vitest';
import { imageEnv } from './processes.js';

describe('bench processes run with the image’s runtime settings', () => {
  it('reads NODE_OPTIONS and the allocator’s settings from the Dockerfile', () => {
    const env = imageEnv();
    expect(env.NODE_OPTIONS).toMatch(/--max-old-space-size=\d+/);
    expect(env.MALLOC_ARENA_MAX).toBe('2');
  });
});
