import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * Renders a Vega-Lite spec to an SVG string in Node (vega's headless View; no canvas needed).
 *
 * @throws when the spec is invalid
 */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const vgSpec = compile(spec as unknown as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
