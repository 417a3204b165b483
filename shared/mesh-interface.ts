// The mesh interface's name rules, apart from shared/mesh.ts so that `agent --help` can show the
// default without loading the mesh document's schemas (zod): `--help` loads commander alone.

/** Our interfaces are named so (at most 15 characters, Linux's limit): the name is the ownership proof. */
export const MESH_INTERFACE_PATTERN = /^hwm[a-z0-9-]{0,12}$/;
export const DEFAULT_MESH_INTERFACE = 'hwmesh0';
