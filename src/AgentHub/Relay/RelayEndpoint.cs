using System.Buffers;
using System.Data.Common;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentHub.Agents;
using AgentHub.Audit;
using AgentHub.Identity;
using AgentHub.Observability;
using AgentHub.Policy;
using AgentHub.Signatures;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace AgentHub.Relay;

/// <summary>
/// <c>POST /a2a/{id}</c>: the hot path. Version check, envelope parsed once, policy (default deny), task ownership,
/// an audit record that must be durable before anything is forwarded, then the body forwarded unchanged with a
/// hub-signed JWT, and the answer relayed back (Server-Sent Events event by event, flushed as they come).
/// </summary>
internal static partial class RelayEndpoint
{
    public const string ClientName = "relay";
    private static readonly string[] SupportedVersions = ["1.0"];

    public static IEndpointRouteBuilder MapRelay(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/a2a/{id}", HandleAsync).WithTags("Relay").RequireAuthorization(Policies.Authenticated)
            .WithMetadata(new DeferAuthAuditMetadata()); // auth.success commits with the call's first record

        return routes;
    }

    internal static async Task HandleAsync(string id, HttpContext context, ClaimsPrincipal user, PolicyEngine policy,
        IAgentStore agents, TaskOwners owners, AuditLog audit, HubTokens tokens, IHttpClientFactory clients, UrlGuard guard,
        ConcurrencyGate gate, HubMetrics metrics, IOptions<RelayOptions> options, ILoggerFactory loggers,
        InboundSignatures inbound, OutboundSigner outbound, Delegation delegation, IOptions<PolicyOptions> policyOptions)
    {
        try
        {
            var o = options.Value;
            var callerKey = "caller:" + user.PrincipalId();
            var agentKey = "agent:" + id;
            if (!gate.TryEnter(callerKey, o.MaxConcurrentPerCaller))
            {
                context.Response.Headers.RetryAfter = "1";
                metrics.RateLimited("relay_caller_concurrency");
                await RpcErrors.WriteAsync(context, 429, "null", RpcCodes.Forbidden, $"Too many calls in flight for this caller (limit {o.MaxConcurrentPerCaller}).", "CALLER_CONCURRENCY");
                return;
            }

            try
            {
                if (!gate.TryEnter(agentKey, o.MaxConcurrentPerAgent))
                {
                    context.Response.Headers.RetryAfter = "1";
                    metrics.RateLimited("relay_agent_concurrency");
                    await RpcErrors.WriteAsync(context, 429, "null", RpcCodes.Forbidden, $"Too many calls in flight to agent '{id}' (limit {o.MaxConcurrentPerAgent}).", "AGENT_CONCURRENCY");
                    return;
                }

                try
                {
                    var checks = new RelayChecks(inbound, outbound, delegation, policyOptions.Value.MaxDelegationDepth);
                    await RelayAsync(id, context, user, policy, agents, owners, audit, tokens, clients, guard, metrics, o, loggers, checks);
                }
                finally
                {
                    gate.Exit(agentKey);
                }
            }
            finally
            {
                gate.Exit(callerKey);
            }
        }
        finally
        {
            // Normally written with the call's first record; here only after a failure that wrote none.
            try
            {
                await DeferredAuthAudit.FlushAsync(context, audit);
            }
            catch (AuditUnavailableException e)
            {
                LogAuthNotRecorded(loggers.CreateLogger("AgentHub.Relay"), e);
            }
        }
    }

    /// <summary>The identity checks of the path: RFC 9421 in and out, and delegation chains.</summary>
    private sealed record RelayChecks(InboundSignatures Inbound, OutboundSigner Outbound, Delegation Delegation, int MaxDelegationDepth);

