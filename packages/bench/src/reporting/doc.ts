// A tiny document model rendered to both Markdown and self-contained HTML.

export type Block =
  | { kind: 'heading'; level: number; text: string; id?: string }
  | { kind: 'para'; text: string }
  | { kind: 'table'; headers: string[]; rows: string[][] }
  | { kind: 'plot'; title: string; svg: string; file: string }
  | { kind: 'code'; text: string; lang?: string }
  | { kind: 'markdown'; text: string };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Inline markup shared by both outputs: `code`, **bold**, [text](url). */
function inlineHtml(s: string): string {
  return esc(s)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/\[([^\]]+)\]\((https?:[^)\s]+)\)/g, '<a href="$2">$1</a>');
}

const cellMd = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function toMarkdown(blocks: readonly Block[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case 'heading':
        out.push(`${'#'.repeat(b.level)} ${b.text}`, '');
        break;
      case 'para':
        out.push(b.text, '');
        break;
      case 'table':
        out.push(`| ${b.headers.map(cellMd).join(' | ')} |`, `|${b.headers.map(() => '---').join('|')}|`);
        for (const r of b.rows) out.push(`| ${r.map(cellMd).join(' | ')} |`);
        out.push('');
        break;
      case 'plot':
        out.push(`![${b.title}](${b.file})`, '', `*${b.title}*`, '');
        break;
      case 'code':
        out.push(`\`\`\`${b.lang ?? ''}`, b.text, '```', '');
        break;
      case 'markdown':
        out.push(b.text, '');
        break;
    }
  }
  return out.join('\n');
}

function markdownToHtml(md: string): string {
  const lines = md.split('\n');
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] as string;
    if (line.startsWith('|')) {
      const rows: string[][] = [];
      while (i < lines.length && (lines[i] as string).startsWith('|')) {
        const cells = (lines[i] as string).replace(/^\||\|$/g, '').split('|').map((c) => c.trim());
        if (!cells.every((c) => /^:?-+:?$/.test(c))) rows.push(cells);
        i++;
      }
      const [head, ...body] = rows;
      out.push(
        `<table><thead><tr>${(head ?? []).map((c) => `<th>${inlineHtml(c)}</th>`).join('')}</tr></thead><tbody>${body
          .map((r) => `<tr>${r.map((c) => `<td>${inlineHtml(c)}</td>`).join('')}</tr>`)
          .join('')}</tbody></table>`,
      );
      continue;
    }
    if (line.trim()) out.push(`<p>${inlineHtml(line)}</p>`);
    i++;
  }
  return out.join('\n');
}

const CSS = `
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#1a1a1a;line-height:1.45}
h1{border-bottom:2px solid #ddd;padding-bottom:.3em}h2{margin-top:2em;border-bottom:1px solid #e4e4e4;padding-bottom:.2em}h3{margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}tr:nth-child(even) td{background:#fafafa}code{background:#f2f2f2;padding:0 3px;border-radius:3px;font-size:90%}
pre{background:#f6f6f6;padding:.8em;overflow:auto;font-size:12px;white-space:pre-wrap;overflow-wrap:anywhere}
.plots{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}.plot{border:1px solid #e6e6e6;padding:8px;background:#fff;margin:0}.plot figcaption{font-size:12px;color:#555;max-width:560px;margin-top:4px}
.v-reproduced{color:#0a7d32;font-weight:600}.v-not{color:#b3261e;font-weight:600}.v-inconclusive{color:#8a6d00;font-weight:600}.v-none{color:#666;font-style:italic}
`;

function verdictClass(cell: string): string {
  if (cell === 'reproduced') return ' class="v-reproduced"';
  if (cell === 'not reproduced' || cell.startsWith('not reproduced (')) return ' class="v-not"';
  if (cell === 'inconclusive' || cell.startsWith('inconclusive (')) return ' class="v-inconclusive"';
  if (cell.startsWith('no verdict')) return ' class="v-none"';
  return '';
}

export function toHtml(title: string, blocks: readonly Block[]): string {
  const out: string[] = [];
  let plots: string[] = [];
  const flush = (): void => {
    if (plots.length) out.push(`<div class="plots">${plots.join('\n')}</div>`);
    plots = [];
  };
  for (const b of blocks) {
    if (b.kind !== 'plot') flush();
    switch (b.kind) {
      case 'heading':
        out.push(`<h${b.level}${b.id ? ` id="${esc(b.id)}"` : ''}>${inlineHtml(b.text)}</h${b.level}>`);
        break;
      case 'para':
        out.push(`<p>${inlineHtml(b.text)}</p>`);
        break;
      case 'table':
        out.push(
          `<table><thead><tr>${b.headers.map((h) => `<th>${inlineHtml(h)}</th>`).join('')}</tr></thead><tbody>${b.rows
            .map((r) => `<tr>${r.map((c) => `<td${verdictClass(c)}>${inlineHtml(c)}</td>`).join('')}</tr>`)
            .join('\n')}</tbody></table>`,
        );
        break;
      case 'plot':
        plots.push(`<figure class="plot">${b.svg}<figcaption>${inlineHtml(b.title)}</figcaption></figure>`);
        break;
      case 'code':
        out.push(`<pre><code>${esc(b.text)}</code></pre>`);
        break;
      case 'markdown':
        out.push(markdownToHtml(b.text));
        break;
    }
  }
  flush();
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${CSS}</style></head><body>\n${out.join('\n')}\n</body></html>\n`;
}
