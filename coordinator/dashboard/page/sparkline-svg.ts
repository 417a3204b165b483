import { svg, type TemplateResult } from 'lit-html';
import type { HostCycle } from '../view/dashboard-types.js';
import { sparkline } from '../view/sparkline.js';
import { formatDuration } from '../view/converge-times.js';

const WIDTH = 96;
const HEIGHT = 20;

/** A host's cycle durations as a line, with a dot on each cycle that found drift. */
export function sparklineSvg(cycles: readonly HostCycle[]): TemplateResult {
  const line = sparkline(cycles, WIDTH, HEIGHT);
  const drifted = line.driftMarks.length;
  const label =
    cycles.length === 0
      ? 'No reconcile cycles yet'
      : `Reconcile cycles: last ${formatDuration(line.lastMs ?? 0)}, longest ${formatDuration(line.maxMs)} of ${cycles.length}; ${drifted} found drift`;
  return svg`<svg data-testid="sparkline" class="sparkline" width=${WIDTH} height=${HEIGHT} viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label=${label}>
    <title>${label}</title>
    <path class="sparkline-line" d=${line.path}></path>
    ${line.driftMarks.map((mark) => svg`<circle class="sparkline-drift" cx=${mark.x} cy=${mark.y} r="2.5"></circle>`)}
  </svg>`;
}
