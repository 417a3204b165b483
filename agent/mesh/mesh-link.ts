import { execFile, spawn } from 'node:child_process';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { InvalidInputError, RuntimeError, errorMessage } from '../../shared/errors.js';
import { MESH_INTERFACE_PATTERN, type MeshDesired } from '../../shared/mesh.js';
import { sleep } from '../../shared/sleep.js';
import { ABSENT_LINK, forwardComment, linkDesiredOf, parseAddresses, parseForwardRules, rulesWithComment, parseLinkUp, parseRoutes, parseWgDump, planMeshLink, type MeshAction, type MeshLinkObserved } from './mesh-state.js';
import { ensureMeshKey, MESH_DIR, type MeshKey } from './wireguard-key.js';
import { applyRoutedAction, isRoutedAction } from './routed-link.js';
import { MESH_ROUTE_PROTO, parseGatewayRoutes, parseLinkKind, routedForwardComment } from './routed-state.js';

// The edge that changes the host's network: one WireGuard interface whose name says it is ours,
// its addresses, peers and the routes on it; or, with the routed transport, a link of that name
// and the routes marked as the mesh's (routed-link.ts). Nothing else on the host is read or touched.

const run = promisify(execFile);

/** Written (fsync'd) before a step changes the host, removed when all steps are done. */
export const MESH_INTENT_FILE = 'intent.json';
const LINK_APPEAR_MS = 5_000;

export class MeshLinkError extends RuntimeError {
  override name = 'MeshLinkError';
}

export interface MeshLinkOptions {
  readonly interfaceName: string;
  readonly dataDir: string;
  /** Commands run inside this named network namespace (/var/run/netns/<netns>); absent: the agent's own. */
  readonly netns?: string;
}

export interface MeshReconcileResult {
  readonly actions: readonly MeshAction[];
  /** An intent was left by a step cut short: the interface was re-observed and brought to the plan. */
  readonly recovered: boolean;
  /** How the interface was made, when this pass made it. */
  readonly implementation?: 'kernel' | 'wireguard-go';
}

export class MeshLink {
  readonly #options: MeshLinkOptions;
  readonly #intentFile: string;

  constructor(options: MeshLinkOptions) {
    if (!MESH_INTERFACE_PATTERN.test(options.interfaceName)) throw new InvalidInputError(`mesh interface "${options.interfaceName}": expected "hwm" followed by at most 12 lowercase letters, digits or "-" (the prefix marks it as Hostwright's)`);
    this.#options = options;
    this.#intentFile = join(options.dataDir, MESH_DIR, MESH_INTENT_FILE);
  }

  get interfaceName(): string {
    return this.#options.interfaceName;
  }

