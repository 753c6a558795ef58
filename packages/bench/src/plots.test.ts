import { describe, expect, it } from 'vitest';
import { lineChart, scatter } from './plots';
import { renderSvg } from './reporting/svg';

type Enc = Record<string, { scale?: { domain: string[]; range: unknown[] } }>;
const layerEnc = (spec: Record<string, unknown>, i: number): Enc => ((spec['layer'] as Array<{ encoding: Enc }>)[i] as { encoding: Enc }).encoding;

describe('plots: a fixed series order', () => {
  const order = ['arm A', 'arm B', 'arm C'];
  const rows = (arms: string[]) => arms.flatMap((arm) => [1, 2].map((epoch) => ({ arm, epoch, acc: epoch / 10 })));

  it('gives a series the colour, marker and dash of its place in the order, whichever series a plot shows', async () => {
    const both = lineChart({ data: rows(['arm C', 'arm B']), x: 'epoch', y: 'acc', color: 'arm', order });
    const line = layerEnc(both, 0);
    const points = layerEnc(both, 1);
    expect(line['color']?.scale).toEqual({ domain: ['arm B', 'arm C'], range: ['#f58518', '#e45756'] });
    expect(line['strokeDash']?.scale?.range).toEqual([[6, 3], [2, 2]]);
    expect(points['shape']?.scale).toEqual({ domain: ['arm B', 'arm C'], range: ['square', 'triangle-up'] });
    const one = scatter({ data: rows(['arm C', 'other']), x: 'epoch', y: 'acc', color: 'arm', order });
    const enc = one['encoding'] as Enc;
    // arm C keeps its colour; a label outside the order comes after it
    expect(enc['color']?.scale).toEqual({ domain: ['arm C', 'other'], range: ['#e45756', '#72b7b2'] });
    expect(enc['shape']?.scale?.range).toEqual(['triangle-up', 'cross']);
    // without an order vega picks (no fixed scale)
    expect((layerEnc(lineChart({ data: rows(['arm B']), x: 'epoch', y: 'acc', color: 'arm' }), 0)['color'] as { scale?: unknown }).scale).toBeUndefined();
    for (const spec of [both, one, lineChart({ data: rows(['arm A', 'arm B']), x: 'epoch', y: 'acc', color: 'arm', order, aggregate: true })]) {
      const svg = await renderSvg(spec);
      expect(svg).toContain('<svg');
    }
    expect(await renderSvg(one)).toContain('#e45756');
  });
});
