using System.Security.Claims;
using AgentHub.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentHub.Identity;

/// <summary>
/// /api/v1/keys: admins manage every key; any other principal sees and revokes only its own
/// (another principal's key answers 404, so existence is not leaked).
/// </summary>
internal static class KeysApi
{
    public static RouteGroupBuilder MapKeys(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/keys").WithTags("Keys").RequireAuthorization(Policies.Authenticated);
        group.MapPost("/", CreateKey).RequireAuthorization(Policies.Admin);
        group.MapGet("/", ListKeys);
        group.MapGet("/{id}", GetKey);
        group.MapDelete("/{id}", RevokeKey);
        return group;
    }

    public static RouteGroupBuilder MapPrincipals(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1").WithTags("Principals");
        group.MapGet("/me", WhoAmI).RequireAuthorization(Policies.Authenticated);
        group.MapGet("/principals", ListPrincipals).RequireAuthorization(Policies.Admin);
        group.MapGet("/principals/{id}", GetPrincipal).RequireAuthorization(Policies.Admin);
        return group;
    }

    internal static async Task<Results<Created<CreatedKeyResponse>, ValidationProblem>> CreateKey(
        CreateKeyRequest request, IApiKeyStore store, TimeProvider time, ClaimsPrincipal user, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (request.ExpiresAt is { } expires && expires <= now)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["expiresAt"] = ["expiresAt must be in the future."],
            });
        }

        var (id, key, hash) = ApiKeyFormat.Generate();
        var record = new NewApiKey(id, request.Principal, request.Role, request.Name, hash, now, user.PrincipalId(), request.ExpiresAt);
        await store.CreateAsync(record, ct);
        return TypedResults.Created($"/api/v1/keys/{id}",
            new CreatedKeyResponse(id, key, request.Principal, request.Role, request.Name, now, request.ExpiresAt));
    }

    internal static async Task<Results<Ok<PageResponse<KeyResponse>>, ValidationProblem>> ListKeys(
        IApiKeyStore store, TimeProvider time, ClaimsPrincipal user, CancellationToken ct,
        string? principal = null, string? after = null, int limit = Page<KeyResponse>.DefaultLimit)
    {
        if (Paging.Invalid(limit) is { } problem)
        {
            return problem;
        }

        // Non-admins list their own keys whatever filter they pass.
        var scope = user.IsAdmin() ? principal : user.PrincipalId();
        var page = await store.ListAsync(scope, after, limit, ct);
        var now = time.GetUtcNow();
        return TypedResults.Ok(new PageResponse<KeyResponse>(page.Items.Select(k => KeyResponse.From(k, now)).ToList(), page.Next));
    }

    internal static async Task<Results<Ok<KeyResponse>, ProblemHttpResult>> GetKey(
        string id, IApiKeyStore store, TimeProvider time, ClaimsPrincipal user, CancellationToken ct)
    {
        var key = await store.GetAsync(id, user.IsAdmin() ? null : user.PrincipalId(), ct);
        return key is null ? KeyNotFound(id) : TypedResults.Ok(KeyResponse.From(key, time.GetUtcNow()));
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> RevokeKey(
        string id, IApiKeyStore store, TimeProvider time, ClaimsPrincipal user, CancellationToken ct)
    {
        var outcome = await store.RevokeAsync(id, user.IsAdmin() ? null : user.PrincipalId(), user.PrincipalId(), time.GetUtcNow(), ct);
        return outcome switch
        {
            RevokeOutcome.NotFound => KeyNotFound(id),
            RevokeOutcome.LastAdminKey => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Last admin key",
                detail: $"Key {id} is the last active admin key; create another admin key before revoking it."),
            _ => TypedResults.NoContent(),
        };
    }

    internal static Ok<WhoAmIResponse> WhoAmI(ClaimsPrincipal user) => TypedResults.Ok(new WhoAmIResponse(
        user.PrincipalId(), user.FindFirstValue(HubClaims.Role)!, user.FindFirstValue(HubClaims.KeyId)!));

    internal static async Task<Results<Ok<PageResponse<PrincipalResponse>>, ValidationProblem>> ListPrincipals(
        IPrincipalStore store, TimeProvider time, CancellationToken ct, string? after = null, int limit = Page<PrincipalResponse>.DefaultLimit)
    {
        if (Paging.Invalid(limit) is { } problem)
        {
            return problem;
        }

        var page = await store.ListAsync(after, limit, time.GetUtcNow(), ct);
        return TypedResults.Ok(new PageResponse<PrincipalResponse>(page.Items.Select(ToResponse).ToList(), page.Next));
    }

    internal static async Task<Results<Ok<PrincipalResponse>, ProblemHttpResult>> GetPrincipal(
        string id, IPrincipalStore store, TimeProvider time, CancellationToken ct)
    {
        var principal = await store.GetAsync(id, time.GetUtcNow(), ct);
        return principal is null
            ? TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"No principal '{id}'.")
            : TypedResults.Ok(ToResponse(principal));
    }

    private static PrincipalResponse ToResponse(PrincipalRecord p) => new(p.Id, p.Kind, p.CreatedAt, p.CreatedBy, p.ActiveKeys);

    private static ProblemHttpResult KeyNotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"No key '{id}'.");
}

internal static class Paging
{
    public static ValidationProblem? Invalid(int limit) =>
        limit is < 1 or > Page<object>.MaxLimit
            ? TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = [$"limit must be between 1 and {Page<object>.MaxLimit}."] })
            : null;
}
