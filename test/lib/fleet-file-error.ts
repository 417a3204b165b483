import assert from 'node:assert/strict';
import { parseFleetFile } from '../../coordinator/fleet-file.js';

/** The message a fleet file's text is refused with (as `fleet.yaml`); fails the test when it is accepted. */
export function fleetFileError(text: string): string {
  try {
    parseFleetFile(text, 'fleet.yaml');
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail('the fleet file was accepted');
}
