import { describe, expect, it } from 'vitest';
import { judgeSoak, minutes, type SoakSample, soakSvg } from './soak-report.js';

/** Ten minutes of one sample a second; `at(t)` changes a sample, answers are 10 ms each. */
function soak(at: (s: SoakSample) => Partial<SoakSample> = () => ({})) {
  const samples: SoakSample[] = [];
  const latencies: number[] = [];
  const answeredAt: number[] = [];
  for (let t = 1; t <= 600; t++) {
    const s: SoakSample = { t, answered: 100, p99: 10, rssMiB: 200, heapMiB: 40 };
    Object.assign(s, at(s));
    samples.push(s);
    for (let i = 0; i < s.answered; i++) {
      latencies.push(s.p99);
      answeredAt.push(t - 0.5);
    }
  }
  return minutes(samples, Float64Array.from(latencies), Float64Array.from(answeredAt));
}

const clean = { errors: 0, timeouts: 0, non2xx: 0, dropped: 0 };

describe('soak report: minute 10 against minute 2 (issue 20)', () => {
  it('gives each minute the means of its seconds and the p99 of its answers', () => {
    const by = soak((s) =>
      s.t > 60 && s.t <= 120
        ? { rssMiB: 210, ...(s.t === 61 ? { answered: 40, p99: 90 } : { p99: 20 }) }
        : {},
    );
    expect(by).toHaveLength(10);
    expect(by[1]).toMatchObject({ minute: 2, reqPerSec: 99, rssMiB: 210, heapMiB: 40, p99: 20 });
    expect(by[0]).toMatchObject({ minute: 1, rssMiB: 200, p99: 10 });
  });

  it('passes a flat run', () => {
    expect(judgeSoak(soak(), clean).pass).toBe(true);
  });

  it('fails on memory growth over 5 %, p99 over 1.2 ×, or any failure', () => {
    const last = (change: Partial<SoakSample>) => soak((s) => (s.t > 540 ? change : {}));
    expect(judgeSoak(last({ rssMiB: 209 }), clean).pass).toBe(true);
    expect(judgeSoak(last({ rssMiB: 211 }), clean)).toMatchObject({ pass: false });
    expect(judgeSoak(last({ rssMiB: 211 }), clean).measured).toContain(
      'RSS +5.5 % (200 → 211 MiB)',
    );
    expect(judgeSoak(last({ heapMiB: 42.4 }), clean).pass).toBe(false);
    expect(judgeSoak(last({ p99: 12 }), clean).pass).toBe(true);
    expect(judgeSoak(last({ p99: 13 }), clean).pass).toBe(false);
    expect(judgeSoak(soak(), { ...clean, dropped: 1 }).pass).toBe(false);
    expect(judgeSoak(soak(), { ...clean, non2xx: 1 }).pass).toBe(false);
  });

  it('fails a run too short to compare', () => {
    expect(judgeSoak(soak().slice(0, 2), clean)).toMatchObject({ pass: false });
  });

  it('plots answers, p99, RSS and heap over time', () => {
    const samples: SoakSample[] = [1, 2, 3].map((t) => ({ t, answered: 5, p99: 3, rssMiB: 9 }));
    const svg = soakSvg(samples, 'a <title>');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(4);
    expect(svg).toContain('<title>a &lt;title&gt;</title>');
    expect(svg).toContain('1 min');
  });
});
