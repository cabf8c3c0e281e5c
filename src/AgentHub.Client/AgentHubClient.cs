using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Serialization.Metadata;

namespace AgentHub.Client;

/// <summary>
/// A small client for the hub's admin API (<c>/api/v1</c>). Every call sends the API key as a bearer token;
/// an error answer becomes an <see cref="AgentHubException"/> carrying the hub's problem details.
/// </summary>
public sealed class AgentHubClient
{
    private readonly HttpClient _http;

    /// <summary>Uses <paramref name="http"/> as is; its BaseAddress must be the hub's URL.</summary>
    public AgentHubClient(HttpClient http)
    {
        ArgumentNullException.ThrowIfNull(http);
        _http = http;
    }

    /// <summary>Creates a client for the hub at <paramref name="hubUrl"/> that authenticates with <paramref name="apiKey"/>.</summary>
    public static AgentHubClient Create(Uri hubUrl, string apiKey, HttpMessageHandler? handler = null)
    {
        var http = handler is null ? new HttpClient() : new HttpClient(handler);
        http.BaseAddress = hubUrl;
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return new AgentHubClient(http);
    }

    /// <summary>GET /api/v1/me.</summary>
    public Task<WhoAmI> WhoAmIAsync(CancellationToken ct = default) =>
        SendAsync(HttpMethod.Get, "api/v1/me", null, ClientJsonContext.Default.WhoAmI, ct);

    /// <summary>POST /api/v1/keys (admin).</summary>
    public Task<CreatedKey> CreateKeyAsync(CreateKeyRequest request, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "api/v1/keys", JsonContent.Create(request, ClientJsonContext.Default.CreateKeyRequest),
            ClientJsonContext.Default.CreatedKey, ct);

