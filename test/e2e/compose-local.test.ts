import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABELS } from '../../shared/labels.js';
import { uniqueName } from '../lib/builders.js';
import { runCli } from '../lib/cli.js';
import { inside } from '../lib/container-exec.js';
import { projectContainers, removeProject } from '../lib/docker-harness.js';

// A compose app as a compose user has it (compose.yaml and .env in a directory), run by
// `hostwright apply --local -f DIR` on the real engine: one service reaches the other by name.
describe('a compose file applied locally (real Docker)', () => {
  const project = uniqueName('compose');
  let dir: string;
  let env: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-compose-'));
    const app = join(dir, 'My App');
    await mkdir(app);
    env = { HOSTWRIGHT_DATA_DIR: join(dir, 'data') };
    await writeFile(join(app, '.env'), `PROJECT=${project}\nGREETING=hello from api\n`);
    await writeFile(
      join(app, 'compose.yaml'),
      [
        'name: ${PROJECT}',
        'services:',
        '  api:',
        '    image: hw/busybox:test',
        '    command: ["sh", "-c", "echo \\"$$GREETING\\" > /tmp/index.html && exec httpd -f -p 8080 -h /tmp"]',
        '    environment:',
        '      - GREETING=${GREETING}',
        '    expose: [8080]',
        '    stop_grace_period: 1s',
        '  web:',
        '    image: hw/busybox:test',
        "    command: sh -c 'trap \"exit 0\" TERM; sleep 3600 & wait'",
        '    environment:',
        '      API_URL: http://api:8080/',
        '    stop_grace_period: 1s',
        '    deploy:',
        '      resources: {limits: {memory: 64m}}',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await removeProject(project);
    await rm(dir, { recursive: true, force: true });
  });

  it('apply --local -f DIR runs both services, and web reaches api by its service name', async () => {
    const applied = await runCli(['apply', '--local', '-f', join(dir, 'My App')], env);
    assert.equal(applied.code, 0, applied.stderr + applied.stdout);
    const containers = await projectContainers(project);
    const byService = new Map(containers.map((container) => [container.Labels[LABELS.service], container]));
    assert.deepEqual([...byService.keys()].sort(), ['api', 'web']);
    const web = byService.get('web');
    assert.ok(web && web.State === 'running', 'web runs');
    const shown = await inside(web.Id, 'echo "$API_URL"');
    assert.equal(shown.output, 'http://api:8080/');
    // httpd may take a moment to listen after the container starts.
    let answer = { output: '', code: -1 };
    for (let attempt = 0; attempt < 30 && answer.code !== 0; attempt += 1) {
      answer = await inside(web.Id, 'wget -q -O- "$API_URL"');
      if (answer.code !== 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(answer.code, 0, answer.output);
    assert.equal(answer.output, 'hello from api');
  });

  it('a second apply of the unchanged compose file changes nothing', async () => {
    const again = await runCli(['apply', '--local', '-f', join(dir, 'My App', 'compose.yaml')], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Already converged: nothing to do\./);
  });
});
