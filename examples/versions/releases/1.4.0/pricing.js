'use strict';
// Release 1.4.0: discount rules indexed by category, looked up once per quote.
const RULES = Array.from({ length: 400 }, (_, i) => ({ category: i % 40, percent: (i % 7) + 1 }));
const BY_CATEGORY = new Map();
for (const rule of RULES) BY_CATEGORY.set(rule.category, [...(BY_CATEGORY.get(rule.category) ?? []), rule]);

function skuNumber(sku) {
  let n = 0;
  for (let i = 0; i < sku.length; i++) n = (n * 31 + sku.charCodeAt(i)) >>> 0;
  return n;
}

/**
 * The price of a SKU in cents after the discount rules of its category, the
 * coupon and the rounding rules of the currency.
 */
function applyDiscounts(sku, coupon = '', currency = 'EUR') {
  if (typeof sku !== 'string' || sku.length === 0) throw new TypeError('sku must be a non-empty string');
  const n = skuNumber(sku);
  let price = 1000 + (n % 9000);
  for (let round = 0; round < 1200; round++) {
    for (const rule of BY_CATEGORY.get((n + round) % 40) ?? []) price = Math.max(1, price - ((price * rule.percent) % 7));
  }
  if (coupon.startsWith('SAVE')) {
    const percent = Number.parseInt(coupon.slice(4), 10);
    if (Number.isInteger(percent) && percent > 0 && percent <= 50) price -= Math.floor((price * percent) / 100);
  } else if (coupon === 'FREESHIP') {
    price = Math.max(0, price - 499);
  }
  switch (currency) {
    case 'CHF':
      price = Math.round(price / 5) * 5;
      break;
    case 'JPY':
      price = Math.round(price / 100) * 100;
      break;
    default:
      price = Math.round(price);
  }
  return price;
}

/** The catalog page: the same in every release. */
function listCatalog() {
  const items = [];
  for (let i = 0; i < 3000; i++) items.push({ sku: `sku-${i}`, rank: Math.sin(i) * Math.cos(i / 3) });
  items.sort((a, b) => a.rank - b.rank);
  return items.length;
}

module.exports = { applyDiscounts, listCatalog };