    private static async Task RelayAsync(string id, HttpContext context, ClaimsPrincipal user, PolicyEngine policy,
        IAgentStore agents, TaskOwners owners, AuditLog audit, HubTokens tokens, IHttpClientFactory clients, UrlGuard guard,
        HubMetrics metrics, RelayOptions o, ILoggerFactory loggers, RelayChecks checks)
    {
        var started = Stopwatch.GetTimestamp();
        var caller = user.PrincipalId();
        var role = user.FindFirstValue(HubClaims.Role);
        var ct = context.RequestAborted;

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = o.MaxRequestBytes;
        }

        byte[] body;
        try
        {
            body = await ReadBodyAsync(context.Request, o.MaxRequestBytes, ct);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await RpcErrors.WriteAsync(context, 413, "null", RpcCodes.InvalidRequest, $"The request body exceeds {o.MaxRequestBytes} bytes.");
            return;
        }
        catch (Exception e) when (e is BadHttpRequestException or IOException && !ct.IsCancellationRequested)
        {
            // Malformed framing (a bad chunk size, a body shorter than announced): the caller's mistake, not the hub's.
            await RpcErrors.WriteAsync(context, e is BadHttpRequestException bad ? bad.StatusCode : 400, "null", RpcCodes.InvalidRequest,
                "The request body could not be read: its framing (Content-Length or chunked encoding) is malformed.");
            return;
        }

        var (envelope, code, error, idJson) = RpcEnvelope.Parse(body);
        var signed = await checks.Inbound.CheckAsync(context, caller, body, ct);
        if (!signed.Ok)
        {
            metrics.SignatureFailure(signed.Reason!);
            try
            {
                await DeferredAuthAudit.AppendWithAsync(context, audit, new AuditEvent(AuditTypes.SignatureFailure, caller, id, AuditOutcome.Failure, new Dictionary<string, string>
                {
                    ["reason"] = signed.Reason!,
                    ["keyid"] = signed.KeyId ?? "",
                    ["detail"] = signed.Message!,
                    ["method"] = envelope?.Method ?? "",
                }));
            }
            catch (AuditUnavailableException)
            {
                // The refusal stands either way; it is only the record that is missing.
            }

            context.Response.Headers.WWWAuthenticate = "Signature";
            await RpcErrors.WriteAsync(context, 401, idJson, RpcCodes.Forbidden, signed.Message!, "SIGNATURE_" + signed.Reason!.ToUpperInvariant());
            return;
        }

        var version = context.Request.Headers["A2A-Version"].ToString();
        if (version != "1.0")
        {
            await RpcErrors.WriteAsync(context, 200, idJson, RpcCodes.VersionNotSupported,
                version.Length == 0
                    ? "A2A-Version header missing (that means 0.3); this hub speaks A2A 1.0: send 'A2A-Version: 1.0'."
                    : $"A2A version '{version}' is not supported; this hub speaks 1.0.",
                "VERSION_NOT_SUPPORTED", SupportedVersions);
            return;
        }

        if (!IsJson(context.Request.ContentType))
        {
            await RpcErrors.WriteAsync(context, 415, idJson, RpcCodes.InvalidRequest,
                "A JSON-RPC request is sent with 'Content-Type: application/json' (UTF-8).", "UNSUPPORTED_MEDIA_TYPE");
            return;
        }

        if (envelope is null)
        {
            await RpcErrors.WriteAsync(context, 200, idJson, code, error!);
            return;
        }

        var method = envelope.Method;
        var chain = CallChain.Direct(caller);
        if (context.Request.Headers[Delegation.Header] is { Count: > 0 } delegated)
        {
            var (verified, delegationError) = await checks.Delegation.VerifyAsync(delegated.ToString(), caller, ct);
            if (verified is null)
            {
                await DenyAsync(context, audit, metrics, caller, id, method, idJson, started, 401, delegationError!, "DELEGATION_INVALID", null);
                return;
            }

            chain = verified;
            var target = Agents.AgentStore.PrincipalOf(id);
            if (chain.Contains(target))
            {
                await DenyAsync(context, audit, metrics, caller, id, method, idJson, started, 403,
                    $"delegation cycle: {target} is already in the chain {chain.Describe(target)}", "DELEGATION_CYCLE", chain);
                return;
            }

            if (chain.Depth > checks.MaxDelegationDepth)
            {
                await DenyAsync(context, audit, metrics, caller, id, method, idJson, started, 403,
                    $"delegation chain {chain.Describe(target)} has {chain.Depth} agents acting for {chain.Subject}; at most {checks.MaxDelegationDepth} are allowed",
                    "DELEGATION_TOO_DEEP", chain);
                return;
            }
        }

