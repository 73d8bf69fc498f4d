// The mobile app's data path with the official Firebase JS SDK (modular API), as a React
// Native app uses it: POST /api/auth/login through the Hosting gateway, signInWithCustomToken
// with the returned firebase_token at the Firebase Auth emulator, then direct Firestore
// reads under firestore.rules. Run by tests/test_mobile_sdk.py, which starts the platform,
// prepares the data through the API and passes it in PMI_MOBILE_WORLD:
//   { project_id, gateway, firestore, auth_emulator, password,
//     users: {admin, alice, bob, staff_north, staff_south: {email, uid}},
//     centers: {north, south}, vehicles / bookings / alerts / service_records: {alice, bob} }
// Alice's vehicle is booked at the north center, Bob's at the south one.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { deleteApp, initializeApp } from 'firebase/app';
import { connectAuthEmulator, getAuth, signInWithCustomToken } from 'firebase/auth';
import {
  addDoc,
  collection,
  connectFirestoreEmulator,
  deleteDoc,
  doc,
  FieldPath,
  getDoc,
  getDocs,
  getFirestore,
  query,
  setDoc,
  Timestamp,
  updateDoc,
  where,
} from 'firebase/firestore';

const world = JSON.parse(process.env.PMI_MOBILE_WORLD);
const { users, centers, vehicles, bookings, alerts } = world;
const records = world.service_records;
const apps = [];

after(async () => {
  await Promise.all(apps.map((app) => deleteApp(app)));
});

// ------------------------------------------------------------------ the app's plumbing

async function api(method, path, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(world.gateway + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

async function login(name) {
  const reply = await api('POST', '/api/auth/login', {
    email: users[name].email,
    password: world.password,
  });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body;
}

/** A fresh app instance signed in as `name`, the way the mobile app starts. */
async function signIn(name) {
  const app = initializeApp(
    { projectId: world.project_id, apiKey: 'demo-api-key' },
    `${name}-${apps.length}`,
  );
  apps.push(app);
  const auth = getAuth(app);
  connectAuthEmulator(auth, `http://${world.auth_emulator}`, { disableWarnings: true });
  const db = getFirestore(app);
  const [host, port] = world.firestore.split(':');
  connectFirestoreEmulator(db, host, Number(port));
  const session = { name, auth, db };
  await signInAgain(session);
  return session;
}

/** Log in through the API again and hand the new custom token to the same app. */
async function signInAgain(session) {
  const { firebase_token: customToken } = await login(session.name);
  await signInWithCustomToken(session.auth, customToken);
}

async function denied(operation) {
  await assert.rejects(operation, (error) => {
    assert.equal(error.code, 'permission-denied', String(error));
    return true;
  });
}

const ids = (snapshot) => snapshot.docs.map((d) => d.id).sort();

/** The admin's API call, and nothing else: the auth function ends the user's SDK sessions
 * itself (shared/auth/sdk_revocation.py, called by identity/accounts.py). */
async function adminChanges(name, change) {
  const admin = await login('admin');
  const reply = await api('PATCH', `/api/auth/users/${users[name].uid}`, change, admin.access_token);
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
}

/** Revocation compares whole seconds: a sign-in in the revocation's own second counts as
 * before it, so the app signs in again from the next one. */
const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1050 - (Date.now() % 1000)));

// The queries the app runs (docs/firestore-rules.md; alerts: shared/mobile_queries.py).
const ownVehicles = (s, uid) => query(collection(s.db, 'vehicles'), where('owner_id', '==', uid));
const ownBookings = (s, uid) =>
  query(collection(s.db, 'bookings'), where('customer_id', '==', uid));
const ownOpenAlerts = (s, uid) =>
  query(collection(s.db, 'alerts'), where('owner_id', '==', uid), where('status', '==', 'open'));
// Staff see a vehicle only while their center's access to it lasts (center_access, kept by
// the booking transactions): one range filter on their own entry, a few minutes ahead of the
// device's clock so that it proves the rules' `> request.time` (docs/firestore-rules.md).
const accessBound = () => Timestamp.fromMillis(Date.now() + 5 * 60 * 1000);
const centerVehicles = (s, center) =>
  query(collection(s.db, 'vehicles'), where(new FieldPath('center_access', center), '>', accessBound()));
