using System.Buffers.Text;
using System.Security.Claims;
using System.Text.Json;
using AgentHub.Identity;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentHub.Signatures;

/// <summary>
/// PUT /api/v1/agents/{id}/keys: <c>keys</c> is the complete set of public keys (EC P-256 JWKs; null keeps the current
/// ones), <c>hmacSecret</c> true issues a new secret, false removes it, null keeps it; <c>requireSignature</c> null means
/// "true when the agent has a key".
/// </summary>
internal sealed record SetAgentKeysRequest(IReadOnlyList<JsonElement>? Keys, bool? HmacSecret, bool? RequireSignature);

internal sealed record AgentKeyResponse(string Kid, string Algorithm, JsonElement? PublicJwk, DateTimeOffset CreatedAt, string CreatedBy);

/// <summary>An agent's signature keys. <c>hmacSecret</c> (base64url, 32 bytes) is present only in the answer that issued it.</summary>
internal sealed record AgentKeysResponse(string AgentId, bool RequireSignature, IReadOnlyList<AgentKeyResponse> Keys,
    string? HmacKeyId, string? HmacSecret, string? Message);

/// <summary>
/// /api/v1/agents/{id}/keys: operators and admins set an agent's signature keys; auditors may read them. An agent
/// cannot change its own keys: a stolen API key must not be enough to take over the signing identity.
/// </summary>
internal static class AgentKeysApi
{
    public const int MaxKeys = 16;

    public static IEndpointRouteBuilder MapAgentKeys(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/agents/{id}/keys").WithTags("Agents").RequireAuthorization(Policies.Authenticated);
        group.MapGet("/", Get).RequireAuthorization(p => p.RequireRole(Roles.Admin, Roles.Operator, Roles.Auditor));
        group.MapPut("/", Set).RequireAuthorization(Policies.Operator);
        return routes;
    }

    internal static async Task<Results<Ok<AgentKeysResponse>, ProblemHttpResult>> Get(string id, AgentKeyStore store, CancellationToken ct) =>
        await store.GetAsync(id, ct) is { } keys ? TypedResults.Ok(ToResponse(id, keys, null)) : NotFound(id);

    internal static async Task<Results<Ok<AgentKeysResponse>, ValidationProblem, ProblemHttpResult>> Set(
        string id, SetAgentKeysRequest request, AgentKeyStore store, TimeProvider time, ClaimsPrincipal user, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var change = Validate(request.Keys, request.HmacSecret, request.RequireSignature, "", errors);
        if (change is null)
        {
            return TypedResults.ValidationProblem(errors);
        }

        try
        {
            var result = await store.SetAsync(id, change, user.PrincipalId(), time.GetUtcNow(), ct);
            return result is null ? NotFound(id) : TypedResults.Ok(ToResponse(id, result, Describe(result)));
        }
        catch (AgentKeyException e)
        {
            return Refused(e);
        }
    }

    /// <summary>Checks the key fields of a request (PUT, or registration with <paramref name="prefix"/>); null and errors when bad.</summary>
    public static AgentKeyChange? Validate(IReadOnlyList<JsonElement>? keys, bool? hmacSecret, bool? requireSignature, string prefix,
        Dictionary<string, string[]> errors)
    {
        var parsed = new List<ValidatedJwk>();
        var problems = new List<string>();
        if (keys is { Count: > MaxKeys })
        {
            problems.Add($"An agent holds at most {MaxKeys} public keys.");
        }

        for (var i = 0; keys is not null && i < keys.Count && i < MaxKeys; i++)
        {
            if (ValidatedJwk.TryParse(keys[i], out var key) is { } error)
            {
                problems.Add($"keys[{i}] {error}");
            }
            else if (parsed.Any(k => k.Kid == key!.Kid))
            {
                problems.Add($"keys[{i}] repeats kid '{key!.Kid}'.");
            }
            else
            {
                parsed.Add(key!);
            }
        }

        if (problems.Count > 0)
        {
            errors[prefix + "keys"] = [.. problems];
            return null;
        }

        return new AgentKeyChange(keys is null ? null : parsed, hmacSecret, requireSignature);
    }

    public static AgentKeysResponse ToResponse(string agentId, AgentKeysResult result, string? message) => new(
        agentId,
        result.RequireSignature,
        result.Keys.Select(k => new AgentKeyResponse(k.Kid, k.Algorithm,
            k.PublicJwk is null ? null : JsonDocument.Parse(k.PublicJwk).RootElement.Clone(), k.CreatedAt, k.CreatedBy)).ToList(),
        result.HmacKeyId,
        result.HmacSecret is null ? null : Base64Url.EncodeToString(result.HmacSecret),
        message);

    public static string Describe(AgentKeysResult result) =>
        $"{result.Keys.Count} key(s); calls {(result.RequireSignature ? "must" : "need not")} be signed." +
        (result.HmacKeyId is null ? "" : $" New HMAC secret for key id {result.HmacKeyId}, shown only now.");

    public static ProblemHttpResult Refused(AgentKeyException e) => TypedResults.Problem(statusCode: e.Status,
        title: e.Status == StatusCodes.Status409Conflict ? "Key id in use" : "Invalid signature keys", detail: e.Message);

    private static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"No agent '{id}'.");
}