        var decision = policy.Decide(caller, role, id, method);
        if (!decision.Allowed)
        {
            await DenyAsync(context, audit, metrics, caller, id, method, idJson, started, 403, decision.Reason, "POLICY_DENIED", chain.Depth > 0 ? chain : null);
            return;
        }

        var upstream = await agents.UpstreamAsync(id, ct);
        if (upstream is null)
        {
            await RpcErrors.WriteAsync(context, 404, idJson, RpcCodes.Forbidden, $"No agent '{id}' is registered.", "AGENT_NOT_FOUND");
            return;
        }

        if (A2AMethods.NamesTask(method))
        {
            // Another caller's task does not exist for this caller: the same answer as an unknown task.
            if (envelope.TaskId is null || await owners.OwnerAsync(id, envelope.TaskId, ct) != caller)
            {
                await RpcErrors.WriteAsync(context, 200, idJson, RpcCodes.TaskNotFound, $"Task '{envelope.TaskId}' not found.", "TASK_NOT_FOUND");
                return;
            }
        }
        else if (envelope.TaskId is { } continued && await owners.OwnerAsync(id, continued, ct) is { } owner && owner != caller)
        {
            await RpcErrors.WriteAsync(context, 200, idJson, RpcCodes.TaskNotFound, $"Task '{continued}' not found.", "TASK_NOT_FOUND");
            return;
        }

        if (envelope.PushUrl is { } webhook)
        {
            var refusal = UrlGuard.CheckSyntax(webhook, "The push notification URL", out var webhookUri) ??
                await guard.CheckAsync(webhookUri!, ct);
            if (refusal is not null)
            {
                await RpcErrors.WriteAsync(context, 200, idJson, RpcCodes.InvalidParams, refusal, "WEBHOOK_REFUSED");
                return;
            }
        }

        var bodySha256 = SHA256.HashData(body); // the audit records' request_sha256 and the forwarded Content-Digest
        var bodyHash = Convert.ToHexStringLower(bodySha256);
        try
        {
            // Fail closed: no durable record, no call.
            await DeferredAuthAudit.AppendWithAsync(context, audit, new AuditEvent(AuditTypes.RelayCall, caller, id, AuditOutcome.Success, new Dictionary<string, string>
            {
                ["method"] = method,
                ["task"] = envelope.TaskId ?? "",
                ["request_sha256"] = bodyHash,
                ["request_bytes"] = body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["rule"] = decision.Rule?.Id ?? "",
                ["signature_keyid"] = signed.KeyId ?? "",
                ["chain"] = chain.Describe(Agents.AgentStore.PrincipalOf(id)),
                ["delegation_depth"] = chain.Depth.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }));
        }
        catch (AuditUnavailableException e)
        {
            await RpcErrors.WriteUnavailableAsync(context, idJson, e, "The audit log could not record this call, so it was not made. Retry later.", "AUDIT_UNAVAILABLE");
            return;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, upstream) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("A2A-Version", "1.0");
        if (context.Request.Headers["A2A-Extensions"] is { Count: > 0 } extensions)
        {
            request.Headers.TryAddWithoutValidation("A2A-Extensions", extensions.ToString());
        }

