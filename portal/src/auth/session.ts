/** The admin API key of embedded mode, kept for this browser tab only. */
const KEY = "llmmeter.adminKey";

export function loadKey(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function saveKey(key: string): void {
  sessionStorage.setItem(KEY, key);
}

export function clearKey(): void {
  sessionStorage.removeItem(KEY);
}
