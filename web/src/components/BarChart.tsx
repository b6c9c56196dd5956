/**
 * A small stacked bar chart in SVG: vertical (one bar per day) or horizontal (one bar per
 * member). Each bar has a native tooltip, and a table with the same numbers is there for
 * screen readers. Sized in pixels to its container, so text never stretches.
 */
import { useEffect, useRef, useState } from "react";
import { cn } from "@/lib/cn";

export interface BarDatum {
  key: string;
  /** Axis label (shortened); `title` is the tooltip's. */
  label: string;
  title?: string;
  /** One value per series, stacked in series order. */
  values: number[];
}

export interface BarSeries {
  name: string;
  /** Fill class, e.g. "fill-primary". */
  className: string;
  /** Legend swatch class, e.g. "bg-primary". */
  swatch: string;
}

/** Round axis ticks from 0 to at least `max`: steps of 1, 2 or 5 × 10ⁿ. */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v < max + step / 2 && ticks.length <= count + 1; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
const full = new Intl.NumberFormat();

function useWidth<T extends HTMLElement>(fallback: number) {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(el.clientWidth || fallback);
    if (typeof ResizeObserver === "undefined") return;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth || fallback));
    ro.observe(el);
    return () => ro.disconnect();
  }, [fallback]);
  return [ref, width] as const;
}

export function BarChart({
  title,
  data,
  series,
  orientation = "vertical",
  height = 220,
  unit = "tokens",
  className,
}: {
  title: string;
  data: BarDatum[];
  series: BarSeries[];
  orientation?: "vertical" | "horizontal";
  height?: number;
  unit?: string;
  className?: string;
}) {
  const [ref, width] = useWidth<HTMLDivElement>(600);
  const totals = data.map((d) => d.values.reduce((a, b) => a + b, 0));
  const max = Math.max(0, ...totals);
  const ticks = niceTicks(max);
  const top = ticks[ticks.length - 1]!;
  const tip = (d: BarDatum, i: number) =>
    `${d.title ?? d.label}: ${full.format(totals[i]!)} ${unit}` +
    (series.length > 1 ? ` (${series.map((s, j) => `${s.name.toLowerCase()} ${full.format(d.values[j] ?? 0)}`).join(", ")})` : "");

  let svg: React.ReactNode;
  if (orientation === "vertical") {
    const pad = { left: 44, right: 8, top: 8, bottom: 26 };
    const plotW = Math.max(10, width - pad.left - pad.right);
    const plotH = height - pad.top - pad.bottom;
    const slot = plotW / Math.max(1, data.length);
    const barW = Math.max(2, Math.min(36, slot * 0.7));
    const y = (v: number) => pad.top + plotH - (v / top) * plotH;
    // Label every nth bar so labels never collide (about 44 px each).
    const every = Math.max(1, Math.ceil(44 / slot));
    svg = (
      <svg width={width} height={height} role="img" aria-label={title} className="block overflow-visible">
        {ticks.map((t) => (
          <g key={t}>
            <line x1={pad.left} x2={pad.left + plotW} y1={y(t)} y2={y(t)} className="stroke-border" strokeDasharray={t === 0 ? undefined : "3 3"} />
            <text x={pad.left - 6} y={y(t)} dy="0.32em" textAnchor="end" className="fill-muted-foreground text-[10px] tabular-nums">
              {compact.format(t)}
            </text>
          </g>
        ))}
        {data.map((d, i) => {
          const x = pad.left + slot * i + (slot - barW) / 2;
          let acc = 0;
          return (
            <g key={d.key} className="[&:hover>rect]:opacity-80" data-bar={d.key}>
              <title>{tip(d, i)}</title>
              {/* A full-height hit area, so thin bars still show their tooltip. */}
              <rect x={pad.left + slot * i} y={pad.top} width={slot} height={plotH} className="fill-transparent" />
              {d.values.map((v, j) => {
                if (v <= 0) return null;
                const y0 = y(acc);
                acc += v;
                const y1 = y(acc);
                return <rect key={j} x={x} y={y1} width={barW} height={Math.max(1, y0 - y1)} rx={Math.min(3, barW / 4)} className={series[j]?.className} />;
              })}
              {i % every === 0 && (
                <text x={x + barW / 2} y={height - 8} textAnchor="middle" className="fill-muted-foreground text-[10px]">
                  {d.label}
                </text>
              )}
            </g>
          );
        })}
      </svg>
    );
  } else {
    const rowH = 28;
    const labelW = Math.min(200, Math.max(110, width * 0.4));
    // About 6.6 px per character at 12 px: shorten what would not fit.
    const maxChars = Math.max(8, Math.floor((labelW - 4) / 6.6));
    const pad = { left: labelW + 8, right: 56, top: 4, bottom: 4 };
    const plotW = Math.max(10, width - pad.left - pad.right);
    const h = pad.top + pad.bottom + rowH * data.length;
    const x = (v: number) => pad.left + (v / top) * plotW;
    svg = (
      <svg width={width} height={h} role="img" aria-label={title} className="block">
        {data.map((d, i) => {
          const yTop = pad.top + rowH * i;
          let acc = 0;
          return (
            <g key={d.key} className="[&:hover>rect]:opacity-80" data-bar={d.key}>
              <title>{tip(d, i)}</title>
              <text x={labelW} y={yTop + rowH / 2} dy="0.32em" textAnchor="end" className="fill-foreground text-xs">
                {d.label.length > maxChars ? `${d.label.slice(0, maxChars - 1)}…` : d.label}
              </text>
              <rect x={pad.left} y={yTop + 6} width={plotW} height={rowH - 12} rx={3} className="fill-muted" />
              {d.values.map((v, j) => {
                if (v <= 0) return null;
                const x0 = x(acc);
                acc += v;
                return <rect key={j} x={x0} y={yTop + 6} width={Math.max(1, x(acc) - x0)} height={rowH - 12} rx={3} className={series[j]?.className} />;
              })}
              <text x={x(totals[i]!) + 6} y={yTop + rowH / 2} dy="0.32em" className="fill-muted-foreground text-[11px] tabular-nums">
                {compact.format(totals[i]!)}
              </text>
            </g>
          );
        })}
      </svg>
    );
  }

  return (
    <figure className={cn("grid gap-3", className)}>
      {series.length > 1 && (
        <figcaption className="flex flex-wrap gap-4 text-xs text-muted-foreground" aria-hidden>
          {series.map((s) => (
            <span key={s.name} className="inline-flex items-center gap-1.5">
              <span className={cn("size-2.5 rounded-sm", s.swatch)} /> {s.name}
            </span>
          ))}
        </figcaption>
      )}
      <div ref={ref} className="w-full min-w-0 overflow-hidden">
        {svg}
      </div>
      {/* The box hides the table: a table grows to fit its rows whatever height it is
          given, so `sr-only` on the table itself leaves its full height in the page,
          which then scrolls past its content. */}
      <div className="sr-only">
        <table>
          <caption>{title}</caption>
          <thead>
            <tr>
              <th scope="col">Label</th>
              {series.map((s) => (
                <th key={s.name} scope="col">
                  {s.name}
                </th>
              ))}
              <th scope="col">Total</th>
            </tr>
          </thead>
          <tbody>
            {data.map((d, i) => (
              <tr key={d.key}>
                <th scope="row">{d.title ?? d.label}</th>
                {series.map((s, j) => (
                  <td key={s.name}>{full.format(d.values[j] ?? 0)}</td>
                ))}
                <td>{full.format(totals[i]!)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}