        request.Headers.Accept.ParseAdd(A2AMethods.IsStreaming(method) ? "text/event-stream" : "application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await tokens.MintAsync(chain.Subject, id, chain.Actors, ct));
        await checks.Outbound.SignAsync(request, bodySha256, caller, ct);

        var outcome = RelayOutcome.Ok;
        long responseBytes = 0;
        // SHA-256 of the answer as relayed (every event of a stream), so the record can be matched to what was seen.
        using var responseHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var upstreamStarted = Stopwatch.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (!A2AMethods.IsStreaming(method))
        {
            timeout.CancelAfter(o.UpstreamTimeout);
        }

        try
        {
            using var response = await clients.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            metrics.UpstreamCall(id, Stopwatch.GetElapsedTime(upstreamStarted));
            if (response.Content.Headers.ContentType?.MediaType == "text/event-stream" && response.IsSuccessStatusCode)
            {
                responseBytes = await StreamAsync(context, response, id, caller, owners, idJson, o, timeout, responseHash, ct);
            }
            else
            {
                (outcome, responseBytes) = await AnswerAsync(context, response, id, caller, method, owners, idJson, o, responseHash, timeout.Token);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            outcome = RelayOutcome.Canceled; // the caller went away; the upstream call is canceled with it
        }
        catch (OperationCanceledException)
        {
            outcome = RelayOutcome.UpstreamError;
            metrics.UpstreamError(id, "timeout");
            await WriteIfNotStartedAsync(context, 504, idJson, $"Agent '{id}' did not answer within {o.UpstreamTimeout.TotalSeconds:0} s.", "UPSTREAM_TIMEOUT");
        }
        catch (HttpRequestException e)
        {
            outcome = RelayOutcome.UpstreamError;
            metrics.UpstreamError(id, "unreachable");
            await WriteIfNotStartedAsync(context, 502, idJson, $"Agent '{id}' could not be reached: {Describe(e)}", "UPSTREAM_UNREACHABLE");
        }
        catch (DbException e)
        {
            // Task ownership could not be recorded, so the answer that names the task does not go out.
            outcome = RelayOutcome.Error;
            await RpcErrors.WriteUnavailableAsync(context, idJson, e, "The hub could not record the call's task, so its answer was withheld. Retry later.", "STORAGE_UNAVAILABLE");
        }

        metrics.RelayCall(id, method, outcome, Stopwatch.GetElapsedTime(started));
        if (outcome != RelayOutcome.Canceled)
        {
            // The answer is complete: send its last bytes now rather than after the outcome's record below, whose
            // durable commit the caller has no reason to wait for.
            try
            {
                await context.Response.CompleteAsync();
            }
            catch (Exception e) when (e is IOException or OperationCanceledException)
            {
                // the caller went away meanwhile; the outcome is still recorded
            }
        }

        try
        {
            // Queued, not awaited: the answer is out, and the caller's connection need not wait for this commit
            // (the audit API waits for it; so does shutdown).
            await audit.QueueAsync(new AuditEvent(AuditTypes.RelayResult, caller, id,
                outcome == RelayOutcome.Ok ? AuditOutcome.Success : AuditOutcome.Failure, new Dictionary<string, string>
                {
                    ["method"] = method,
                    ["outcome"] = outcome,
                    ["status"] = context.Response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["latency_ms"] = Stopwatch.GetElapsedTime(started).TotalMilliseconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture),
                    ["response_bytes"] = responseBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["response_sha256"] = Convert.ToHexStringLower(responseHash.GetHashAndReset()),
                    ["request_sha256"] = bodyHash,
                }));
        }
        catch (AuditUnavailableException e)
        {
            // The call already happened and its answer is on its way; its start is on record. Say so in the log.
            LogOutcomeNotRecorded(loggers.CreateLogger("AgentHub.Relay"), e, id);
        }
    }

