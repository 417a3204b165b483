/** Where `hostwright agent` looks for its configuration file when --config is not given. */
export const DEFAULT_AGENT_CONFIG_PATH = '/etc/hostwright/agent.yaml';

/** The data dir of an agent installed as a service (`agent install`). */
export const DEFAULT_SERVICE_DATA_DIR = '/var/lib/hostwright';