const centerAlerts = (s, center) =>
  query(collection(s.db, 'alerts'), where(new FieldPath('center_access', center), '>', accessBound()));
const openIds = (snapshot) =>
  snapshot.docs.filter((d) => d.get('status') === 'open').map((d) => d.id).sort();
const centerBookings = (s, center) =>
  query(collection(s.db, 'bookings'), where('center_id', '==', center));
const serviceRecords = (s, vehicleId) =>
  collection(s.db, 'vehicles', vehicleId, 'service_records');

// ------------------------------------------------------------------ customers

test('a customer signs in with the login route custom token and carries its role', async () => {
  const alice = await signIn('alice');
  assert.equal(alice.auth.currentUser.uid, users.alice.uid);
  const { claims } = await alice.auth.currentUser.getIdTokenResult();
  assert.equal(claims.role, 'customer');
  assert.equal(claims.firebase.sign_in_provider, 'custom');
});

test('a customer reads their own vehicle, service records, booking and alert', async () => {
  const alice = await signIn('alice');
  const vehicle = await getDoc(doc(alice.db, 'vehicles', vehicles.alice));
  assert.equal(vehicle.get('owner_id'), users.alice.uid);
  const record = await getDoc(doc(alice.db, 'vehicles', vehicles.alice, 'service_records', records.alice));
  assert.deepEqual(record.get('service_codes'), ['oil_change']);
  const booking = await getDoc(doc(alice.db, 'bookings', bookings.alice));
  assert.equal(booking.get('center_id'), centers.north);
  const alert = await getDoc(doc(alice.db, 'alerts', alerts.alice));
  assert.equal(alert.get('status'), 'open');
  assert.equal(alert.get('severity'), 'critical');
});

test('the queries the app makes return exactly the customer own data', async () => {
  const alice = await signIn('alice');
  const uid = users.alice.uid;
  assert.deepEqual(ids(await getDocs(ownVehicles(alice, uid))), [vehicles.alice]);
  assert.deepEqual(ids(await getDocs(ownBookings(alice, uid))), [bookings.alice]);
  assert.deepEqual(ids(await getDocs(ownOpenAlerts(alice, uid))), [alerts.alice]);
  assert.deepEqual(ids(await getDocs(serviceRecords(alice, vehicles.alice))), [records.alice]);
  assert.deepEqual(ids(await getDocs(collection(alice.db, 'centers'))), Object.values(centers).sort());
});

test('another customer data is denied, document by document and by query', async () => {
  const alice = await signIn('alice');
  await denied(getDoc(doc(alice.db, 'vehicles', vehicles.bob)));
  await denied(getDoc(doc(alice.db, 'vehicles', vehicles.bob, 'service_records', records.bob)));
  await denied(getDocs(serviceRecords(alice, vehicles.bob)));
  await denied(getDoc(doc(alice.db, 'bookings', bookings.bob)));
  await denied(getDoc(doc(alice.db, 'alerts', alerts.bob)));
  await denied(getDocs(ownVehicles(alice, users.bob.uid)));
  await denied(getDocs(ownBookings(alice, users.bob.uid)));
  await denied(getDocs(ownOpenAlerts(alice, users.bob.uid)));
  await denied(getDoc(doc(alice.db, 'users', users.alice.uid))); // server-only, even one's own
});

test('the same queries without the owner filter are denied', async () => {
  const alice = await signIn('alice');
  await denied(getDocs(collection(alice.db, 'vehicles')));
  await denied(getDocs(collection(alice.db, 'bookings')));
  await denied(getDocs(query(collection(alice.db, 'alerts'), where('status', '==', 'open'))));
  await denied(getDocs(centerBookings(alice, centers.north)));
});