    private static async Task DenyAsync(HttpContext context, AuditLog audit, HubMetrics metrics, string caller, string id, string method,
        string idJson, long started, int status, string reason, string code, CallChain? chain)
    {
        metrics.PolicyDenied(id, method);
        var details = new Dictionary<string, string> { ["method"] = method, ["reason"] = reason, ["code"] = code };
        if (chain is not null)
        {
            details["chain"] = chain.Describe(Agents.AgentStore.PrincipalOf(id));
        }

        await DeferredAuthAudit.AppendWithAsync(context, audit, new AuditEvent(AuditTypes.RelayDenied, caller, id, AuditOutcome.Denied, details));
        metrics.RelayCall(id, method, RelayOutcome.Denied, Stopwatch.GetElapsedTime(started));
        await RpcErrors.WriteAsync(context, status, idJson, RpcCodes.Forbidden, reason, code);
    }

    private static async Task<(string Outcome, long Bytes)> AnswerAsync(HttpContext context, HttpResponseMessage response, string agent,
        string caller, string method, TaskOwners owners, string idJson, RelayOptions o, IncrementalHash hash, CancellationToken ct)
    {
        var bytes = await ReadLimitedAsync(response.Content, o.MaxResponseBytes, ct);
        // A pooled, read-only parse: an answer is only checked and searched for task ids; ListTasks alone is rebuilt.
        using var answer = TryParse(bytes);
        if (answer?.RootElement is not { ValueKind: JsonValueKind.Object } rpc || (!Has(rpc, "result") && !Has(rpc, "error")))
        {
            var why = bytes is null ? $"its answer exceeds {o.MaxResponseBytes} bytes" : $"HTTP {(int)response.StatusCode}, not a JSON-RPC response";
            await RpcErrors.WriteAsync(context, 200, idJson, RpcCodes.InvalidAgentResponse, $"Agent '{agent}' sent an invalid answer ({why}).", "INVALID_AGENT_RESPONSE");
            return (RelayOutcome.UpstreamError, bytes?.Length ?? 0);
        }

        if (Has(rpc, "result"))
        {
            var result = rpc.GetProperty("result");
            await owners.RecordAsync(agent, TaskIds(result), caller, ct);
            if (method == A2AMethods.ListTasks && result.ValueKind == JsonValueKind.Object
                && result.TryGetProperty("tasks", out var listed) && listed.ValueKind == JsonValueKind.Array)
            {
                bytes = await OnlyOwnTasksAsync(bytes!, agent, caller, owners, ct);
            }
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = bytes!.Length;
        hash.AppendData(bytes!);
        await context.Response.Body.WriteAsync(bytes, ct);
        return (RelayOutcome.Ok, bytes!.Length);
    }

    /// <summary>Relays an SSE stream event by event; each event is flushed as soon as it is complete.</summary>
    private static async Task<long> StreamAsync(HttpContext context, HttpResponseMessage response, string agent, string caller,
        TaskOwners owners, string idJson, RelayOptions o, CancellationTokenSource idle, IncrementalHash hash, CancellationToken ct)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await context.Response.StartAsync(ct);

        await using var upstream = await response.Content.ReadAsStreamAsync(ct);
        using var reader = new StreamReader(upstream, Encoding.UTF8);
        var pending = new StringBuilder();
        var owned = new HashSet<string>(StringComparer.Ordinal); // task ids of this stream already on record
        long total = 0;
        while (true)
        {
            idle.CancelAfter(o.StreamIdleTimeout);
            var line = await reader.ReadLineAsync(idle.Token);
            if (line is null)
            {
                break;
            }

            if (line.Length > 0)
            {
                pending.Append(line).Append('\n');
                if (pending.Length > o.MaxEventBytes)
                {
                    await context.Response.Body.WriteAsync(RpcErrors.Event(idJson, RpcCodes.InvalidAgentResponse,
                        $"Agent '{agent}' sent an event larger than {o.MaxEventBytes} bytes; the stream was ended."), ct);
                    await context.Response.Body.FlushAsync(ct);
                    break;
                }

                continue;
            }

            if (pending.Length == 0)
            {
                continue;
            }

            pending.Append('\n');
            var text = pending.ToString();
            pending.Clear();
            // Ownership is durable before the event that names a task goes out; a stream names its task in every
            // event, and only the first needs the write.
            var fresh = EventTaskIds(text).Where(owned.Add).ToList();
            await owners.RecordAsync(agent, fresh, caller, ct);
            var bytes = Encoding.UTF8.GetBytes(text);
            total += bytes.Length;
            hash.AppendData(bytes);
            await context.Response.Body.WriteAsync(bytes, ct);
            await context.Response.Body.FlushAsync(ct);
        }

        return total;
    }

