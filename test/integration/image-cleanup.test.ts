import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { desired, service, TEST_IMAGE, uniqueName } from '../lib/builders.js';
import { docker, openHarness, removeProject } from '../lib/docker-harness.js';
import { pino } from 'pino';
import { normalizeImageRef } from '../../agent/core/images.js';
import { resolveUnfinishedIntents } from '../../agent/recovery.js';
import type { ActionOf } from '../../shared/actions.js';

const BLOB_KIB = 300;

/** A distinct image (its own layer of BLOB_KIB random KiB on top of the test image), tagged `reference`. */
async function makeImage(repository: string, tag: string): Promise<string> {
  const container = await docker.createContainer({ Image: TEST_IMAGE, Cmd: ['sh', '-c', `dd if=/dev/urandom of=/blob bs=1024 count=${BLOB_KIB} 2>/dev/null`] });
  try {
    await container.start();
    await container.wait();
    const committed = (await container.commit({ repo: repository, tag })) as { Id: string };
    return committed.Id;
  } finally {
    await container.remove({ force: true });
  }
}

async function imageId(reference: string): Promise<string | undefined> {
  return (await docker.getImage(reference).inspect().catch(() => undefined))?.Id;
}

// Three revisions of a service, each with its own image Hostwright recorded as pulled: after the third,
// cleanup removes the first (past its grace period) and keeps the current and the previous one.
describe('image cleanup (real Docker)', () => {
  const project = uniqueName('imgc');
  const repository = `hw/cleanup-${project}`;
  const ref = (tag: string) => `${repository}:${tag}`;
  let h: Awaited<ReturnType<typeof openHarness>>;
  const ids = new Map<string, string>();
  const apply = async (revision: number, services: Parameters<typeof desired>[1]) => {
    // As the pulls of the revision's images would have recorded them, in the cycle that needs them.
    for (const spec of Object.values(services)) {
      const tag = spec.image.slice(spec.image.lastIndexOf(':') + 1);
      await h.journal.recordImagePull({ reference: normalizeImageRef(spec.image), pulledAt: new Date().toISOString(), imageId: ids.get(tag) as string });
    }
    await h.journal.putDesired(desired(project, services, { revision }));
    const report = await h.reconciler.runCycle();
    assert.equal(report.failed, false, report.results.map((r) => r.message).join('; '));
    return report;
  };

  before(async () => {
    h = await openHarness('h1', { imageGraceMs: 1_500 });
    for (const tag of ['v1', 'v2', 'v3', 'extra']) ids.set(tag, await makeImage(repository, tag));
  });
  after(async () => {
    await removeProject(project);
    await h.close();
    for (const tag of ['v1', 'v2', 'v3', 'extra', 'by-hand']) await docker.getImage(ref(tag)).remove({ force: true }).catch(() => undefined);
  });

  it('keeps the current and previous revision\'s images and one tagged by hand; removes the rest after the grace period with a cleaned event of the bytes freed', async () => {
    await apply(1, { web: service({ image: ref('v1') }), side: service({ image: ref('extra') }) });
    await apply(2, { web: service({ image: ref('v2') }) });
    await apply(3, { web: service({ image: ref('v3') }) });
    // By hand: the extra image gets a tag Hostwright never pulled.
    await docker.getImage(ref('extra')).tag({ repo: repository, tag: 'by-hand' });

    // The first cycle that sees v1 and extra unnamed notes it; the grace period has not passed.
    const within = await h.reconciler.runCycle();
    assert.deepEqual(within.plan.actions.filter((action) => action.kind === 'remove-image'), []);
    assert.equal(await imageId(ref('v1')), ids.get('v1'), 'v1 stays within its grace period');

    await new Promise((resolve) => setTimeout(resolve, 1_600));
    // plan (a dry run) shows what cleanup removes: v1 only.
    const planned = await h.reconciler.runCycle({ dryRun: true });
    const removals = planned.plan.actions.filter((action) => action.kind === 'remove-image');
    assert.deepEqual(removals.map((action) => action.kind === 'remove-image' && action.references), [[ref('v1')]]);
    assert.equal(await imageId(ref('v1')), ids.get('v1'), 'a dry run removes nothing');

    const cycle = await h.reconciler.runCycle();
    const removed = cycle.results.filter((report) => report.action.kind === 'remove-image');
    assert.deepEqual(removed.map((report) => report.outcome), ['done'], removed.map((report) => report.message).join('; '));
    assert.equal(await imageId(ref('v1')), undefined, 'v1 is removed');
    assert.equal(await imageId(ref('v2')), ids.get('v2'), 'the previous revision\'s image stays (rollback)');
    assert.equal(await imageId(ref('v3')), ids.get('v3'), 'the current revision\'s image stays');
    assert.equal(await imageId(ref('extra')), ids.get('extra'), 'an image tagged by hand stays');

    const cleaned = (await h.journal.readEvents()).events.filter((event) => event.type === 'cleaned' && event.correlationID === cycle.correlationID);
    assert.equal(cleaned.length, 1, JSON.stringify(cleaned));
    const freed = Number(/\((\d+) bytes\)/.exec(cleaned[0]!.message)?.[1]);
    assert.ok(freed >= BLOB_KIB * 1024, `the event reports the image's own bytes freed: ${cleaned[0]!.message}`);
    assert.ok(!h.journal.imagePullRecords().some((record) => record.reference === normalizeImageRef(ref('v1'))), 'the removed image\'s pull record goes with it');

    // Converged: the next cycle removes nothing more.
    const next = await h.reconciler.runCycle();
    assert.deepEqual(next.results.map((report) => report.action.kind), []);
  });

  it('a removal a crash left unfinished is resolved by looking: the image gone is a completed removal, still there is left to the next plan', async () => {
    const removal = (tag: string): ActionOf<'remove-image'> => ({ kind: 'remove-image', id: 'a1', phase: 'teardown', chain: `image-remove:${tag}`, name: ref(tag), imageId: ids.get(tag) as string, references: [ref(tag)], reason: 'test' });
    const startedAt = new Date().toISOString();
    await h.journal.recordIntent({ correlationID: 'crash-v1', action: removal('v1'), ownerToken: undefined, containerId: undefined, startedAt });
    await h.journal.recordIntent({ correlationID: 'crash-v3', action: removal('v3'), ownerToken: undefined, containerId: undefined, startedAt });
    const resolved = await resolveUnfinishedIntents({ journal: h.journal, runtime: h.runtime, hostId: h.hostId, logger: pino({ level: 'silent' }), now: () => new Date() });
    assert.deepEqual(resolved.map((entry) => [entry.intent.correlationID, entry.outcome]).sort(), [['crash-v1', 'recovered'], ['crash-v3', 'abandoned']]);
    assert.equal(await imageId(ref('v3')), ids.get('v3'), 'recovery removes nothing');
    assert.deepEqual(await h.journal.unresolvedIntents(), []);
  });
});
