using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentHub.Client;

/// <summary>Who the caller is, as the hub sees it.</summary>
/// <param name="Principal">The authenticated principal, e.g. <c>user:alice</c>.</param>
/// <param name="Role">The role of the key used.</param>
/// <param name="KeyId">The public id of the key used.</param>
public sealed record WhoAmI(string Principal, string Role, string KeyId);

/// <summary>Request to create an API key.</summary>
/// <param name="Principal"><c>user:&lt;name&gt;</c>; created if it does not exist.</param>
/// <param name="Role"><c>admin</c>, <c>operator</c> or <c>auditor</c>.</param>
/// <param name="Name">Optional label.</param>
/// <param name="ExpiresAt">Optional expiry (must be in the future).</param>
public sealed record CreateKeyRequest(string Principal, string Role, string? Name = null, DateTimeOffset? ExpiresAt = null);

/// <summary>A newly created key. <see cref="Key"/> is shown only in this response.</summary>
/// <param name="Id">Public key id.</param>
/// <param name="Key">The secret API key; store it now, the hub keeps only its hash.</param>
/// <param name="Principal">Owner of the key.</param>
/// <param name="Role">Role of the key.</param>
/// <param name="Name">Label.</param>
/// <param name="CreatedAt">Creation time (UTC).</param>
/// <param name="ExpiresAt">Expiry, if any.</param>
public sealed record CreatedKey(string Id, string Key, string Principal, string Role, string? Name, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt);

/// <summary>An API key as listed by the hub (never its secret).</summary>
/// <param name="Id">Public key id.</param>
/// <param name="Principal">Owner.</param>
/// <param name="Role">Role.</param>
/// <param name="Name">Label.</param>
/// <param name="Active">Neither revoked nor expired.</param>
/// <param name="CreatedAt">Creation time.</param>
/// <param name="CreatedBy">Principal that created it.</param>
/// <param name="ExpiresAt">Expiry, if any.</param>
/// <param name="RevokedAt">Revocation time, if revoked.</param>
/// <param name="RevokedBy">Principal that revoked it.</param>
/// <param name="LastUsedAt">Last successful use (updated at most once a minute).</param>
public sealed record ApiKeyInfo(string Id, string Principal, string Role, string? Name, bool Active, DateTimeOffset CreatedAt,
    string CreatedBy, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, string? RevokedBy, DateTimeOffset? LastUsedAt);

/// <summary>A principal known to the hub.</summary>
/// <param name="Id">e.g. <c>user:alice</c>.</param>
/// <param name="Kind"><c>user</c> or <c>agent</c>.</param>
/// <param name="CreatedAt">Creation time.</param>
/// <param name="CreatedBy">Who created it.</param>
/// <param name="ActiveKeys">Number of active keys.</param>
public sealed record PrincipalInfo(string Id, string Kind, DateTimeOffset CreatedAt, string? CreatedBy, int ActiveKeys);

/// <summary>One of the hub's signing keys (public part only).</summary>
/// <param name="Kid">Key id (RFC 7638 thumbprint), as in the JWKS.</param>
/// <param name="Algorithm">JOSE algorithm, <c>ES256</c>.</param>
/// <param name="Active">The key the hub signs with now.</param>
/// <param name="CreatedAt">Creation time.</param>
/// <param name="RetiredAt">When it stopped signing (still published for verification).</param>
public sealed record SigningKeyInfo(string Kid, string Algorithm, bool Active, DateTimeOffset CreatedAt, DateTimeOffset? RetiredAt);

/// <summary>A policy rule to create.</summary>
/// <param name="Caller"><c>agent:&lt;id&gt;</c>, <c>user:&lt;name&gt;</c>, <c>role:&lt;role&gt;</c> or <c>*</c>.</param>
/// <param name="Agent">The target agent id, or <c>*</c>.</param>
/// <param name="Methods">A2A v1.0 method names (<c>SendMessage</c>, …), or <c>["*"]</c> for every method.</param>
/// <param name="Effect"><c>allow</c> or <c>deny</c>; a matching deny beats any allow.</param>
/// <param name="Description">Optional note (at most 500 characters).</param>
public sealed record CreatePolicyRequest(string Caller, string Agent, IReadOnlyList<string> Methods, string Effect, string? Description = null);

