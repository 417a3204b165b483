import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { savedPlan, type HostPlan } from '../../coordinator/fleet-plan.js';
import { savedPlanSchema } from '../../shared/fleet-plan-json.js';
import { renderFleetPlan } from '../../coordinator/cli/render/plan-view.js';
import { startFirstRefusal, updateOrderExceptions } from '../../shared/update-order.js';
import { desired, service } from '../lib/builders.js';

describe('update order: start-first asked, stop-first run', () => {
  it('a fixed host port refuses start-first; an ephemeral one does not', () => {
    assert.deepEqual(startFirstRefusal('web', ['127.0.0.1:8080:80']), { hostPort: 8080, message: 'stop-first: service web publishes fixed host port 8080' });
    assert.deepEqual(startFirstRefusal('web', ['8443:443/tcp']), { hostPort: 8443, message: 'stop-first: service web publishes fixed host port 8443' });
    assert.equal(startFirstRefusal('web', ['80', '127.0.0.1:443']), undefined);
    assert.equal(startFirstRefusal('web', []), undefined);
  });

  it('lists each service once across hosts, from the rollout\'s order or the service\'s own, sorted', () => {
    const services = { web: service({ ports: ['8080:80'] }), api: service({ ports: ['9000'] }), admin: service({ ports: ['127.0.0.1:7000:7000'], update_order: 'start-first' }) };
    const onH1 = desired('shop', services, { hostId: 'h1' });
    const onH2 = desired('shop', services, { hostId: 'h2' });
    // Only admin asks for start-first itself.
    assert.deepEqual(updateOrderExceptions([onH1, onH2]).map((exception) => exception.message), ['stop-first: service admin publishes fixed host port 7000']);
    // A rollout's --order start-first asks it of every service: web too, api (no fixed port) not.
    const rolled = [{ ...onH1, updateOrder: 'start-first' as const }, { ...onH2, updateOrder: 'start-first' as const }];
    assert.deepEqual(updateOrderExceptions(rolled), [
      { project: 'shop', service: 'admin', requested: 'start-first', runs: 'stop-first', hostPort: 7000, message: 'stop-first: service admin publishes fixed host port 7000' },
      { project: 'shop', service: 'web', requested: 'start-first', runs: 'stop-first', hostPort: 8080, message: 'stop-first: service web publishes fixed host port 8080' },
    ]);
    assert.deepEqual(updateOrderExceptions([{ ...onH1, updateOrder: 'stop-first' as const }]), []);
  });
});

describe('fleet plan: the update order that will run, before anything changes', () => {
  const plans = (updateOrder: 'start-first' | undefined): HostPlan[] =>
    ['h1', 'h2'].map((hostId) => ({ target: { hostId, document: desired('shop', { web: service({ ports: ['127.0.0.1:8080:80'] }) }, { hostId, ...(updateOrder ? { updateOrder } : {}) }), kvRevision: 0, changed: true }, plan: undefined, error: 'no answer within 5000 ms' }));

  it('the human plan says once that web runs stop-first, and the JSON plan lists it', () => {
    const text = renderFleetPlan('shop', plans('start-first'));
    assert.equal(text.match(/Update order: stop-first: service web publishes fixed host port 8080/g)?.length, 1, text);
    const saved = savedPlanSchema.parse(JSON.parse(JSON.stringify(savedPlan('shop', 'c1', plans('start-first')))));
    assert.deepEqual(saved.updateOrder?.map((exception) => [exception.service, exception.runs, exception.hostPort]), [['web', 'stop-first', 8080]]);
  });

  it('says nothing when nothing asked for start-first', () => {
    assert.doesNotMatch(renderFleetPlan('shop', plans(undefined)), /Update order/);
    assert.deepEqual(savedPlan('shop', 'c1', plans(undefined)).updateOrder, []);
  });
});
