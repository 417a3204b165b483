import { compareStrings } from '../../shared/compare.js';
import { normalizeImageRef } from './images.js';

/** One image on the host: its id and every reference it answers to (tags and repo digests), as the engine lists them. */
export interface HostImage {
  readonly id: string;
  readonly references: readonly string[];
}

/** What the journal recorded of one pull (agent/store/image-pulls.ts), with when its reference stopped being referenced. */
export interface PullRecordView {
  readonly reference: string;
  readonly imageId?: string | undefined;
  readonly digest?: string | undefined;
  readonly unreferencedSince?: string | undefined;
}

export interface ImageCleanupInput {
  readonly images: readonly HostImage[];
  readonly pulls: readonly PullRecordView[];
  /** Normalized references the desired revisions, the applied ones and each project's previous one name. */
  readonly referenced: ReadonlySet<string>;
  /** Ids of the images containers use: every container on the engine, owned or not. */
  readonly usedImageIds: ReadonlySet<string>;
  readonly now: string;
  readonly graceMs: number;
}

/** An image cleanup removes: its id, its references (all pulled by Hostwright) and since when none is referenced. */
export interface ImageRemoval {
  readonly imageId: string;
  readonly references: readonly string[];
  readonly unreferencedSince: string;
}

/** A pull record whose unreferencedSince changes: set (it stopped being referenced) or cleared (referenced again). */
export interface UnreferencedMark {
  readonly reference: string;
  readonly unreferencedSince: string | undefined;
}

/**
 * Pure: the pull records whose reference stopped (or started again) being referenced at `now`. Applied
 * before selecting, the grace period counts from the first cycle that saw the reference unreferenced.
 */
export function unreferencedMarks(pulls: readonly PullRecordView[], referenced: ReadonlySet<string>, now: string): UnreferencedMark[] {
  const marks: UnreferencedMark[] = [];
  for (const pull of pulls) {
    const isReferenced = referenced.has(pull.reference);
    if (isReferenced && pull.unreferencedSince !== undefined) marks.push({ reference: pull.reference, unreferencedSince: undefined });
    if (!isReferenced && pull.unreferencedSince === undefined) marks.push({ reference: pull.reference, unreferencedSince: now });
  }
  return marks.sort((a, b) => compareStrings(a.reference, b.reference));
}

/**
 * Pure: the images cleanup removes. An image goes only when Hostwright owns every reference it has
 * (a pull record of that reference got this very id; a repo digest the record got), no desired,
 * applied or previous revision names any of them, no container uses it, and the last of them stopped
 * being referenced at least graceMs ago. Sorted by id.
 */
export function selectImageRemovals(input: ImageCleanupInput): ImageRemoval[] {
  const pullOf = new Map(input.pulls.map((pull) => [pull.reference, pull]));
  const nowMs = Date.parse(input.now);
  const removals: ImageRemoval[] = [];
  for (const image of input.images) {
    if (image.references.length === 0 || input.usedImageIds.has(image.id)) continue;
    const tags = image.references.filter((reference) => !reference.includes('@'));
    // A dangling image with digests only was not left by a pull Hostwright recorded as such: keep it.
    if (tags.length === 0) continue;
    const records = tags.map((tag) => pullOf.get(normalizeImageRef(tag)));
    if (records.some((record) => record === undefined || record.imageId !== image.id)) continue;
    const owned = records as PullRecordView[];
    const digests = new Set(owned.flatMap((record) => (record.digest === undefined ? [] : [record.digest])));
    const digestRefs = image.references.filter((reference) => reference.includes('@'));
    if (digestRefs.some((reference) => !digests.has(reference.slice(reference.indexOf('@') + 1)))) continue;
    if (image.references.some((reference) => input.referenced.has(normalizeImageRef(reference)))) continue;
    const since = owned.map((record) => record.unreferencedSince);
    if (since.some((at) => at === undefined)) continue;
    const latest = (since as string[]).sort(compareStrings).at(-1) as string;
    if (nowMs - Date.parse(latest) < input.graceMs) continue;
    removals.push({ imageId: image.id, references: [...image.references].sort(compareStrings), unreferencedSince: latest });
  }
  return removals.sort((a, b) => compareStrings(a.imageId, b.imageId));
}
