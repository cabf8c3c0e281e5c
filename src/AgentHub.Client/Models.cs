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

/// <summary>Request to register (or re-register) an agent: give <see cref="CardUrl"/> or <see cref="Card"/>.</summary>
/// <param name="Id">The agent's id, a slug (a-z, 0-9, '-').</param>
/// <param name="CardUrl">Where the hub fetches the agent's A2A card.</param>
/// <param name="Card">The A2A card itself, as JSON.</param>
/// <param name="UpstreamUrl">Where the hub forwards calls; default: the card's first JSONRPC interface.</param>
/// <param name="CardKeys">
/// A JWKS (<c>{"keys":[…]}</c>) of the public EC P-256 keys the card's <c>signatures</c> are verified against. A signed
/// card without keys, or an unsigned card with keys, is <c>invalid</c>.
/// </param>
/// <param name="AllowInvalidSignature">Register the card even when its signatures are <c>invalid</c> (recorded as such); otherwise the hub answers 400.</param>
/// <param name="Keys">Request signature keys, as in <see cref="SetAgentKeysRequest"/>; when this and the next two are null the keys stay as they are.</param>
/// <param name="HmacSecret">Issue (true) or remove (false) an HMAC secret.</param>
/// <param name="RequireSignature">Whether every call the agent makes must be signed.</param>
public sealed record RegisterAgentRequest(string Id, string? CardUrl = null, JsonElement? Card = null, string? UpstreamUrl = null,
    JsonElement? CardKeys = null, bool? AllowInvalidSignature = null,
    IReadOnlyList<JsonElement>? Keys = null, bool? HmacSecret = null, bool? RequireSignature = null);

/// <summary>A skill of an agent, as discovery lists it.</summary>
/// <param name="Id">Skill id.</param>
/// <param name="Name">Name.</param>
/// <param name="Description">Description.</param>
/// <param name="Tags">Tags.</param>
public sealed record AgentSkillInfo(string Id, string Name, string Description, IReadOnlyList<string> Tags);

/// <summary>A registered agent.</summary>
/// <param name="Id">Agent id; its principal is <c>agent:&lt;id&gt;</c>.</param>
/// <param name="Name">Name from the card.</param>
/// <param name="Description">Description from the card.</param>
/// <param name="CardVersion">The card's own <c>version</c>.</param>
/// <param name="Version">The hub's version number of the card (1, 2, …).</param>
/// <param name="Skills">Skills from the card.</param>
/// <param name="HubCardUrl">The card A2A clients use, pointing at the hub.</param>
/// <param name="Health"><c>up</c>, <c>down</c> or <c>unknown</c>.</param>
/// <param name="LastCheckedAt">When the health probe last checked it.</param>
/// <param name="CreatedAt">Registration time.</param>
/// <param name="CreatedBy">Who registered it.</param>
/// <param name="UpdatedAt">Last change.</param>
/// <param name="UpdatedBy">Who changed it last.</param>
/// <param name="UpstreamUrl">Where the hub forwards calls (not shown to agents).</param>
/// <param name="CardUrl">Where the card was fetched from (not shown to agents).</param>
/// <param name="CardSignature">The verdict on the current card's own signatures at registration: <c>verified</c>, <c>unsigned</c> or <c>invalid</c>.</param>
/// <param name="CardSignatureDetail">Which signature verified with which key, or what is wrong.</param>
public sealed record AgentInfo(string Id, string Name, string Description, string CardVersion, long Version,
    IReadOnlyList<AgentSkillInfo> Skills, string HubCardUrl, string Health, DateTimeOffset? LastCheckedAt,
    DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset UpdatedAt, string UpdatedBy, string? UpstreamUrl, string? CardUrl,
    string CardSignature = "unsigned", string? CardSignatureDetail = null);

