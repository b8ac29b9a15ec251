/** What `fn` throws as `<code> <message>` (undefined when it does not throw): compares two paths' errors. */
export function errorText(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return `${(err as { code?: string }).code} ${(err as Error).message}`;
  }
}
