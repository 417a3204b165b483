import { dirname, isAbsolute, resolve } from 'node:path';
import { describeProblems, parseYamlSource, type YamlSource } from '../fleet-file.js';
import { InvalidInputError } from '../../shared/errors.js';
import { defineEntry, isMapping } from '../service-forms.js';
import { mergeService } from './compose-merge.js';

/** How `extends:` reads another file: its text, and the file read as the reader reads any (interpolated, checked, in mapping forms). */
export interface ExtendsIo {
  readonly readFile: (path: string) => string;
  readonly read: (source: YamlSource, directory: string) => Record<string, unknown>;
}

/**
 * `extends:` resolved as compose resolves it when reading a file: the named service (of this file,
 * or of `file:`, read from its own directory) is the base, and the service's own keys merge onto it.
 */
export function resolveExtends(file: Record<string, unknown>, source: YamlSource, directory: string, io: ExtendsIo, depth = 0): Record<string, unknown> {
  if (!isMapping(file.services) || !Object.values(file.services).some((service) => isMapping(service) && service.extends !== undefined)) return file;
  const services = file.services;
  const problem = (name: string, message: string): never => {
    throw new InvalidInputError(describeProblems([{ path: ['services', name, 'extends'], message }], (path, key) => ({ at: source.at(source.offsetOf(path, key)), order: source.offsetOf(path, key) })));
  };
  const done = new Map<string, unknown>();
  const resolveService = (name: string, chain: readonly string[]): unknown => {
    if (done.has(name)) return done.get(name);
    const service = services[name];
    if (!isMapping(service) || service.extends === undefined) return service;
    if (chain.includes(name)) problem(name, `extends forms a cycle: ${[...chain, name].join(' → ')}`);
    const { extends: spec, ...own } = service;
    const target = typeof spec === 'string' ? { service: spec, file: undefined } : isMapping(spec) ? { service: spec.service, file: spec.file } : undefined;
    if (target === undefined || typeof target.service !== 'string') return problem(name, 'expected a service name, or {service: name, file: path}');
    let base: unknown;
    if (typeof target.file === 'string') {
      if (depth >= 8) problem(name, 'extends reaches through more than 8 files');
      const path = isAbsolute(target.file) ? target.file : resolve(directory, target.file);
      let text: string;
      try {
        text = io.readFile(path);
      } catch (error) {
        return problem(name, `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
      }
      const other = parseYamlSource(text, path, 'compose file');
      const otherDirectory = dirname(path);
      const read = resolveExtends(io.read(other, otherDirectory), other, otherDirectory, io, depth + 1);
      const otherServices = isMapping(read.services) ? read.services : {};
      base = Object.hasOwn(otherServices, target.service) ? rebased(otherServices[target.service], otherDirectory) : undefined;
      if (base === undefined) problem(name, `${path} has no service ${target.service}`);
    } else {
      if (!Object.hasOwn(services, target.service)) problem(name, `there is no service ${target.service} to extend`);
      base = resolveService(target.service, [...chain, name]);
    }
    const merged = isMapping(base) ? mergeService(base, own) : own;
    done.set(name, merged);
    return merged;
  };
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(services)) defineEntry(out, name, resolveService(name, []));
  return { ...file, services: out };
}

/** A service read from another directory, with its relative host paths made absolute there (as compose rebases them). */
export function rebased(service: unknown, directory: string): unknown {
  if (!isMapping(service) || !Array.isArray(service.volumes)) return service;
  const volumes = service.volumes.map((entry) => {
    if (typeof entry === 'string' && entry.startsWith('.')) return `${resolve(directory, entry.split(':')[0] ?? '')}${entry.slice((entry.split(':')[0] ?? '').length)}`;
    if (isMapping(entry) && entry.type === 'bind' && typeof entry.source === 'string' && !isAbsolute(entry.source) && !entry.source.startsWith('~')) return { ...entry, source: resolve(directory, entry.source) };
    return entry;
  });
  return { ...service, volumes };
}
