// Interop: the official A2A JavaScript SDK (@a2a-js/sdk 1.3.0) as agent and as client, with AgentHub in between.
//
//   JS client (alice/bob/carol keys) --JSON-RPC/SSE--> hub POST /a2a/echo --JSON-RPC/SSE--> JS echo agent
//
// One hub, one agent for the whole file (before/after); tests run in order and later ones use tasks made earlier.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Role, TaskState } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { startEchoAgent, textOf, textPart } from './lib/echo-agent.js';
import { apiOk, recordSecret, startHub } from './lib/hub.js';

const AGENT_ID = 'echo';
let hub;
let agent;
const keys = {};
const clients = {};
const aliceTasks = [];

/** fetch that adds the caller's bearer key to every request (card fetch included) and remembers each answer. */
function authedFetch(key, calls) {
  return async (input, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set('Authorization', `Bearer ${key}`);
    const res = await fetch(input, { ...init, headers });
    calls.push({ url: String(input), method: init.method ?? 'GET', status: res.status, a2aVersion: headers.get('A2A-Version') });
    return res;
  };
}

async function clientFor(name) {
  const calls = [];
  const fetchImpl = authedFetch(keys[name], calls);
  const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
    transports: [new JsonRpcTransportFactory({ fetchImpl })],
    cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
  }));
  const client = await factory.createFromUrl(`${hub.url}/a2a/${AGENT_ID}/.well-known/agent-card.json`, '');
  return { client, calls, fetchImpl };
}

const userMessage = (text) => ({
  messageId: randomUUID(),
  contextId: '',
  taskId: '',
  role: Role.ROLE_USER,
  parts: [textPart(text)],
  metadata: undefined,
  extensions: [],
  referenceTaskIds: [],
});

const sendParams = (text, configuration) => ({ tenant: '', message: userMessage(text), configuration, metadata: undefined });
const immediately = { acceptedOutputModes: [], taskPushNotificationConfig: undefined, historyLength: undefined, returnImmediately: true };
const listParams = { tenant: '', contextId: '', status: TaskState.TASK_STATE_UNSPECIFIED, pageSize: 100, pageToken: '', historyLength: undefined, statusTimestampAfter: undefined, includeArtifacts: undefined };

const isTask = (r) => r != null && typeof r.id === 'string' && r.status !== undefined && !('role' in r);
const stateName = (s) => TaskState[s] ?? String(s);

/** A raw JSON-RPC call to the relay (to see the exact HTTP status and error on the wire). */
async function rawRpc(name, method, params) {
  const res = await fetch(`${hub.url}/a2a/${AGENT_ID}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${keys[name]}`, 'Content-Type': 'application/json', 'A2A-Version': '1.0' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 42, method, params }),
  });
  return { status: res.status, body: await res.json() };
}

before(async () => {
  agent = await startEchoAgent();
  hub = await startHub();
  const admin = hub.adminKey;

  const registered = await apiOk(hub.url, admin, 'POST', '/api/v1/agents', { id: AGENT_ID, cardUrl: agent.cardUrl });
  recordSecret(registered?.key?.key);

  for (const name of ['alice', 'bob', 'carol']) {
    const created = await apiOk(hub.url, admin, 'POST', '/api/v1/keys', { principal: `user:${name}`, role: 'operator' });
    keys[name] = recordSecret(created.key);
    assert.ok(keys[name], `POST /api/v1/keys gave no key for ${name}`);
  }
  for (const name of ['alice', 'bob']) { // carol: no rule at all (default deny)
    await apiOk(hub.url, admin, 'POST', '/api/v1/policies', { caller: `user:${name}`, agent: AGENT_ID, methods: ['*'], effect: 'allow' });
  }
  for (const name of ['alice', 'bob', 'carol']) clients[name] = await clientFor(name);
});

after(async () => {
  await hub?.stop();
  await agent?.close();
});

