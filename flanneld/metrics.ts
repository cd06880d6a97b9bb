// Counters and gauges the daemon keeps, rendered in the Prometheus text exposition format
// (version 0.0.4): `# HELP`, `# TYPE`, then `name{labels} value` lines.

type Kind = 'counter' | 'gauge';

interface Series {
  kind: Kind;
  help: string;
  values: Map<string, number>;
}

export class Metrics {
  private readonly series = new Map<string, Series>();

  define(name: string, kind: Kind, help: string): void {
    if (!this.series.has(name)) this.series.set(name, { kind, help, values: new Map() });
  }

  inc(name: string, by = 1, labels: Record<string, string> = {}): void {
    const s = this.get(name);
    const k = labelKey(labels);
    s.values.set(k, (s.values.get(k) ?? 0) + by);
  }

  set(name: string, value: number, labels: Record<string, string> = {}): void {
    this.get(name).values.set(labelKey(labels), value);
  }


  render(): string {
    const out: string[] = [];
    for (const [name, s] of this.series) {
      out.push(`# HELP ${name} ${s.help}`, `# TYPE ${name} ${s.kind}`);
      if (s.values.size === 0 && s.kind === 'counter') out.push(`${name} 0`);
      for (const [k, v] of s.values) out.push(`${name}${k} ${Number.isFinite(v) ? v : 'NaN'}`);
    }
    return out.join('\n') + '\n';
  }

  private get(name: string): Series {
    const s = this.series.get(name);
    if (!s) throw new Error(`metric ${name} is not defined`);
    return s;
  }
}

function labelKey(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  return `{${keys.map((k) => `${k}="${esc(labels[k]!)}"`).join(',')}}`;
}
