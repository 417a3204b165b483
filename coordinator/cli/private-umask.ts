/**
 * From now on, what this process creates is its user's only: LevelDB creates its files 0666 & ~umask
 * (LOCK 0644) while it runs, so Journal.open making them 0600 covers only the files there at open.
 */
export function usePrivateUmask(): void {
  process.umask(0o077);
}
