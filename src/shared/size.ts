// Sizes as people write them (`64m`, `1g`, `512k`, `1048576`), in bytes.
const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Returns the size in bytes, or undefined if `text` is not a positive size. */
export function parseSize(text: string): number | undefined {
  const match = /^(\d+)([kmgt]?)(i?b)?$/i.exec(text.trim());
  if (!match || (match[3] !== undefined && match[2] === '')) return undefined;
  const unit = UNITS[match[2].toLowerCase()];
  const bytes = Number(match[1]) * unit;
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

export function formatSize(bytes: number): string {
  for (const [suffix, unit] of [['g', 1024 ** 3], ['m', 1024 ** 2], ['k', 1024]] as const) {
    if (bytes % unit === 0) return `${bytes / unit}${suffix}`;
  }
  return String(bytes);
}