    private static List<string> EventTaskIds(string sseEvent)
    {
        var ids = new List<string>();
        foreach (var line in sseEvent.Split('\n'))
        {
            if (!line.StartsWith("data:", StringComparison.Ordinal))
            {
                continue;
            }

            try
            {
                using var rpc = JsonDocument.Parse(line.AsMemory(5));
                if (rpc.RootElement.ValueKind == JsonValueKind.Object && rpc.RootElement.TryGetProperty("result", out var result))
                {
                    ids.AddRange(TaskIds(result));
                }
            }
            catch (JsonException)
            {
                // Not JSON: relayed as is, nothing to learn from it.
            }
        }

        return ids;
    }

    /// <summary>Task ids in an A2A result: a Task, <c>{task}</c>, a Message's taskId, status/artifact updates.</summary>
    private static List<string> TaskIds(JsonElement result)
    {
        var ids = new List<string>();
        if (result.ValueKind != JsonValueKind.Object)
        {
            return ids;
        }

        if (Has(result, "status") && Str(result, "id") is { } taskId)
        {
            ids.Add(taskId);
        }

        foreach (var key in TaskHolders)
        {
            if (result.TryGetProperty(key, out var inner) && inner.ValueKind == JsonValueKind.Object)
            {
                if (key == "task" && Str(inner, "id") is { } t)
                {
                    ids.Add(t);
                }

                if (Str(inner, "taskId") is { } tid)
                {
                    ids.Add(tid);
                }
            }
        }

        if (Str(result, "taskId") is { } direct)
        {
            ids.Add(direct);
        }

        return ids;

        static string? Str(JsonElement o, string name) =>
            o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
    }

    private static readonly string[] TaskHolders = ["task", "statusUpdate", "artifactUpdate", "message"];

