// Helpers that return Vega-Lite specs (data inlined); the report renders them to SVG.

type Row = Record<string, unknown>;

const WIDTH = 460;
const HEIGHT = 260;

/** Common chart config: readable fonts, no chart border. */
export const CHART_CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  axis: { labelFontSize: 12, titleFontSize: 13, grid: true, gridOpacity: 0.5 },
  legend: { labelFontSize: 12, titleFontSize: 12, labelLimit: 260 },
  title: { fontSize: 15, anchor: 'start' },
  view: { stroke: null },
} as const;

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
  detail?: string;
  aggregate?: boolean;
  title?: string;
  xTitle?: string;
  yTitle?: string;
  yZero?: boolean;
  logX?: boolean;
  /** Integer ticks on x. @defaultValue true when x is `epoch` */
  integerX?: boolean;
  width?: number;
  height?: number;
}): Record<string, unknown> {
  const integerX = args.integerX ?? args.x === 'epoch';
  const xEnc = {
    field: args.x,
    type: 'quantitative',
    title: args.xTitle ?? args.x,
    ...(args.logX ? { scale: { type: 'log' } } : {}),
    ...(integerX ? { axis: { tickMinStep: 1, format: 'd' } } : {}),
  };
  const yScale = { zero: args.yZero ?? false };
  const color = args.color ? { field: args.color, type: 'nominal', title: null, legend: { orient: 'bottom', columns: 2, labelLimit: 320, symbolOpacity: 1, symbolType: 'circle', symbolSize: 90 } } : undefined;
  const base = { width: args.width ?? WIDTH, height: args.height ?? HEIGHT, data: { values: args.data } };
  const title = args.title ? { title: args.title } : {};
  if (args.aggregate) {
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      ...title,
      ...base,
      config: CHART_CONFIG,
      layer: [
        {
          mark: { type: 'errorband', extent: 'stdev', opacity: 0.2 },
          encoding: { x: xEnc, y: { field: args.y, type: 'quantitative', title: args.yTitle ?? args.y, scale: yScale }, ...(color ? { color } : {}) },
        },
        {
          mark: { type: 'line', point: true },
          encoding: { x: xEnc, y: { aggregate: 'mean', field: args.y, type: 'quantitative', title: args.yTitle ?? args.y, scale: yScale }, ...(color ? { color } : {}) },
        },
      ],
    };
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...title,
    ...base,
    config: CHART_CONFIG,
    mark: { type: 'line', point: true },
    encoding: {
      x: xEnc,
      y: { field: args.y, type: 'quantitative', title: args.yTitle ?? args.y, scale: yScale },
      ...(color ? { color } : {}),
      ...(args.detail ? { detail: { field: args.detail, type: 'nominal' } } : {}),
    },
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
  const x = { field: args.x, type: 'nominal', title: args.xTitle ?? null, sort: null, axis: { labelAngle: -30, labelLimit: 220 } };
  const yTitle = args.yTitle ?? args.y;
  const scale = { zero: args.yZero ?? false };
  const n = new Set(args.data.map((r) => r[args.x])).size;
  const mean = args.yZero
    ? { mark: { type: 'bar', opacity: 0.55 }, encoding: { x, y: { aggregate: 'mean', field: args.y, type: 'quantitative', title: yTitle, scale } } }
    : { mark: { type: 'tick', thickness: 3, size: 36, color: '#4c78a8' }, encoding: { x, y: { aggregate: 'mean', field: args.y, type: 'quantitative', title: yTitle, scale } } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(args.title ? { title: args.title } : {}),
    width: args.width ?? Math.max(260, 90 * n),
    height: args.height ?? HEIGHT,
    data: { values: args.data },
    config: CHART_CONFIG,
    layer: [
      mean,
      { mark: { type: 'errorbar', extent: 'stdev', ticks: { size: 14 }, color: '#4c78a8' }, encoding: { x, y: { field: args.y, type: 'quantitative', title: yTitle, scale } } },
      { mark: { type: 'point', filled: true, color: 'black', size: 30, opacity: 0.7 }, encoding: { x, y: { field: args.y, type: 'quantitative', title: yTitle, scale } } },
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
    mark: { type: 'point', filled: true, size: 50 },
    encoding: {
      x: { field: args.x, type: 'quantitative', title: args.xTitle ?? args.x, scale: { zero: false, ...(args.logX ? { type: 'log' } : {}) } },
      y: { field: args.y, type: 'quantitative', title: args.yTitle ?? args.y, scale: { zero: false, ...(args.logY ? { type: 'log' } : {}) } },
      ...(args.color ? { color: { field: args.color, type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 320 } } } : {}),
    },
  };
}
