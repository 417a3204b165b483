import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { renderTable } from '../../coordinator/cli/render/table.js';

describe('renderTable', () => {
  it('aligns columns two spaces apart, left-aligned, with no trailing whitespace (as cli-table3 printed them)', () => {
    const table = renderTable(['ID', 'ACTION', 'TARGET', 'WHY'], [
      ['a1', 'pull-image', 'hw/busybox:test', 'not present locally'],
      ['a2', 'create', 'web-1', ''],
      [10, 'start', '-', 'new instance'],
    ]);
    assert.equal(table, ['ID  ACTION      TARGET           WHY', 'a1  pull-image  hw/busybox:test  not present locally', 'a2  create      web-1', '10  start       -                new instance'].join('\n'));
  });

  it('pads by display width: CJK and emoji take two columns, an accent none', () => {
    const table = renderTable(['NAME', 'STATE'], [['web-1 (東京:1)', 'running'], ['🚀 rocket', 'exited'], ['cafe\u0301', 'created']]);
    assert.equal(table, ['NAME            STATE', 'web-1 (東京:1)  running', `🚀 rocket${' '.repeat(7)}exited`, `cafe\u0301${' '.repeat(12)}created`].join('\n'));
  });

  it('keeps one line per row whatever a cell holds: line breaks and escape sequences are shown escaped', () => {
    const table = renderTable(['NAME', 'DETAIL'], [['web\n1', 'a\r\u001b[2Kb'], ['db', 'ok']]);
    assert.equal(table, ['NAME    DETAIL', 'web\\n1  a\\r\\x1b[2Kb', 'db      ok'].join('\n'));
  });

  it('property: one line per row and no trailing whitespace, whatever the cells hold', () => {
    const cell = fc.string({ unit: 'binary', maxLength: 12 });
    fc.assert(
      fc.property(fc.array(fc.tuple(cell, cell, fc.string({ maxLength: 5 })), { maxLength: 30 }), (rows) => {
        const lines = renderTable(['A', 'B', 'C'], rows).split('\n');
        return lines.length === rows.length + 1 && lines.every((line) => line === line.trimEnd());
      }),
    );
  });

  // Linear: cli-table3's layout took 15 s for 20,000 rows, and four times as long for twice as many.
  it('a table of 50,000 rows renders well within the timeout', { timeout: 20_000 }, () => {
    const rows = Array.from({ length: 50_000 }, (_, index) => [`a${index}`, 'create', `svc-${index}`, 'new instance']);
    const lines = renderTable(['ID', 'ACTION', 'TARGET', 'WHY'], rows).split('\n');
    assert.equal(lines.length, 50_001);
    assert.equal(lines[50_000], 'a49999  create  svc-49999  new instance');
  });
});
