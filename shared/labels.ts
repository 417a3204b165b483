/** Labels Hostwright puts on every container, network and volume it creates; the ownership proof reads them. */
export const LABEL_PREFIX = 'io.hostwright.';

export const LABELS = {
  project: `${LABEL_PREFIX}project`,
  service: `${LABEL_PREFIX}service`,
  instance: `${LABEL_PREFIX}instance`,
  host: `${LABEL_PREFIX}host`,
  specHash: `${LABEL_PREFIX}spec-hash`,
  ownerToken: `${LABEL_PREFIX}owner-token`,
  /** On a network or volume Hostwright created: its key in the project (`default`, `data`). */
  network: `${LABEL_PREFIX}network`,
  volume: `${LABEL_PREFIX}volume`,
} as const;