  key(): Promise<MeshKey> {
    return ensureMeshKey(this.#options.dataDir);
  }

  async observe(): Promise<MeshLinkObserved> {
    const name = this.#options.interfaceName;
    const [link, forward, marked] = await Promise.all([this.#try(['ip', '-d', '-o', 'link', 'show', 'dev', name]), this.#try(['iptables', '-w', '-S', 'FORWARD']), this.#try(['ip', '-4', 'route', 'show', 'proto', String(MESH_ROUTE_PROTO)])]);
    const forwardRules = parseForwardRules(forward ?? '', name);
    // The routed transport's objects off the interface: seen whichever transport is wanted, so a switch removes them.
    const routed = { gatewayRoutes: parseGatewayRoutes(marked ?? ''), routedForwardRules: rulesWithComment(forward ?? '', routedForwardComment(name)) };
    if (link === undefined) return { ...ABSENT_LINK, forwardRules, ...routed };
    const [wg, addresses, routes] = await Promise.all([this.#try(['wg', 'show', name, 'dump']), this.#exec(['ip', '-o', '-4', 'addr', 'show', 'dev', name]), this.#exec(['ip', '-4', 'route', 'show', 'dev', name])]);
    const kind = parseLinkKind(link);
    return { exists: true, up: parseLinkUp(link), ...parseWgDump(wg ?? ''), addresses: parseAddresses(addresses), routes: parseRoutes(routes), forwardRules, ...(kind === undefined ? {} : { kind }), ...routed };
  }

  /** The steps `reconcile` would take now; `undefined`: the fleet has no mesh (or this host has left it). */
  async plan(mesh: MeshDesired | undefined): Promise<MeshAction[]> {
    const desired = mesh === undefined ? undefined : linkDesiredOf(mesh, (await this.key()).publicKey);
    return planMeshLink(desired, await this.observe());
  }

  async reconcile(mesh: MeshDesired | undefined): Promise<MeshReconcileResult> {
    const recovered = await this.#intentLeft();
    const key = mesh === undefined ? undefined : await this.key();
    const actions = planMeshLink(mesh === undefined || key === undefined ? undefined : linkDesiredOf(mesh, key.publicKey), await this.observe());
    let implementation: MeshReconcileResult['implementation'];
    for (const action of actions) {
      await this.#writeIntent(action);
      const made = await this.#apply(action, key);
      if (made !== undefined) implementation = made;
    }
    await rm(this.#intentFile, { force: true });
    return { actions, recovered, ...(implementation === undefined ? {} : { implementation }) };
  }

  async #apply(action: MeshAction, key: MeshKey | undefined): Promise<'kernel' | 'wireguard-go' | undefined> {
    const name = this.#options.interfaceName;
    if (isRoutedAction(action)) {
      const hint = (error: unknown) => new MeshLinkError(`${errorMessage(error)} (the routed transport sends each peer's block via the address of its endpoint, which must be on a link of this host: choose the wireguard transport across routers)`, { cause: error });
      await applyRoutedAction(action, name, { exec: (argv) => this.#exec(argv), attempt: (argv) => this.#try(argv) }, hint);
      return undefined;
    }
    switch (action.kind) {
      case 'create-link':
        return this.#createLink();
      case 'configure-link':
        if (key === undefined) throw new MeshLinkError('mesh: no key to configure the interface with');
        await this.#exec(['wg', 'set', name, 'private-key', key.privateKeyFile, 'listen-port', String(action.listenPort)]);
        return undefined;
      case 'add-address':
        await this.#exec(['ip', 'address', 'add', action.address, 'dev', name]);
        return undefined;
      case 'remove-address':
        await this.#exec(['ip', 'address', 'del', action.address, 'dev', name]);
        return undefined;
      case 'link-up':
        await this.#exec(['ip', 'link', 'set', 'dev', name, 'up']);
        return undefined;
      case 'set-peer':
        await this.#exec(['wg', 'set', name, 'peer', action.peer.publicKey, 'endpoint', action.peer.endpoint, 'allowed-ips', action.peer.allowedIps.join(','), 'persistent-keepalive', '5']);
        return undefined;
      case 'remove-peer':
        await this.#exec(['wg', 'set', name, 'peer', action.publicKey, 'remove']);
        return undefined;
      case 'add-route':
        // replace, not add: a step repeated after a crash finds the route there.
        await this.#exec(['ip', 'route', 'replace', action.prefix, 'dev', name]);
        return undefined;
      case 'remove-route':
        await this.#exec(['ip', 'route', 'del', action.prefix, 'dev', name]);
        return undefined;
      case 'allow-forward':
        // First in FORWARD: the engine's rules after it drop new connections to containers from other interfaces.
        await this.#exec(['iptables', '-w', '-I', 'FORWARD', '1', ...this.#forwardRule(action.block)]);
        return undefined;
      case 'remove-forward':
        await this.#exec(['iptables', '-w', '-D', 'FORWARD', ...this.#forwardRule(action.block)]);
        return undefined;
      case 'delete-link':
        await this.#exec(['ip', 'link', 'del', 'dev', name]);
        return undefined;
    }
  }

  /** Kernel WireGuard where the host has it; otherwise wireguard-go, which outlives the agent as the interface does. */
  async #createLink(): Promise<'kernel' | 'wireguard-go'> {
    const name = this.#options.interfaceName;
    if ((await this.#try(['ip', 'link', 'add', 'dev', name, 'type', 'wireguard'])) !== undefined) return 'kernel';
    const [command, ...args] = this.#command(['wireguard-go', '-f', name]);
    const child = spawn(command!, args, { detached: true, stdio: 'ignore', env: { ...process.env, WG_PROCESS_FOREGROUND: '1' } });
    const failed = new Promise<string>((resolve) => child.once('error', (error) => resolve(errorMessage(error))));
    child.unref();
    const deadline = Date.now() + LINK_APPEAR_MS;
    while (Date.now() < deadline) {
      const problem = await Promise.race([failed, sleep(100).then(() => undefined)]);
      if (problem !== undefined) throw new MeshLinkError(`mesh: cannot create ${name}: the kernel has no WireGuard and wireguard-go did not start (${problem}); install wireguard-go (Debian: apt-get install wireguard-go)`);
      if ((await this.#try(['ip', 'link', 'show', 'dev', name])) !== undefined) return 'wireguard-go';
    }
    throw new MeshLinkError(`mesh: wireguard-go did not create ${name} within ${LINK_APPEAR_MS / 1000} s; is /dev/net/tun present, and is the name free in /var/run/wireguard?`);
  }

  async #intentLeft(): Promise<boolean> {
    try {
      await (await open(this.#intentFile, 'r')).close();
      return true;
    } catch {
      return false;
    }
  }

  async #writeIntent(action: MeshAction): Promise<void> {
    const handle = await open(this.#intentFile, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify({ action, interfaceName: this.#options.interfaceName, startedAt: new Date().toISOString() }));
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** Connections from the mesh to this host's own block only (a peer's allowed IPs already bound their sources). */
  #forwardRule(block: string): string[] {
    return ['-i', this.#options.interfaceName, '-d', block, '-m', 'comment', '--comment', forwardComment(this.#options.interfaceName), '-j', 'ACCEPT'];
  }

  #command(argv: readonly string[]): string[] {
    // nsenter, not `ip netns exec`: that one remounts /sys, which the commands need not and dockerd minds.
    return this.#options.netns === undefined ? [...argv] : ['nsenter', `--net=/var/run/netns/${this.#options.netns}`, '--', ...argv];
  }

  async #exec(argv: readonly string[]): Promise<string> {
    const [command, ...args] = this.#command(argv);
    try {
      return (await run(command!, args, { timeout: 10_000 })).stdout;
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      throw new MeshLinkError(`mesh: ${argv.join(' ')} failed: ${stderr || errorMessage(error)}`, { cause: error });
    }
  }

  async #try(argv: readonly string[]): Promise<string | undefined> {
    try {
      return await this.#exec(argv);
    } catch {
      return undefined;
    }
  }
}