/// <summary>A policy rule as stored by the hub.</summary>
/// <param name="Id">Rule id (<c>pol_…</c>).</param>
/// <param name="Caller">Who the rule is about.</param>
/// <param name="Agent">Target agent id or <c>*</c>.</param>
/// <param name="Methods">Method names or <c>["*"]</c>.</param>
/// <param name="Effect"><c>allow</c> or <c>deny</c>.</param>
/// <param name="Description">Optional note.</param>
/// <param name="CreatedAt">Creation time.</param>
/// <param name="CreatedBy">Principal that created it.</param>
public sealed record PolicyRuleInfo(string Id, string Caller, string Agent, IReadOnlyList<string> Methods, string Effect,
    string? Description, DateTimeOffset CreatedAt, string CreatedBy);

/// <summary>A question for <c>POST /api/v1/policies/explain</c>.</summary>
/// <param name="Caller">The calling principal, <c>agent:&lt;id&gt;</c> or <c>user:&lt;name&gt;</c>.</param>
/// <param name="Agent">The target agent id.</param>
/// <param name="Method">The A2A method name.</param>
/// <param name="Role">The caller's role, so <c>role:</c> rules apply; without it they do not.</param>
public sealed record ExplainPolicyRequest(string Caller, string Agent, string Method, string? Role = null);

/// <summary>The hub's policy answer and why.</summary>
/// <param name="Decision"><c>allow</c> or <c>deny</c>.</param>
/// <param name="Rule">The rule that decided, or null when no rule matched (default deny).</param>
/// <param name="Reason">e.g. <c>no rule allows agent:planner to call echo.SendMessage</c> or <c>denied by rule pol_…</c>.</param>
/// <param name="PolicyVersion">The policy version the answer was computed at.</param>
public sealed record PolicyExplanation(string Decision, PolicyRuleInfo? Rule, string Reason, long PolicyVersion);

/// <summary>A page of results; pass <see cref="Next"/> as <c>after</c> to get the following page.</summary>
/// <typeparam name="T">Item type.</typeparam>
/// <param name="Items">The items.</param>
/// <param name="Next">Cursor of the next page, or null on the last page.</param>
public sealed record Page<T>(IReadOnlyList<T> Items, string? Next);

/// <summary>An RFC 9457 problem as the hub returns it.</summary>
public sealed record Problem
{
    /// <summary>Short summary.</summary>
    public string? Title { get; init; }

    /// <summary>What went wrong, for this request.</summary>
    public string? Detail { get; init; }

    /// <summary>HTTP status.</summary>
    public int? Status { get; init; }

    /// <summary>Validation errors by field.</summary>
    public Dictionary<string, string[]>? Errors { get; init; }

    /// <summary>Identifies the request in the hub's log.</summary>
    public string? TraceId { get; init; }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WhoAmI))]
[JsonSerializable(typeof(CreateKeyRequest))]
[JsonSerializable(typeof(CreatedKey))]
[JsonSerializable(typeof(ApiKeyInfo))]
[JsonSerializable(typeof(Page<ApiKeyInfo>))]
[JsonSerializable(typeof(PrincipalInfo))]
[JsonSerializable(typeof(Page<PrincipalInfo>))]
[JsonSerializable(typeof(SigningKeyInfo))]
[JsonSerializable(typeof(IReadOnlyList<SigningKeyInfo>))]
[JsonSerializable(typeof(CreatePolicyRequest))]
[JsonSerializable(typeof(PolicyRuleInfo))]
[JsonSerializable(typeof(Page<PolicyRuleInfo>))]
[JsonSerializable(typeof(ExplainPolicyRequest))]
[JsonSerializable(typeof(PolicyExplanation))]
[JsonSerializable(typeof(Problem))]
internal sealed partial class ClientJsonContext : JsonSerializerContext;