test('the hub card fetched by the SDK points at the hub, not at the agent', async () => {
  const { client, calls } = clients.alice;
  const cardCall = calls[0];
  assert.equal(cardCall.url, `${hub.url}/a2a/${AGENT_ID}/.well-known/agent-card.json`);
  assert.equal(cardCall.status, 200);
  const card = await client.getAgentCard();
  assert.equal(card.name, 'JS Echo Agent');
  assert.equal(card.capabilities?.streaming, true);
  assert.ok(card.supportedInterfaces.length >= 1, 'card has no supportedInterfaces');
  const [preferred] = card.supportedInterfaces;
  assert.equal(preferred.url, `${hub.url}/a2a/${AGENT_ID}`);
  assert.equal(preferred.protocolBinding, 'JSONRPC');
  assert.equal(preferred.protocolVersion, '1.0');
  for (const i of card.supportedInterfaces) {
    assert.ok(!i.url.startsWith(agent.baseUrl), `interface ${i.url} points at the agent, not at the hub`);
  }
  assert.equal(client.protocolVersion, '1.0');
});

test('SendMessage returning a task', async () => {
  const { client } = clients.alice;
  const before = agent.requests.length;
  const result = await client.sendMessage(sendParams('task: hello from alice'));
  assert.ok(isTask(result), `expected a Task, got ${JSON.stringify(result)}`);
  assert.equal(stateName(result.status.state), 'TASK_STATE_COMPLETED');
  assert.equal(result.artifacts.length, 1);
  assert.equal(textOf(result.artifacts[0].parts), 'hello from alice');
  aliceTasks.push(result.id);
  // what reached the agent: A2A 1.0 and the hub's token, never alice's key
  const upstream = agent.requests.slice(before);
  assert.ok(upstream.length >= 1, 'the agent saw no request');
  assert.equal(upstream.at(-1).headers['a2a-version'], '1.0');
  assert.match(upstream.at(-1).headers.authorization ?? '', /^Bearer /);
  assert.ok(!upstream.at(-1).headers.authorization.includes(keys.alice), "alice's key was forwarded to the agent");
});

test('SendMessage returning a direct message', async () => {
  const { client } = clients.alice;
  const result = await client.sendMessage(sendParams('just say this back'));
  assert.ok(!isTask(result), `expected a Message, got a Task ${JSON.stringify(result)}`);
  assert.equal(result.role, Role.ROLE_AGENT);
  assert.equal(textOf(result.parts), 'just say this back');
  assert.ok(result.messageId);
});

test('SendStreamingMessage: task, working, artifact, completed in order', async () => {
  const { client } = clients.alice;
  const seen = [];
  const ids = new Set();
  for await (const event of client.sendMessageStream(sendParams('task: streamed'), { signal: AbortSignal.timeout(20_000) })) {
    const { $case, value } = event.payload ?? {};
    switch ($case) {
      case 'task': seen.push(`task:${stateName(value.status?.state)}`); ids.add(value.id); break;
      case 'statusUpdate': seen.push(`status:${stateName(value.status?.state)}`); ids.add(value.taskId); break;
      case 'artifactUpdate': seen.push(`artifact:${textOf(value.artifact?.parts)}`); ids.add(value.taskId); break;
      default: seen.push(`${$case}`);
    }
  }
  assert.deepEqual(seen, ['task:TASK_STATE_SUBMITTED', 'status:TASK_STATE_WORKING', 'artifact:streamed', 'status:TASK_STATE_COMPLETED']);
  assert.equal(ids.size, 1, `events name several tasks: ${[...ids]}`);
  aliceTasks.push([...ids][0]);
});

test('GetTask', async () => {
  const { client } = clients.alice;
  const task = await client.getTask({ tenant: '', id: aliceTasks[0] });
  assert.equal(task.id, aliceTasks[0]);
  assert.equal(stateName(task.status.state), 'TASK_STATE_COMPLETED');
  assert.equal(textOf(task.artifacts[0]?.parts), 'hello from alice');
});

test('CancelTask on a slow task', async () => {
  const { client } = clients.alice;
  const started = await client.sendMessage(sendParams('slow: cancel me', immediately));
  assert.ok(isTask(started), `expected a Task, got ${JSON.stringify(started)}`);
  aliceTasks.push(started.id);
  assert.ok(['TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING'].includes(stateName(started.status.state)));
  const canceled = await client.cancelTask({ tenant: '', id: started.id, metadata: undefined });
  assert.equal(canceled.id, started.id);
  assert.equal(stateName(canceled.status.state), 'TASK_STATE_CANCELED');
  const after = await client.getTask({ tenant: '', id: started.id });
  assert.equal(stateName(after.status.state), 'TASK_STATE_CANCELED');
});

