// vehicles.create: a vehicle (201), or a pending VIN claim (202) the app must tell apart;
// following and resolving claims.

import assert from "node:assert/strict";
import { test } from "node:test";

import { ConflictError, isVinClaimPending } from "../../../hosting/sdk/index.js";
import { envelope, json, makeClient, tokenReply } from "./fakes.js";

const BODY = { vin: "1HGCM82633A004352", make: "Honda", model: "Accord", year: 2019, mileage_km: 42000 };
const CLAIM = {
  id: "c1",
  vin: BODY.vin,
  status: "pending",
  created_at: "2026-11-30T09:00:00+00:00",
  resolved_at: null,
  vehicle_id: null,
};

/** The vehicles function as it answers a registration, by who holds the VIN. */
function registry({ holder }) {
  return async (call) => {
    if (call.path === "/api/auth/login") return json(200, tokenReply());
    if (call.method === "POST" && call.path === "/api/vehicles") {
      if (holder === "nobody") return json(201, { id: "v1", ...call.body, owner_id: "u1" }, { Location: "/api/vehicles/v1" });
      if (holder === "caller") return envelope(409, "vin_already_yours", "You have registered this VIN already.");
      return json(202, {
        status: "pending_review",
        message: "This VIN needs a review before it can be registered to you.",
        claim: CLAIM,
      });
    }
    if (call.path === "/api/vehicles/vin-claims") return json(200, { items: [CLAIM], next_cursor: null });
    if (call.path === "/api/vehicles/vin-claims/c1/resolve") {
      return json(200, { ...CLAIM, status: "approved", vehicle_id: "v9", removed_vehicle_id: "v0" });
    }
    return envelope(404, "not_found", "No such route.");
  };
}

async function signedIn(holder) {
  const made = makeClient({ handler: registry({ holder }) });
  await made.client.login("ada@example.test", "pw");
  return made;
}

test("a free VIN registers a vehicle, which is not a pending claim", async () => {
  const { client } = await signedIn("nobody");
  const result = await client.vehicles.create(BODY);
  assert.equal(isVinClaimPending(result), false);
  assert.equal(result.id, "v1");
});

test("a VIN someone else holds answers 202 with a pending claim and registers nothing", async () => {
  const { client, calls } = await signedIn("someone else");
  const result = await client.vehicles.create(BODY);
  assert.equal(isVinClaimPending(result), true);
  assert.equal(result.claim.status, "pending");
  assert.equal(result.claim.vehicle_id, null);
  assert.equal("id" in result, false); // nothing to open as a vehicle
  // Sent once: a 202 is an answer, not something to retry.
  assert.equal(calls.filter((c) => c.method === "POST" && c.path === "/api/vehicles").length, 1);
});

test("a VIN the caller holds already is a ConflictError with its code", async () => {
  const { client } = await signedIn("caller");
  await assert.rejects(client.vehicles.create(BODY), (error) => {
    assert.ok(error instanceof ConflictError);
    assert.equal(error.code, "vin_already_yours");
    return true;
  });
});

test("the claimant follows the claim, an admin resolves it with a reason", async () => {
  const { client, calls } = await signedIn("someone else");
  const page = await client.vehicles.vinClaims({ status: "pending" });
  assert.deepEqual(page.items.map((c) => c.id), ["c1"]);
  assert.equal(calls.at(-1).query.status, "pending");
  const resolved = await client.vehicles.resolveVinClaim("c1", { decision: "approve", reason: "Registration papers checked" });
  assert.equal(resolved.status, "approved");
  assert.equal(resolved.vehicle_id, "v9");
  assert.deepEqual(calls.at(-1).body, { decision: "approve", reason: "Registration papers checked" });
});

test("isVinClaimPending is false for anything that is not a claim answer", () => {
  for (const value of [null, undefined, {}, { status: "pending_review" }, { claim: CLAIM, status: "ok" }]) {
    assert.equal(isVinClaimPending(value), false, JSON.stringify(value));
  }
});
