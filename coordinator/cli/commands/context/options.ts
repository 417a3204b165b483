/** `hostwright context set NAME …`: what the context holds; a flag not given keeps the context's value. */
export interface ContextSetOptions {
  readonly nats?: readonly string[];
  readonly creds?: string;
  readonly tlsCa?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly signingKey?: string;
  readonly fleetAuth?: string;
  readonly as?: string;
  readonly unset?: readonly string[];
  readonly use?: boolean;
}

export interface ContextReadOptions {
  readonly json?: boolean;
}
