/**
 * Money as integer cents. Prices arrive as decimal numbers (29.99) and totals leave as decimal
 * numbers (59.98), but every sum is done on integers, so 2 × 29.99 is 59.98 and 3 × 0.1 is 0.3
 * exactly — never 59.980000000000004 or 0.30000000000000004.
 */

/** The largest price accepted for one item: 1,000,000.00. Totals stay far below 2^53 cents. */
export const MAX_PRICE_CENTS = 100_000_000;

/**
 * The cents of a decimal amount with at most two decimals, or null (negative, not finite, more
 * than two decimals, above MAX_PRICE_CENTS). IEEE division is correctly rounded, so `cents / 100`
 * is the double nearest to the two-decimal value: comparing it with the input is an exact test
 * (29.99 * 100 is 2998.9999999999995, rounds to 2999, and 2999 / 100 === 29.99).
 */
export function toCents(amount: number): number | null {
  if (!Number.isFinite(amount) || amount < 0) return null;
  const cents = Math.round(amount * 100);
  if (cents / 100 !== amount || cents > MAX_PRICE_CENTS) return null;
  return cents;
}

/** The decimal number for an amount in cents (5998 → 59.98); exact for every integer below 2^53. */
export function fromCents(cents: number): number {
  return cents / 100;
}

/** Sum of quantity × unit price, all in integer cents. */
export function totalCents(lines: ReadonlyArray<{ quantity: number; unitCents: number }>): number {
  let total = 0;
  for (const line of lines) total += line.quantity * line.unitCents;
  return total;
}
