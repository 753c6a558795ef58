// Helpers that return Vega-Lite specs (data inlined); the report renders them to SVG.

type Row = Record<string, unknown>;

const WIDTH = 460;
const HEIGHT = 260;

/** Common chart config: readable fonts, no chart border, labels never truncated (labelLimit 0 = no limit). */
export const CHART_CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  axis: { labelFontSize: 12, titleFontSize: 13, grid: true, gridOpacity: 0.5, labelLimit: 0, titleLimit: 0 },
  legend: { labelFontSize: 12, titleFontSize: 12, labelLimit: 0, columns: 1, orient: 'bottom' },
  title: { fontSize: 15, anchor: 'start', limit: 0 },
  view: { stroke: null },
} as const;

/** Tick labels: significant digits with trailing zeros trimmed (0.2, not 0.200000), or integers. */
const NUMBER_AXIS = { format: '.4~r' };
const INTEGER_AXIS = { tickMinStep: 1, format: 'd' };

// Vega's default series styles, so a fixed order (below) looks like an unordered plot.
const PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];
const SHAPES = ['circle', 'square', 'triangle-up', 'cross', 'diamond', 'triangle-right', 'triangle-down', 'triangle-left'];
const DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [1, 3], [10, 4], [4, 2, 1, 2], [3, 5]];

/**
 * A colour legend that lists every series on its own line, untruncated, with the series' dash and marker. With
 * `order` (e.g. every arm label of an experiment), a series' colour, marker and dash are fixed by its position there,
 * so an arm looks the same in every plot that passes the same order, whichever arms each plot shows.
 */
function seriesEncoding(field: string, rows: readonly Row[], order?: readonly string[]): Record<string, unknown> {
  const legend = { orient: 'bottom', columns: 1, labelLimit: 0, symbolOpacity: 1, symbolSize: 90, symbolStrokeWidth: 2 };
  const channel = (range?: unknown[]): Record<string, unknown> => ({ field, type: 'nominal', title: null, legend, ...(range ? { scale: { domain, range } } : {}) });
  let domain: string[] | undefined;
  let at: number[] = [];
  if (order) {
    const present = new Set(rows.map((r) => String(r[field])));
    const extra = [...present].filter((v) => !order.includes(v)).sort();
    domain = [...order.filter((v) => present.has(v)), ...extra];
    at = domain.map((v) => (order.includes(v) ? order.indexOf(v) : order.length + extra.indexOf(v)));
  }
  const pick = <T>(xs: readonly T[]): T[] | undefined => (domain ? at.map((i) => xs[i % xs.length] as T) : undefined);
  return { color: channel(pick(PALETTE)), strokeDash: channel(pick(DASHES)), shape: channel(pick(SHAPES)) };
}

const isIntegerField = (rows: readonly Row[], field: string): boolean =>
  rows.every((r) => {
    const v = r[field];
    return typeof v !== 'number' || Number.isInteger(v);
  });

/**
 * Lines of `y` against `x`, one per `color` value (e.g. a learning curve per arm), with points.
 *
 * @param args.detail - a field that separates lines within one colour (e.g. `seed`); @param args.aggregate - draw the
 * mean over `detail` per colour with a band of ± 1 std instead of one line per detail
 * @returns a Vega-Lite spec
 */
export function lineChart(args: {
  data: Row[];
  x: string;
  y: string;
  color?: string;
  /** Fixed series order for `color` (see `seriesEncoding`): an arm keeps its colour, marker and dash across plots. */
  order?: readonly string[];
  detail?: string;
  aggregate?: boolean;
  title?: string;
  xTitle?: string;
  yTitle?: string;
  yZero?: boolean;
  logX?: boolean;
  /** Integer ticks on x. @defaultValue true when every x value is an integer (and x is not logarithmic) */
  integerX?: boolean;
  width?: number;
  height?: number;
}): Record<string, unknown> {
  // Integer ticks only when every x is an integer (fractional epochs would otherwise all print as 0).
  const integerX = args.integerX ?? (!args.logX && isIntegerField(args.data, args.x));
  const xEnc = {
    field: args.x,
    type: 'quantitative',
    title: args.xTitle ?? args.x,
    ...(args.logX ? { scale: { type: 'log' } } : {}),
    axis: integerX ? INTEGER_AXIS : NUMBER_AXIS,
  };
  const yScale = { zero: args.yZero ?? false, ...(args.yZero ? {} : { padding: 6 }) };
  const yTitle = args.yTitle ?? args.y;
  const series = args.color ? seriesEncoding(args.color, args.data, args.order) : {};
  const color = args.color ? { color: (series as Record<string, unknown>)['color'] } : {};
  const lineSeries = args.color ? { color: (series as Record<string, unknown>)['color'], strokeDash: (series as Record<string, unknown>)['strokeDash'] } : {};
  const pointSeries = args.color ? { color: (series as Record<string, unknown>)['color'], shape: (series as Record<string, unknown>)['shape'] } : {};
  const base = { width: args.width ?? WIDTH, height: args.height ?? HEIGHT, data: { values: args.data } };
  const title = args.title ? { title: args.title } : {};
  const y = (aggregate: boolean) => ({ ...(aggregate ? { aggregate: 'mean' } : {}), field: args.y, type: 'quantitative', title: yTitle, scale: yScale, axis: NUMBER_AXIS });
  // Lines get a dash pattern and points a marker shape per series, so series with identical values stay visible.
  if (args.aggregate) {
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      ...title,
      ...base,
      config: CHART_CONFIG,
      layer: [
        { mark: { type: 'errorband', extent: 'stdev', opacity: 0.15 }, encoding: { x: xEnc, y: y(false), ...color } },
        { mark: { type: 'line', strokeWidth: 2 }, encoding: { x: xEnc, y: y(true), ...lineSeries } },
        { mark: { type: 'point', filled: false, size: 60, strokeWidth: 1.5, opacity: 1 }, encoding: { x: xEnc, y: y(true), ...pointSeries } },
      ],
    };
  }
  const detail = args.detail ? { detail: { field: args.detail, type: 'nominal' } } : {};
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...title,
    ...base,
    config: CHART_CONFIG,
    layer: [
      { mark: { type: 'line', strokeWidth: 2 }, encoding: { x: xEnc, y: y(false), ...lineSeries, ...detail } },
      { mark: { type: 'point', filled: false, size: 60, strokeWidth: 1.5, opacity: 1 }, encoding: { x: xEnc, y: y(false), ...pointSeries, ...detail } },
    ],
  };
}

