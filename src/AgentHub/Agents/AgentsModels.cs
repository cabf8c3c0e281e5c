using System.Text.Json;
using AgentHub.Identity;

namespace AgentHub.Agents;

/// <summary>
/// POST /api/v1/agents: <c>cardUrl</c> or an inline <c>card</c> (kept as raw JSON so unknown members survive).
/// <c>cardKeys</c> (a JWKS of public P-256 keys) is what the card's <c>signatures</c> are verified against;
/// <c>allowInvalidSignature</c> registers a card whose signatures do not verify, recorded as <c>invalid</c>.
/// <c>keys</c>, <c>hmacSecret</c> and <c>requireSignature</c> set the agent's request signature keys as
/// <c>PUT /api/v1/agents/{id}/keys</c> does; when all three are absent the keys stay as they are.
/// </summary>
internal sealed record RegisterAgentRequest(
    string? Id,
    string? CardUrl,
    JsonElement? Card,
    string? UpstreamUrl,
    // Card signatures (see CardSignatureCheck):
    JsonElement? CardKeys = null,
    bool? AllowInvalidSignature = null,
    // Request signature keys (see AgentKeysApi):
    IReadOnlyList<JsonElement>? Keys = null,
    bool? HmacSecret = null,
    bool? RequireSignature = null);

/// <summary>
/// An agent as discovery shows it. <c>upstreamUrl</c> and <c>cardUrl</c> are internal addresses, shown to operators,
/// admins and auditors only: agents reach each other through the hub, never directly. <c>cardSignature</c> is the
/// verdict on the current card's own signatures at registration.
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
    string? CardUrl,
    string CardSignature,
    string? CardSignatureDetail);

/// <summary>The answer to a registration. <c>key</c> is present only when a key was issued now, and shown only here.</summary>
internal sealed record RegisteredAgentResponse(
    AgentResponse Agent,
    bool Created,
    bool VersionCreated,
    bool KeyIssued,
    CreatedKeyResponse? Key,
    string Message,
    AgentHub.Signatures.AgentKeysResponse? SignatureKeys = null);

/// <summary>A kept card version with the verdict on its signatures (<c>verified</c>, <c>unsigned</c> or <c>invalid</c>).</summary>
internal sealed record AgentVersionResponse(long Version, DateTimeOffset CreatedAt, string CreatedBy, string CardSha256, string CardVersion,
    string CardSignature, string? CardSignatureDetail);
