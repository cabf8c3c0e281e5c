using System.Text.Json;
using AgentHub.Identity;

namespace AgentHub.Agents;

/// <summary>
/// POST /api/v1/agents: <c>cardUrl</c> or an inline <c>card</c> (kept as raw JSON so unknown members survive).
/// <c>keys</c>, <c>hmacSecret</c> and <c>requireSignature</c> set the agent's signature keys as
/// <c>PUT /api/v1/agents/{id}/keys</c> does; when all three are absent the keys stay as they are.
/// </summary>
internal sealed record RegisterAgentRequest(string? Id, string? CardUrl, JsonElement? Card, string? UpstreamUrl,
    IReadOnlyList<JsonElement>? Keys = null, bool? HmacSecret = null, bool? RequireSignature = null);

/// <summary>
/// An agent as discovery shows it. <c>upstreamUrl</c> and <c>cardUrl</c> are internal addresses, shown to operators,
/// admins and auditors only: agents reach each other through the hub, never directly.
/// </summary>
internal sealed record AgentResponse(
    string Id,
    string Name,
    string Description,
    string CardVersion,
    long Version,
    IReadOnlyList<AgentSkillSummary> Skills,
    string HubCardUrl,
    string Health,
    DateTimeOffset? LastCheckedAt,
    DateTimeOffset CreatedAt,
    string CreatedBy,
    DateTimeOffset UpdatedAt,
    string UpdatedBy,
    string? UpstreamUrl,
    string? CardUrl);

/// <summary>The answer to a registration. <c>key</c> is present only when a key was issued now, and shown only here.</summary>
internal sealed record RegisteredAgentResponse(
    AgentResponse Agent,
    bool Created,
    bool VersionCreated,
    bool KeyIssued,
    CreatedKeyResponse? Key,
    string Message,
    AgentHub.Signatures.AgentKeysResponse? SignatureKeys = null);

internal sealed record AgentVersionResponse(long Version, DateTimeOffset CreatedAt, string CreatedBy, string CardSha256, string CardVersion);