    /// <summary>A member that is present and not null.</summary>
    private static bool Has(JsonElement o, string name) => o.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    private static JsonDocument? TryParse(byte[]? bytes)
    {
        if (bytes is null)
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(bytes);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>ListTasks: the answer rebuilt with only the caller's own tasks.</summary>
    private static async Task<byte[]> OnlyOwnTasksAsync(byte[] bytes, string agent, string caller, TaskOwners owners, CancellationToken ct)
    {
        var rpc = (JsonObject)JsonNode.Parse(bytes)!;
        var result = rpc["result"]!;
        var tasks = (JsonArray)result["tasks"]!;
        var listed = tasks.OfType<JsonObject>().Select(t => t["id"]?.GetValue<string>()).OfType<string>().ToList();
        var mine = await owners.OwnedAsync(agent, caller, listed, ct);
        foreach (var task in tasks.OfType<JsonObject>().Where(t => t["id"]?.GetValue<string>() is not { } tid || !mine.Contains(tid)).ToList())
        {
            tasks.Remove(task);
        }

        if (result["totalSize"] is not null)
        {
            result["totalSize"] = tasks.Count;
        }

        return Encoding.UTF8.GetBytes(rpc.ToJsonString());
    }

    /// <summary>Bodies of a known length up to this size are read into an array of exactly that size.</summary>
    private const long ExactReadBytes = 64 * 1024;

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, long limit, CancellationToken ct)
    {
        if (request.ContentLength is { } announced && announced <= Math.Min(limit, ExactReadBytes))
        {
            // The usual case: a small body of known length is read straight into an array of that size. Kestrel ends
            // the body at the announced length and fails a shorter one (BadHttpRequestException). A larger one grows
            // as it arrives, so a slow sender cannot make the hub reserve the whole limit up front.
            return await ReadExactlyAsync(request.Body, announced, ct) ?? throw new BadHttpRequestException("Request body too short.", 400);
        }

        return await ReadToEndAsync(request.Body, limit, ct) ??
            throw new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge);
    }

    /// <summary>The answer's body, or null when it exceeds <paramref name="limit"/> bytes.</summary>
    private static async Task<byte[]?> ReadLimitedAsync(HttpContent content, long limit, CancellationToken ct)
    {
        await using var stream = await content.ReadAsStreamAsync(ct);
        if (content.Headers.ContentLength is { } announced && (announced > limit || announced <= ExactReadBytes))
        {
            // A truncated answer stays truncated (and then fails to parse as JSON-RPC), as it would read in chunks.
            return announced > limit ? null : await ReadExactlyAsync(stream, announced, ct, truncatedAsIs: true);
        }

        return await ReadToEndAsync(stream, limit, ct);
    }

    /// <summary>
    /// Reads <paramref name="length"/> bytes into an array of that size. A stream that ends early gives null, or with
    /// <paramref name="truncatedAsIs"/> the bytes it had.
    /// </summary>
    private static async Task<byte[]?> ReadExactlyAsync(Stream stream, long length, CancellationToken ct, bool truncatedAsIs = false)
    {
        var bytes = new byte[length];
        var filled = 0;
        while (filled < bytes.Length)
        {
            var read = await stream.ReadAsync(bytes.AsMemory(filled), ct);
            if (read == 0)
            {
                return truncatedAsIs ? bytes[..filled] : null;
            }

            filled += read;
        }

        return bytes;
    }

    /// <summary>Reads a stream of unknown length through a pooled buffer; null when it exceeds <paramref name="limit"/> bytes.</summary>
    private static async Task<byte[]?> ReadToEndAsync(Stream stream, long limit, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await stream.ReadAsync(chunk, ct)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }

    /// <summary>application/json or a +json type, in UTF-8 (the only charset JSON has, RFC 8259 §8.1).</summary>
    private static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var type) && type.MediaType is { } media &&
        (media.Equals("application/json", StringComparison.OrdinalIgnoreCase) ||
         (media.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && media.EndsWith("+json", StringComparison.OrdinalIgnoreCase))) &&
        (type.CharSet is null || type.CharSet.Trim('"').Equals("utf-8", StringComparison.OrdinalIgnoreCase));

    private static Task WriteIfNotStartedAsync(HttpContext context, int status, string idJson, string message, string reason) =>
        context.Response.HasStarted
            ? context.Response.Body.WriteAsync(RpcErrors.Event(idJson, RpcCodes.Internal, message)).AsTask()
            : RpcErrors.WriteAsync(context, status, idJson, RpcCodes.Internal, message, reason);

    private static string Describe(HttpRequestException e) => e.InnerException switch
    {
        UrlRefusedException refused => refused.Message,
        System.Net.Sockets.SocketException socket => socket.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionRefused
            ? "connection refused"
            : socket.Message,
        _ => e.HttpRequestError == HttpRequestError.ConnectionError ? "connection failed" : e.Message,
    };

    [LoggerMessage(EventId = 3101, Level = LogLevel.Error, Message = "The authentication of a relay call that failed could not be written to the audit log")]
    private static partial void LogAuthNotRecorded(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Error, Message = "The outcome of a call to agent {Agent} could not be written to the audit log")]
    private static partial void LogOutcomeNotRecorded(ILogger logger, Exception exception, string agent);
}
