import { percentile } from './arrivals.js';
import { type Budget, SOAK_RULE } from './report.js';

/** One second of the soak, as plotted. */
export interface SoakSample {
  /** Seconds since the start of the soak. */
  t: number;
  answered: number;
  p99: number;
  rssMiB: number;
  /** Requests that failed (no answer) or were dropped in this second. */
  errors?: number;
  dropped?: number;
  /** V8's used heap (MiB), from the service's /metrics; undefined when that scrape failed. */
  heapMiB?: number;
}

/** One minute of the soak: the means of its samples and the p99 of all its answers. */
export interface SoakMinute {
  minute: number;
  reqPerSec: number;
  p99: number;
  rssMiB: number;
  heapMiB: number;
}

export interface SoakFailures {
  errors: number;
  timeouts: number;
  non2xx: number;
  dropped: number;
}

const mean = (xs: number[]) => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** Minute `m` (1-based) holds the seconds in ((m − 1)·60, m·60]. */
export function minutes(
  samples: SoakSample[],
  latencies: Float64Array,
  answeredAt: Float64Array,
): SoakMinute[] {
  const count = Math.floor(Math.max(0, ...samples.map((s) => s.t)) / 60);
  const out: SoakMinute[] = [];
  for (let m = 1; m <= count; m++) {
    const inMinute = (t: number) => t > (m - 1) * 60 && t <= m * 60;
    const these = samples.filter((s) => inMinute(s.t));
    const lat = latencies.filter((_, i) => inMinute(answeredAt[i] as number)).sort();
    out.push({
      minute: m,
      reqPerSec: mean(these.map((s) => s.answered)),
      p99: percentile(lat, 0.99),
      rssMiB: mean(these.map((s) => s.rssMiB)),
      heapMiB: mean(these.flatMap((s) => (s.heapMiB === undefined ? [] : [s.heapMiB]))),
    });
  }
  return out;
}

/**
 * Issue 20's soak rule: RSS and heap in the last minute (the 10th) within 5 % of minute 2, p99
 * at most 1.2 × minute 2's, and no error, timeout, non-2xx or dropped request in the whole run.
 */
export function judgeSoak(by: SoakMinute[], failures: SoakFailures): Budget {
  const second = by.find((m) => m.minute === 2);
  const last = by.at(-1);
  if (!second || !last || last.minute < 3) {
    return { rule: SOAK_RULE, measured: `only ${by.length} minutes measured`, pass: false };
  }
  const growth = (a: number, b: number) => (a > 0 ? (b - a) / a : Number.POSITIVE_INFINITY);
  const rss = growth(second.rssMiB, last.rssMiB);
  const heap = growth(second.heapMiB, last.heapMiB);
  const p99 = second.p99 > 0 ? last.p99 / second.p99 : Number.POSITIVE_INFINITY;
  const bad = failures.errors + failures.timeouts + failures.non2xx + failures.dropped;
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
  return {
    rule: SOAK_RULE,
    measured:
      `minute ${last.minute} against minute 2: RSS ${pct(rss)} (${second.rssMiB.toFixed(0)} → ${last.rssMiB.toFixed(0)} MiB), ` +
      `heap ${pct(heap)} (${second.heapMiB.toFixed(1)} → ${last.heapMiB.toFixed(1)} MiB), ` +
      `p99 ${p99.toFixed(2)} × (${second.p99} → ${last.p99} ms); ${failures.errors} errors, ` +
      `${failures.timeouts} timeouts, ${failures.non2xx} non-2xx, ${failures.dropped} dropped`,
    pass: Math.abs(rss) <= 0.05 && Math.abs(heap) <= 0.05 && p99 <= 1.2 && bad === 0,
  };
}

interface Series {
  label: string;
  unit: string;
  colour: string;
  points: Array<[number, number]>;
}

/** Three panels over time: answers per second, p99 latency, and RSS with the used heap. */
export function soakSvg(samples: SoakSample[], title: string): string {
  const W = 900;
  const H = 200;
  const left = 60;
  const right = 20;
  const top = 56;
  const gap = 50;
  const maxT = Math.max(60, ...samples.map((s) => s.t));
  const panels: Array<{ title: string; series: Series[] }> = [
    {
      title: 'answers per second',
      series: [
        {
          label: 'req/s',
          unit: '',
          colour: '#1f77b4',
          points: samples.map((s) => [s.t, s.answered]),
        },
      ],
    },
    {
      title: 'p99 latency of each second (ms)',
      series: [
        { label: 'p99', unit: 'ms', colour: '#d62728', points: samples.map((s) => [s.t, s.p99]) },
      ],
    },
    {
      title: 'memory (MiB): RSS, and V8 used heap',
      series: [
        {
          label: 'RSS',
          unit: 'MiB',
          colour: '#2ca02c',
          points: samples.map((s) => [s.t, s.rssMiB]),
        },
        {
          label: 'heap used',
          unit: 'MiB',
          colour: '#9467bd',
          points: samples.flatMap((s) => (s.heapMiB === undefined ? [] : [[s.t, s.heapMiB]])),
        },
      ],
    },
  ];
  const height = top + panels.length * (H + gap);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    // The title's first clause on the first line, the rest (the machine) on the second.
    ...title
      .split(/(?<=\)), /)
      .slice(0, 2)
      .map(
        (line, i) =>
          `<text x="${left}" y="${22 + i * 18}" font-size="${i === 0 ? 14 : 12}"${i === 0 ? ' font-weight="bold"' : ''}>${escapeXml(line)}</text>`,
      ),
  ];
  panels.forEach((panel, i) => {
    const y0 = top + i * (H + gap) + 20;
    const all = panel.series.flatMap((s) => s.points.map((p) => p[1]));
    const maxY = niceCeil(Math.max(1, ...all));
    const x = (t: number) => left + ((W - left - right) * t) / maxT;
    const y = (v: number) => y0 + H - (H * v) / maxY;
    parts.push(
      `<text x="${left}" y="${y0 - 6}" font-weight="bold">${escapeXml(panel.title)}</text>`,
    );
    parts.push(
      `<rect x="${left}" y="${y0}" width="${W - left - right}" height="${H}" fill="none" stroke="#999"/>`,
    );
    for (const f of [0, 0.5, 1]) {
      parts.push(
        `<text x="${left - 6}" y="${y(maxY * f) + 4}" text-anchor="end">${round(maxY * f)}</text>`,
      );
    }
    for (let m = 0; m * 60 <= maxT; m++) {
      parts.push(
        `<line x1="${x(m * 60)}" y1="${y0 + H}" x2="${x(m * 60)}" y2="${y0 + H + 4}" stroke="#999"/>`,
        `<text x="${x(m * 60)}" y="${y0 + H + 16}" text-anchor="middle">${m} min</text>`,
      );
    }
    panel.series.forEach((s, k) => {
      const d = s.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      parts.push(`<polyline fill="none" stroke="${s.colour}" stroke-width="1.5" points="${d}"/>`);
      parts.push(
        `<text x="${W - right - k * 90}" y="${y0 - 6}" text-anchor="end" fill="${s.colour}">${escapeXml(s.label)}</text>`,
      );
    });
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** 1, 2 or 5 times a power of ten, at or above `v`. */
function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

const round = (v: number) => (v >= 10 || v === 0 ? v.toFixed(0) : v.toFixed(1));

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
