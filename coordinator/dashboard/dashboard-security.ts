import { createHash, timingSafeEqual } from 'node:crypto';
import { InvalidInputError } from '../../shared/errors.js';

// What every response carries and what every request must pass, as pure functions of the request's
// headers: the HTTP server (dashboard-server.ts) only applies them.

/** The page loads its own script, style and data, and nothing else; it cannot be framed. */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The token's cookie (`GET /login?token=T` sets it). */
export const TOKEN_COOKIE = 'hw_dashboard';

/** Pure: the headers of every response; the API's answers are never cached (they are live and may be private). */
export function securityHeaders(path: string): Record<string, string> {
  return {
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    ...(path.startsWith('/api/') || path === '/login' ? { 'Cache-Control': 'no-store' } : {}),
  };
}

/** Where the server listens, as the checks need it. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
  readonly loopback: boolean;
}

/** Pure: whether the address is this machine's own (only it can reach a server listening there). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Pure: whether a request's Host header names this server. On loopback only localhost, 127.0.0.1,
 * [::1] (or the address listened on) with the port pass: a page of another site whose name was made
 * to resolve to 127.0.0.1 (DNS rebinding) sends its own name. Beyond loopback the token guards it,
 * and a reverse proxy may pass any name.
 */
export function hostHeaderAllowed(hostHeader: string | undefined, listen: ListenAddress): boolean {
  if (!listen.loopback) return true;
  if (hostHeader === undefined) return false;
  const names = new Set(['localhost', '127.0.0.1', '[::1]', listen.host.includes(':') ? `[${listen.host}]` : listen.host]);
  return [...names].some((name) => hostHeader.toLowerCase() === `${name}:${listen.port}`);
}

/**
 * Pure: whether a POST may act. It must say it sends JSON (a form of another site cannot, without a
 * preflight this server never answers), and an Origin, when sent, must be this server's.
 */
export function postAllowed(headers: { readonly contentType: string | undefined; readonly origin: string | undefined; readonly host: string | undefined }): { ok: true } | { ok: false; reason: string } {
  const type = headers.contentType?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') return { ok: false, reason: 'a POST must carry Content-Type: application/json' };
  if (headers.origin !== undefined && headers.origin !== `http://${headers.host}` && headers.origin !== `https://${headers.host}`) return { ok: false, reason: `origin ${headers.origin} is not this dashboard's` };
  return { ok: true };
}

/** Pure: the token a request carries, from `Authorization: Bearer T` or the cookie. */
export function tokenOf(authorization: string | undefined, cookie: string | undefined): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  if (bearer !== undefined) return bearer;
  for (const part of (cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === TOKEN_COOKIE) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

/** Constant time in the token's content: both sides are hashed to one length first. */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The cookie `GET /login` sets: the page's requests carry it, no other site's do. */
export function tokenCookie(token: string): string {
  return `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;
}

/** Pure: `--listen ADDR:PORT` (`[::1]:8080` for IPv6); port 0 asks for any free port. */
export function parseListen(text: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65_535) throw new InvalidInputError(`--listen ${text}: expected ADDR:PORT such as 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080 (port 0: any free port)`);
  const host = (match[1] ?? match[2]) as string;
  return { host, port, loopback: isLoopback(host) };
}
