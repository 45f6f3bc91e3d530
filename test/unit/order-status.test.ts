/** Unit tests for the order life cycle's allowed moves. */
import { describe, expect, it } from "vitest";
import { canTransition, nextStatuses, ORDER_STATUSES } from "../../src/domain/order-status";

describe("order status transitions", () => {
  it("allows forward moves, skipping steps", () => {
    expect(nextStatuses("CREATED")).toEqual(["PROCESSING", "SHIPPED", "DELIVERED", "CANCELLED"]);
    expect(nextStatuses("PROCESSING")).toEqual(["SHIPPED", "DELIVERED", "CANCELLED"]);
    expect(nextStatuses("SHIPPED")).toEqual(["DELIVERED"]);
  });

  it("allows cancelling only before shipping", () => {
    expect(canTransition("CREATED", "CANCELLED")).toBe(true);
    expect(canTransition("PROCESSING", "CANCELLED")).toBe(true);
    expect(canTransition("SHIPPED", "CANCELLED")).toBe(false);
    expect(canTransition("DELIVERED", "CANCELLED")).toBe(false);
  });

  it("refuses backward moves, moves to the same status and anything out of a final status", () => {
    expect(canTransition("SHIPPED", "PROCESSING")).toBe(false);
    for (const s of ORDER_STATUSES) expect(canTransition(s, s)).toBe(false);
    expect(nextStatuses("DELIVERED")).toEqual([]);
    expect(nextStatuses("CANCELLED")).toEqual([]);
  });
});