test('SubscribeToTask on a running task gets the current task first', async () => {
  const { client } = clients.alice;
  const started = await client.sendMessage(sendParams('slow: watch me', immediately));
  assert.ok(isTask(started));
  aliceTasks.push(started.id);

  const seen = [];
  let cancel;
  for await (const event of client.resubscribeTask({ tenant: '', id: started.id }, { signal: AbortSignal.timeout(20_000) })) {
    const { $case, value } = event.payload ?? {};
    if ($case === 'task') {
      seen.push(`task:${value.id}:${stateName(value.status?.state)}`);
    } else if ($case === 'statusUpdate') {
      seen.push(`status:${value.taskId}:${stateName(value.status?.state)}`);
    } else {
      seen.push(String($case));
    }
    // once subscribed, cancel from another call: the stream must carry the CANCELED status and end
    cancel ??= client.cancelTask({ tenant: '', id: started.id, metadata: undefined })
      .then((task) => ({ task }), (error) => ({ error }));
  }
  assert.ok(cancel, 'the stream carried no event at all');
  const { task: canceled, error } = await cancel;
  if (error) throw error;
  assert.equal(stateName(canceled.status.state), 'TASK_STATE_CANCELED');
  // the current task first: this task, not yet terminal (the agent keeps it working until canceled)
  assert.match(seen[0] ?? '', new RegExp(`^task:${started.id}:TASK_STATE_(WORKING|SUBMITTED)$`), `events: ${seen.join(', ')}`);
  assert.equal(seen.at(-1), `status:${started.id}:TASK_STATE_CANCELED`, `events: ${seen.join(', ')}`);
});

test('ListTasks (client.listTasks) shows alice\'s tasks', async () => {
  const { client } = clients.alice;
  const listed = await client.listTasks(listParams);
  const ids = listed.tasks.map((t) => t.id);
  for (const id of aliceTasks) assert.ok(ids.includes(id), `ListTasks lacks alice's task ${id}: ${ids}`);
  assert.equal(listed.tasks.length, aliceTasks.length, `unexpected tasks: ${ids}`);
});

test('bob (allowed too) cannot see alice\'s tasks: GetTask -32001, ListTasks without them', async () => {
  const { client } = clients.bob;
  const own = await client.sendMessage(sendParams('task: bob was here'));
  assert.ok(isTask(own));

  await assert.rejects(client.getTask({ tenant: '', id: aliceTasks[0] }), (e) => {
    assert.equal(e.name, 'TaskNotFoundError', `${e.name}: ${e.message}`);
    assert.equal(e.envelopeCode, -32001);
    return true;
  });
  await assert.rejects(client.cancelTask({ tenant: '', id: aliceTasks[0], metadata: undefined }), (e) => e.envelopeCode === -32001);
  const raw = await rawRpc('bob', 'GetTask', { id: aliceTasks[0] });
  assert.equal(raw.status, 200);
  assert.equal(raw.body.error?.code, -32001);
  assert.equal(raw.body.id, 42);

  const listed = await client.listTasks(listParams);
  const ids = listed.tasks.map((t) => t.id);
  assert.ok(ids.includes(own.id), `bob's ListTasks lacks his own task: ${ids}`);
  for (const id of aliceTasks) assert.ok(!ids.includes(id), `bob's ListTasks shows alice's task ${id}`);
});

test('carol (no rule) is refused: HTTP 403, "no rule allows"', async () => {
  const { client, calls } = clients.carol;
  await assert.rejects(client.sendMessage(sendParams('task: let me in')), (e) => {
    assert.match(e.message, /^no rule allows/, `${e.name}: ${e.message}`);
    return true;
  });
  assert.equal(calls.at(-1).status, 403);
  assert.equal(calls.at(-1).url, `${hub.url}/a2a/${AGENT_ID}`);
  const raw = await rawRpc('carol', 'SendMessage', { message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text: 'hi' }] } });
  assert.equal(raw.status, 403);
  assert.match(raw.body.error?.message ?? '', /^no rule allows/);
  assert.equal(raw.body.id, 42);
});
