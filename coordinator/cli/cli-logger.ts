// The logger lives beside the coordinator functions that open fleet sessions (coordinator/cli-logger.ts).
export { cliLogger } from '../cli-logger.js';
