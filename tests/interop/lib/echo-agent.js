// A JS echo agent built with the official A2A JavaScript SDK's server (@a2a-js/sdk 1.3.0, A2A 1.0).
//
//   "task: X"  -> a Task: submitted -> working -> artifact with text X -> completed (events published one by one,
//                 so SendStreamingMessage streams them)
//   "slow: X"  -> a Task that stays working until CancelTask (so CancelTask and SubscribeToTask can be exercised)
//   anything else -> a direct Message echoing the text
//
// Inside JS the SDK uses ts-proto shapes: Part.content.$case, numeric enums (TaskState, Role).
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import express from 'express';
import { Role, TaskState } from '@a2a-js/sdk';
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore } from '@a2a-js/sdk/server';
import { UserBuilder, agentCardHandler, jsonRpcHandler } from '@a2a-js/sdk/server/express';

export const textPart = (text) => ({
  content: { $case: 'text', value: text },
  metadata: undefined,
  filename: '',
  mediaType: 'text/plain',
});

export const textOf = (parts) =>
  (parts ?? []).map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');

const now = () => new Date().toISOString();

class EchoExecutor {
  /** taskId -> { contextId, release } for "slow" tasks still running */
  running = new Map();

  async execute(ctx, bus) {
    const message = ctx.userMessage;
    const text = textOf(message.parts);
    const match = /^(task|slow):\s*([\s\S]*)$/.exec(text);
    if (!match) {
      bus.publish(AgentEvent.message({
        messageId: randomUUID(),
        contextId: ctx.contextId,
        taskId: '',
        role: Role.ROLE_AGENT,
        parts: [textPart(text)],
        metadata: undefined,
        extensions: [],
        referenceTaskIds: [],
      }));
      return;
    }

    const [, kind, payload] = match;
    const ids = { taskId: ctx.taskId, contextId: ctx.contextId };
    if (!ctx.task) {
      bus.publish(AgentEvent.task({
        id: ctx.taskId,
        contextId: ctx.contextId,
        status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: now() },
        artifacts: [],
        history: [message],
        metadata: undefined,
      }));
    }
    bus.publish(AgentEvent.statusUpdate({
      ...ids,
      status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: now() },
      metadata: undefined,
    }));

    if (kind === 'slow') {
      // Stays working until cancelTask releases it (cancelTask publishes the CANCELED status).
      await new Promise((release) => this.running.set(ctx.taskId, { contextId: ctx.contextId, release }));
      return;
    }

    bus.publish(AgentEvent.artifactUpdate({
      ...ids,
      artifact: {
        artifactId: randomUUID(),
        name: 'echo',
        description: '',
        parts: [textPart(payload)],
        metadata: undefined,
        extensions: [],
      },
      append: false,
      lastChunk: true,
      metadata: undefined,
    }));
    bus.publish(AgentEvent.statusUpdate({
      ...ids,
      status: { state: TaskState.TASK_STATE_COMPLETED, message: undefined, timestamp: now() },
      metadata: undefined,
    }));
  }

  async cancelTask(taskId, bus) {
    const entry = this.running.get(taskId);
    this.running.delete(taskId);
    bus.publish(AgentEvent.statusUpdate({
      taskId,
      contextId: entry?.contextId ?? '',
      status: { state: TaskState.TASK_STATE_CANCELED, message: undefined, timestamp: now() },
      metadata: undefined,
    }));
    entry?.release();
  }

  releaseAll() {
    for (const { release } of this.running.values()) release();
    this.running.clear();
  }
}

/** Starts the agent on 127.0.0.1:0. Returns { baseUrl, cardUrl, rpcUrl, card, requests, close() }. */
export async function startEchoAgent() {
  const app = express();
  const server = http.createServer(app);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const baseUrl = `http://127.0.0.1:${server.address().port}`;
  const rpcUrl = `${baseUrl}/a2a/jsonrpc`;

  const card = {
    name: 'JS Echo Agent',
    description: 'Echo agent built with @a2a-js/sdk for the AgentHub interop tests.',
    supportedInterfaces: [{ url: rpcUrl, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' }],
    provider: { organization: 'AgentHub interop tests', url: 'https://example.org' },
    version: '1.0.0',
    capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [{
      id: 'echo',
      name: 'Echo',
      description: "'task: X' makes a task with artifact X, 'slow: X' a task that runs until canceled, else a message echo.",
      tags: ['echo', 'test'],
      examples: ['task: hello', 'slow: wait', 'hello'],
      inputModes: ['text/plain'],
      outputModes: ['text/plain'],
      securityRequirements: [],
    }],
    signatures: [],
  };

  const executor = new EchoExecutor();
  const requestHandler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
  /** What the hub sent upstream: method, target and headers of each JSON-RPC request (for assertions). */
  const requests = [];
  app.use('/a2a/jsonrpc', (req, _res, next) => {
    requests.push({ method: req.method, target: req.originalUrl, headers: { ...req.headers } });
    next();
  });
  app.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: requestHandler }));
  app.use('/a2a/jsonrpc', jsonRpcHandler({ requestHandler, userBuilder: UserBuilder.noAuthentication }));

  const sockets = new Set();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  return {
    baseUrl,
    rpcUrl,
    cardUrl: `${baseUrl}/.well-known/agent-card.json`,
    card,
    requests,
    async close() {
      executor.releaseAll();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
