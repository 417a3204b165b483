import type { z } from 'zod';

// The keys a zod schema allows in the mapping at a path of a document: what an "unknown key"
// problem can suggest instead. Zod's unrecognized_keys issue names the key, not what was allowed.

interface Definition {
  readonly type: string;
  readonly shape?: Record<string, z.core.$ZodType>;
  readonly innerType?: z.core.$ZodType;
  readonly in?: z.core.$ZodType;
  readonly out?: z.core.$ZodType;
  readonly options?: readonly z.core.$ZodType[];
  readonly left?: z.core.$ZodType;
  readonly right?: z.core.$ZodType;
  readonly element?: z.core.$ZodType;
  readonly valueType?: z.core.$ZodType;
  readonly getter?: () => z.core.$ZodType;
}

function definitionOf(schema: z.core.$ZodType): Definition {
  return schema._zod.def as unknown as Definition;
}

/** The object schemas a value may match, through wrappers, pipes, unions and intersections. */
function objectsOf(schema: z.core.$ZodType, depth = 0): z.core.$ZodType[] {
  if (depth > 32) return [];
  const definition = definitionOf(schema);
  switch (definition.type) {
    case 'object':
      return [schema];
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return definition.innerType ? objectsOf(definition.innerType, depth + 1) : [];
    case 'pipe':
      // A preprocess or a bounded record checks `unknown` first, then the real shape: either side may hold it.
      return [definition.in, definition.out].flatMap((side) => (side ? objectsOf(side, depth + 1) : []));
    case 'lazy':
      return definition.getter ? objectsOf(definition.getter(), depth + 1) : [];
    case 'union':
      return (definition.options ?? []).flatMap((option) => objectsOf(option, depth + 1));
    case 'intersection':
      return [definition.left, definition.right].flatMap((side) => (side ? objectsOf(side, depth + 1) : []));
    default:
      return [];
  }
}

/** The schemas a child at `segment` may match, for every shape the parent may take. */
function childrenOf(schema: z.core.$ZodType, segment: PropertyKey, depth = 0): z.core.$ZodType[] {
  if (depth > 32) return [];
  const definition = definitionOf(schema);
  switch (definition.type) {
    case 'object': {
      const child = typeof segment === 'string' ? definition.shape?.[segment] : undefined;
      return child ? [child] : [];
    }
    case 'record':
      return definition.valueType ? [definition.valueType] : [];
    case 'array':
      return typeof segment === 'number' && definition.element ? [definition.element] : [];
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return definition.innerType ? childrenOf(definition.innerType, segment, depth + 1) : [];
    case 'pipe':
      return [definition.in, definition.out].flatMap((side) => (side ? childrenOf(side, segment, depth + 1) : []));
    case 'lazy':
      return definition.getter ? childrenOf(definition.getter(), segment, depth + 1) : [];
    case 'union':
      return (definition.options ?? []).flatMap((option) => childrenOf(option, segment, depth + 1));
    case 'intersection':
      return [definition.left, definition.right].flatMap((side) => (side ? childrenOf(side, segment, depth + 1) : []));
    default:
      return [];
  }
}

/** Every key an object at `path` may have under `schema` (empty when the path leads to no object). */
export function knownKeysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let here: z.core.$ZodType[] = [schema];
  for (const segment of path) here = here.flatMap((node) => childrenOf(node, segment));
  const keys = new Set<string>();
  for (const object of here.flatMap((node) => objectsOf(node))) for (const key of Object.keys(definitionOf(object).shape ?? {})) keys.add(key);
  return [...keys];
}