test('no write is allowed anywhere, not even to the customer own documents', async () => {
  const alice = await signIn('alice');
  const uid = users.alice.uid;
  const before = (await getDoc(doc(alice.db, 'vehicles', vehicles.alice))).data();
  const attempts = [
    updateDoc(doc(alice.db, 'vehicles', vehicles.alice), { mileage_km: 1 }),
    setDoc(doc(alice.db, 'vehicles', 'client-made'), { owner_id: uid }),
    addDoc(collection(alice.db, 'bookings'), { customer_id: uid, center_id: centers.north }),
    updateDoc(doc(alice.db, 'bookings', bookings.alice), { status: 'completed' }),
    deleteDoc(doc(alice.db, 'alerts', alerts.alice)),
    addDoc(serviceRecords(alice, vehicles.alice), { work_done: 'forged' }),
    updateDoc(doc(alice.db, 'centers', centers.north), { bays: 99 }),
    setDoc(doc(alice.db, 'users', uid), { role: 'admin' }, { merge: true }),
    deleteDoc(doc(alice.db, 'token_revocations', uid)),
  ];
  for (const attempt of attempts) await denied(attempt);
  const after = await getDoc(doc(alice.db, 'vehicles', vehicles.alice));
  assert.deepEqual(after.data(), before); // tests/test_mobile_sdk.py checks nothing was created
});

// ------------------------------------------------------------------ center staff

test('staff of a center see their center bookings, vehicles and alerts only', async () => {
  const north = await signIn('staff_north');
  assert.deepEqual(ids(await getDocs(centerBookings(north, centers.north))), [bookings.alice]);
  assert.deepEqual(ids(await getDocs(centerVehicles(north, centers.north))), [vehicles.alice]);
  assert.deepEqual(openIds(await getDocs(centerAlerts(north, centers.north))), [alerts.alice]);
  // A list by center_ids proves no end of access, so the rules refuse it.
  await denied(getDocs(query(collection(north.db, 'vehicles'), where('center_ids', 'array-contains', centers.north))));
  await denied(getDocs(centerVehicles(north, centers.south)));
  await denied(getDocs(centerBookings(north, centers.south)));
  await denied(getDocs(collection(north.db, 'bookings')));
  await denied(getDoc(doc(north.db, 'bookings', bookings.bob)));
  await denied(getDoc(doc(north.db, 'vehicles', vehicles.bob)));

  const south = await signIn('staff_south');
  assert.deepEqual(ids(await getDocs(centerBookings(south, centers.south))), [bookings.bob]);
  await denied(getDoc(doc(south.db, 'bookings', bookings.alice)));
});

// ------------------------------------------------------------------ sessions that must end
// These change accounts, so they run last (node:test runs a file's tests in order).

test('after a center change the old session stops reading and a new one sees the new center', async () => {
  const staff = await signIn('staff_north');
  assert.equal((await getDocs(centerBookings(staff, centers.north))).size, 1);

  await adminChanges('staff_north', { service_center_id: centers.south });

  await denied(getDocs(centerBookings(staff, centers.north)));
  await staff.auth.currentUser.getIdToken(true); // a refreshed ID token keeps its old sign-in
  await denied(getDocs(centerBookings(staff, centers.north)));

  await nextSecond();
  await signInAgain(staff);
  assert.deepEqual(ids(await getDocs(centerBookings(staff, centers.south))), [bookings.bob]);
  await denied(getDocs(centerBookings(staff, centers.north)));
});

test('after a role change the old session stops reading and the new role applies', async () => {
  const staff = await signIn('staff_south');
  assert.equal((await getDocs(centerBookings(staff, centers.south))).size, 1);

  // Center staff become a mechanic, who sees only the bookings assigned to them.
  await adminChanges('staff_south', { role: 'mechanic' });

  await denied(getDocs(centerBookings(staff, centers.south)));
  await denied(getDocs(collection(staff.db, 'centers')));

  await nextSecond();
  await signInAgain(staff);
  const { claims } = await staff.auth.currentUser.getIdTokenResult();
  assert.equal(claims.role, 'mechanic');
  assert.equal((await getDocs(collection(staff.db, 'centers'))).size, 2);
  await denied(getDocs(centerBookings(staff, centers.south)));
  const assigned = query(collection(staff.db, 'bookings'), where('mechanic_id', '==', users.staff_south.uid));
  assert.equal((await getDocs(assigned)).size, 0);
});

test('after deactivation the session stops reading and signing in again is refused', async () => {
  const bob = await signIn('bob');
  await getDoc(doc(bob.db, 'vehicles', vehicles.bob));

  await adminChanges('bob', { is_active: false });

  await denied(getDoc(doc(bob.db, 'vehicles', vehicles.bob)));
  await denied(getDocs(ownBookings(bob, users.bob.uid)));
  const again = await api('POST', '/api/auth/login', {
    email: users.bob.email,
    password: world.password,
  });
  assert.equal(again.status, 401);
});