    /// <summary>GET /api/v1/keys; admins see every key, others their own.</summary>
    public Task<Page<ApiKeyInfo>> ListKeysAsync(string? principal = null, string? after = null, int? limit = null, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Get, "api/v1/keys" + Query(("principal", principal), ("after", after), ("limit", limit?.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            null, ClientJsonContext.Default.PageApiKeyInfo, ct);

    /// <summary>GET /api/v1/keys/{id}.</summary>
    public Task<ApiKeyInfo> GetKeyAsync(string id, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Get, "api/v1/keys/" + Uri.EscapeDataString(id), null, ClientJsonContext.Default.ApiKeyInfo, ct);

    /// <summary>DELETE /api/v1/keys/{id}: revokes the key (idempotent).</summary>
    public Task RevokeKeyAsync(string id, CancellationToken ct = default) =>
        SendAsync<object>(HttpMethod.Delete, "api/v1/keys/" + Uri.EscapeDataString(id), null, null, ct);

    /// <summary>GET /api/v1/principals (admin).</summary>
    public Task<Page<PrincipalInfo>> ListPrincipalsAsync(string? after = null, int? limit = null, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Get, "api/v1/principals" + Query(("after", after), ("limit", limit?.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            null, ClientJsonContext.Default.PagePrincipalInfo, ct);

    /// <summary>GET /api/v1/principals/{id} (admin).</summary>
    public Task<PrincipalInfo> GetPrincipalAsync(string id, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Get, "api/v1/principals/" + Uri.EscapeDataString(id), null, ClientJsonContext.Default.PrincipalInfo, ct);

    /// <summary>GET /api/v1/signing-keys (admin).</summary>
    public Task<IReadOnlyList<SigningKeyInfo>> ListSigningKeysAsync(CancellationToken ct = default) =>
        SendAsync(HttpMethod.Get, "api/v1/signing-keys", null, ClientJsonContext.Default.IReadOnlyListSigningKeyInfo, ct);

    /// <summary>POST /api/v1/signing-keys/rotate (admin): a new active key; the old one stays published.</summary>
    public Task<SigningKeyInfo> RotateSigningKeyAsync(CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "api/v1/signing-keys/rotate", null, ClientJsonContext.Default.SigningKeyInfo, ct);

    /// <summary>POST /api/v1/agents (operator or admin): register or re-register an agent.</summary>
    public Task<RegisteredAgent> RegisterAgentAsync(RegisterAgentRequest request, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "api/v1/agents", JsonContent.Create(request, ClientJsonContext.Default.RegisterAgentRequest),
            ClientJsonContext.Default.RegisteredAgent, ct);

    /// <summary>GET /api/v1/agents/{id}/keys (operator, admin or auditor): the agent's signature keys, without secrets.</summary>
    public Task<AgentKeys> GetAgentKeysAsync(string id, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Get, "api/v1/agents/" + Uri.EscapeDataString(id) + "/keys", null, ClientJsonContext.Default.AgentKeys, ct);

    /// <summary>PUT /api/v1/agents/{id}/keys (operator or admin): sets the agent's signature keys; an HMAC secret is shown only in this answer.</summary>
    public Task<AgentKeys> SetAgentKeysAsync(string id, SetAgentKeysRequest request, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Put, "api/v1/agents/" + Uri.EscapeDataString(id) + "/keys",
            JsonContent.Create(request, ClientJsonContext.Default.SetAgentKeysRequest), ClientJsonContext.Default.AgentKeys, ct);

    /// <summary>GET /api/v1/agents: discovery by skill id, tag or text, paged.</summary>
    public Task<Page<AgentInfo>> ListAgentsAsync(string? skill = null, string? tag = null, string? query = null, string? after = null,
        int? limit = null, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Get, "api/v1/agents" + Query(("skill", skill), ("tag", tag), ("q", query), ("after", after),
            ("limit", limit?.ToString(System.Globalization.CultureInfo.InvariantCulture))), null, ClientJsonContext.Default.PageAgentInfo, ct);

    /// <summary>GET /api/v1/agents/{id}.</summary>
    public Task<AgentInfo> GetAgentAsync(string id, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Get, "api/v1/agents/" + Uri.EscapeDataString(id), null, ClientJsonContext.Default.AgentInfo, ct);

    /// <summary>GET /api/v1/agents/{id}/versions: the kept card versions, oldest first.</summary>
    public Task<IReadOnlyList<AgentVersionInfo>> ListAgentVersionsAsync(string id, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Get, "api/v1/agents/" + Uri.EscapeDataString(id) + "/versions", null,
            ClientJsonContext.Default.IReadOnlyListAgentVersionInfo, ct);

    /// <summary>DELETE /api/v1/agents/{id} (operator or admin): deletes the agent and revokes its keys.</summary>
    public Task DeleteAgentAsync(string id, CancellationToken ct = default) =>
        SendAsync<object>(HttpMethod.Delete, "api/v1/agents/" + Uri.EscapeDataString(id), null, null, ct);
    /// <summary>POST /api/v1/policies (operator or admin): the rule applies on this hub instance when the call returns.</summary>
    public Task<PolicyRuleInfo> CreatePolicyAsync(CreatePolicyRequest request, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "api/v1/policies", JsonContent.Create(request, ClientJsonContext.Default.CreatePolicyRequest),
            ClientJsonContext.Default.PolicyRuleInfo, ct);

    /// <summary>GET /api/v1/policies, optionally only the rules with exactly this caller and/or agent.</summary>
    public Task<Page<PolicyRuleInfo>> ListPoliciesAsync(string? caller = null, string? agent = null, string? after = null, int? limit = null,
        CancellationToken ct = default) =>
        SendAsync(HttpMethod.Get, "api/v1/policies" + Query(("caller", caller), ("agent", agent), ("after", after),
            ("limit", limit?.ToString(System.Globalization.CultureInfo.InvariantCulture))), null, ClientJsonContext.Default.PagePolicyRuleInfo, ct);

    /// <summary>GET /api/v1/policies/{id}.</summary>
    public Task<PolicyRuleInfo> GetPolicyAsync(string id, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Get, "api/v1/policies/" + Uri.EscapeDataString(id), null, ClientJsonContext.Default.PolicyRuleInfo, ct);

    /// <summary>DELETE /api/v1/policies/{id} (operator or admin).</summary>
    public Task DeletePolicyAsync(string id, CancellationToken ct = default) =>
        SendAsync<object>(HttpMethod.Delete, "api/v1/policies/" + Uri.EscapeDataString(id), null, null, ct);

    /// <summary>POST /api/v1/policies/explain: the decision for one call and the rule that made it.</summary>
    public Task<PolicyExplanation> ExplainPolicyAsync(ExplainPolicyRequest request, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "api/v1/policies/explain", JsonContent.Create(request, ClientJsonContext.Default.ExplainPolicyRequest),
            ClientJsonContext.Default.PolicyExplanation, ct);

    /// <summary>GET /api/v1/audit/export streamed to <paramref name="path"/> (auditor or admin); returns the number of lines.</summary>
    public async Task<long> ExportAuditAsync(string path, CancellationToken ct = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/v1/audit/export");
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        await EnsureSuccessAsync(response, ct).ConfigureAwait(false);
        var temp = path + ".partial";
        long lines = 0;
        await using (var source = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false))
        await using (var target = File.Create(temp))
        {
            var buffer = new byte[81920];
            int read;
            while ((read = await source.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                lines += buffer.AsSpan(0, read).Count((byte)'\n');
                await target.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
            }
        }

        File.Move(temp, path, overwrite: true);
        return lines;
    }

    /// <summary>
    /// Sends a text message to an agent through the hub (<c>POST /a2a/{agent}</c>, A2A v1.0 <c>SendMessage</c>) and
    /// returns the JSON-RPC <c>result</c> (a <c>{"task":…}</c> or <c>{"message":…}</c>). A JSON-RPC error becomes an
    /// <see cref="AgentHubException"/> with its message.
    /// </summary>
    public async Task<System.Text.Json.JsonElement> SendMessageAsync(string agent, string text, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(agent);
        using var body = new MemoryStream();
        using (var writer = new System.Text.Json.Utf8JsonWriter(body))
        {
            writer.WriteStartObject();
            writer.WriteString("jsonrpc", "2.0");
            writer.WriteString("id", Guid.NewGuid().ToString());
            writer.WriteString("method", "SendMessage");
            writer.WriteStartObject("params");
            writer.WriteStartObject("message");
            writer.WriteString("messageId", Guid.NewGuid().ToString());
            writer.WriteString("role", "ROLE_USER");
            writer.WriteStartArray("parts");
            writer.WriteStartObject();
            writer.WriteString("text", text);
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "a2a/" + Uri.EscapeDataString(agent))
        {
            Content = new ByteArrayContent(body.ToArray()),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("A2A-Version", "1.0");
        using var response = await _http.SendAsync(request, ct).ConfigureAwait(false);
        var text2 = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        System.Text.Json.JsonElement root;
        try
        {
            root = System.Text.Json.JsonDocument.Parse(text2).RootElement.Clone();
        }
        catch (System.Text.Json.JsonException)
        {
            throw new AgentHubException($"{(int)response.StatusCode}: the hub's answer is not JSON.");
        }

        if (root.TryGetProperty("error", out var error))
        {
            var message = error.TryGetProperty("message", out var m) ? m.GetString() : null;
            throw new AgentHubException($"{(int)response.StatusCode} JSON-RPC error {(error.TryGetProperty("code", out var c) ? c.GetRawText() : "?")}: {message}");
        }

        if (!response.IsSuccessStatusCode || !root.TryGetProperty("result", out var result))
        {
            var problem = root.TryGetProperty("detail", out var d) ? d.GetString() : null;
            throw new AgentHubException($"{(int)response.StatusCode}: {problem ?? "the hub refused the call"}");
        }

        return result;
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        Problem? problem = null;
        if (response.Content.Headers.ContentType?.MediaType is "application/problem+json" or "application/json")
        {
            try
            {
                problem = await response.Content.ReadFromJsonAsync(ClientJsonContext.Default.Problem, ct).ConfigureAwait(false);
            }
            catch (System.Text.Json.JsonException)
            {
                // Not a problem document after all; the status code still says what happened.
            }
        }

        throw new AgentHubException(response.StatusCode, problem);
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? content, JsonTypeInfo<T>? type, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var response = await _http.SendAsync(request, ct).ConfigureAwait(false);
        await EnsureSuccessAsync(response, ct).ConfigureAwait(false);

        if (type is null || response.StatusCode == HttpStatusCode.NoContent)
        {
            return default!;
        }

        return await response.Content.ReadFromJsonAsync(type, ct).ConfigureAwait(false)
            ?? throw new AgentHubException("The hub sent an empty answer.");
    }

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var parts = parameters.Where(p => !string.IsNullOrEmpty(p.Value))
            .Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToList();
        return parts.Count == 0 ? "" : "?" + string.Join('&', parts);
    }
}
