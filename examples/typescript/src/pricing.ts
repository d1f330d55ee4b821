// The service's hot code. Its types make the compiled JavaScript's lines differ from these.
export interface LineItem {
  sku: string;
  quantity: number;
  unitCents: number;
}

export interface Quote {
  totalCents: number;
  checksum: number;
}

/** Prices a cart: the CPU hotspot spanprof should show at this file and line. */
export function priceCart(items: readonly LineItem[], rounds: number): Quote {
  let checksum = 0;
  let totalCents = 0;
  for (let r = 0; r < rounds; r++) {
    for (const item of items) {
      totalCents += item.quantity * item.unitCents;
      checksum = (checksum * 31 + item.sku.length + r) % 1_000_003;
    }
  }
  return { totalCents, checksum };
}
