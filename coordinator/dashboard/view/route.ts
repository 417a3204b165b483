/** The page's views, as the location hash names them. */
export type Route =
  | { readonly view: 'fleet' }
  | { readonly view: 'host'; readonly hostId: string }
  | { readonly view: 'project'; readonly project: string }
  | { readonly view: 'rollouts' }
  | { readonly view: 'rollout'; readonly id: string }
  | { readonly view: 'events'; readonly filter: EventsQuery }
  | { readonly view: 'not-found'; readonly hash: string };

/** The filters of `hostwright events` the events view takes, as /api/events takes them. */
export interface EventsQuery {
  readonly host?: string;
  readonly project?: string;
  readonly type?: string;
  readonly correlation?: string;
}

const EVENT_QUERY_KEYS = ['host', 'project', 'type', 'correlation'] as const;

/** `#/host/web-1` → the host view of web-1; an unknown or malformed hash is `not-found`, never a throw. */
export function parseRoute(hash: string): Route {
  const raw = hash.startsWith('#') ? hash.slice(1) : hash;
  const [pathPart = '', queryPart = ''] = splitOnce(raw, '?');
  const path = pathPart === '' ? '/' : pathPart;
  const segments = path.split('/').slice(1);
  const decoded = segments.map(decode);
  if (decoded.some((segment) => segment === undefined)) return { view: 'not-found', hash };
  const [head, arg, ...rest] = decoded as string[];
  if (rest.length > 0) return { view: 'not-found', hash };
  if ((head === '' || head === undefined) && arg === undefined) return { view: 'fleet' };
  if (head === 'rollouts' && arg === undefined) return { view: 'rollouts' };
  if (head === 'events' && arg === undefined) return { view: 'events', filter: parseEventsQuery(queryPart) };
  if (arg === undefined || arg === '') return { view: 'not-found', hash };
  if (head === 'host') return { view: 'host', hostId: arg };
  if (head === 'project') return { view: 'project', project: arg };
  if (head === 'rollout') return { view: 'rollout', id: arg };
  return { view: 'not-found', hash };
}

/** The hash of a route: what links on the page point at. */
export function routeHash(route: Route): string {
  switch (route.view) {
    case 'fleet':
      return '#/';
    case 'host':
      return `#/host/${encodeURIComponent(route.hostId)}`;
    case 'project':
      return `#/project/${encodeURIComponent(route.project)}`;
    case 'rollouts':
      return '#/rollouts';
    case 'rollout':
      return `#/rollout/${encodeURIComponent(route.id)}`;
    case 'events': {
      const query = eventsQueryString(route.filter);
      return query === '' ? '#/events' : `#/events?${query}`;
    }
    case 'not-found':
      return route.hash;
  }
}

/** `host=web-1&correlation=c-1`: the set filters in a fixed order, encoded. */
export function eventsQueryString(query: EventsQuery): string {
  return EVENT_QUERY_KEYS.flatMap((key) => {
    const value = query[key];
    return value === undefined || value === '' ? [] : [`${key}=${encodeURIComponent(value)}`];
  }).join('&');
}

function parseEventsQuery(text: string): EventsQuery {
  const query: Record<string, string> = {};
  for (const part of text.split('&')) {
    if (part === '') continue;
    const [key = '', value = ''] = splitOnce(part, '=');
    const decoded = decode(value.replace(/\+/g, ' '));
    if ((EVENT_QUERY_KEYS as readonly string[]).includes(key) && decoded !== undefined && decoded !== '') query[key] = decoded;
  }
  return query;
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + 1)];
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
