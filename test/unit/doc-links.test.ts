import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/test/unit/ -> the repository.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The README is a front door: what Hostwright is, how to start, where the rest is. */
const README_MAX_LINES = 200;

/** The Markdown pages: the README, docs/*.md, test/README.md. */
function pages(): string[] {
  return ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`), 'test/README.md'];
}

/** The text outside fenced code blocks, where a link is a link. */
function prose(text: string): string {
  return text.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2. */
function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const [, heading] of prose(text).matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const base = (heading as string).toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** Relative link targets of a page: `[text](target)`, web and mail links left out. */
function relativeLinks(text: string): string[] {
  return [...prose(text).matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] as string).filter((target) => !/^[a-z]+:/i.test(target));
}

describe('the README and docs/', () => {
  it(`the README is at most ${README_MAX_LINES} lines`, () => {
    const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').trimEnd().split('\n').length;
    assert.ok(lines <= README_MAX_LINES, `README.md has ${lines} lines; move references to docs/`);
  });

  it('every relative link resolves to a file, and every #anchor to a heading of its page', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const page of pages()) {
      const text = readFileSync(join(ROOT, page), 'utf8');
      for (const target of relativeLinks(text)) {
        checked += 1;
        const [path = '', anchor] = target.split('#') as [string, string | undefined];
        const file = path === '' ? join(ROOT, page) : join(ROOT, dirname(page), decodeURIComponent(path));
        if (!existsSync(file)) {
          broken.push(`${page}: ${target} (no ${relative(ROOT, file)})`);
          continue;
        }
        if (anchor !== undefined && file.endsWith('.md') && !anchorsOf(readFileSync(file, 'utf8')).has(anchor)) broken.push(`${page}: ${target} (no heading #${anchor} in ${relative(ROOT, file)})`);
      }
    }
    // The reader finds the links there are: an empty scan must not pass.
    assert.ok(checked > 50, `only ${checked} links read`);
    assert.deepEqual(broken, []);
  });

  it('every page of docs/ and test/README.md is reachable from the README through links', () => {
    const reached = new Set<string>(['README.md']);
    const pending = ['README.md'];
    while (pending.length > 0) {
      const page = pending.pop() as string;
      for (const target of relativeLinks(readFileSync(join(ROOT, page), 'utf8'))) {
        const path = target.split('#')[0] as string;
        if (!path.endsWith('.md')) continue;
        const linked = relative(ROOT, join(ROOT, dirname(page), path));
        if (reached.has(linked) || !existsSync(join(ROOT, linked)) || !statSync(join(ROOT, linked)).isFile()) continue;
        reached.add(linked);
        pending.push(linked);
      }
    }
    assert.deepEqual(pages().filter((page) => !reached.has(page)), []);
  });

  it('the anchor rule is GitHub\'s', () => {
    assert.deepEqual([...anchorsOf('# Quick start (fresh Debian machine, as root)\n## `hostwright plan`\n## Limits\n## Limits\n```\n# not a heading\n```\n')], ['quick-start-fresh-debian-machine-as-root', 'hostwright-plan', 'limits', 'limits-1']);
  });
});