/**
 * One column per `x` category: the mean of `y` (a wide tick, or a bar from zero with `yZero`), a ±1 standard deviation
 * error bar, and the individual values (e.g. one per seed) as dots.
 *
 * @param args.data - one row per run (e.g. per seed)
 * @returns a Vega-Lite spec
 */
export function barWithErrors(args: {
  data: Row[];
  x: string;
  y: string;
  title?: string;
  xTitle?: string;
  yTitle?: string;
  yZero?: boolean;
  width?: number;
  height?: number;
}): Record<string, unknown> {
  // Horizontal: one row per category, so long arm labels read in full on the left.
  const cat = { field: args.x, type: 'nominal', title: args.xTitle ?? null, sort: null, axis: { labelLimit: 0 } };
  const valueTitle = args.yTitle ?? args.y;
  const scale = { zero: args.yZero ?? false, ...(args.yZero ? {} : { padding: 8 }) };
  const n = new Set(args.data.map((r) => r[args.x])).size;
  const value = (aggregate: boolean) => ({ ...(aggregate ? { aggregate: 'mean' } : {}), field: args.y, type: 'quantitative', title: valueTitle, scale, axis: NUMBER_AXIS });
  const mean = args.yZero
    ? { mark: { type: 'bar', opacity: 0.55 }, encoding: { y: cat, x: value(true) } }
    : { mark: { type: 'tick', thickness: 3, size: 22, color: '#4c78a8' }, encoding: { y: cat, x: value(true) } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(args.title ? { title: args.title } : {}),
    width: args.width ?? WIDTH,
    height: args.height ?? Math.max(90, 34 * n),
    data: { values: args.data },
    config: CHART_CONFIG,
    layer: [
      mean,
      { mark: { type: 'errorbar', extent: 'stdev', ticks: { size: 10 }, color: '#4c78a8' }, encoding: { y: cat, x: value(false) } },
      { mark: { type: 'point', filled: true, color: 'black', size: 30, opacity: 0.7 }, encoding: { y: cat, x: value(false) } },
    ],
  };
}

/**
 * Points of `y` against `x`, coloured by `color`.
 *
 * @returns a Vega-Lite spec
 */
export function scatter(args: {
  data: Row[];
  x: string;
  y: string;
  color?: string;
  /** Fixed series order for `color` (see `seriesEncoding`). */
  order?: readonly string[];
  title?: string;
  xTitle?: string;
  yTitle?: string;
  logX?: boolean;
  logY?: boolean;
  width?: number;
  height?: number;
}): Record<string, unknown> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(args.title ? { title: args.title } : {}),
    width: args.width ?? WIDTH,
    height: args.height ?? HEIGHT,
    data: { values: args.data },
    config: CHART_CONFIG,
    mark: { type: 'point', filled: false, size: 60, strokeWidth: 1.5, opacity: 1 },
    encoding: {
      // Scale padding keeps points at the extremes inside the plot area.
      x: { field: args.x, type: 'quantitative', title: args.xTitle ?? args.x, scale: { zero: false, padding: 10, ...(args.logX ? { type: 'log' } : {}) }, axis: NUMBER_AXIS },
      y: { field: args.y, type: 'quantitative', title: args.yTitle ?? args.y, scale: { zero: false, padding: 10, ...(args.logY ? { type: 'log' } : {}) }, axis: NUMBER_AXIS },
      ...(args.color ? (({ color, shape }) => ({ color, shape }))(seriesEncoding(args.color, args.data, args.order) as { color: unknown; shape: unknown }) : {}),
    },
  };
}
