import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { decode } from '../../shared/codec.js';
import { errorMessage } from '../../shared/errors.js';
import { parsePrefix } from '../../shared/ipv4.js';
import { meshAddressOf, meshDesiredSchema, type MeshDesired, type MeshRegistration } from '../../shared/mesh.js';
import type { HostMesh } from '../resolver/fleet-dns.js';
import { verifySignedDocument } from '../../shared/signed-document.js';
import { MeshLink, type MeshReconcileResult } from './mesh-link.js';
import { MESH_DIR } from './wireguard-key.js';

// The agent's side of the mesh: takes the coordinator's signed mesh document, keeps it (so a
// restart without NATS brings the mesh up again) and reconciles the interface from it.

/** The last accepted document, as signed: verified again when read back. */
export const MESH_DESIRED_FILE = 'desired.signed';

export interface MeshAgentOptions {
  readonly hostId: string;
  readonly dataDir: string;
  readonly interfaceName: string;
  /** address:port the other hosts reach this host's WireGuard at. */
  readonly endpoint: string;
  /** The pinned coordinator key; a mesh document is never taken unsigned (it says whom to trust on the network). */
  readonly coordinatorKey: string;
  readonly logger: Logger;
  readonly netns?: string;
}

export class MeshAgent {
  readonly link: MeshLink;
  readonly #options: MeshAgentOptions;
  #current: MeshDesired | undefined;
  /** One reconcile at a time, in arrival order. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: MeshAgentOptions) {
    this.#options = options;
    this.link = new MeshLink({ interfaceName: options.interfaceName, dataDir: options.dataDir, ...(options.netns === undefined ? {} : { netns: options.netns }) });
  }

  /** What the registration says of this host's end: its public key (made on first use) and endpoint. */
  async registration(): Promise<MeshRegistration> {
    return { publicKey: (await this.link.key()).publicKey, endpoint: this.#options.endpoint };
  }

  get current(): MeshDesired | undefined {
    return this.#current;
  }

  /** What the reconciler plans with while this host takes part in the mesh: its block and the resolver's address. */
  hostMesh(): HostMesh | undefined {
    const block = this.#current === undefined ? undefined : parsePrefix(this.#current.block);
    return block === undefined || this.#current === undefined ? undefined : { block: this.#current.block, resolver: meshAddressOf(block) };
  }

  /** At start: the kept document, if any, brought to the interface again (the mesh survives NATS being away). */
  async resume(): Promise<void> {
    const kept = await readFile(this.#file()).catch(() => undefined);
    if (kept === undefined) return;
    try {
      this.#current = this.#verify(kept);
    } catch (error) {
      this.#options.logger.error({ error: errorMessage(error) }, 'the kept mesh document does not verify; waiting for the coordinator\'s next one');
      return;
    }
    await this.#reconcile();
  }

  /**
   * A value of this host's mesh key: verified (signature, host, schema), refused when older than
   * the one held, kept, then reconciled. Returns what was done, or the refusal.
   */
  async accept(value: Uint8Array): Promise<{ accepted: MeshReconcileResult | 'unchanged' } | { refused: string }> {
    let document: MeshDesired;
    try {
      document = this.#verify(value);
    } catch (error) {
      return { refused: errorMessage(error) };
    }
    if (this.#current && document.revision < this.#current.revision) return { refused: `replayed: mesh revision ${document.revision} is older than revision ${this.#current.revision} this agent holds` };
    if (this.#current && document.revision === this.#current.revision) return { accepted: 'unchanged' };
    await this.#keep(value);
    this.#current = document;
    return { accepted: await this.#reconcile() };
  }

  /**
   * The interface brought back to the held document (a route, peer, address or rule changed by
   * hand): the same pass a new document runs, queued behind any in flight. `undefined`: no document held.
   */
  repair(): Promise<MeshReconcileResult | undefined> {
    const held = this.#current;
    return held === undefined ? Promise.resolve(undefined) : this.#reconcile(held);
  }

  /** The steps the interface needs now (for `plan`). */
  plan(): ReturnType<MeshLink['plan']> {
    return this.link.plan(this.#current);
  }

  #verify(value: Uint8Array): MeshDesired {
    const document = decode(meshDesiredSchema, verifySignedDocument(value, this.#options.coordinatorKey), 'mesh document');
    if (document.hostId !== this.#options.hostId) throw new Error(`the mesh document is for host ${document.hostId}, not ${this.#options.hostId}`);
    return document;
  }

  /** With `only`: nothing when another document was taken meanwhile (its own pass brings the interface to it; that is no drift). */
  #reconcile(only?: MeshDesired): Promise<MeshReconcileResult> {
    const next = this.#queue.then(async () => {
      if (only !== undefined && only !== this.#current) return { actions: [], recovered: false };
      const result = await this.link.reconcile(this.#current);
      if (result.actions.length > 0) this.#options.logger.info({ revision: this.#current?.revision, actions: result.actions.map((action) => action.kind), recovered: result.recovered, implementation: result.implementation }, 'mesh interface reconciled');
      return result;
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #file(): string {
    return join(this.#options.dataDir, MESH_DIR, MESH_DESIRED_FILE);
  }

  async #keep(value: Uint8Array): Promise<void> {
    await this.link.key();
    const partial = `${this.#file()}.partial`;
    const handle = await open(partial, 'w', 0o600);
    try {
      await handle.writeFile(value);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(partial, this.#file());
  }
}