/// <summary>The result of a registration. <see cref="Key"/> is present only when a key was issued, and shown only here.</summary>
/// <param name="Agent">The agent as stored.</param>
/// <param name="Created">A new agent (false: re-registration).</param>
/// <param name="VersionCreated">The card changed and a new version was kept.</param>
/// <param name="KeyIssued">A new key was issued (the agent had no active key).</param>
/// <param name="Key">The new key for <c>agent:&lt;id&gt;</c>.</param>
/// <param name="Message">What happened, in a sentence.</param>
/// <param name="SignatureKeys">The agent's signature keys when the registration set them (an HMAC secret only here).</param>
public sealed record RegisteredAgent(AgentInfo Agent, bool Created, bool VersionCreated, bool KeyIssued, CreatedKey? Key, string Message,
    AgentKeys? SignatureKeys = null);

/// <summary>PUT /api/v1/agents/{id}/keys: the agent's complete set of public keys and its HMAC secret and signing setting.</summary>
/// <param name="Keys">EC P-256 public JWKs: the set replaces the agent's public keys (null keeps them). A key's <c>kid</c> is its RFC 7638 thumbprint unless given.</param>
/// <param name="HmacSecret">True issues a new HMAC secret (replacing an earlier one), false removes it, null keeps it.</param>
/// <param name="RequireSignature">Whether every call the agent makes must be signed; null means "when it has a key".</param>
public sealed record SetAgentKeysRequest(IReadOnlyList<JsonElement>? Keys = null, bool? HmacSecret = null, bool? RequireSignature = null);

/// <summary>One signature key of an agent.</summary>
/// <param name="Kid">The key id a signature's <c>keyid</c> names.</param>
/// <param name="Algorithm"><c>ecdsa-p256-sha256</c> or <c>hmac-sha256</c>.</param>
/// <param name="PublicJwk">The public key (ECDSA keys only).</param>
/// <param name="CreatedAt">When it was added.</param>
/// <param name="CreatedBy">Who added it.</param>
public sealed record AgentKeyInfo(string Kid, string Algorithm, JsonElement? PublicJwk, DateTimeOffset CreatedAt, string CreatedBy);

/// <summary>An agent's signature keys.</summary>
/// <param name="AgentId">The agent.</param>
/// <param name="RequireSignature">Whether every call the agent makes through the hub must carry a valid RFC 9421 signature.</param>
/// <param name="Keys">Its keys.</param>
/// <param name="HmacKeyId">The key id of an HMAC secret issued by this answer.</param>
/// <param name="HmacSecret">The HMAC secret (base64url, 32 bytes), present only in the answer that issued it.</param>
/// <param name="Message">What happened, in a sentence.</param>
public sealed record AgentKeys(string AgentId, bool RequireSignature, IReadOnlyList<AgentKeyInfo> Keys, string? HmacKeyId, string? HmacSecret, string? Message);

/// <summary>One kept version of an agent's card.</summary>
/// <param name="Version">Version number.</param>
/// <param name="CreatedAt">When it was registered.</param>
/// <param name="CreatedBy">Who registered it.</param>
/// <param name="CardSha256">SHA-256 of the card as received (hex).</param>
/// <param name="CardVersion">The card's own <c>version</c>.</param>
/// <param name="CardSignature">The verdict on this version's signatures: <c>verified</c>, <c>unsigned</c> or <c>invalid</c>.</param>
/// <param name="CardSignatureDetail">Which signature verified with which key, or what is wrong.</param>
public sealed record AgentVersionInfo(long Version, DateTimeOffset CreatedAt, string CreatedBy, string CardSha256, string CardVersion,
    string CardSignature = "unsigned", string? CardSignatureDetail = null);

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
[JsonSerializable(typeof(RegisterAgentRequest))]
[JsonSerializable(typeof(RegisteredAgent))]
[JsonSerializable(typeof(SetAgentKeysRequest))]
[JsonSerializable(typeof(AgentKeys))]
[JsonSerializable(typeof(AgentInfo))]
[JsonSerializable(typeof(Page<AgentInfo>))]
[JsonSerializable(typeof(IReadOnlyList<AgentVersionInfo>))]
[JsonSerializable(typeof(CreatePolicyRequest))]
[JsonSerializable(typeof(PolicyRuleInfo))]
[JsonSerializable(typeof(Page<PolicyRuleInfo>))]
[JsonSerializable(typeof(ExplainPolicyRequest))]
[JsonSerializable(typeof(PolicyExplanation))]
[JsonSerializable(typeof(Problem))]
internal sealed partial class ClientJsonContext : JsonSerializerContext;
