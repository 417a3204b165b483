import { createOperator, fromPublic, fromSeed } from '@nats-io/nkeys';
import { encode } from '../shared/codec.js';
import { signDocument, signingKeyOf, verifySignedDocument } from '../shared/signed-document.js';
import { summarize, type Summary } from './stats.js';
import { benchDesired, benchService, progress } from './support.js';

export interface SigningOptions {
  /** Services in the signed document (a host's desired state). */
  readonly services: number;
  readonly iterations: number;
}

/**
 * What one desired-state change costs in signatures: the coordinator signs each host's document,
 * each agent verifies its own. Before: the nkeys package's pure-JS ed25519 (what Hostwright used);
 * now: the same nkeys keys and byte-identical signatures through Node's native crypto.
 */
export interface SigningResult {
  readonly benchmark: 'signing';
  readonly services: number;
  readonly document_bytes: number;
  readonly iterations: number;
  readonly nkeys_js_ms: { readonly sign: Summary; readonly verify: Summary };
  readonly native_ms: { readonly sign: Summary; readonly verify: Summary };
  /** Coordinator sign + agent verify, for 1000 hosts, at the medians above. */
  readonly per_1000_hosts_s: { readonly nkeys_js: number; readonly native: number };
}

export function runSigning(options: SigningOptions): SigningResult {
  const pair = createOperator();
  const seed = pair.getSeed();
  const publicKey = pair.getPublicKey();
  // The coordinator parses its seed once per command, not once per document.
  const key = signingKeyOf(seed);
  const services = Object.fromEntries(Array.from({ length: options.services }, (_, index) => [`svc${index}`, benchService()]));
  const document = encode(benchDesired('h1', 'signing', services));
  const timed = (run: () => void): number => {
    const started = performance.now();
    run();
    return performance.now() - started;
  };
  const samples = { jsSign: [] as number[], jsVerify: [] as number[], nativeSign: [] as number[], nativeVerify: [] as number[] };
  // Alternating the two paths each iteration: load on the shared machine hits both alike.
  for (let iteration = 0; iteration < options.iterations + 1; iteration += 1) {
    let signature: Uint8Array = new Uint8Array();
    const jsSign = timed(() => {
      const keys = fromSeed(seed);
      signature = keys.sign(document);
      keys.getPublicKey();
    });
    const jsVerify = timed(() => {
      if (!fromPublic(publicKey).verify(document, signature)) throw new Error('nkeys signature did not verify');
    });
    let value: Uint8Array = new Uint8Array();
    const nativeSign = timed(() => (value = signDocument(document, key)));
    const nativeVerify = timed(() => verifySignedDocument(value, publicKey));
    // The first round warms both up and is not counted.
    if (iteration === 0) continue;
    samples.jsSign.push(jsSign);
    samples.jsVerify.push(jsVerify);
    samples.nativeSign.push(nativeSign);
    samples.nativeVerify.push(nativeVerify);
    if (iteration % 20 === 0) progress(`signing: ${iteration}/${options.iterations}`);
  }
  const nkeys = { sign: summarize(samples.jsSign), verify: summarize(samples.jsVerify) };
  const native = { sign: summarize(samples.nativeSign), verify: summarize(samples.nativeVerify) };
  return {
    benchmark: 'signing',
    services: options.services,
    document_bytes: document.length,
    iterations: options.iterations,
    nkeys_js_ms: nkeys,
    native_ms: native,
    per_1000_hosts_s: { nkeys_js: (nkeys.sign.median + nkeys.verify.median) * 1000 / 1000, native: (native.sign.median + native.verify.median) * 1000 / 1000 },
  };
}

export function signingRows(result: SigningResult): [string, string][] {
  const pair = (summary: Summary) => `median ${summary.median.toFixed(3)} ms, p95 ${summary.p95.toFixed(3)} ms`;
  return [
    ['document (services / bytes) / iterations', `${result.services} / ${result.document_bytes} / ${result.iterations}`],
    ['sign, nkeys pure JS (before)', pair(result.nkeys_js_ms.sign)],
    ['sign, native crypto (now)', pair(result.native_ms.sign)],
    ['verify, nkeys pure JS (before)', pair(result.nkeys_js_ms.verify)],
    ['verify, native crypto (now)', pair(result.native_ms.verify)],
    ['sign + verify for 1000 hosts (before / now)', `${result.per_1000_hosts_s.nkeys_js.toFixed(2)} s / ${result.per_1000_hosts_s.native.toFixed(2)} s of CPU`],
  ];
}
