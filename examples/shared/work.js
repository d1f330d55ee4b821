'use strict';
// CPU work with distinct function names, one per route of the examples, so
// their profiles show which route burned what.
const { createHash } = require('node:crypto');

function hashRounds(seed, rounds) {
  let digest = String(seed);
  for (let i = 0; i < rounds; i++) digest = createHash('sha256').update(digest).digest('hex');
  return digest;
}

/** The hotspot of GET /users/:id. */
function renderUser(id) {
  const user = { id, name: `user-${id}`, roles: [] };
  for (let i = 0; i < 400; i++) user.roles.push({ role: `r${i}`, key: hashRounds(`${id}:${i}`, 6) });
  return JSON.stringify(user).length;
}

/** The hotspot of GET /orders/:orderId/items. */
function priceOrder(orderId) {
  let total = 0;
  for (let i = 0; i < 2000; i++) total += parseInt(hashRounds(`${orderId}/${i}`, 1).slice(0, 6), 16) % 1000;
  return total;
}

/** Waits a little, as an app awaiting a database would. */
function io(ms = 2) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

module.exports = { renderUser, priceOrder, io };
