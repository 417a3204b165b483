import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { authorName, describeAuthor, natsUserOfCreds } from '../../shared/desired-author.js';
import { isUpgradeDrift } from '../../shared/fleet-storage-config.js';
import { stampSchema } from '../../shared/desired-schema.js';
import { desiredContentHash } from '../../coordinator/placement.js';
import { parseRevision, revisionOf, revisionRows } from '../../coordinator/desired-history.js';
import { cycleAuthors, stampEvents } from '../../agent/host-events.js';
import { desired, service } from '../lib/builders.js';

const ALICE = { key: 'OCDEFGHIJKLMNOPQRSTUVWXYZ', natsUser: 'coordinator', name: 'alice' };

describe('who wrote which revision (shared/desired-author.ts, coordinator/desired-history.ts)', () => {
  it('history rows: each revision\'s change from the last good one before it, its author, correlation and rollout id; a refused value has none', () => {
    const r1 = desired('shop', { web: service() }, { revision: 1, correlationID: 'c1', author: ALICE });
    const r2 = desired('shop', { web: service({ image: 'nginx:1.27' }), api: service() }, { revision: 2, correlationID: 'c2' });
    const rows = revisionRows('h1', 'shop', [{ kvRevision: 5, storedAt: 't1', document: r1 }, { kvRevision: 6, storedAt: 't2' }, { kvRevision: 7, storedAt: 't3', document: r2 }], new Map([['c2', 'ro-1']]));
    assert.deepEqual(rows.map((row) => [row.revision, row.author?.name ?? null, row.correlationID, row.rolloutId, row.summary]), [
      [1, 'alice', 'c1', null, '+web'],
      [null, null, null, null, 'refused: not a document its agent accepts'],
      [2, null, 'c2', 'ro-1', '+api ~web (replaces)'],
    ]);
    assert.equal(revisionOf('h1', 'shop', [{ kvRevision: 7, storedAt: 't3', document: r2 }], 2), r2);
    assert.throws(() => revisionOf('h1', 'shop', [{ kvRevision: 7, storedAt: 't3', document: r2 }], 9), /h1\.shop has no revision 9 in its history \(kept: r2–r2\)/);
    assert.deepEqual(['12', 'r3', ' r40 '].map((text) => parseRevision(text, '--to')), [12, 3, 40]);
    for (const bad of ['0', 'r', '-1', '1.5', 'head']) assert.throws(() => parseRevision(bad, '--to'), /--to .*: expected a revision number such as 12 or r12/);
  });

  it('the author needs schema 5 and is not content: the same services from another operator hash alike', () => {
    const document = desired('shop', { web: service() });
    assert.equal(stampSchema({ ...document, author: ALICE }).schemaVersion, 5);
    assert.equal(desiredContentHash({ ...document, author: ALICE }), desiredContentHash({ ...document, author: { key: 'OTHER', name: 'bob' } }));
    assert.equal(describeAuthor(ALICE), 'alice (nats coordinator, key OCDEFG…WXYZ)');
    assert.equal(describeAuthor(undefined), '-');
    assert.equal(authorName(' ali\u001bce '), 'alice');
    assert.equal(authorName(''), undefined);
  });

  it('the NATS user of credentials: a .creds JWT\'s name, else the seed\'s public key', () => {
    const payload = Buffer.from(JSON.stringify({ sub: 'UABC', name: 'deployer-1' })).toString('base64url');
    const creds = `-----BEGIN NATS USER JWT-----\neyJhbGciOiJlZDI1NTE5In0.${payload}.c2ln\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\nSUAXX\n------END USER NKEY SEED------\n`;
    assert.equal(natsUserOfCreds(creds, 'UPUBLIC'), 'deployer-1');
    assert.equal(natsUserOfCreds('SUAXX\n', 'UPUBLIC'), 'UPUBLIC');
  });

  it('a cycle\'s events carry the author of the revisions written by the request they belong to, and only those', () => {
    const documents = [desired('shop', { web: service() }, { correlationID: 'c1', author: ALICE }), desired('blog', { web: service() }, { correlationID: 'c0', author: { key: 'OKEY', name: 'bob' } })];
    const authors = cycleAuthors(documents, 'c1');
    const events = stampEvents([{ type: 'applied', severity: 'info', project: 'shop', message: 'x' }, { type: 'applied', severity: 'info', project: 'blog', message: 'y' }], { hostId: 'h1', timestamp: 't', correlationID: 'c1', authors });
    assert.deepEqual(events.map((event) => event.author?.name), ['alice', undefined]);
  });

  it('a desired bucket an earlier version set up (16 revisions, 512 MiB) is an upgrade to finish, not tampering', () => {
    assert.equal(isUpgradeDrift({ stream: 'KV_hw_desired', field: 'max_msgs_per_subject', expected: 64, found: 16 }), true);
    assert.equal(isUpgradeDrift({ stream: 'KV_hw_desired', field: 'max_bytes', expected: 2 ** 30, found: 512 * 2 ** 20 }), true);
    assert.equal(isUpgradeDrift({ stream: 'KV_hw_desired', field: 'max_msgs_per_subject', expected: 64, found: 1 }), false);
    assert.equal(isUpgradeDrift({ stream: 'KV_hw_status', field: 'max_msgs_per_subject', expected: 1, found: 16 }), false);
    assert.equal(isUpgradeDrift({ stream: 'KV_hw_desired', field: 'deny_purge', expected: true, found: false }), false);
  });
});
