/**
 * The order life cycle: CREATED → PROCESSING → SHIPPED → DELIVERED, where a forward move may skip
 * steps, and CANCELLED from CREATED or PROCESSING (not once the order has shipped). Any other move,
 * including "moving" to the current status, is refused (409 INVALID_TRANSITION).
 */
export const ORDER_STATUSES = ["CREATED", "PROCESSING", "SHIPPED", "DELIVERED", "CANCELLED"] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

const FORWARD: readonly OrderStatus[] = ["CREATED", "PROCESSING", "SHIPPED", "DELIVERED"];

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  if (to === "CANCELLED") return from === "CREATED" || from === "PROCESSING";
  if (from === "CANCELLED") return false;
  return FORWARD.indexOf(to) > FORWARD.indexOf(from);
}

/** The statuses reachable from `from`, for error messages. */
export function nextStatuses(from: OrderStatus): OrderStatus[] {
  return ORDER_STATUSES.filter((to) => canTransition(from, to));
}
