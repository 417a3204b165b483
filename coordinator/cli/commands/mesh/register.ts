import type { Command } from 'commander';
import { withNatsOptions } from '../../options.js';
import type { MeshApplyOptions, MeshOptions } from './options.js';

// Registration only: the implementation is imported when it runs.
export function registerMesh(program: Command): void {
  const mesh = withNatsOptions(program.command('mesh'))
    .description('the fleet\'s WireGuard mesh: each host\'s block of container addresses, mesh address, endpoint and peers (docs/networking.md)')
    .option('--json', 'print JSON (schema hostwright.mesh-list/v1)')
    .action(async (options: MeshOptions) => {
      const { showMesh } = await import('./mesh-run.js');
      await showMesh(options);
    });

  withNatsOptions(mesh.command('apply'))
    .description('put every host whose agent runs with --mesh-endpoint into the mesh: assign blocks (a host keeps its block) and write each host its signed mesh document')
    .option('--fleet-range <prefix>', 'the fleet\'s private range (default: the stored mesh\'s, else 10.64.0.0/12)')
    .option('--block-prefix <n>', 'the length of each host\'s block (default: the stored mesh\'s, else 20)')
    .option('--port <n>', 'the UDP port every host\'s WireGuard listens on (default: the stored mesh\'s, else 51820)')
    .option('--transport <name>', 'wireguard (encrypted, the default) or routed (in clear, via each peer\'s endpoint address: trusted private links only) (default: the stored mesh\'s, else wireguard)')
    .option('--dry-run', 'show what would be written; write nothing')
    .option('--signing-key <file>', 'the coordinator\'s signing seed (coordinator-signing.nk): the documents are signed with it (default: $HOSTWRIGHT_SIGNING_KEY)')
    .option('--json', 'print JSON (schema hostwright.mesh-apply/v1)')
    .action(async (options: MeshApplyOptions) => {
      const { applyMesh } = await import('./mesh-run.js');
      await applyMesh(options);
    });
}
