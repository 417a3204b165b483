/** This build's version (agent and CLI); kept apart so the CLI's start-up loads nothing else for it. */
export const HOSTWRIGHT_VERSION = '0.2.0';
